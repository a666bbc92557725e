/**
 * The SIMULATE_FAIL spec: which steps of a simulated run fail, and how. A comma-separated list of
 * `state:N` (the step fails transiently N times per run, then succeeds), `state:busy` or
 * `state:broken` (the step reports busy or broken once per run; after an agent clears it, the
 * step succeeds). Example: "merge:1,commit:busy".
 */
import { RUN_STATES } from '../../domain/types.js';
import type { RunState } from '../../domain/types.js';

/** One injected failure of a simulated step. */
export type SimulatedFailure =
  | { state: RunState; kind: 'transient'; times: number }
  | { state: RunState; kind: 'busy' | 'broken' };

/** States a step can be performed towards (every state but idle). */
export const FAILABLE_STATES: readonly RunState[] = RUN_STATES.filter((s) => s !== 'idle');

/** The most transient failures one step may be given. */
const MAX_TIMES = 100;

/** Parses a spec; an empty or blank spec means no failures. Returns the problem as text when invalid. */
export function parseFailureSpec(spec: string): { ok: true; value: SimulatedFailure[] } | { ok: false; error: string } {
  const failures: SimulatedFailure[] = [];
  const parts = spec.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const part of parts) {
    const m = /^([a-z_]+):([a-z0-9]+)$/i.exec(part);
    if (!m) return { ok: false, error: `"${part}" is not state:N, state:busy or state:broken` };
    const state = m[1]!.toLowerCase() as RunState;
    const how = m[2]!.toLowerCase();
    if (!FAILABLE_STATES.includes(state)) {
      return { ok: false, error: `"${m[1]}" is not a run state (one of ${FAILABLE_STATES.join(', ')})` };
    }
    if (failures.some((f) => f.state === state)) return { ok: false, error: `"${state}" is given twice` };
    if (how === 'busy' || how === 'broken') {
      failures.push({ state, kind: how });
    } else if (/^\d+$/.test(how) && Number(how) >= 1 && Number(how) <= MAX_TIMES) {
      failures.push({ state, kind: 'transient', times: Number(how) });
    } else {
      return { ok: false, error: `"${m[2]}" in "${part}" is not a count 1-${MAX_TIMES}, busy or broken` };
    }
  }
  return { ok: true, value: failures };
}
