import { describe, expect, it } from '@jest/globals';
import {
  formatInZone,
  isValidCron,
  isValidTimezone,
  nextSlotStarts,
  overlaps,
  parseLowTraffic,
  parseWhen,
  withinLowTraffic,
} from '../../src/domain/time.js';

const NOW = new Date('2026-01-15T12:00:00Z');
const d = (iso: string): Date => new Date(iso);

describe('reading when=', () => {
  it.each([
    ['now', { mode: 'now' }],
    [' NOW ', { mode: 'now' }],
    ['window', { mode: 'window' }],
    ['Window', { mode: 'window' }],
  ])('reads %j as %j', (text, expected) => {
    expect(parseWhen(text, 'America/New_York', NOW)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['2026-12-06T01:00', 'America/New_York', '2026-12-06T06:00:00.000Z'],
    ['2026-12-06T01:00:30', 'America/New_York', '2026-12-06T06:00:30.000Z'],
    ['2026-07-06T01:00', 'America/New_York', '2026-07-06T05:00:00.000Z'],
    ['2026-12-06T01:00', 'Europe/Berlin', '2026-12-06T00:00:00.000Z'],
    ['2026-07-06T01:00', 'Europe/Berlin', '2026-07-05T23:00:00.000Z'],
    ['2026-12-06T01:00Z', 'America/New_York', '2026-12-06T01:00:00.000Z'],
    ['2026-12-06t01:00z', 'America/New_York', '2026-12-06T01:00:00.000Z'],
    ['2026-12-06T01:00+05:30', 'America/New_York', '2026-12-05T19:30:00.000Z'],
    ['2026-12-06T01:00-05:00', 'Europe/Berlin', '2026-12-06T06:00:00.000Z'],
    // The hours just around the New York changes exist exactly once.
    ['2026-03-08T01:59', 'America/New_York', '2026-03-08T06:59:00.000Z'],
    ['2026-03-08T03:00', 'America/New_York', '2026-03-08T07:00:00.000Z'],
    ['2026-11-01T00:59', 'America/New_York', '2026-11-01T04:59:00.000Z'],
    ['2026-11-01T02:00', 'America/New_York', '2026-11-01T07:00:00.000Z'],
    // An explicit offset resolves the overlap.
    ['2026-11-01T01:30-04:00', 'America/New_York', '2026-11-01T05:30:00.000Z'],
    ['2026-11-01T01:30-05:00', 'America/New_York', '2026-11-01T06:30:00.000Z'],
    ['2026-10-25T02:30+02:00', 'Europe/Berlin', '2026-10-25T00:30:00.000Z'],
    ['2026-10-25T02:30+01:00', 'Europe/Berlin', '2026-10-25T01:30:00.000Z'],
  ])('reads %s in %s as the instant %s', (text, tz, iso) => {
    const result = parseWhen(text, tz, NOW);
    expect(result).toEqual({ ok: true, value: { mode: 'at', at: new Date(iso) } });
  });

  it.each([
    ['2026-03-08T02:30', 'America/New_York', ['2026-03-08T01:59-05:00', '2026-03-08T03:00-04:00']],
    ['2026-03-08T02:00', 'America/New_York', ['2026-03-08T01:59-05:00', '2026-03-08T03:00-04:00']],
    ['2026-03-29T02:30', 'Europe/Berlin', ['2026-03-29T01:59+01:00', '2026-03-29T03:00+02:00']],
    // A half-hour change, and one at midnight.
    ['2026-10-04T02:15', 'Australia/Lord_Howe', ['2026-10-04T01:59+10:30', '2026-10-04T02:30+11:00']],
    ['2026-09-06T00:30', 'America/Santiago', ['2026-09-05T23:59-04:00', '2026-09-06T01:00-03:00']],
  ])('refuses %s in %s as a time that does not exist, suggesting %j', (text, tz, suggestions) => {
    const result = parseWhen(text, tz, NOW);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('nonexistent_local_time');
    expect(result.error.details?.suggestions).toEqual(suggestions);
    expect(result.error.message).toContain('does not exist');
    for (const s of suggestions) expect(result.error.message).toContain(s);
  });

  it('suggests times that themselves are accepted', () => {
    const result = parseWhen('2026-03-08T02:30', 'America/New_York', NOW);
    const suggestions = (result.ok ? [] : result.error.details?.suggestions) as string[];
    expect(suggestions.map((s) => parseWhen(s, 'America/New_York', NOW).ok)).toEqual([true, true]);
  });

  it.each([
    ['2026-11-01T01:30', 'America/New_York', ['2026-11-01T01:30-04:00', '2026-11-01T01:30-05:00'], ['EDT', 'EST']],
    ['2026-10-25T02:30', 'Europe/Berlin', ['2026-10-25T02:30+02:00', '2026-10-25T02:30+01:00'], ['CEST', 'CET']],
  ])('refuses %s in %s as ambiguous, showing both readings', (text, tz, readings, names) => {
    const result = parseWhen(text, tz, NOW);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('ambiguous_local_time');
    expect(result.error.details?.readings).toEqual(readings);
    for (const r of readings) expect(result.error.message).toContain(r);
    for (const n of names) expect(result.error.message).toContain(n);
    expect(result.error.message).toMatch(/add the offset/i);
  });

  it.each([
    'tomorrow',
    '',
    '2026-12-06',
    '2026-12-06 01:00',
    '06/12/2026 01:00',
    '2026-13-01T01:00',
    '2026-02-30T01:00',
    '2026-12-06T24:00',
    '2026-12-06T01:60',
    '2026-12-06T01:00+15:00',
    '2026-12-06T01:00 EST',
  ])('refuses %j as invalid_time with an example', (text) => {
    const result = parseWhen(text, 'America/New_York', NOW);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('invalid_time');
    expect(result.error.message).toMatch(/e\.g\.|such as/);
  });

  it('does not judge whether a time is in the past', () => {
    expect(parseWhen('2020-01-01T00:00Z', 'UTC', NOW)).toEqual({ ok: true, value: { mode: 'at', at: d('2020-01-01T00:00:00Z') } });
  });

  it('refuses a local time when the customer timezone is unknown', () => {
    const result = parseWhen('2026-12-06T01:00', 'Mars/Olympus', NOW);
    expect(result.ok ? null : result.error.code).toBe('invalid_timezone');
  });
});

describe('low-traffic windows', () => {
  it.each([
    ['Sun 01:00-05:00', [7], 60, 300, 240],
    ['Sat-Sun 22:00-04:00', [6, 7], 1320, 240, 360],
    ['Mon,Wed,Fri 00:00-06:00', [1, 3, 5], 0, 360, 360],
    ['Mon, Wed, Fri 00:00-06:00', [1, 3, 5], 0, 360, 360],
    ['daily 01:00-05:00', [1, 2, 3, 4, 5, 6, 7], 60, 300, 240],
    ['Fri-Mon 23:00-01:00', [1, 5, 6, 7], 1380, 60, 120],
    ['sunday 00:00-24:00', [7], 0, 1440, 1440],
    ['Tue 03:00-03:00', [2], 180, 180, 1440],
    ['weekends 1:00-5:00', [6, 7], 60, 300, 240],
  ])('reads %j', (text, days, startMinute, endMinute, durationMinutes) => {
    expect(parseLowTraffic(text)).toEqual({ days, startMinute, endMinute, durationMinutes, text: text.trim() });
  });

  it.each(['', 'Sun', 'Sun 01:00', 'Funday 01:00-05:00', 'Sun 25:00-05:00', 'Sun 01:00-05:61', 'Sun 24:00-05:00', 'Sun 01:00-05:00 extra'])(
    'refuses %j',
    (text) => {
      expect(parseLowTraffic(text)).toBeNull();
    },
  );

  // Found by test/fuzz: day names were looked up on a plain object, so these read as a day, and a range ending in one looped forever.
  it.each(['constructor 01:00-05:00', '__proto__ 01:00-05:00', 'Sun-constructor 01:00-05:00', 'constructor-Sun 01:00-05:00', 'Mon,__proto__ 01:00-05:00'])(
    'refuses %j, which names no weekday',
    (text) => {
      expect(parseLowTraffic(text)).toBeNull();
    },
  );

  const sunday = parseLowTraffic('Sun 01:00-05:00')!;
  const weekendNights = parseLowTraffic('Sat-Sun 22:00-04:00')!;
  it.each([
    ['inside a Sunday window', sunday, 'America/New_York', '2026-12-06T06:00:00Z', '2026-12-06T07:00:00Z', true],
    ['exactly the whole window', sunday, 'America/New_York', '2026-12-06T06:00:00Z', '2026-12-06T10:00:00Z', true],
    ['starting before the window', sunday, 'America/New_York', '2026-12-06T05:59:00Z', '2026-12-06T07:00:00Z', false],
    ['ending after the window', sunday, 'America/New_York', '2026-12-06T09:30:00Z', '2026-12-06T10:30:00Z', false],
    ['on a Saturday', sunday, 'America/New_York', '2026-12-05T06:00:00Z', '2026-12-05T07:00:00Z', false],
    ['on Sunday in UTC but Saturday in New York', sunday, 'America/New_York', '2026-12-06T01:00:00Z', '2026-12-06T02:00:00Z', false],
    ['inside the same hours in Berlin', sunday, 'Europe/Berlin', '2026-12-06T00:00:00Z', '2026-12-06T01:00:00Z', true],
    ['over midnight Saturday night', weekendNights, 'UTC', '2026-12-05T23:00:00Z', '2026-12-06T01:00:00Z', true],
    ['early Monday in the Sunday-night occurrence', weekendNights, 'UTC', '2026-12-07T02:00:00Z', '2026-12-07T03:00:00Z', true],
    ['early Saturday, which belongs to Friday night', weekendNights, 'UTC', '2026-12-05T02:00:00Z', '2026-12-05T03:00:00Z', false],
    ['spanning two occurrences with a gap', weekendNights, 'UTC', '2026-12-06T03:00:00Z', '2026-12-06T23:00:00Z', false],
    // Fall-back Sunday in New York: 01:00 EDT to 05:00 EST is five real hours.
    ['the long fall-back Sunday', sunday, 'America/New_York', '2026-11-01T05:00:00Z', '2026-11-01T10:00:00Z', true],
    // Spring-forward Sunday: 01:00 EST to 05:00 EDT is only three real hours.
    ['past the short spring-forward Sunday', sunday, 'America/New_York', '2026-03-08T06:00:00Z', '2026-03-08T09:30:00Z', false],
    ['the short spring-forward Sunday', sunday, 'America/New_York', '2026-03-08T06:00:00Z', '2026-03-08T09:00:00Z', true],
  ])('GIVEN an interval %s THEN within is %s', (_label, window, tz, start, end, expected) => {
    expect(withinLowTraffic(window, tz, d(start), d(end))).toBe(expected);
  });
});

describe('display in the customer timezone', () => {
  it.each([
    ['2026-12-06T06:00:00Z', 'America/New_York', 'Sun 6 Dec 2026 01:00 EST (UTC-05:00) · 06:00 UTC'],
    ['2026-07-05T06:00:00Z', 'America/New_York', 'Sun 5 Jul 2026 02:00 EDT (UTC-04:00) · 06:00 UTC'],
    ['2026-12-06T06:00:00Z', 'Europe/Berlin', 'Sun 6 Dec 2026 07:00 CET (UTC+01:00) · 06:00 UTC'],
    ['2026-12-06T03:00:00Z', 'America/New_York', 'Sat 5 Dec 2026 22:00 EST (UTC-05:00) · Sun 6 Dec 03:00 UTC'],
    ['2026-12-06T06:00:00Z', 'UTC', 'Sun 6 Dec 2026 06:00 UTC'],
    ['2026-12-06T06:00:00Z', 'Asia/Tokyo', 'Sun 6 Dec 2026 15:00 (UTC+09:00) · 06:00 UTC'],
  ])('shows %s in %s as %j', (iso, tz, expected) => {
    expect(formatInZone(d(iso), tz)).toBe(expected);
  });

  it('falls back to UTC for an unknown timezone', () => {
    expect(formatInZone(d('2026-12-06T06:00:00Z'), 'Nowhere/Land')).toBe('Sun 6 Dec 2026 06:00 UTC');
  });
});

describe('interval overlap', () => {
  const t = (h: number): Date => new Date(Date.UTC(2026, 11, 1, h));
  it.each([
    ['a before b', 0, 2, 3, 5, false],
    ['a touches b', 0, 3, 3, 5, false],
    ['b touches a', 3, 5, 0, 3, false],
    ['a overlaps the start of b', 0, 4, 3, 5, true],
    ['a inside b', 3, 4, 2, 5, true],
    ['b inside a', 0, 6, 2, 3, true],
    ['same interval', 1, 2, 1, 2, true],
    ['a after b', 6, 7, 2, 5, false],
  ])('%s: overlap is %s', (_label, a1, a2, b1, b2, expected) => {
    expect(overlaps(t(a1), t(a2), t(b1), t(b2))).toBe(expected);
  });
});

describe('timezone names', () => {
  it.each([
    ['America/New_York', true],
    ['Europe/Berlin', true],
    ['UTC', true],
    ['Mars/Olympus', false],
    ['', false],
    ['EST5EDT!', false],
  ])('%j is valid: %s', (tz, expected) => {
    expect(isValidTimezone(tz)).toBe(expected);
  });
});

describe('upgrade slot starts', () => {
  it('lists Sunday 01:00 New York slots strictly after the given instant, across the fall-back change', () => {
    expect(nextSlotStarts('0 1 * * 0', 'America/New_York', d('2026-10-25T05:00:00Z'), 3)).toEqual([
      d('2026-11-01T05:00:00Z'),
      d('2026-11-08T06:00:00Z'),
      d('2026-11-15T06:00:00Z'),
    ]);
  });

  it('lists Sunday 01:00 Berlin slots across the spring-forward change', () => {
    expect(nextSlotStarts('0 1 * * 0', 'Europe/Berlin', d('2026-03-20T00:00:00Z'), 2)).toEqual([
      d('2026-03-22T00:00:00Z'),
      d('2026-03-29T00:00:00Z'),
    ]);
  });

  it('bounds the count', () => {
    expect(nextSlotStarts('* * * * *', 'UTC', d('2026-01-01T00:00:00Z'), 5000)).toHaveLength(1000);
    expect(nextSlotStarts('0 1 * * 0', 'UTC', d('2026-01-01T00:00:00Z'), 0)).toEqual([]);
  });

  it.each([
    ['not a cron', 'UTC'],
    ['0 1 * * 0', 'Mars/Olympus'],
  ])('returns no slots for cron %j in %s', (cron, tz) => {
    expect(nextSlotStarts(cron, tz, d('2026-01-01T00:00:00Z'), 3)).toEqual([]);
  });

  it.each([
    ['0 1 * * 0', true],
    ['*/15 * * * *', true],
    ['not a cron', false],
    ['61 1 * * 0', false],
  ])('recognises %j as a cron expression: %s', (cron, expected) => {
    expect(isValidCron(cron)).toBe(expected);
  });
});
