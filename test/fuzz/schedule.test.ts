/**
 * Property tests of the scheduling policy (src/domain/schedule.ts) and its wall-clock rules
 * (src/domain/time.ts), over real IANA zones with and without daylight saving (half-hour and
 * 45-minute offsets, changes at midnight, a half-hour DST shift), random upgrade slots, random
 * blackouts and random "now", biased to the days the clocks change:
 * - a planned or suggested start is never in the past, never overlaps a blackout with its whole
 *   downtime, lies inside one occurrence of a slot, and is the earliest such whole minute;
 * - a slot occurrence starts when the clocks show the cron time, or when they jump past it when that
 *   time does not exist that day, never at a local time that does not exist;
 * - a local time typed by the user that does not exist is refused with nonexistent_local_time and
 *   two valid times either side of the gap; one that happens twice is refused with
 *   ambiguous_local_time and both readings; any other is read as the one instant that shows it.
 * Checked against luxon and a minute-by-minute search, not against the code's own helpers.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DateTime, IANAZone } from 'luxon';
import { SLOT_SEARCH_LIMIT, firstBlackout, fitInSlot, planStart, suggestStarts } from '../../src/domain/schedule.js';
import type { PlanInput } from '../../src/domain/schedule.js';
import { overlaps, parseLowTraffic, parseWhen, slotOccurrences, slotOccurrencesAfter } from '../../src/domain/time.js';
import type { SlotOccurrence } from '../../src/domain/time.js';
import type { MaintenanceWindow, UpgradeSlot } from '../../src/domain/types.js';
import { fuzzParams, looksUnclear, timeoutFor, unclearMessage } from './fuzz-config.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Zones with ordinary DST, DST at midnight, a 30-minute DST shift, 45-minute offsets, southern-hemisphere DST, and none at all. */
const ZONES = [
  'UTC',
  'America/New_York',
  'Europe/Berlin',
  'Europe/London',
  'Europe/Dublin',
  'Australia/Lord_Howe',
  'Australia/Adelaide',
  'America/Santiago',
  'America/Havana',
  'America/St_Johns',
  'Pacific/Chatham',
  'Africa/Casablanca',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Asia/Tokyo',
  'America/Sao_Paulo',
  'America/Phoenix',
  'Asia/Tehran',
] as const;

const RANGE_START = Date.UTC(2025, 0, 1);
const RANGE_END = Date.UTC(2029, 0, 1);

/** The instants (to the minute) at which the zone's UTC offset changes between RANGE_START and RANGE_END: where the inputs are biased to. */
function offsetChanges(name: string): number[] {
  const zone = IANAZone.create(name);
  const found: number[] = [];
  // A week apart: no zone here keeps an offset for less than that (Casablanca's Ramadan change lasts about a month).
  const step = 7 * DAY;
  let before = zone.offset(RANGE_START);
  for (let t = RANGE_START + step; t <= RANGE_END; t += step) {
    const offset = zone.offset(t);
    if (offset === before) continue;
    let a = t - step;
    let b = t;
    while (b - a > MINUTE) {
      const mid = a + Math.floor((b - a) / 2 / MINUTE) * MINUTE;
      if (zone.offset(mid) === before) a = mid;
      else b = mid;
    }
    found.push(b);
    before = offset;
  }
  return found;
}
const CHANGES = new Map<string, number[]>(ZONES.map((z) => [z, offsetChanges(z)]));

/** An instant in 2025-2028, often within a few days of a clock change of `zone`, at any millisecond. */
function instantNear(zone: string): fc.Arbitrary<number> {
  const changes = CHANGES.get(zone) ?? [];
  const anywhere = fc.integer({ min: RANGE_START, max: RANGE_END });
  if (changes.length === 0) return anywhere;
  return fc.oneof(
    anywhere,
    fc.tuple(fc.constantFrom(...changes), fc.integer({ min: -4 * DAY, max: 4 * DAY })).map(([t, d]) => t + d),
    fc.tuple(fc.constantFrom(...changes), fc.integer({ min: -3 * HOUR, max: 3 * HOUR })).map(([t, d]) => t + d),
  );
}

const minuteOf = fc.oneof(fc.constantFrom(0, 15, 30, 45, 59), fc.integer({ min: 0, max: 59 }));
const hourOf = fc.oneof(fc.constantFrom(0, 1, 2, 3, 23), fc.integer({ min: 0, max: 23 }));
const weekdays = fc.constantFrom('*', '0', '6', '1-5', '0,3', '5-6');

/** A cron expression for one time of day on some weekdays: what the occurrence oracle understands. */
const dailyCron = fc.record({ minute: minuteOf, hour: hourOf, dow: weekdays });
type DailyCron = { minute: number; hour: number; dow: string };
const cronText = (c: DailyCron): string => `${c.minute} ${c.hour} * * ${c.dow}`;

/** Any slot cron: one time a day, several a day, or monthly. */
const anyCron = fc.oneof(
  { arbitrary: dailyCron.map(cronText), weight: 4 },
  { arbitrary: fc.constantFrom('*/30 * * * *', '0 */4 * * *', '15 1-3 * * 0', '30 0,2 * * *', '45 2 * * 6,0'), weight: 1 },
  { arbitrary: fc.tuple(minuteOf, hourOf, fc.integer({ min: 1, max: 28 })).map(([m, h, d]) => `${m} ${h} ${d} * *`), weight: 1 },
);

let nextId = 1;

/** Everything planStart needs, biased to the clock changes of the first slot's zone. */
const scenario = fc
  .constantFrom(...ZONES)
  .chain((slotZone) =>
    fc.record({
      now: instantNear(slotZone),
      slots: fc.array(
        fc.record({ cron: anyCron, zone: fc.oneof({ arbitrary: fc.constant(slotZone), weight: 3 }, { arbitrary: fc.constantFrom(...ZONES), weight: 1 }), duration: fc.integer({ min: 1, max: 720 }) }),
        { minLength: 1, maxLength: 3 },
      ),
      downtime: fc.oneof(fc.integer({ min: 1, max: 360 }), fc.constantFrom(30, 60, 90, 120)),
      blackouts: fc.array(
        fc.record({
          from: fc.oneof(fc.integer({ min: -3 * DAY, max: 21 * DAY }), fc.integer({ min: -2 * HOUR, max: 2 * DAY })),
          length: fc.oneof(fc.integer({ min: 1_000, max: 3 * DAY }), fc.constantFrom(MINUTE, HOUR, 2 * HOUR)),
        }),
        { maxLength: 6 },
      ),
      customerZone: fc.constantFrom(...ZONES),
    }),
  )
  .map((s) => {
    const slots: UpgradeSlot[] = s.slots.map((x) => ({ id: nextId++, kind: 'upgrade', cron: x.cron, timezone: x.zone, durationMinutes: x.duration, customerId: null }));
    const maintenance: MaintenanceWindow[] = s.blackouts.map((b) => ({
      id: nextId++,
      kind: 'maintenance',
      start: new Date(s.now + b.from),
      end: new Date(s.now + b.from + b.length),
      reason: 'Platform maintenance',
    }));
    return { now: new Date(s.now), slots, maintenance, downtime: s.downtime, timezone: s.customerZone };
  });
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------------------------------------
// Oracles

/** The earliest whole minute c ≥ from with [c, c + minutes) inside [start, end) and overlapping no blackout: minute by minute. */
function searchFit(start: number, end: number, from: number, minutes: number, maintenance: readonly MaintenanceWindow[]): number | null {
  for (let c = Math.ceil(Math.max(start, from) / MINUTE) * MINUTE; c + minutes * MINUTE <= end; c += MINUTE) {
    if (!maintenance.some((m) => c < m.end.getTime() && m.start.getTime() < c + minutes * MINUTE)) return c;
  }
  return null;
}

/**
 * What suggestStarts promises: the `count` earliest distinct fits, each found minute by minute inside
 * one of the first SLOT_SEARCH_LIMIT occurrences of a slot long enough for the downtime (so each lies
 * inside a slot occurrence), from max(now, from). An occurrence starting after the count-th fit so far
 * cannot add an earlier one (a fit never precedes its occurrence), so the walk stops there.
 */
function expectedStarts(s: Scenario, count: number, from?: Date): number[] {
  const after = Math.max(s.now.getTime(), from?.getTime() ?? -Infinity);
  const fits: number[] = [];
  for (const slot of s.slots) {
    if (slot.durationMinutes < s.downtime) continue;
    let searched = 0;
    for (const occ of slotOccurrencesAfter(slot.cron, slot.timezone, slot.durationMinutes, new Date(after))) {
      if (++searched > SLOT_SEARCH_LIMIT) break;
      if (fits.length >= count && occ.start.getTime() >= (fits[count - 1] as number)) break;
      const fit = searchFit(occ.start.getTime(), occ.end.getTime(), after, s.downtime, s.maintenance);
      if (fit !== null && !fits.includes(fit)) {
        fits.push(fit);
        fits.sort((a, b) => a - b);
      }
    }
  }
  return fits.slice(0, count);
}

/** The invariants every planned or offered start keeps, checked directly (being inside a slot occurrence follows from matching expectedStarts). */
function expectSafeStart(start: Date, s: Scenario, notBefore: Date): void {
  expect(start.getTime()).toBeGreaterThanOrEqual(notBefore.getTime());
  expect(start.getTime()).toBeGreaterThanOrEqual(s.now.getTime());
  expect(start.getTime() % MINUTE).toBe(0);
  const end = new Date(start.getTime() + s.downtime * MINUTE);
  for (const m of s.maintenance) expect(overlaps(start, end, m.start, m.end)).toBe(false);
}

const planInput = (s: Scenario, over: Partial<PlanInput> = {}): PlanInput => ({
  mode: 'window',
  at: null,
  now: s.now,
  downtimeMaxMinutes: s.downtime,
  maintenance: s.maintenance,
  slots: s.slots,
  timezone: s.timezone,
  ...over,
});

/** A failure's details.suggestions read back with parseWhen in the customer's timezone: each an instant, never refused as nonexistent or ambiguous. */
function suggestedInstants(details: Record<string, unknown> | undefined, timezone: string, now: Date): number[] {
  const suggestions = details?.suggestions;
  expect(Array.isArray(suggestions)).toBe(true);
  return (suggestions as string[]).map((text) => {
    const read = parseWhen(text, timezone, now);
    expect(read.ok && read.value.mode).toBe('at');
    return read.ok && read.value.mode === 'at' ? read.value.at.getTime() : NaN;
  });
}

/** The wall clock of `zone` at an instant, as if it were UTC milliseconds. */
function wallAt(zone: IANAZone, instant: number): number {
  return instant + zone.offset(instant) * MINUTE;
}

/** The zone's wall clock at an instant as a luxon DateTime in UTC (so that arithmetic on it is plain wall-clock arithmetic). */
function naiveWall(zone: IANAZone, instant: number): DateTime {
  return DateTime.fromMillis(wallAt(zone, instant), { zone: 'UTC' });
}

/** The earliest instant at which the zone's clocks show this wall time, or null when they never do (a spring-forward gap); by luxon. */
function firstShowing(zone: string, wall: DateTime): number | null {
  const fields = { year: wall.year, month: wall.month, day: wall.day, hour: wall.hour, minute: wall.minute };
  const dt = DateTime.fromObject(fields, { zone });
  if (!dt.isValid || dt.year !== fields.year || dt.month !== fields.month || dt.day !== fields.day || dt.hour !== fields.hour || dt.minute !== fields.minute) {
    return null;
  }
  return Math.min(...dt.getPossibleOffsets().map((x) => x.toMillis()));
}

/** Whether the cron's day-of-week field (as generated: *, n, a-b, a,b) matches a luxon weekday (7 = Sunday). */
function weekdayMatches(dow: string, weekday: number): boolean {
  const day = weekday % 7;
  if (dow === '*') return true;
  return dow.split(',').some((part) => {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    return b === undefined ? day === a : day >= a && day <= b;
  });
}

// ---------------------------------------------------------------------------------------------

describe('upgrade slot occurrences across clock changes', () => {
  it(
    'start when the clocks show the cron time, or when they jump past it on a day it does not exist; in order, never longer than the slot, none missed',
    () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...ZONES).chain((zone) => fc.record({ zone: fc.constant(zone), after: instantNear(zone), cron: dailyCron, duration: fc.integer({ min: 1, max: 720 }) })),
          ({ zone, after, cron, duration }) => {
            const occurrences = slotOccurrences(cronText(cron), zone, duration, new Date(after), 6);
            expect(occurrences.length).toBeGreaterThan(0);
            const iana = IANAZone.create(zone);
            const days = new Set<string>();
            let previous: SlotOccurrence | null = null;
            for (const o of occurrences) {
              const start = o.start.getTime();
              const end = o.end.getTime();
              expect(end).toBeGreaterThan(after);
              expect(end).toBeGreaterThan(start);
              expect(end - start).toBeLessThanOrEqual(duration * MINUTE);
              if (previous) expect(start).toBeGreaterThan(previous.start.getTime());
              previous = o;
              // Which day's cron time this is: the local day of the start, or the day before (a jump over midnight).
              // Wall times are luxon DateTimes in UTC standing for the local clock, so no arithmetic on them is moved by a clock change.
              const local = naiveWall(iana, start);
              const day = [local, local.minus({ days: 1 })].map((d) => d.set({ hour: cron.hour, minute: cron.minute, second: 0, millisecond: 0 })).find((wall) => {
                if (!weekdayMatches(cron.dow, wall.weekday)) return false;
                const shown = firstShowing(zone, wall);
                if (shown !== null) return shown === start;
                // The cron time does not exist that day: the occurrence starts at the jump over it.
                return wallAt(iana, start - 1) < wall.toMillis() && wallAt(iana, start) > wall.toMillis();
              });
              expect(day).toBeDefined();
              days.add((day as DateTime).toISODate() as string);
              // The end is when the clocks first show the cron time plus the duration, capped at the duration.
              const endWall = (day as DateTime).plus({ minutes: duration });
              const endShown = firstShowing(zone, endWall);
              if (endShown !== null) expect(end).toBe(Math.min(endShown, start + duration * MINUTE));
            }
            // Every matching day between the first and the last occurrence has one, unless its whole slot lies in a skipped hour.
            const first = naiveWall(iana, occurrences[0]?.start.getTime() as number).startOf('day');
            const last = naiveWall(iana, previous?.start.getTime() as number).startOf('day');
            for (let d = first; d <= last; d = d.plus({ days: 1 })) {
              if (!weekdayMatches(cron.dow, d.weekday) || days.has(d.toISODate() as string)) continue;
              const wall = d.set({ hour: cron.hour, minute: cron.minute });
              const wallMs = wall.toMillis();
              expect(firstShowing(zone, wall)).toBeNull();
              // The clocks jumped over the cron time and over its end too.
              const jump = (CHANGES.get(zone) ?? []).find((t) => wallAt(iana, t - 1) < wallMs && wallAt(iana, t) > wallMs);
              expect(jump).toBeDefined();
              expect(wallAt(iana, jump as number)).toBeGreaterThanOrEqual(wallMs + duration * MINUTE);
            }
          },
        ),
        fuzzParams('schedule'),
      );
    },
    timeoutFor('schedule'),
  );
});

describe('planning and suggesting starts', () => {
  it(
    'window mode plans the earliest whole minute whose whole downtime fits a slot occurrence outside every blackout, never in the past; or no_window when there is none',
    () => {
      fc.assert(
        fc.property(scenario, (s) => {
          const result = planStart(planInput(s));
          const [expected] = expectedStarts(s, 1);
          if (expected === undefined) {
            expect(result.ok ? 'ok' : result.error.code).toBe('no_window');
            if (!result.ok) expect(unclearMessage(result.error.message)).toEqual([]);
            return;
          }
          expect(result.ok && result.value.getTime()).toBe(expected);
          if (result.ok) expectSafeStart(result.value, s, s.now);
        }),
        fuzzParams('schedule'),
      );
    },
    timeoutFor('schedule'),
  );

  it(
    'suggests the next distinct earliest fits in ascending order, none before `from` or `now`, none overlapping a blackout',
    () => {
      fc.assert(
        fc.property(scenario, fc.option(fc.integer({ min: -DAY, max: 10 * DAY }), { nil: undefined }), fc.integer({ min: 0, max: 5 }), (s, fromOffset, count) => {
          const from = fromOffset === undefined ? undefined : new Date(s.now.getTime() + fromOffset);
          const starts = suggestStarts({ now: s.now, downtimeMaxMinutes: s.downtime, maintenance: s.maintenance, slots: s.slots, from }, count);
          expect(starts.map((d) => d.getTime())).toEqual(expectedStarts(s, count, from));
          for (const start of starts) expectSafeStart(start, s, from ?? s.now);
        }),
        fuzzParams('schedule'),
      );
    },
    timeoutFor('schedule'),
  );

  it(
    'at a custom time: accepted exactly when it has not passed and its downtime misses every blackout; refused otherwise with times that read back and are safe',
    () => {
      fc.assert(
        fc.property(scenario, fc.oneof(fc.integer({ min: -2 * DAY, max: 14 * DAY }), fc.integer({ min: -MINUTE, max: MINUTE })), (s, offset) => {
          const at = new Date(s.now.getTime() + offset);
          const result = planStart(planInput(s, { mode: 'at', at }));
          const blocking = s.maintenance.find((m) => overlaps(at, new Date(at.getTime() + s.downtime * MINUTE), m.start, m.end));
          if (at.getTime() >= s.now.getTime() && !blocking) {
            expect(result).toEqual({ ok: true, value: at });
            return;
          }
          expect(result.ok).toBe(false);
          if (result.ok) return;
          expect(unclearMessage(result.error.message)).toEqual([]);
          if (at.getTime() < s.now.getTime()) {
            expect(result.error.code).toBe('past_time');
            expect(suggestedInstants(result.error.details, s.timezone, s.now)).toEqual(expectedStarts(s, 3));
          } else {
            expect(result.error.code).toBe('blackout_conflict');
            expect(result.error.details?.maintenanceId).toBe(blocking?.id);
            const offered = suggestedInstants(result.error.details, s.timezone, s.now);
            expect(offered).toEqual(expectedStarts(s, 3, at));
            for (const t of offered) expectSafeStart(new Date(t), s, at);
          }
        }),
        fuzzParams('schedule'),
      );
    },
    timeoutFor('schedule'),
  );

  it(
    'now mode starts at `now` exactly when the downtime misses every blackout; otherwise blackout_conflict naming the first one and offering safe times',
    () => {
      fc.assert(
        fc.property(scenario, (s) => {
          const result = planStart(planInput(s, { mode: 'now' }));
          const blocking = s.maintenance.find((m) => overlaps(s.now, new Date(s.now.getTime() + s.downtime * MINUTE), m.start, m.end));
          if (!blocking) {
            expect(result).toEqual({ ok: true, value: s.now });
            return;
          }
          expect(result.ok ? 'ok' : result.error.code).toBe('blackout_conflict');
          if (result.ok) return;
          expect(result.error.details?.maintenanceId).toBe(blocking.id);
          expect(unclearMessage(result.error.message)).toEqual([]);
          const offered = suggestedInstants(result.error.details, s.timezone, s.now);
          expect(offered).toEqual(expectedStarts(s, 3));
          for (const t of offered) expectSafeStart(new Date(t), s, s.now);
        }),
        fuzzParams('schedule'),
      );
    },
    timeoutFor('schedule'),
  );

  it(
    'fitInSlot gives the earliest whole-minute fit a minute-by-minute search finds, and firstBlackout the first overlapping window in list order',
    () => {
      fc.assert(
        fc.property(scenario, fc.integer({ min: -DAY, max: 10 * DAY }), fc.integer({ min: 1, max: 720 }), (s, offset, duration) => {
          const slotStart = new Date(s.now.getTime() + offset);
          const fit = fitInSlot(slotStart, duration, s.downtime, s.maintenance);
          const expected = searchFit(slotStart.getTime(), slotStart.getTime() + duration * MINUTE, slotStart.getTime(), s.downtime, s.maintenance);
          expect(fit?.getTime() ?? null).toBe(expected);
          const end = new Date(slotStart.getTime() + s.downtime * MINUTE);
          expect(firstBlackout(slotStart, s.downtime, s.maintenance)).toBe(s.maintenance.find((m) => overlaps(slotStart, end, m.start, m.end)) ?? null);
        }),
        fuzzParams('schedule'),
      );
    },
    timeoutFor('schedule'),
  );
});

describe('reading a local time the user typed', () => {
  /** A wall time in a zone, often within hours of one of its clock changes (on either side of the jump). */
  const typedTime = fc.constantFrom(...ZONES).chain((zone) =>
    fc.record({
      zone: fc.constant(zone),
      instant: instantNear(zone),
      // Shift the wall time off the instant's own, so that times in a gap (which no instant shows) come up too.
      shift: fc.oneof(fc.constant(0), fc.integer({ min: -120, max: 120 })),
      seconds: fc.option(fc.integer({ min: 0, max: 59 }), { nil: undefined }),
    }),
  );

  it(
    'reads a time that exists once as that instant, refuses one in a gap with times either side of it, and one that happens twice with both readings',
    () => {
      fc.assert(
        fc.property(typedTime, ({ zone, instant, shift, seconds }) => {
          const wall = DateTime.fromMillis(instant, { zone: 'UTC' })
            .plus({ milliseconds: IANAZone.create(zone).offset(instant) * MINUTE })
            .plus({ minutes: shift })
            .set({ second: seconds ?? 0, millisecond: 0 });
          const text = wall.toFormat(seconds === undefined ? "yyyy-MM-dd'T'HH:mm" : "yyyy-MM-dd'T'HH:mm:ss");
          const result = parseWhen(text, zone, new Date(instant));
          const local = DateTime.fromObject({ year: wall.year, month: wall.month, day: wall.day, hour: wall.hour, minute: wall.minute, second: wall.second }, { zone });
          const exists = local.hour === wall.hour && local.minute === wall.minute && local.day === wall.day;
          const readings = exists ? [...new Set(local.getPossibleOffsets().map((x) => x.toMillis()))].sort((a, b) => a - b) : [];
          if (readings.length === 1) {
            expect(result).toEqual({ ok: true, value: { mode: 'at', at: new Date(readings[0] as number) } });
            // Never silently moved: the instant shows exactly the typed wall time.
            expect(DateTime.fromMillis(readings[0] as number, { zone }).toFormat("yyyy-MM-dd'T'HH:mm:ss")).toBe(wall.toFormat("yyyy-MM-dd'T'HH:mm:ss"));
            return;
          }
          expect(result.ok).toBe(false);
          if (result.ok) return;
          expect(unclearMessage(result.error.message)).toEqual([]);
          if (readings.length === 0) {
            expect(result.error.code).toBe('nonexistent_local_time');
            expect(result.error.message).toContain('does not exist');
            const suggestions = result.error.details?.suggestions as string[];
            expect(suggestions).toHaveLength(2);
            const [before, after] = suggestions.map((s) => {
              expect(result.error.message).toContain(s);
              const read = parseWhen(s, zone, new Date(instant));
              expect(read.ok && read.value.mode).toBe('at');
              return read.ok && read.value.mode === 'at' ? read.value.at.getTime() : NaN;
            }) as [number, number];
            // The last minute before the jump and the first after it, one real minute apart, either side of the typed time.
            expect(after - before).toBe(MINUTE);
            const iana = IANAZone.create(zone);
            const typedMs = wall.toMillis();
            expect(wallAt(iana, before)).toBeLessThan(typedMs);
            expect(wallAt(iana, after)).toBeGreaterThan(typedMs);
          } else {
            expect(readings).toHaveLength(2);
            expect(result.error.code).toBe('ambiguous_local_time');
            const offered = (result.error.details?.readings as string[]).map((r) => {
              expect(result.error.message).toContain(r);
              const read = parseWhen(r, zone, new Date(instant));
              return read.ok && read.value.mode === 'at' ? read.value.at.getTime() : NaN;
            });
            // Both readings, to the minute (an offered reading drops the seconds when they are zero).
            expect(offered.map((t) => Math.floor(t / MINUTE))).toEqual(readings.map((t) => Math.floor(t / MINUTE)));
          }
        }),
        fuzzParams('schedule'),
      );
    },
    timeoutFor('schedule'),
  );

  it(
    'reads any text without throwing: a when, or invalid_time, invalid_timezone, nonexistent or ambiguous with a clear message',
    () => {
      const piece = fc.constantFrom('2026', '-', '03', '08', 'T', '02', ':', '30', 'Z', '+', '-05:00', '+14:00', '+15:00', '24', '60', '29', ' ', 'now', 'window', '1', '0');
      fc.assert(
        fc.property(fc.oneof(fc.array(piece, { maxLength: 10 }).map((p) => p.join('')), fc.string({ maxLength: 30 })), fc.constantFrom(...ZONES, 'Mars/Olympus', ''), (text, zone) => {
          // The message quotes what was typed: typed text that itself reads "NaN" or "undefined" cannot be judged by it.
          fc.pre(!looksUnclear(text));
          const result = parseWhen(text, zone, new Date(RANGE_START));
          if (result.ok) {
            if (result.value.mode === 'at') expect(Number.isNaN(result.value.at.getTime())).toBe(false);
            return;
          }
          expect(['invalid_time', 'invalid_timezone', 'nonexistent_local_time', 'ambiguous_local_time']).toContain(result.error.code);
          expect(unclearMessage(result.error.message)).toEqual([]);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );
});

describe('reading a low-traffic window', () => {
  const DAY_WORDS: Array<[string, number]> = [
    ['mon', 1], ['Monday', 1], ['tue', 2], ['Tues', 2], ['wed', 3], ['Wednesday', 3], ['THU', 4], ['thurs', 4],
    ['fri', 5], ['Friday', 5], ['sat', 6], ['Saturday', 6], ['sun', 7], ['SUNDAY', 7],
  ];
  const clock = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.boolean());
  const clockText = ([h, m, pad]: [number, number, boolean]): string => `${pad ? String(h).padStart(2, '0') : String(h)}:${String(m).padStart(2, '0')}`;

  it(
    'reads day lists and ranges (wrapping past Sunday) with any clock times as the days, minutes and duration they mean',
    () => {
      const part = fc.oneof(
        fc.constantFrom(...DAY_WORDS).map(([w, d]) => ({ text: w, days: [d] })),
        fc.tuple(fc.constantFrom(...DAY_WORDS), fc.constantFrom(...DAY_WORDS)).map(([[a, da], [b, db]]) => {
          const days: number[] = [];
          for (let d = da; ; d = (d % 7) + 1) {
            days.push(d);
            if (d === db) break;
          }
          return { text: `${a}-${b}`, days };
        }),
      );
      fc.assert(
        fc.property(fc.array(part, { minLength: 1, maxLength: 3 }), clock, clock, fc.constantFrom(',', ', ', ' ,'), (parts, start, end, comma) => {
          const text = `${parts.map((p) => p.text).join(comma)} ${clockText(start)}-${clockText(end)}`;
          const window = parseLowTraffic(text);
          const startMinute = start[0] * 60 + start[1];
          const endMinute = end[0] * 60 + end[1];
          expect(window).toEqual({
            days: [...new Set(parts.flatMap((p) => p.days))].sort((a, b) => a - b),
            startMinute,
            endMinute,
            durationMinutes: endMinute > startMinute ? endMinute - startMinute : endMinute + 1440 - startMinute,
            text,
          });
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'returns, for any text, null or a window of real weekdays and minutes, without throwing or hanging',
    () => {
      const word = fc.oneof(
        fc.constantFrom('daily', 'weekdays', 'weekends', 'everyday', 'mon', 'Sun', 'fri-mon', 'constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'sun-constructor', 'constructor-sun', '__proto__-mon'),
        fc.string({ maxLength: 8 }),
      );
      fc.assert(
        fc.property(fc.array(word, { minLength: 1, maxLength: 3 }), fc.constantFrom(' 01:00-05:00', ' 22:00-04:00', ' 00:00-24:00', ' 1:00 - 5:00', ''), fc.string({ maxLength: 6 }), (words, times, tail) => {
          const window = parseLowTraffic(`${words.join(',')}${times}${tail}`);
          if (window === null) return;
          expect(window.days.length).toBeGreaterThan(0);
          for (const d of window.days) expect([1, 2, 3, 4, 5, 6, 7]).toContain(d);
          expect(window.days).toEqual([...new Set(window.days)].sort((a, b) => a - b));
          expect(window.startMinute).toBeGreaterThanOrEqual(0);
          expect(window.startMinute).toBeLessThan(1440);
          expect(window.durationMinutes).toBeGreaterThanOrEqual(1);
          expect(window.durationMinutes).toBeLessThanOrEqual(1440);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );
});
