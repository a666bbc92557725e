import { describe, expect, it } from '@jest/globals';
import { fitInSlot, formatSuggestions, planStart, suggestStarts } from '../../src/domain/schedule.js';
import type { PlanInput } from '../../src/domain/schedule.js';
import { formatLocalTime, formatWhen, nextSlotStarts, overlaps, parseWhen, slotOccurrences } from '../../src/domain/time.js';
import type { MaintenanceWindow, UpgradeSlot } from '../../src/domain/types.js';

/** Saturday 21 November 2026, noon UTC: "today". */
const NOW = new Date('2026-11-21T12:00:00Z');
const d = (iso: string): Date => new Date(iso);
const isoList = (dates: readonly Date[]): string[] => dates.map((x) => x.toISOString());

let nextId = 1;
function slot(cron: string, timezone: string, durationMinutes: number): UpgradeSlot {
  return { id: nextId++, kind: 'upgrade', cron, timezone, durationMinutes, customerId: null };
}
function blackout(start: string, end: string, reason = 'Platform maintenance'): MaintenanceWindow {
  return { id: nextId++, kind: 'maintenance', start: d(start), end: d(end), reason };
}

/** Sundays 01:00-05:00 UTC, the demo records' global slot. */
const UTC_SUNDAYS = slot('0 1 * * 0', 'UTC', 240);

function plan(over: Partial<PlanInput> = {}): ReturnType<typeof planStart> {
  return planStart({ mode: 'window', at: null, now: NOW, downtimeMaxMinutes: 60, maintenance: [], slots: [UTC_SUNDAYS], ...over });
}

function plannedAt(over: Partial<PlanInput> = {}): string {
  const result = plan(over);
  if (!result.ok) throw new Error(`expected a start, got ${result.error.code}: ${result.error.message}`);
  return result.value.toISOString();
}

/** True when the local wall time of `at` in `timezone` is one the clocks really show (not in a spring-forward gap). */
function existsLocally(at: Date, timezone: string): boolean {
  const wall = formatWhen(at, timezone).slice(0, 16);
  const read = parseWhen(wall, timezone, NOW);
  return read.ok || read.error.code !== 'nonexistent_local_time';
}

describe('window mode: maintenance touching the edges of a slot (Sunday 22 Nov 01:00-05:00 UTC, 60 min downtime)', () => {
  it.each([
    ['no maintenance', [], '2026-11-22T01:00:00.000Z'],
    ['maintenance ending exactly at the slot start', [['2026-11-21T22:00:00Z', '2026-11-22T01:00:00Z']], '2026-11-22T01:00:00.000Z'],
    ['maintenance over the slot start', [['2026-11-22T00:00:00Z', '2026-11-22T01:30:00Z']], '2026-11-22T01:30:00.000Z'],
    ['maintenance starting exactly at start + downtime', [['2026-11-22T02:00:00Z', '2026-11-22T03:00:00Z']], '2026-11-22T01:00:00.000Z'],
    ['maintenance starting a minute before start + downtime', [['2026-11-22T01:59:00Z', '2026-11-22T03:00:00Z']], '2026-11-22T03:00:00.000Z'],
    ['maintenance inside the slot', [['2026-11-22T01:30:00Z', '2026-11-22T02:30:00Z']], '2026-11-22T02:30:00.000Z'],
    ['maintenance covering the whole slot', [['2026-11-22T00:00:00Z', '2026-11-22T06:00:00Z']], '2026-11-29T01:00:00.000Z'],
    ['maintenance leaving exactly the downtime at the end', [['2026-11-22T01:00:00Z', '2026-11-22T04:00:00Z']], '2026-11-22T04:00:00.000Z'],
    ['maintenance leaving a minute too little at the end', [['2026-11-22T00:30:00Z', '2026-11-22T04:01:00Z']], '2026-11-29T01:00:00.000Z'],
    ['maintenance starting exactly at the slot end', [['2026-11-22T05:00:00Z', '2026-11-22T06:00:00Z']], '2026-11-22T01:00:00.000Z'],
    ['two windows with exactly the downtime between', [['2026-11-22T01:00:00Z', '2026-11-22T02:00:00Z'], ['2026-11-22T03:00:00Z', '2026-11-22T04:00:00Z']], '2026-11-22T02:00:00.000Z'],
    ['two windows with a minute too little between', [['2026-11-22T01:00:00Z', '2026-11-22T02:00:00Z'], ['2026-11-22T02:59:00Z', '2026-11-22T04:00:00Z']], '2026-11-22T04:00:00.000Z'],
    ['two windows listed out of order', [['2026-11-22T03:00:00Z', '2026-11-22T04:00:00Z'], ['2026-11-22T01:00:00Z', '2026-11-22T02:00:00Z']], '2026-11-22T02:00:00.000Z'],
    ['maintenance ending mid-minute', [['2026-11-22T00:00:00Z', '2026-11-22T01:30:30Z']], '2026-11-22T01:31:00.000Z'],
  ])('GIVEN %s THEN the upgrade starts at %s', (_label, windows, expected) => {
    const maintenance = (windows as string[][]).map(([a, b]) => blackout(a as string, b as string));
    expect(plannedAt({ maintenance })).toBe(expected);
  });

  it.each([
    ['exactly fits', 240, '2026-11-22T01:00:00.000Z'],
    ['is a minute too long', 241, null],
  ])('GIVEN a downtime that %s the slot THEN fitInSlot gives %s', (_label, minutes, expected) => {
    const fit = fitInSlot(d('2026-11-22T01:00:00Z'), 240, minutes, []);
    expect(fit?.toISOString() ?? null).toBe(expected);
  });
});

describe('window mode across daylight-saving changes', () => {
  it.each([
    // New York springs forward on Sun 8 Mar 2026: 02:00 EST becomes 03:00 EDT, so 02:30 does not exist.
    ['NY 02:30 slot on the spring-forward night starts when the clocks jump', '30 2 * * 0', 'America/New_York', 120, '2026-03-07T12:00:00Z', 60, '2026-03-08T07:00:00.000Z', 'Sun 8 Mar 2026 03:00 EDT (UTC-04:00)'],
    ['NY 02:30-04:30 slot that night holds 90 minutes', '30 2 * * 0', 'America/New_York', 120, '2026-03-07T12:00:00Z', 90, '2026-03-08T07:00:00.000Z', 'Sun 8 Mar 2026 03:00 EDT (UTC-04:00)'],
    ['NY 02:30-04:30 slot that night is too short for 91 minutes', '30 2 * * 0', 'America/New_York', 120, '2026-03-07T12:00:00Z', 91, '2026-03-15T06:30:00.000Z', 'Sun 15 Mar 2026 02:30 EDT (UTC-04:00)'],
    ['NY 01:00-05:00 slot on the spring-forward night lasts 3 real hours', '0 1 * * 0', 'America/New_York', 240, '2026-03-07T12:00:00Z', 180, '2026-03-08T06:00:00.000Z', 'Sun 8 Mar 2026 01:00 EST (UTC-05:00)'],
    ['NY 01:00-05:00 slot on the spring-forward night is too short for 181 minutes', '0 1 * * 0', 'America/New_York', 240, '2026-03-07T12:00:00Z', 181, '2026-03-15T05:00:00.000Z', 'Sun 15 Mar 2026 01:00 EDT (UTC-04:00)'],
    // New York falls back on Sun 1 Nov 2026: 02:00 EDT becomes 01:00 EST, so 01:00-01:59 happens twice.
    ['NY 01:30 slot on the fall-back night starts the first time 01:30 comes', '30 1 * * 0', 'America/New_York', 120, '2026-10-31T12:00:00Z', 60, '2026-11-01T05:30:00.000Z', 'Sun 1 Nov 2026 01:30 EDT (UTC-04:00)'],
    ['NY 01:30 slot on the fall-back night holds its full 120 minutes', '30 1 * * 0', 'America/New_York', 120, '2026-10-31T12:00:00Z', 120, '2026-11-01T05:30:00.000Z', 'Sun 1 Nov 2026 01:30 EDT (UTC-04:00)'],
    ['NY 01:30 slot with maintenance over its first hour on the fall-back night', '30 1 * * 0', 'America/New_York', 120, '2026-10-31T12:00:00Z', 60, '2026-11-01T06:30:00.000Z', 'Sun 1 Nov 2026 01:30 EST (UTC-05:00)', [['2026-11-01T05:30:00Z', '2026-11-01T06:30:00Z']]],
    ['NY 02:30 slot on the fall-back night happens once, after the change', '30 2 * * 0', 'America/New_York', 120, '2026-10-31T12:00:00Z', 120, '2026-11-01T07:30:00.000Z', 'Sun 1 Nov 2026 02:30 EST (UTC-05:00)'],
    ['NY 01:00-05:00 slot on the fall-back night is no longer than 240 minutes', '0 1 * * 0', 'America/New_York', 240, '2026-10-31T12:00:00Z', 240, '2026-11-01T05:00:00.000Z', 'Sun 1 Nov 2026 01:00 EDT (UTC-04:00)'],
    ['NY 01:00-05:00 slot on the fall-back night with its last minute taken', '0 1 * * 0', 'America/New_York', 240, '2026-10-31T12:00:00Z', 240, '2026-11-08T06:00:00.000Z', 'Sun 8 Nov 2026 01:00 EST (UTC-05:00)', [['2026-11-01T08:59:00Z', '2026-11-01T09:00:00Z']]],
    // Berlin springs forward on Sun 29 Mar 2026 (02:00 CET → 03:00 CEST) and falls back on Sun 25 Oct 2026 (03:00 CEST → 02:00 CET).
    ['Berlin 02:30 slot on the spring-forward night starts when the clocks jump', '30 2 * * 0', 'Europe/Berlin', 120, '2026-03-28T12:00:00Z', 90, '2026-03-29T01:00:00.000Z', 'Sun 29 Mar 2026 03:00 CEST (UTC+02:00)'],
    ['Berlin 02:30-04:30 slot that night is too short for 91 minutes', '30 2 * * 0', 'Europe/Berlin', 120, '2026-03-28T12:00:00Z', 91, '2026-04-05T00:30:00.000Z', 'Sun 5 Apr 2026 02:30 CEST (UTC+02:00)'],
    ['Berlin 02:00-03:00 slot lies wholly in the skipped hour and is left out', '0 2 * * 0', 'Europe/Berlin', 60, '2026-03-28T12:00:00Z', 30, '2026-04-05T00:00:00.000Z', 'Sun 5 Apr 2026 02:00 CEST (UTC+02:00)'],
    ['Berlin 02:30 slot on the fall-back night starts the first time 02:30 comes', '30 2 * * 0', 'Europe/Berlin', 120, '2026-10-24T12:00:00Z', 60, '2026-10-25T00:30:00.000Z', 'Sun 25 Oct 2026 02:30 CEST (UTC+02:00)'],
    ['Berlin 02:30 slot on the fall-back night holds its full 120 minutes', '30 2 * * 0', 'Europe/Berlin', 120, '2026-10-24T12:00:00Z', 120, '2026-10-25T00:30:00.000Z', 'Sun 25 Oct 2026 02:30 CEST (UTC+02:00)'],
    ['Berlin 02:30 slot with maintenance over the fall-back night runs the next Sunday', '30 2 * * 0', 'Europe/Berlin', 120, '2026-10-24T12:00:00Z', 60, '2026-11-01T01:30:00.000Z', 'Sun 1 Nov 2026 02:30 CET (UTC+01:00)', [['2026-10-25T00:00:00Z', '2026-10-25T02:00:00Z']]],
  ] as Array<[string, string, string, number, string, number, string, string, string[][]?]>)('GIVEN %s THEN it starts at %s', (_label, cron, tz, duration, now, minutes, expected, local, windows = []) => {
    const maintenance = windows.map(([a, b]) => blackout(a as string, b as string));
    const result = plan({ now: d(now), downtimeMaxMinutes: minutes, slots: [slot(cron, tz, duration)], maintenance });
    expect(result.ok && result.value.toISOString()).toBe(expected);
    if (!result.ok) return;
    expect(formatLocalTime(result.value, tz)).toBe(local);
    expect(existsLocally(result.value, tz)).toBe(true);
  });

  it.each([
    ['NY 01:30 slot on the fall-back night', '30 1 * * 0', 'America/New_York', 120, 121],
    ['Berlin 02:30 slot on the fall-back night', '30 2 * * 0', 'Europe/Berlin', 120, 121],
    ['NY 01:00-05:00 slot on the fall-back night', '0 1 * * 0', 'America/New_York', 240, 300],
  ])('GIVEN the %s and a downtime longer than the slot THEN there is no window, even though the wall clock spans more', (_label, cron, tz, duration, minutes) => {
    const result = plan({ now: d('2026-10-20T12:00:00Z'), downtimeMaxMinutes: minutes, slots: [slot(cron, tz, duration)] });
    expect(result.ok ? 'ok' : result.error.code).toBe('no_window');
  });

  it.each([
    ['America/New_York', '30 2 * * 0', '2026-03-01T12:00:00Z', ['2026-03-08T07:00:00.000Z', '2026-03-15T06:30:00.000Z', '2026-03-22T06:30:00.000Z']],
    ['America/New_York', '30 1 * * 0', '2026-10-25T12:00:00Z', ['2026-11-01T05:30:00.000Z', '2026-11-08T06:30:00.000Z', '2026-11-15T06:30:00.000Z']],
    ['Europe/Berlin', '30 2 * * 0', '2026-03-22T12:00:00Z', ['2026-03-29T01:00:00.000Z', '2026-04-05T00:30:00.000Z', '2026-04-12T00:30:00.000Z']],
    ['Europe/Berlin', '30 2 * * 0', '2026-10-18T12:00:00Z', ['2026-10-25T00:30:00.000Z', '2026-11-01T01:30:00.000Z', '2026-11-08T01:30:00.000Z']],
  ])('GIVEN slot %s %j THEN the three suggestions from %s are one per Sunday and all exist locally', (tz, cron, now, expected) => {
    const starts = suggestStarts({ now: d(now), downtimeMaxMinutes: 60, maintenance: [], slots: [slot(cron, tz, 120)] });
    expect(isoList(starts)).toEqual(expected);
    for (const s of starts) expect(existsLocally(s, tz)).toBe(true);
  });

  it.each([
    // 02:00-03:15 on the wall clock, of which only 03:00-03:15 exists that night.
    ['NY spring-forward', '*/15 2 * * 0', 'America/New_York', '2026-03-07T12:00:00Z', [['2026-03-08T07:00:00.000Z', '2026-03-08T07:15:00.000Z']]],
    // 02:30 CEST for 120 minutes: the wall clock would reach 04:30 CET only an hour later.
    ['Berlin fall-back', '30 2 * * 0', 'Europe/Berlin', '2026-10-24T12:00:00Z', [['2026-10-25T00:30:00.000Z', '2026-10-25T02:30:00.000Z']]],
    ['NY fall-back', '30 1 * * 0', 'America/New_York', '2026-10-31T12:00:00Z', [['2026-11-01T05:30:00.000Z', '2026-11-01T06:00:00.000Z']]],
  ])('GIVEN the %s night THEN the occurrences of %j are %j', (_label, cron, tz, after, expected) => {
    const occurrences = slotOccurrences(cron, tz, cron === '30 2 * * 0' ? 120 : 30, d(after), 1);
    expect(occurrences.map((o) => [o.start.toISOString(), o.end.toISOString()])).toEqual(expected);
  });

  it.each([
    ['NY 01:30 slot on the fall-back night', '30 1 * * 0', 'America/New_York', 120, 121],
    ['Berlin 02:30 slot on the fall-back night', '30 2 * * 0', 'Europe/Berlin', 120, 121],
    ['NY 01:00-05:00 slot on the fall-back night', '0 1 * * 0', 'America/New_York', 240, 300],
  ])('GIVEN the %s and a downtime longer than the slot THEN there is no window, even though the wall clock spans more', (_label, cron, tz, duration, minutes) => {
    const result = plan({ now: d('2026-10-20T12:00:00Z'), downtimeMaxMinutes: minutes, slots: [slot(cron, tz, duration)] });
    expect(result.ok ? 'ok' : result.error.code).toBe('no_window');
  });

  it('GIVEN a slot without a positive duration THEN it has no occurrences', () => {
    expect(slotOccurrences('0 1 * * 0', 'UTC', 0, NOW, 3)).toEqual([]);
  });

  it.each([
    ['America/New_York', '30 2 * * 0', '2026-03-01T12:00:00Z', ['2026-03-08T07:00:00.000Z', '2026-03-15T06:30:00.000Z']],
    ['Europe/Berlin', '30 2 * * 0', '2026-10-18T12:00:00Z', ['2026-10-25T00:30:00.000Z', '2026-11-01T01:30:00.000Z']],
    ['Europe/Berlin', '0,30 2 * * 0', '2026-03-22T12:00:00Z', ['2026-03-29T01:00:00.000Z', '2026-04-05T00:00:00.000Z']],
  ])('GIVEN slot %s %j THEN /upgrade windows lists the same starts as the planner: %j', (tz, cron, after, expected) => {
    expect(isoList(nextSlotStarts(cron, tz, d(after), 2))).toEqual(expected);
  });

  it('GIVEN an occurrence still running at now on the fall-back night THEN it starts from now, not again later', () => {
    // 01:10 EST, in the repeated hour: the 01:30-03:30 slot began at 01:30 EDT, fifty minutes ago.
    const now = d('2026-11-01T06:10:00Z');
    expect(isoList(suggestStarts({ now, downtimeMaxMinutes: 60, maintenance: [], slots: [slot('30 1 * * 0', 'America/New_York', 120)] }, 2)))
      .toEqual(['2026-11-01T06:10:00.000Z', '2026-11-08T06:30:00.000Z']);
  });
});

describe('slots in other timezones than UTC and than the customer', () => {
  it.each([
    ['a New York slot', slot('0 1 * * 0', 'America/New_York', 240), 'America/New_York', '2026-11-22T06:00:00.000Z', 'Sun 22 Nov 2026 01:00 EST (UTC-05:00)'],
    ['a Tokyo slot for a New York customer', slot('0 3 * * 1', 'Asia/Tokyo', 120), 'America/New_York', '2026-11-22T18:00:00.000Z', 'Sun 22 Nov 2026 13:00 EST (UTC-05:00)'],
    ['a Berlin slot for a New York customer', slot('0 0 * * 6', 'Europe/Berlin', 360), 'America/New_York', '2026-11-27T23:00:00.000Z', 'Fri 27 Nov 2026 18:00 EST (UTC-05:00)'],
    ['a UTC slot for a Berlin customer', UTC_SUNDAYS, 'Europe/Berlin', '2026-11-22T01:00:00.000Z', 'Sun 22 Nov 2026 02:00 CET (UTC+01:00)'],
    ['a New York slot for a Kolkata customer', slot('0 22 * * 3', 'America/New_York', 120), 'Asia/Kolkata', '2026-11-26T03:00:00.000Z', 'Thu 26 Nov 2026 08:30 (UTC+05:30)'],
  ])('GIVEN %s THEN window mode starts at %s, shown as %s', (_label, s, customerTz, expected, local) => {
    const result = plan({ slots: [s] });
    expect(result.ok && result.value.toISOString()).toBe(expected);
    if (result.ok) expect(formatLocalTime(result.value, customerTz)).toBe(local);
  });

  it('GIVEN a Berlin slot across the weeks when Europe and the US change clocks apart THEN the New York times follow both', () => {
    const starts = suggestStarts({ now: d('2026-10-20T12:00:00Z'), downtimeMaxMinutes: 60, maintenance: [], slots: [slot('0 1 * * 0', 'Europe/Berlin', 240)] });
    expect(starts.map((s) => formatLocalTime(s, 'America/New_York'))).toEqual([
      'Sat 24 Oct 2026 19:00 EDT (UTC-04:00)',
      'Sat 31 Oct 2026 20:00 EDT (UTC-04:00)',
      'Sat 7 Nov 2026 19:00 EST (UTC-05:00)',
    ]);
  });
});

describe('suggestStarts', () => {
  const base = { now: NOW, downtimeMaxMinutes: 60, maintenance: [] as MaintenanceWindow[], slots: [UTC_SUNDAYS] };

  it.each([
    ['one weekly slot', {}, 3, ['2026-11-22T01:00:00.000Z', '2026-11-29T01:00:00.000Z', '2026-12-06T01:00:00.000Z']],
    ['a maintenance covering the second Sunday', { maintenance: [blackout('2026-11-29T00:00:00Z', '2026-11-29T06:00:00Z')] }, 3, ['2026-11-22T01:00:00.000Z', '2026-12-06T01:00:00.000Z', '2026-12-13T01:00:00.000Z']],
    ['a maintenance over the first hour of the first Sunday', { maintenance: [blackout('2026-11-22T00:00:00Z', '2026-11-22T02:00:00Z')] }, 3, ['2026-11-22T02:00:00.000Z', '2026-11-29T01:00:00.000Z', '2026-12-06T01:00:00.000Z']],
    ['the demo maintenance of 1 December, which no Sunday slot touches', { maintenance: [blackout('2026-12-01T00:00:00Z', '2026-12-01T06:00:00Z')] }, 3, ['2026-11-22T01:00:00.000Z', '2026-11-29T01:00:00.000Z', '2026-12-06T01:00:00.000Z']],
    ['a start from a later time', { from: d('2026-12-01T05:30:00Z') }, 3, ['2026-12-06T01:00:00.000Z', '2026-12-13T01:00:00.000Z', '2026-12-20T01:00:00.000Z']],
    ['a start from a time already past', { from: d('2026-11-01T00:00:00Z') }, 1, ['2026-11-22T01:00:00.000Z']],
    ['a weekly slot in New York besides', { slots: [UTC_SUNDAYS, slot('0 22 * * 3', 'America/New_York', 120)] }, 3, ['2026-11-22T01:00:00.000Z', '2026-11-26T03:00:00.000Z', '2026-11-29T01:00:00.000Z']],
    ['a London slot at the same instants in winter', { slots: [UTC_SUNDAYS, slot('0 1 * * 0', 'Europe/London', 240)] }, 3, ['2026-11-22T01:00:00.000Z', '2026-11-29T01:00:00.000Z', '2026-12-06T01:00:00.000Z']],
    ['an hourly slot overlapping itself, held by maintenance', { slots: [slot('0 * * * *', 'UTC', 180)], maintenance: [blackout('2026-11-21T11:00:00Z', '2026-11-21T14:30:00Z')] }, 3, ['2026-11-21T14:30:00.000Z', '2026-11-21T15:00:00.000Z', '2026-11-21T16:00:00.000Z']],
    ['five asked for', {}, 5, ['2026-11-22T01:00:00.000Z', '2026-11-29T01:00:00.000Z', '2026-12-06T01:00:00.000Z', '2026-12-13T01:00:00.000Z', '2026-12-20T01:00:00.000Z']],
    ['none asked for', {}, 0, []],
    ['a slot shorter than the downtime', { slots: [slot('0 1 * * 0', 'UTC', 45)] }, 3, []],
    ['no slots', { slots: [] }, 3, []],
    ['an unreadable cron and an unknown timezone', { slots: [slot('not a cron', 'UTC', 240), slot('0 1 * * 0', 'Mars/Olympus', 240)] }, 3, []],
  ])('GIVEN %s THEN suggests %#: %j', (_label, over, count, expected) => {
    expect(isoList(suggestStarts({ ...base, ...(over as object) }, count as number))).toEqual(expected);
  });

  it('GIVEN now inside a running slot at an odd second THEN the first suggestion is the next whole minute, not the past', () => {
    const starts = suggestStarts({ ...base, now: d('2026-11-22T02:00:30.250Z') }, 2);
    expect(isoList(starts)).toEqual(['2026-11-22T02:01:00.000Z', '2026-11-29T01:00:00.000Z']);
  });

  it('GIVEN several slots and maintenance windows THEN every suggestion is distinct, ascending, in a slot, clear of maintenance and not past', () => {
    const slots = [UTC_SUNDAYS, slot('30 2 * * 0', 'America/New_York', 120), slot('0 0 * * 6', 'Europe/Berlin', 360), slot('*/45 3 * * *', 'Asia/Tokyo', 90)];
    const maintenance = [
      blackout('2026-11-21T12:00:00Z', '2026-11-22T01:30:00Z'),
      blackout('2026-11-27T23:00:00Z', '2026-11-28T02:00:00Z'),
      blackout('2026-11-29T01:00:00Z', '2026-11-29T09:00:00Z'),
    ];
    const minutes = 75;
    const starts = suggestStarts({ now: NOW, downtimeMaxMinutes: minutes, maintenance, slots }, 12);
    expect(starts).toHaveLength(12);
    for (const [i, s] of starts.entries()) {
      if (i > 0) expect(s.getTime()).toBeGreaterThan((starts[i - 1] as Date).getTime());
      expect(s.getTime()).toBeGreaterThanOrEqual(NOW.getTime());
      expect(s.getTime() % 60_000).toBe(0);
      const end = new Date(s.getTime() + minutes * 60_000);
      expect(maintenance.filter((m) => overlaps(s, end, m.start, m.end))).toEqual([]);
      const inSlot = slots.some((sl) =>
        slotOccurrences(sl.cron, sl.timezone, sl.durationMinutes, s, 3).some((o) => o.start <= s && end <= o.end),
      );
      expect(inSlot).toBe(true);
    }
  });

  it('gives the window-mode start as its first suggestion', () => {
    const maintenance = [blackout('2026-11-22T00:00:00Z', '2026-11-22T06:00:00Z')];
    const first = suggestStarts({ ...base, maintenance }, 1)[0];
    expect(plannedAt({ maintenance })).toBe(first?.toISOString());
  });
});

describe('planStart for now and at', () => {
  const inProgress = blackout('2026-11-21T11:00:00Z', '2026-11-21T13:00:00Z', 'Database upgrade');
  it.each([
    ['now with no maintenance', { mode: 'now' }, 'ok', '2026-11-21T12:00:00.000Z'],
    ['now with maintenance ending exactly now', { mode: 'now', maintenance: [blackout('2026-11-21T10:00:00Z', '2026-11-21T12:00:00Z')] }, 'ok', '2026-11-21T12:00:00.000Z'],
    ['now with maintenance starting exactly when the downtime ends', { mode: 'now', maintenance: [blackout('2026-11-21T13:00:00Z', '2026-11-21T14:00:00Z')] }, 'ok', '2026-11-21T12:00:00.000Z'],
    ['now inside maintenance', { mode: 'now', maintenance: [inProgress] }, 'blackout_conflict', null],
    ['now with maintenance starting during the downtime', { mode: 'now', maintenance: [blackout('2026-11-21T12:59:00Z', '2026-11-21T14:00:00Z')] }, 'blackout_conflict', null],
    ['at exactly now', { mode: 'at', at: NOW }, 'ok', '2026-11-21T12:00:00.000Z'],
    ['at a free future time outside any slot', { mode: 'at', at: d('2026-11-25T15:00:00Z') }, 'ok', '2026-11-25T15:00:00.000Z'],
    ['at a millisecond before now', { mode: 'at', at: d('2026-11-21T11:59:59.999Z') }, 'past_time', null],
    ['at a past time inside maintenance', { mode: 'at', at: d('2026-11-21T11:30:00Z'), maintenance: [inProgress] }, 'past_time', null],
    ['at a time whose downtime ends exactly when maintenance starts', { mode: 'at', at: d('2026-12-01T05:00:00Z'), maintenance: [blackout('2026-12-01T06:00:00Z', '2026-12-01T08:00:00Z')] }, 'ok', '2026-12-01T05:00:00.000Z'],
    ['at a time inside maintenance', { mode: 'at', at: d('2026-12-01T05:30:00Z'), maintenance: [blackout('2026-12-01T00:00:00Z', '2026-12-01T06:00:00Z')] }, 'blackout_conflict', null],
    ['at with no time', { mode: 'at', at: null }, 'invalid_time', null],
    ['window with no slots', { mode: 'window', slots: [] }, 'no_window', null],
  ] as Array<[string, Partial<PlanInput>, string, string | null]>)('GIVEN %s THEN the result is %s %s', (_label, over, code, expected) => {
    const result = plan(over);
    if (code === 'ok') {
      expect(result.ok && result.value.toISOString()).toBe(expected);
    } else {
      expect(result.ok ? 'ok' : result.error.code).toBe(code);
    }
  });

  it('GIVEN now inside maintenance THEN fails with the next three free slots, in order, in the customer timezone', () => {
    const result = plan({ mode: 'now', maintenance: [inProgress], timezone: 'America/New_York' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.details?.suggestions).toEqual(['2026-11-21T20:00-05:00', '2026-11-28T20:00-05:00', '2026-12-05T20:00-05:00']);
    expect(result.error.message).toBe(
      'Running now would overlap the platform maintenance "Database upgrade" (until Sat 21 Nov 2026 08:00 EST (UTC-05:00)). ' +
        'Next free upgrade slots: Sat 21 Nov 2026 20:00 EST (UTC-05:00); Sat 28 Nov 2026 20:00 EST (UTC-05:00); Sat 5 Dec 2026 20:00 EST (UTC-05:00). ' +
        'Cancel this request and file it again for one of these times, or with when=window.',
    );
  });

  it('GIVEN a custom time in the past THEN fails with exactly three suggestions from now', () => {
    const result = plan({ mode: 'at', at: d('2026-11-15T06:00:00Z'), timezone: 'Europe/Berlin' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('past_time');
    expect(result.error.details?.suggestions).toEqual(['2026-11-22T02:00+01:00', '2026-11-29T02:00+01:00', '2026-12-06T02:00+01:00']);
    expect(result.error.message).toMatch(/^The requested time, Sun 15 Nov 2026 07:00 CET \(UTC\+01:00\), has passed\. Next free upgrade slots: Sun 22 Nov 2026 02:00 CET/);
  });

  it('GIVEN a custom time inside maintenance THEN suggests from the asked time, skipping the maintenance', () => {
    const maintenance = [blackout('2026-12-01T00:00:00Z', '2026-12-01T06:00:00Z'), blackout('2026-12-06T00:00:00Z', '2026-12-06T04:30:00Z', 'Storage move')];
    const result = plan({ mode: 'at', at: d('2026-12-01T05:30:00Z'), maintenance, timezone: 'America/New_York' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('blackout_conflict');
    // Sunday 6 December is left out: after the storage move only 30 minutes of the slot remain.
    expect(result.error.details?.suggestions).toEqual(['2026-12-12T20:00-05:00', '2026-12-19T20:00-05:00', '2026-12-26T20:00-05:00']);
    expect(result.error.message).toContain('"Platform maintenance" (Mon 30 Nov 2026 19:00 EST (UTC-05:00) to Tue 1 Dec 2026 01:00 EST (UTC-05:00))');
  });

  it('GIVEN no customer timezone THEN lists the suggestions in UTC', () => {
    const result = plan({ mode: 'now', maintenance: [inProgress] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.details?.suggestions).toEqual(['2026-11-22T01:00Z', '2026-11-29T01:00Z', '2026-12-06T01:00Z']);
    expect(result.error.message).toContain('Next free upgrade slots: Sun 22 Nov 2026 01:00 UTC; Sun 29 Nov 2026 01:00 UTC; Sun 6 Dec 2026 01:00 UTC.');
  });

  it('GIVEN a failure and no free slot THEN says so instead of listing times', () => {
    const result = plan({ mode: 'now', maintenance: [inProgress], slots: [] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.details?.suggestions).toEqual([]);
    expect(result.error.message).toMatch(/No upgrade slot is free in the coming weeks; ask support for one\.$/);
  });

  it.each([
    ['America/New_York'],
    ['Europe/Berlin'],
    ['Asia/Kolkata'],
    ['UTC'],
  ])('GIVEN customer timezone %s THEN each suggestion reads back with when= as the same instant', (tz) => {
    const result = plan({ mode: 'now', maintenance: [inProgress], timezone: tz });
    const suggestions = (result.ok ? [] : result.error.details?.suggestions) as string[];
    expect(suggestions).toHaveLength(3);
    const read = suggestions.map((s) => {
      const when = parseWhen(s, tz, NOW);
      return when.ok && when.value.mode === 'at' ? when.value.at.toISOString() : null;
    });
    expect(read).toEqual(['2026-11-22T01:00:00.000Z', '2026-11-29T01:00:00.000Z', '2026-12-06T01:00:00.000Z']);
  });
});

describe('formatSuggestions', () => {
  it.each([
    [[], 'America/New_York', ''],
    [['2026-12-06T06:00:00Z'], 'America/New_York', 'Next free upgrade slot: Sun 6 Dec 2026 01:00 EST (UTC-05:00).'],
    [['2026-12-06T06:00:00Z', '2026-07-05T06:00:00Z'], 'America/New_York', 'Next free upgrade slots: Sun 6 Dec 2026 01:00 EST (UTC-05:00); Sun 5 Jul 2026 02:00 EDT (UTC-04:00).'],
    [['2026-12-06T06:00:00Z'], 'Asia/Tokyo', 'Next free upgrade slot: Sun 6 Dec 2026 15:00 (UTC+09:00).'],
    [['2026-12-06T06:00:00Z'], 'Nowhere/Land', 'Next free upgrade slot: Sun 6 Dec 2026 06:00 UTC.'],
  ])('GIVEN starts %j in %s THEN reads %j', (starts, tz, expected) => {
    expect(formatSuggestions(starts.map(d), tz)).toBe(expected);
  });
});
