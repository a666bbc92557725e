/**
 * Property tests of the e-mailed request form (src/adapters/email/form.ts): no text or HTML
 * crashes the reader or makes it slow, a filled-in template reads back as the values written into
 * it, and the command a form stands for tokenizes back to exactly those values.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { FORM_FIELDS, formCommandText, formTemplate, parseForm } from '../../src/adapters/email/form.js';
import type { FormKey, FormValues, ParsedForm } from '../../src/adapters/email/form.js';
import { MAX_VALUE_LENGTH, tokenize } from '../../src/core/args.js';
import { fuzzParams, timeoutFor } from './fuzz-config.js';

const KEYS = FORM_FIELDS.map((f) => f.key);
const REQUIRED = FORM_FIELDS.filter((f) => f.required).map((f) => f.key);

/** The command argument each form field becomes (formCommandText's order; the contact name has none). */
const ARG_OF: Array<[FormKey, string]> = [
  ['device', 'device'],
  ['version', 'version'],
  ['when', 'when'],
  ['mac', 'mac'],
  ['ip', 'ip'],
  ['serial', 'serial'],
  ['company', 'company'],
  ['email', 'email'],
  ['phone', 'phone'],
  ['notes', 'note'],
];

// eslint-disable-next-line no-control-regex
const CONTROL_OR_BREAK = /[\u0000-\u001F\u007F\u0085\u2028\u2029]/;

/** The documented one-line form of a value: each run of line breaks and control characters as one space, trimmed. */
function asOneLine(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001F\u007F\u0085\u2028\u2029]+/g, ' ').trim();
}

/** The text without white space, control and invisible formatting characters: what a reader of the mail sees of it. */
function visible(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\s\u0000-\u001F\u007F-\u009F\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g, '');
}

/** What every reading must look like, whatever the input: one-line trimmed values, `missing` consistent with them, bounded lists. */
function expectWellFormed(parsed: ParsedForm): void {
  for (const [key, value] of Object.entries(parsed.values)) {
    expect(KEYS).toContain(key);
    expect(typeof value).toBe('string');
    expect(value).not.toBe('');
    expect(value).toBe((value as string).trim());
    expect(value).not.toMatch(CONTROL_OR_BREAK);
    expect((value as string).length).toBeLessThanOrEqual(MAX_VALUE_LENGTH + 1);
  }
  expect(parsed.missing).toEqual(REQUIRED.filter((k) => (parsed.values[k] ?? '') === ''));
  expect(parsed.unknownFields.length).toBeLessThanOrEqual(20);
  for (const label of parsed.unknownFields) {
    expect(label.length).toBeGreaterThan(0);
    expect(label.length).toBeLessThanOrEqual(40);
    expect(label).not.toMatch(CONTROL_OR_BREAK);
  }
  for (const c of parsed.corrected) {
    expect(KEYS).toContain(c.field);
    expect(c.written.length).toBeLessThanOrEqual(40);
  }
}

/** Reads the body, failing when one reading takes longer than `limitMs` (the reader promises bounded work). */
function timedParse(body: { text?: string | null; html?: string | null }, limitMs: number): ParsedForm {
  const started = performance.now();
  const parsed = parseForm(body);
  expect(performance.now() - started).toBeLessThan(limitMs);
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Lines that mean something to the reader: labels, aliases, misspellings, quote markers, signatures, tables. */
const MEANINGFUL_LINES = [
  ...FORM_FIELDS.map((f) => `${f.label}:`),
  'Serail number:', 'S/N =', '**MAC address**:', '1. Device -', '* IP address\t', '| Company | Acme |', '|---|---|', 'E-Mail address: Jane <jane@acme.example>',
  'Preferred time: asap', 'When: 2026-12-06 01:00 UTC', 'Notes:', 'Colour: blue', 'Device ID: 7', 'From: x@y', 'Sent: Monday', 'Subject: Re: form',
  '> Device: quoted-01', '>> Serial number: SN-9', 'On Mon, 1 Dec 2026, Jane wrote:', '-----Original Message-----', '---------- Forwarded message ----------',
  'Begin forwarded message:', '--', '__________', 'Best regards,', 'Thanks, Jane', '', '   ', 'Phone: +1 555 0100', 'Target version = 7.1.0',
  '[jane@acme.example](mailto:jane@acme.example)', '<tel:+15550100>', '(optional): x', 'Label (hint [nested (deep)]): v',
];
const meaningfulLine = fc.constantFrom(...MEANINGFUL_LINES);

/** Characters that tend to break text handling, mixed with ordinary ones. */
const messyChar = fc.oneof(
  fc.constantFrom(':', '=', '|', '-', '–', '—', '\t', '\r', '\n', '\u2028', '\u0085', '\u00A0', '\u200B', '\uFEFF', '\u001F', '\u0000', '>', '<', '&', '#', ';', '(', ')', '[', ']', '*', '_', '`', '"', '“', '”', '@', '\\'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
);
const messyText = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: messyChar, maxLength });

/** A body of lines: real labels with random values, random lines, and random line ends. */
const mailBody = fc
  .array(fc.oneof(meaningfulLine, fc.tuple(meaningfulLine, messyText(30)).map(([l, v]) => `${l} ${v}`), messyText(60)), { maxLength: 25 })
  .chain((lines) => fc.array(fc.constantFrom('\n', '\r\n', '\r', '\n\n'), { minLength: lines.length, maxLength: lines.length }).map((ends) => lines.map((l, i) => l + ends[i]).join('')));

/** Tags and entities the HTML reader handles specially. */
const HTML_BITS = [
  '<p>', '</p>', '<br>', '<br/>', '<div>', '</div>', '<table>', '</table>', '<tr>', '</tr>', '<td>', '</td>', '<th>', '<blockquote>', '</blockquote>',
  '<pre>', '</pre>', '<script>', '</script>', '<style>', '</style>', '<!--', '-->', '<!DOCTYPE html>', '<?xml?>', '<', '>', '</', '<b>', '</ b>',
  '&nbsp;', '&amp;', '&lt;', '&#58;', '&#x3a;', '&#0;', '&#xD800;', '&#1114112;', '&#x110000;', '&zwsp;', '&unknown;', '&', '<td>Device</td><td>edge-01</td>',
  '<svg/>', '<xml>', '<template>',
];
const htmlBody = fc
  .array(fc.oneof(fc.constantFrom(...HTML_BITS), meaningfulLine, messyText(20)), { maxLength: 40 })
  .map((parts) => parts.join(''));

/** A character a form value may hold in the middle: letters of several scripts, digits, punctuation, quotes, single spaces. */
const innerChar = fc.oneof(
  fc.constantFrom(...'abcxyzABCXYZ0123456789éßжΩ中文🚀 !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’«»…–—'),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }).filter((c) => c >= ' ' && c <= '~'),
);
/** A character a value may start or end with: one no decoration rule strips (markdown, quotes, links, brackets). */
const edgeChar = fc.constantFrom(...'abcxyzABCXYZ0123456789éßжΩ中🚀');

/** The values the reader documents as meaning "nothing filled in" (that can start and end with a letter). */
const PLACEHOLDER_WORDS = new Set(['n/a', 'none', 'tbd']);

/**
 * A single-line value that reads back unchanged: starts and ends with a letter or digit, single
 * spaces, not a placeholder. For the e-mail field either a plain address or text without "@"
 * (any other text with an address in it is read as just the address, by design).
 */
function plainValue(key: FormKey): fc.Arbitrary<string> {
  const text = fc
    .tuple(edgeChar, fc.string({ unit: innerChar, maxLength: 60 }), edgeChar)
    .map(([a, mid, b]) => `${a}${mid}${b}`.replace(/ {2,}/g, ' '))
    .filter((v) => !PLACEHOLDER_WORDS.has(v.toLowerCase()));
  if (key !== 'email') return fc.oneof(text, edgeChar);
  return fc.oneof(
    text.filter((v) => !v.includes('@')),
    fc.emailAddress().filter((a) => /^[A-Za-z0-9]/.test(a) && a.length <= 200),
  );
}

/** Form values: each field present with a plain value or absent. */
const plainValues: fc.Arbitrary<FormValues> = fc.record(
  Object.fromEntries(KEYS.map((k) => [k, plainValue(k)])) as Record<FormKey, fc.Arbitrary<string>>,
  { requiredKeys: [] },
);

/** Any values at all: full Unicode, control characters, line breaks, empty. */
const anyValues: fc.Arbitrary<FormValues> = fc.record(
  Object.fromEntries(KEYS.map((k) => [k, fc.oneof(messyText(40), fc.string({ unit: 'binary', maxLength: 40 }))])) as Record<FormKey, fc.Arbitrary<string>>,
  { requiredKeys: [] },
);

// ---------------------------------------------------------------------------------------------

describe('reading a form from an e-mail', () => {
  it(
    'never throws and always gives a well-formed reading, for any text and HTML, also mixed with real labels',
    () => {
      fc.assert(
        fc.property(fc.oneof(mailBody, messyText(300)), fc.option(fc.oneof(htmlBody, messyText(200)), { nil: undefined }), (text, html) => {
          expectWellFormed(timedParse({ text, html }, 1000));
          expectWellFormed(timedParse({ html: html ?? text }, 1000));
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'reads a filled-in template back as exactly the values written into it',
    () => {
      fc.assert(
        fc.property(plainValues, (values) => {
          const parsed = timedParse({ text: formTemplate(values) }, 1000);
          expect(parsed.values).toEqual(values);
          expect(parsed.missing).toEqual(REQUIRED.filter((k) => values[k] === undefined));
          expect(parsed.unknownFields).toEqual([]);
          expect(parsed.corrected).toEqual([]);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'reads a template filled with anything as well-formed values, each one a line of what was written',
    () => {
      fc.assert(
        fc.property(anyValues, (values) => {
          const parsed = timedParse({ text: formTemplate(values) }, 1000);
          expectWellFormed(parsed);
          // A field is read only from its own line, and only from what was written there (decorations such as
          // markdown, quotes or a mail client's link may be dropped, white space and invisible characters ignored).
          for (const [key, value] of Object.entries(parsed.values) as Array<[FormKey, string]>) {
            expect(values[key]).toBeDefined();
            expect(visible(values[key] as string)).toContain(visible(value));
          }
          // The template keeps one line per field: nothing written into a value adds a field or an unknown label.
          expect(formTemplate(values).split('\n')).toHaveLength(formTemplate().split('\n').length);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'cuts a value over the command’s limit one character past it, so the command refuses it instead of taking it shortened',
    () => {
      fc.assert(
        fc.property(fc.constantFrom(...KEYS.filter((k) => k !== 'email')), fc.integer({ min: MAX_VALUE_LENGTH - 2, max: MAX_VALUE_LENGTH + 40 }), edgeChar, (key, length, ch) => {
          const value = `${'x'.repeat(length - 1)}${ch}`;
          const parsed = timedParse({ text: formTemplate({ [key]: value }) }, 1000);
          expect(parsed.values[key]).toBe(value.slice(0, MAX_VALUE_LENGTH + 1));
        }),
        fuzzParams('heavy'),
      );
    },
    timeoutFor('heavy'),
  );

  it(
    'does bounded work on inputs at and over the size limits, built from the patterns the reader scans for',
    () => {
      const chunk = fc.oneof(
        fc.constantFrom('(', '[', ':', '=', '|', '<', '&#', '> ', '-', ' - ', 'a', '\t', '*', '`', '<td>', '<!--', '<script>', 'Device: ', 'On ', 'From: x\n', '\n', '\n\n', '&amp;', '@a.'),
        messyText(12),
      );
      fc.assert(
        fc.property(fc.array(chunk, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1_000, max: 300_000 }), fc.boolean(), (parts, size, asHtml) => {
          const unit = parts.join('') || 'a';
          const body = unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
          expectWellFormed(timedParse(asHtml ? { html: body } : { text: body }, 3000));
        }),
        fuzzParams('heavy'),
      );
    },
    timeoutFor('heavy'),
  );
});

/** The key=value words of a command text, checked to start with /upgrade request. */
function commandWords(text: string): Array<[string, string]> {
  const words = tokenize(text);
  expect(words.ok).toBe(true);
  if (!words.ok) return [];
  expect(words.value.slice(0, 2)).toEqual(['/upgrade', 'request']);
  return words.value.slice(2).map((w) => {
    const eq = w.indexOf('=');
    expect(eq).toBeGreaterThan(0);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

describe('the command a form stands for', () => {
  /** A value formCommandText passes through as it is: no line break or control character, no surrounding white space, not empty. */
  const exactValue = fc
    .oneof(messyText(40), fc.string({ unit: 'binary', maxLength: 40 }))
    .filter((v) => v !== '' && v === v.trim() && !CONTROL_OR_BREAK.test(v));

  it(
    'tokenizes back to exactly the values, in order, one key=value word each (Preferred time aside)',
    () => {
      const values = fc.record(
        Object.fromEntries(KEYS.filter((k) => k !== 'when').map((k) => [k, exactValue])) as Record<FormKey, fc.Arbitrary<string>>,
        { requiredKeys: [] },
      );
      fc.assert(
        fc.property(values, (v: FormValues) => {
          const text = formCommandText(v);
          expect(text).not.toMatch(CONTROL_OR_BREAK);
          const expected = ARG_OF.filter(([k]) => v[k] !== undefined).map(([k, arg]) => [arg, v[k]]);
          expect(commandWords(text)).toEqual(expected);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'stays one line for any values, with one word per non-blank value and no line break or control character in any',
    () => {
      fc.assert(
        fc.property(anyValues, (v) => {
          const text = formCommandText(v);
          expect(text).not.toMatch(CONTROL_OR_BREAK);
          const words = commandWords(text);
          const present = ARG_OF.filter(([k]) => v[k] !== undefined && asOneLine(v[k] as string) !== '');
          expect(words.map(([arg]) => arg)).toEqual(present.map(([, arg]) => arg));
          for (const [arg, value] of words) {
            expect(value).toBe(value.trim());
            expect(value).not.toBe('');
            if (arg !== 'when') {
              const key = (ARG_OF.find(([, a]) => a === arg) as [FormKey, string])[0];
              // Only line breaks and control characters change: each run becomes one space, then the value is trimmed.
              expect(value).toBe(asOneLine(v[key] as string));
            }
          }
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'writes Preferred time as now, window, an ISO date-time the command reads, or the text as given',
    () => {
      fc.assert(
        fc.property(fc.oneof(exactValue, fc.constantFrom('asap', 'ASAP!', 'Now.', 'the next window', 'whenever', 'any time', 'next Sunday', '2026-12-06 01:00', '2026-12-06 1:00 utc')), (when) => {
          const words = commandWords(formCommandText({ when }));
          expect(words).toHaveLength(1);
          const [arg, value] = words[0] as [string, string];
          expect(arg).toBe('when');
          const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?$/.test(value);
          expect(value === when || value === 'now' || value === 'window' || iso).toBe(true);
          if (!/\d/.test(when)) expect(iso).toBe(false);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'turns a date and time written with a space, any hour width and UTC/offset spellings into the T form, keeping every digit',
    () => {
      const two = (n: number): string => String(n).padStart(2, '0');
      fc.assert(
        fc.property(
          fc.record({
            y: fc.integer({ min: 2000, max: 2099 }),
            mo: fc.integer({ min: 1, max: 12 }),
            d: fc.integer({ min: 1, max: 28 }),
            h: fc.integer({ min: 0, max: 23 }),
            mi: fc.integer({ min: 0, max: 59 }),
            s: fc.option(fc.integer({ min: 0, max: 59 }), { nil: undefined }),
          }),
          fc.constantFrom(' ', '   ', 'T', 't'),
          fc.boolean(),
          fc.constantFrom(['', ''], [' UTC', 'Z'], ['z', 'Z'], [' gmt', 'Z'], ['+01:00', '+01:00'], [' -0500', '-05:00'], ['+05', '+05:00'], [' +0530', '+05:30']),
          (t, sep, padHour, [zoneIn, zoneOut]) => {
            const date = `${t.y}-${two(t.mo)}-${two(t.d)}`;
            const secs = t.s === undefined ? '' : `:${two(t.s)}`;
            const written = `${date}${sep}${padHour ? two(t.h) : String(t.h)}:${two(t.mi)}${secs}${zoneIn}`;
            const words = commandWords(formCommandText({ when: written }));
            expect(words).toEqual([['when', `${date}T${two(t.h)}:${two(t.mi)}${secs}${zoneOut}`]]);
          },
        ),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );
});
