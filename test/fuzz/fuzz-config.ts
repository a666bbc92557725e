/**
 * Run counts and seed for the property tests under test/fuzz. `npm test` runs a few hundred
 * cases per property; `npm run fuzz` sets FUZZ_RUNS=100000 for the parsers (the schedule
 * properties take a tenth of that, each case walks cron occurrences across timezones). FUZZ_SEED
 * replays a failure (fast-check prints the seed and path of any counterexample).
 */
import type { Parameters } from 'fast-check';

const requested = Number(process.env.FUZZ_RUNS);
/** True under `npm run fuzz` (or whenever FUZZ_RUNS is set). */
export const FUZZING = Number.isFinite(requested) && requested > 0;

const seedText = process.env.FUZZ_SEED;
const seed = seedText !== undefined && seedText.trim() !== '' && Number.isInteger(Number(seedText)) ? Number(seedText) : undefined;

/** Cases per property for a kind of target: parsers (pure text), schedule (cron walks), or heavy (inputs at the size bounds). */
export function runsFor(kind: 'parser' | 'schedule' | 'heavy'): number {
  if (!FUZZING) return kind === 'parser' ? 200 : kind === 'schedule' ? 60 : 20;
  if (kind === 'parser') return Math.floor(requested);
  if (kind === 'schedule') return Math.max(1, Math.floor(requested / 10));
  return Math.max(1, Math.floor(requested / 1000));
}

/** fast-check parameters: the run count for `kind` and the FUZZ_SEED when one is set. */
export function fuzzParams<T>(kind: 'parser' | 'schedule' | 'heavy'): Parameters<T> {
  return { numRuns: runsFor(kind), ...(seed !== undefined ? { seed } : {}) };
}

/** A Jest timeout that fits the run count: generous under `npm run fuzz`, the config's default otherwise. */
export function timeoutFor(kind: 'parser' | 'schedule' | 'heavy'): number {
  return FUZZING ? 60 * 60_000 : kind === 'schedule' ? 60_000 : 30_000;
}

/** Words a message must never show: a value that leaked into it unformatted. */
const UNCLEAR = /undefined|\[object |NaN|Invalid Date|Invalid DateTime|function \(|=> /;

/** Problems with an error message: empty, not a sentence, or showing an unformatted value. Empty list when it is clear. */
export function unclearMessage(message: unknown): string[] {
  if (typeof message !== 'string') return [`message is a ${typeof message}`];
  const problems: string[] = [];
  if (message.trim().length < 10) problems.push('message is (nearly) empty');
  if (UNCLEAR.test(message)) problems.push(`message shows ${UNCLEAR.exec(message)?.[0]}`);
  if (!/[.!?)”"]$/.test(message.trim())) problems.push('message does not end as a sentence');
  return problems;
}

/** True when the text holds a word `unclearMessage` looks for, so a generated input cannot trip the check by being echoed. */
export function looksUnclear(text: string): boolean {
  return UNCLEAR.test(text);
}
