/**
 * The text form of every command: `key=value` pairs (values may be quoted), bare flags and
 * positional words, parsed against a command's declared arguments into typed values.
 */
import { fail, ok } from '../domain/result.js';
import type { DomainError, Result } from '../domain/result.js';

/**
 * How one argument is declared. A `sensitive` string (a password) is never echoed in an error and
 * is replaced by "[redacted]" wherever the invocation is logged (see `redactWords`). A `pattern`
 * is the shape a value must have (checked when parsing; the `help` says what is expected).
 */
export type ArgSpec =
  | {
      kind: 'string';
      help: string;
      example?: string;
      required?: boolean;
      positional?: number | 'rest';
      sensitive?: boolean;
      pattern?: RegExp;
    }
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

/** Writes a value as one word that `tokenize` reads back exactly: quoted when it is empty or holds spaces, quotes or backslashes. */
export function quoteWord(value: string): string {
  if (value !== '' && ![...value].some((ch) => /\s/.test(ch) || ch === '\\' || QUOTES[ch] !== undefined)) return value;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Everything needed to explain a command's arguments in an error. */
export interface UsageInfo {
  usage: string;
  example: string;
}

/** True when the specs declare an argument whose value must never be echoed or logged. */
export function hasSensitiveArgs(specs: ArgSpecs): boolean {
  return Object.values(specs).some((s) => s.kind === 'string' && s.sensitive === true);
}

/**
 * Which argument each positional word goes to (null: none, the word is extra), given the keys
 * already set by key=value. Positional specs are filled in order, skipping those already set;
 * a `rest` spec takes every remaining word.
 */
function positionalOwners(specs: ArgSpecs, given: ReadonlySet<string>, count: number): Array<string | null> {
  const owners: Array<string | null> = [];
  const byPosition = Object.entries(specs)
    .filter(([, s]) => s.kind !== 'flag' && s.positional !== undefined)
    .sort(([, a], [, b]) => positionOf(a) - positionOf(b));
  for (const [key, spec] of byPosition) {
    if (spec.kind === 'flag') continue;
    if (owners.length >= count) break;
    if (given.has(key)) continue;
    if (spec.positional === 'rest') {
      while (owners.length < count) owners.push(key);
    } else {
      owners.push(key);
    }
  }
  while (owners.length < count) owners.push(null);
  return owners;
}

/** Matches key=value words. */
const KEY_VALUE = /^([A-Za-z][\w-]*)=([\s\S]*)$/;

/** The spec key a key=value word names ("notify-partner" → notify_partner). */
function keyOf(name: string): string {
  return name.toLowerCase().replace(/-/g, '_');
}

/** The declaration of `key` when the command has one; never a property every object has (a typed "constructor=…"). */
function specOf(specs: ArgSpecs, key: string): ArgSpec | undefined {
  return Object.hasOwn(specs, key) ? specs[key] : undefined;
}

/** True when a value may be logged next to a sensitive one: its spec is not sensitive and it has the declared shape. */
function harmless(spec: ArgSpec | undefined, value: string): boolean {
  if (spec === undefined || spec.kind === 'flag') return false;
  if (spec.kind === 'choice') return spec.choices.some((c) => c.toLowerCase() === value.toLowerCase());
  if (spec.sensitive) return false;
  return spec.pattern === undefined ? spec.positional === undefined : spec.pattern.test(value);
}

/**
 * The words with every value of a `sensitive` argument replaced by "[redacted]", for logs. With
 * no sensitive argument the words come back unchanged; with one, only what is known to be
 * harmless is kept (flags, choices, values of other keys, positional values matching their
 * declared `pattern`), so arguments typed in the wrong order cannot leak a password either.
 */
export function redactWords(words: readonly string[], specs: ArgSpecs): string[] {
  if (!hasSensitiveArgs(specs)) return [...words];
  const REDACTED = '[redacted]';
  const out: Array<string | null> = [];
  const positionalAt: number[] = [];
  const given = new Set<string>();
  for (const word of words) {
    const eq = KEY_VALUE.exec(word);
    const spec = eq ? specOf(specs, keyOf(eq[1] as string)) : undefined;
    if (eq && spec) {
      given.add(keyOf(eq[1] as string));
      out.push(spec.kind === 'flag' || harmless(spec, eq[2] as string) ? word : `${eq[1]}=${REDACTED}`);
      continue;
    }
    if (specOf(specs, word.toLowerCase())?.kind === 'flag') {
      out.push(word);
      continue;
    }
    positionalAt.push(out.length);
    out.push(null);
  }
  const owners = positionalOwners(specs, given, positionalAt.length);
  positionalAt.forEach((index, i) => {
    const owner = owners[i];
    const spec = owner === null || owner === undefined ? undefined : specs[owner];
    const word = words[index] as string;
    const kept = spec !== undefined && spec.kind !== 'flag' && spec.positional !== 'rest' && harmless(spec, word);
    out[index] = kept ? word : REDACTED;
  });
  // One marker per hidden run of words: the log does not even tell how many words a password had.
  return out.filter((w, i): w is string => w !== null && !(w === REDACTED && out[i - 1] === REDACTED));
}

/**
 * Parses words against the specs; every problem is reported with the valid keys and an example.
 * For commands with a sensitive argument no problem quotes what was typed, and a key=value word
 * naming no argument is taken as a positional word (a password may contain "=").
 */
export function parseArgs<S extends ArgSpecs>(words: string[], specs: S, info: UsageInfo): Result<ParsedArgs<S>> {
  const values: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  const sensitive = hasSensitiveArgs(specs);
  const validKeys = Object.entries(specs).map(([k, s]) => (s.kind === 'flag' ? k : `${k}=`));
  const problem = (message: string): { ok: false; error: DomainError } =>
    fail('invalid_arguments', message, {
      hint: `Usage: ${info.usage}\nValid keys: ${validKeys.join(' ') || '(none)'}\nExample: ${info.example}`,
    });

  for (const word of words) {
    const eq = KEY_VALUE.exec(word);
    if (eq && !(sensitive && !specOf(specs, keyOf(eq[1] as string)))) {
      const key = keyOf(eq[1] as string);
      const spec = specOf(specs, key);
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
    const flag = specOf(specs, word.toLowerCase());
    if (flag && flag.kind === 'flag') {
      values[word.toLowerCase()] = true;
      continue;
    }
    positionals.push(word);
  }

  const given = new Set(Object.keys(values).filter((k) => values[k] !== undefined));
  const owners = positionalOwners(specs, given, positionals.length);
  owners.forEach((owner, i) => {
    if (owner === null) return;
    const word = positionals[i] as string;
    values[owner] = owners[i - 1] === owner ? `${values[owner] as string} ${word}` : word;
  });
  const next = owners.indexOf(null);
  if (next !== -1) {
    if (sensitive) return problem('There are more words than this command takes; nothing was stored.');
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
    if (spec.kind === 'string' && spec.pattern && typeof v === 'string' && !spec.pattern.test(v)) {
      return problem(`"${key}" is not in the expected form: ${spec.help}.`);
    }
    if (spec.kind === 'choice' && typeof v === 'string') {
      const match = spec.choices.find((c) => c.toLowerCase() === v.toLowerCase());
      if (!match) {
        return problem(`"${key}" must be one of ${spec.choices.join(', ')}${sensitive ? '' : `; got "${truncate(v, 40)}"`}.`);
      }
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
