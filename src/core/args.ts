/**
 * The text form of every command: `key=value` pairs (values may be quoted), bare flags and
 * positional words, parsed against a command's declared arguments into typed values.
 */
import { fail, ok } from '../domain/result.js';
import type { DomainError, Result } from '../domain/result.js';

/** How one argument is declared. */
export type ArgSpec =
  | { kind: 'string'; help: string; example?: string; required?: boolean; positional?: number | 'rest' }
  | { kind: 'flag'; help: string }
  | { kind: 'choice'; help: string; choices: readonly string[]; required?: boolean; positional?: number };

export type ArgSpecs = Record<string, ArgSpec>;

/** The typed values of parsed arguments. */
export type ParsedArgs<S extends ArgSpecs> = {
  [K in keyof S]: S[K] extends { kind: 'flag' }
    ? boolean
    : S[K] extends { required: true }
      ? string
      : string | undefined;
};

/** Longest value accepted for any argument; longer input is refused rather than truncated. */
export const MAX_VALUE_LENGTH = 2000;

const QUOTES: Record<string, string> = { '"': '"', "'": "'", '“': '”', '‘': '’', '«': '»' };

/** Splits command text into words, honouring double, single and typographic quotes and backslash escapes. */
export function tokenize(input: string): Result<string[]> {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < input.length; i++) {
    const ch = input[i] as string;
    if (quote) {
      if (ch === '\\' && i + 1 < input.length && (input[i + 1] === quote || input[i + 1] === '\\')) {
        current += input[++i];
      } else if (ch === quote) {
        quote = null;
      } else {
        current += ch;
      }
      continue;
    }
    if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
      continue;
    }
    const close = QUOTES[ch];
    if (close !== undefined) {
      quote = close;
      inWord = true;
      continue;
    }
    current += ch;
    inWord = true;
  }
  if (quote) return fail('unclosed_quote', `A quote (${quote}) is not closed.`);
  if (inWord) words.push(current);
  return ok(words);
}

/** Everything needed to explain a command's arguments in an error. */
export interface UsageInfo {
  usage: string;
  example: string;
}

/** Parses words against the specs; every problem is reported with the valid keys and an example. */
export function parseArgs<S extends ArgSpecs>(words: string[], specs: S, info: UsageInfo): Result<ParsedArgs<S>> {
  const values: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  const validKeys = Object.entries(specs).map(([k, s]) => (s.kind === 'flag' ? k : `${k}=`));
  const problem = (message: string): { ok: false; error: DomainError } =>
    fail('invalid_arguments', message, {
      hint: `Usage: ${info.usage}\nValid keys: ${validKeys.join(' ') || '(none)'}\nExample: ${info.example}`,
    });

  for (const word of words) {
    const eq = /^([A-Za-z][\w-]*)=([\s\S]*)$/.exec(word);
    if (eq) {
      const key = (eq[1] as string).toLowerCase().replace(/-/g, '_');
      const spec = specs[key];
      if (!spec) return problem(`Unknown key "${eq[1]}".`);
      if (spec.kind === 'flag') {
        const v = (eq[2] as string).toLowerCase();
        if (!['true', 'false', 'yes', 'no', '1', '0'].includes(v)) {
          return problem(`"${key}" is a flag: write it alone (${key}) or as ${key}=yes / ${key}=no.`);
        }
        values[key] = ['true', 'yes', '1'].includes(v);
        continue;
      }
      if (values[key] !== undefined) return problem(`"${key}" is given twice.`);
      values[key] = eq[2] as string;
      continue;
    }
    const flag = specs[word.toLowerCase()];
    if (flag && flag.kind === 'flag') {
      values[word.toLowerCase()] = true;
      continue;
    }
    positionals.push(word);
  }

  const byPosition = Object.entries(specs)
    .filter(([, s]) => s.kind !== 'flag' && s.positional !== undefined)
    .sort(([, a], [, b]) => positionOf(a) - positionOf(b));
  let next = 0;
  for (const [key, spec] of byPosition) {
    if (spec.kind === 'flag') continue;
    if (next >= positionals.length) break;
    if (values[key] !== undefined) continue;
    if (spec.positional === 'rest') {
      values[key] = positionals.slice(next).join(' ');
      next = positionals.length;
    } else {
      values[key] = positionals[next++];
    }
  }
  if (next < positionals.length) {
    const extra = positionals.slice(next).join(' ');
    const looksLikeKey = /^[A-Za-z][\w-]*$/.test(positionals[next] as string);
    return problem(
      looksLikeKey
        ? `"${positionals[next]}" is not an option of this command; write values as key=value.`
        : `Unexpected text: "${truncate(extra, 60)}".`,
    );
  }

  for (const [key, spec] of Object.entries(specs)) {
    const v = values[key];
    if (spec.kind === 'flag') {
      values[key] = v === true;
      continue;
    }
    if (v === undefined || v === '') {
      if (spec.required) return problem(`Missing ${spec.positional !== undefined ? key : `${key}=`} (${spec.help}).`);
      values[key] = undefined;
      continue;
    }
    if (typeof v === 'string' && v.length > MAX_VALUE_LENGTH) {
      return problem(`"${key}" is too long (${v.length} characters; at most ${MAX_VALUE_LENGTH}).`);
    }
    if (spec.kind === 'choice' && typeof v === 'string') {
      const match = spec.choices.find((c) => c.toLowerCase() === v.toLowerCase());
      if (!match) return problem(`"${key}" must be one of ${spec.choices.join(', ')}; got "${truncate(v, 40)}".`);
      values[key] = match;
    }
  }
  return ok(values as ParsedArgs<S>);
}

function positionOf(spec: ArgSpec): number {
  if (spec.kind === 'flag' || spec.positional === undefined) return Number.MAX_SAFE_INTEGER;
  return spec.positional === 'rest' ? Number.MAX_SAFE_INTEGER - 1 : spec.positional;
}

/** Shortens text for messages, marking the cut. */
export function truncate(value: string, max: number): string {
  return value.length <= max ? value : value.slice(0, max - 1) + '…';
}
