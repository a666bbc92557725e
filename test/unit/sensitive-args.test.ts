import { describe, expect, it } from '@jest/globals';
import { parseArgs, redactWords, tokenize } from '../../src/core/args.js';
import type { ArgSpecs } from '../../src/core/args.js';

const INFO = { usage: '/x secret REF <password>', example: '/x secret UPG-000001 hunter2' };

const SECRET: ArgSpecs = {
  ref: { kind: 'string', required: true, positional: 0, pattern: /^UPG-?\d{1,9}$/i, help: 'request reference' },
  password: { kind: 'string', required: true, positional: 'rest', sensitive: true, help: 'the password' },
  mode: { kind: 'choice', choices: ['fast', 'slow'], help: 'how' },
  note: { kind: 'string', help: 'a note' },
  dry: { kind: 'flag', help: 'do nothing' },
};

const PLAIN: ArgSpecs = {
  ref: { kind: 'string', required: true, positional: 0, help: 'request reference' },
  reason: { kind: 'string', positional: 'rest', help: 'why' },
};

function words(text: string): string[] {
  const t = tokenize(text);
  if (!t.ok) throw new Error(t.error.message);
  return t.value;
}

describe('redacting sensitive arguments for logs', () => {
  it.each([
    ['UPG-000001 hunter2', 'UPG-000001 [redacted]'],
    ['UPG-000001 correct horse battery', 'UPG-000001 [redacted]'],
    ['UPG-000001 "with space" dry mode=fast note=hello', 'UPG-000001 [redacted] dry mode=fast note=hello'],
    ['password=hunter2 UPG-000001', 'password=[redacted] UPG-000001'],
    ['UPG-000001 user=admin', 'UPG-000001 [redacted]'],
    ['hunter2 UPG-000001', '[redacted]'],
    ['ref=hunter2 UPG-000001', 'ref=[redacted] [redacted]'],
    ['UPG-000001 mode=hunter2 x', 'UPG-000001 mode=[redacted] [redacted]'],
  ])('logs "%s" as "%s"', (typed, logged) => {
    const out = redactWords(words(typed), SECRET);
    expect(out.join(' ')).toBe(logged);
  });

  it('leaves the words of commands without sensitive arguments alone', () => {
    expect(redactWords(['UPG-1', 'too', 'slow'], PLAIN)).toEqual(['UPG-1', 'too', 'slow']);
  });
});

describe('parsing a command with a sensitive argument', () => {
  it('takes every remaining word as the password, including key=value lookalikes', () => {
    const parsed = parseArgs(words('UPG-000001 user=admin pass word'), SECRET, INFO);
    expect(parsed).toEqual({ ok: true, value: expect.objectContaining({ ref: 'UPG-000001', password: 'user=admin pass word' }) });
  });

  it.each([
    ['a reference in the wrong form', 'hunter2 UPG-000001', 'hunter2'],
    ['a choice that is not one', 'UPG-000001 secret mode=hunter2', 'hunter2'],
  ])('refuses %s without quoting what was typed', (_what, typed, hidden) => {
    const parsed = parseArgs(words(typed), SECRET, INFO);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.code).toBe('invalid_arguments');
    expect(parsed.error.message).not.toContain(hidden);
  });

  it('still names unknown keys of ordinary commands', () => {
    const parsed = parseArgs(['UPG-1', 'colour=blue'], { ref: PLAIN.ref! }, INFO);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.message).toContain('colour');
  });
});

describe('key names every plain object answers to (found by test/fuzz)', () => {
  it.each(['constructor', 'toString', 'valueOf', 'hasOwnProperty'])('refuses %s=… as an unknown key of an ordinary command', (key) => {
    const parsed = parseArgs(['UPG-1', `${key}=x`], PLAIN, INFO);
    expect(parsed.ok ? 'ok' : parsed.error.message).toBe(`Unknown key "${key}".`);
  });

  it.each(['constructor=hunter22', 'toString=hunter22', 'valueOf=hunter22'])('takes the password %s as a password and never logs it', (password) => {
    expect(parseArgs(['UPG-000001', password], SECRET, INFO)).toEqual({ ok: true, value: expect.objectContaining({ password }) });
    expect(redactWords(['UPG-000001', password], SECRET)).toEqual(['UPG-000001', '[redacted]']);
  });
});
