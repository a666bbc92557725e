/**
 * Property tests of the command text parser (src/core/args.ts) and of the parsing half of the
 * dispatch path: no text crashes them, quoting round-trips, and every refusal is a Result with a
 * code and a message that says what is wrong.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { registry } from '../../commands/index.js';
import { MAX_VALUE_LENGTH, parseArgs, quoteWord, tokenize } from '../../src/core/args.js';
import type { ArgSpec, ArgSpecs } from '../../src/core/args.js';
import type { Deps, Invocation } from '../../src/core/command.js';
import { MAX_COMMAND_LENGTH, dispatch, loggableText } from '../../src/core/dispatch.js';
import { MemoryLogger } from '../fakes/memory-logger.js';
import { fuzzParams, looksUnclear, timeoutFor, unclearMessage } from './fuzz-config.js';

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Characters that matter to the tokenizer or tend to break text handling. */
const TRICKY_CHARS = [
  ' ', '\t', '\n', '\r', '\u000B', '\u000C', '\u00A0', '\u2028', '\u3000', '\uFEFF',
  '"', "'", '\\', '“', '”', '‘', '’', '«', '»', '=', '-', '/', ':', '@', '*',
  '\u0000', '\u0001', '\u001B', '\u007F', '\uE000', '\uE001', '\uE002', '\u200B', '\u202E',
  'é', 'ß', 'ж', '中', '🚀', '\uD800', '\uDFFF', 'a', 'Z', '0', '9',
];
const trickyChar = fc.constantFrom(...TRICKY_CHARS);

/** Any character: full Unicode (lone surrogates included), ASCII, or one of the tricky ones. */
const anyChar = fc.oneof(
  { arbitrary: trickyChar, weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }), weight: 2 },
);

/** Any text, biased to the characters the tokenizer cares about. */
const anyText = (maxLength = 80): fc.Arbitrary<string> => fc.string({ unit: anyChar, maxLength });

/** Runs of white space the tokenizer splits on. */
const separator = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r\n', '\u00A0', '\u3000', '\u2003'), minLength: 1, maxLength: 3 });

/** A word a user might type: plain, key=value, a flag, help, or garbage. */
const KEY_NAMES = [
  'device', 'version', 'when', 'note', 'ref', 'mac', 'ip', 'serial', 'force', 'notify-partner', 'notify_partner', 'password', 'kind', 'Device', 'x', 'a-b',
  // Names every plain object answers to: a key lookup must not mistake them for declared arguments.
  'constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf',
];
const typedWord = fc.oneof(
  fc.tuple(fc.constantFrom(...KEY_NAMES), anyText(20)).map(([k, v]) => `${k}=${v}`),
  fc.tuple(fc.constantFrom(...KEY_NAMES), anyText(20)).map(([k, v]) => `${k}=${quoteWord(v)}`),
  fc.constantFrom('help', '--help', '-h', 'yes', 'no', 'window', 'now', 'UPG-000001', '7.1.0', 'edge-01', 'force=yes', 'force=maybe'),
  anyText(12),
);

/** Command text: a command of the registry followed by typed words, or a group with garbage, or any text at all. */
const commandText = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...registry.commands),
      fc.array(typedWord, { maxLength: 8 }),
      fc.array(fc.constantFrom(' ', '  ', '\t', '\n'), { minLength: 10, maxLength: 10 }),
    )
    .map(([cmd, words, seps]) => [`/${cmd.group}`, cmd.name, ...words].map((w, i) => (i === 0 ? w : `${seps[i % 10]}${w}`)).join('')),
  fc.tuple(fc.constantFrom('/upgrade', '/upgrade-admin', 'upgrade', '/UPGRADE', '/upgrade-admin maintenance'), fc.array(typedWord, { maxLength: 6 })).map(
    ([group, words]) => [group, ...words].join(' '),
  ),
  anyText(120),
);

/** An argument declaration of any kind. */
const argSpec: fc.Arbitrary<ArgSpec> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('string' as const),
      help: fc.constantFrom('the device name', 'a request reference such as UPG-000001', 'free text'),
      required: fc.boolean(),
      positional: fc.constantFrom(0, 1, 2, 'rest' as const),
      sensitive: fc.boolean(),
      pattern: fc.constantFrom(/^UPG-\d{6}$/, /^\d+\.\d+\.\d+$/, /^[a-z-]+$/i),
    },
    { requiredKeys: ['kind', 'help'] },
  ),
  fc.record({ kind: fc.constant('flag' as const), help: fc.constant('a switch') }),
  fc.record(
    {
      kind: fc.constant('choice' as const),
      help: fc.constant('one of the choices'),
      choices: fc.uniqueArray(fc.constantFrom('dry', 'real', 'Slack', 'e-mail', 'all'), { minLength: 1, maxLength: 4 }),
      required: fc.boolean(),
      positional: fc.constantFrom(0, 1),
    },
    { requiredKeys: ['kind', 'help', 'choices'] },
  ),
);

/** A command's argument declarations: up to five distinct keys. */
const argSpecs: fc.Arbitrary<ArgSpecs> = fc
  .uniqueArray(fc.tuple(fc.constantFrom('device', 'version', 'when', 'note', 'ref', 'force', 'notify_partner', 'password', 'kind'), argSpec), {
    maxLength: 5,
    selector: ([k]) => k,
  })
  .map((entries) => Object.fromEntries(entries));

const USAGE = { usage: '/upgrade test ARGS', example: '/upgrade test device=edge-01' };

// ---------------------------------------------------------------------------------------------
// A dispatcher that can parse but never reach a database

/** Deps whose store knows nobody: a parsed command ends at unknown_requester; touching anything else throws (and would show as internal_error). */
function parsingOnlyDeps(log: MemoryLogger): Deps {
  const forbidden = (what: string): object =>
    new Proxy(
      {},
      {
        get(_target, prop) {
          throw new Error(`the parser reached ${what}.${String(prop)}`);
        },
      },
    );
  const people = { bySlackUserId: async () => null, byDiscordUserId: async () => null, byEmail: async () => null };
  const store = new Proxy(
    {},
    {
      get(_target, prop) {
        if (prop === 'people') return people;
        throw new Error(`the parser reached store.${String(prop)}`);
      },
    },
  );
  return {
    store,
    clock: { now: () => new Date('2026-11-21T12:00:00Z') },
    log,
    settings: forbidden('settings'),
    scheduler: forbidden('scheduler'),
    secretBox: forbidden('secretBox'),
  } as unknown as Deps;
}

const IDENTITIES: Invocation['identity'][] = [
  { kind: 'email', address: 'nobody@example.invalid' },
  { kind: 'slack', userId: 'U000' },
  { kind: 'discord', userId: '1' },
];

/** Codes the parsing half of dispatch may answer with before any command runs. */
const PARSE_CODES = new Set(['unclosed_quote', 'unknown_command', 'invalid_arguments', 'unknown_requester']);

// ---------------------------------------------------------------------------------------------

describe('tokenize', () => {
  it(
    'never throws: any text gives words or an unclosed_quote failure that says which quote',
    () => {
      fc.assert(
        fc.property(fc.oneof(anyText(200), commandText), (input) => {
          const result = tokenize(input);
          if (result.ok) {
            expect(Array.isArray(result.value)).toBe(true);
            for (const w of result.value) expect(typeof w).toBe('string');
          } else {
            expect(result.error.code).toBe('unclosed_quote');
            expect(result.error.message).toMatch(/^A quote \(.\) is not closed\.$/);
          }
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'reads back any list of words written with quoteWord, whatever white space separates them',
    () => {
      fc.assert(
        fc.property(fc.array(anyText(30), { maxLength: 10 }), fc.array(separator, { minLength: 11, maxLength: 11 }), (words, seps) => {
          const text = words.map((w, i) => `${i === 0 ? '' : seps[i]}${quoteWord(w)}`).join('');
          const lead = seps[0] as string;
          expect(tokenize(text)).toEqual({ ok: true, value: words });
          // Leading and trailing white space does not change the words either.
          expect(tokenize(`${lead}${text}${lead}`)).toEqual({ ok: true, value: words });
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'reads a quoted word back as one word, also as the value of key=value',
    () => {
      fc.assert(
        fc.property(anyText(60), (value) => {
          expect(tokenize(quoteWord(value))).toEqual({ ok: true, value: [value] });
          expect(tokenize(`note=${quoteWord(value)}`)).toEqual({ ok: true, value: [`note=${value}`] });
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'leaves a word that needs no quoting as it is',
    () => {
      fc.assert(
        fc.property(fc.string({ unit: fc.constantFrom(...'abcXYZ019-_./:@=+,;!?#%&*()[]{}<>|~^`'), minLength: 1, maxLength: 30 }), (word) => {
          expect(quoteWord(word)).toBe(word);
          expect(tokenize(word)).toEqual({ ok: true, value: [word] });
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );
});

describe('parseArgs', () => {
  it(
    'never throws on any words and declarations; a refusal is invalid_arguments with a clear message and usage',
    () => {
      fc.assert(
        fc.property(argSpecs, fc.array(typedWord, { maxLength: 8 }), (specs, words) => {
          fc.pre(!words.some(looksUnclear));
          const result = parseArgs(words, specs, USAGE);
          if (result.ok) {
            for (const [key, spec] of Object.entries(specs)) {
              const v = (result.value as Record<string, unknown>)[key];
              if (spec.kind === 'flag') expect(typeof v).toBe('boolean');
              else if (v !== undefined) expect(typeof v).toBe('string');
              if (spec.kind === 'choice' && v !== undefined) expect(spec.choices).toContain(v);
              if (spec.kind === 'string' && typeof v === 'string') {
                expect(v.length).toBeLessThanOrEqual(MAX_VALUE_LENGTH);
                if (spec.pattern) expect(v).toMatch(spec.pattern);
              }
              if (spec.kind !== 'flag' && spec.required) expect(v).toEqual(expect.any(String));
            }
            return;
          }
          expect(result.error.code).toBe('invalid_arguments');
          expect(unclearMessage(result.error.message)).toEqual([]);
          const hint = String(result.error.details?.hint ?? '');
          expect(hint).toContain(`Usage: ${USAGE.usage}`);
          expect(hint).toContain(`Example: ${USAGE.example}`);
          expect(hint).not.toMatch(/undefined|NaN|\[object /);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'takes key=value for a declared free-text key as exactly that value, in any order and spelling of the key',
    () => {
      const specs: ArgSpecs = {
        device: { kind: 'string', help: 'the device' },
        notify_partner: { kind: 'string', help: 'who to tell' },
        note: { kind: 'string', help: 'a note' },
      };
      const value = fc.string({ unit: anyChar, minLength: 1, maxLength: 40 });
      fc.assert(
        fc.property(value, value, value, fc.constantFrom('notify_partner', 'notify-partner', 'Notify-Partner', 'NOTIFY_PARTNER'), fc.integer({ min: 0, max: 5 }), (d, p, n, spelling, turn) => {
          const words = [`device=${d}`, `${spelling}=${p}`, `note=${n}`];
          for (let i = 0; i < turn; i++) words.push(words.shift() as string);
          // Through the tokenizer, as a user would type it.
          const typed = tokenize(words.map(quoteWord).join(' '));
          expect(typed.ok).toBe(true);
          if (!typed.ok) return;
          expect(parseArgs(typed.value, specs, USAGE)).toEqual({ ok: true, value: { device: d, notify_partner: p, note: n } });
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'refuses key=value for a key-shaped name the command does not declare as an unknown key, naming it as typed',
    () => {
      fc.assert(
        fc.property(argSpecs, fc.constantFrom(...KEY_NAMES.filter((k) => /^[A-Za-z][\w-]*$/.test(k))), anyText(20), (specs, key, value) => {
          const declared = Object.keys(specs).includes(key.toLowerCase().replace(/-/g, '_'));
          fc.pre(!declared && !Object.values(specs).some((s) => s.kind === 'string' && s.sensitive));
          const result = parseArgs([`${key}=${value}`], specs, USAGE);
          expect(result.ok ? 'ok' : result.error.message).toBe(`Unknown key "${key}".`);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'refuses a value over the length limit rather than shortening it, and names the key',
    () => {
      const specs: ArgSpecs = { note: { kind: 'string', help: 'a note' } };
      fc.assert(
        fc.property(fc.integer({ min: MAX_VALUE_LENGTH + 1, max: MAX_VALUE_LENGTH + 50 }), fc.constantFrom('x', 'é', ' '), (length, ch) => {
          const result = parseArgs([`note=${ch.repeat(length - 1)}y`], specs, USAGE);
          expect(result.ok).toBe(false);
          if (result.ok) return;
          expect(result.error.message).toBe(`"note" is too long (${length} characters; at most ${MAX_VALUE_LENGTH}).`);
        }),
        fuzzParams('heavy'),
      );
    },
    timeoutFor('heavy'),
  );

  it(
    'never quotes a password in a refusal, whatever else is typed around it',
    () => {
      const specs: ArgSpecs = {
        ref: { kind: 'string', help: 'a reference such as UPG-000001', required: true, positional: 0, pattern: /^UPG-\d{6}$/ },
        password: { kind: 'string', help: 'the password', required: true, positional: 'rest', sensitive: true },
      };
      const secret = fc.string({ unit: fc.constantFrom(...'abcdefXYZ0123456789!#%&*+-./:=?@^_~'), minLength: 6, maxLength: 30 });
      fc.assert(
        fc.property(secret, fc.array(typedWord, { maxLength: 4 }), fc.nat(4), (password, words, at) => {
          const all = [...words];
          all.splice(Math.min(at, all.length), 0, password);
          const result = parseArgs(all, specs, USAGE);
          if (result.ok) return;
          expect(result.error.message).not.toContain(password);
          expect(JSON.stringify(result.error.details ?? {})).not.toContain(password);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );
});

describe('the parsing half of dispatch', () => {
  it(
    'answers any text with a reply, never an internal error, and every refusal says clearly what is wrong',
    async () => {
      await fc.assert(
        fc.asyncProperty(commandText, fc.constantFrom(...IDENTITIES), async (text, identity) => {
          fc.pre(!looksUnclear(text));
          const log = new MemoryLogger();
          const reply = await dispatch(registry, parsingOnlyDeps(log), { id: 'inv-fuzz', via: 'console', identity, text });
          expect(log.entries.filter((e) => e.level === 'error')).toEqual([]);
          expect(reply.error?.code).not.toBe('internal_error');
          if (reply.error) {
            expect(PARSE_CODES.has(reply.error.code)).toBe(true);
            expect(unclearMessage(reply.error.message)).toEqual([]);
            if (reply.error.hint !== undefined) expect(reply.error.hint).not.toMatch(/undefined|NaN|\[object /);
          } else {
            // Only help needs no person: anything else parsed must have stopped at the unknown requester.
            expect(reply.title ?? '').toMatch(/^\/upgrade(-admin)?( [a-z -]+)?: /);
          }
          // What is logged of the command is one line and never the raw text of an unknown command.
          const logged = loggableText(registry, text);
          expect(typeof logged).toBe('string');
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'refuses text over the length limit with invalid_arguments, before reading it',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: anyChar, minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 50 }), async (chunk, extra) => {
          // Time-mark delimiters (U+E000-U+E002) are dropped before the length is judged: typed text never carries them.
          fc.pre(!/[\uE000-\uE002]/.test(chunk));
          const text = `/upgrade request note="${chunk.repeat(Math.ceil((MAX_COMMAND_LENGTH + 100) / chunk.length))}`.slice(0, MAX_COMMAND_LENGTH + 1 + extra);
          const log = new MemoryLogger();
          const reply = await dispatch(registry, parsingOnlyDeps(log), { id: 'inv-long', via: 'console', identity: IDENTITIES[0] as Invocation['identity'], text });
          expect(reply.error?.code).toBe('invalid_arguments');
          expect(reply.error?.message).toBe(`The command is too long (${text.length} characters).`);
          expect(loggableText(registry, text)).toBe('[command too long]');
        }),
        fuzzParams('heavy'),
      );
    },
    timeoutFor('heavy'),
  );

  it(
    'reads the longest accepted text without error or stall',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: anyChar, minLength: 1, maxLength: 20 }), async (chunk) => {
          const text = `/upgrade request note=${chunk.repeat(Math.ceil(MAX_COMMAND_LENGTH / chunk.length))}`.slice(0, MAX_COMMAND_LENGTH);
          fc.pre(!looksUnclear(text));
          const log = new MemoryLogger();
          const started = performance.now();
          const reply = await dispatch(registry, parsingOnlyDeps(log), { id: 'inv-max', via: 'console', identity: IDENTITIES[0] as Invocation['identity'], text });
          expect(performance.now() - started).toBeLessThan(1000);
          expect(reply.error).toBeDefined();
          expect(PARSE_CODES.has(reply.error?.code ?? '')).toBe(true);
          expect(unclearMessage(reply.error?.message)).toEqual([]);
        }),
        fuzzParams('heavy'),
      );
    },
    timeoutFor('heavy'),
  );

  it(
    'never writes a manager password to the log, however the password command is typed',
    () => {
      const chars = fc.string({ unit: fc.constantFrom(...'abcdefXYZ0123456789!#%&*+-./:=?@^_~ "\''), minLength: 8, maxLength: 30 });
      // A password may contain "=", so it may look like key=value.
      const secret = fc.oneof(chars, fc.tuple(fc.constantFrom(...KEY_NAMES), chars).map(([k, v]) => `${k}=${v}`));
      fc.assert(
        fc.property(secret, fc.constantFrom('UPG-000001', 'ref=UPG-000001', ''), fc.array(typedWord, { maxLength: 3 }), fc.boolean(), (password, ref, extra, first) => {
          fc.pre(password.trim().length >= 8 && !/^[a-z_-]+$/i.test(password));
          // A password that is part of the command's own words could not be told from them.
          fc.pre(![`/upgrade password ref=UPG-000001 [redacted]`, ...extra].some((w) => w.includes(password)));
          const words = first ? [quoteWord(password), ref, ...extra] : [ref, ...extra, quoteWord(password)];
          const logged = loggableText(registry, `/upgrade password ${words.join(' ')}`);
          expect(logged).not.toContain(password);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );
});
