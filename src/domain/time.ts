/**
 * Schedule policy over wall-clock time: reading `when=`, customers' low-traffic windows, upgrade
 * slots (cron), overlaps with blackouts, and display in the customer's timezone. DST-aware; the
 * current time is always a parameter.
 */
import { CronExpressionParser } from 'cron-parser';
import { DateTime, FixedOffsetZone, IANAZone } from 'luxon';
import { fail, ok } from './result.js';
import type { Result } from './result.js';

/** What `when=` asked for: as soon as approved, the next upgrade slot, or a fixed instant. */
export type When = { mode: 'now' } | { mode: 'window' } | { mode: 'at'; at: Date };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const WHEN_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?$/i;
const WHEN_EXAMPLE = 'when=now, when=window, or a date and time such as when=2026-12-06T01:00 (your timezone) or when=2026-12-06T06:00Z';

/** True when `tz` is an IANA timezone name luxon and Intl understand (e.g. America/New_York, UTC). */
export function isValidTimezone(tz: string): boolean {
  return tz.trim() !== '' && IANAZone.isValidZone(tz);
}

/** ISO text with offset and without zero seconds, directly usable as `when=` (e.g. 2026-03-08T03:00-04:00). */
function isoWithOffset(dt: DateTime): string {
  return dt.toISO({ suppressSeconds: true, suppressMilliseconds: true }) ?? dt.toString();
}

/** Every UTC offset (minutes) the zone uses around a wall-clock time given as if it were UTC milliseconds. */
function offsetsAround(zone: IANAZone, wallMs: number): number[] {
  const seen = new Set<number>();
  for (let h = -15; h <= 15; h++) seen.add(zone.offset(wallMs + h * HOUR));
  return [...seen];
}

/** The instants (ms) whose local time in `zone` is the wall time `wallMs`: none in a gap, two in an overlap. */
function readingsOf(zone: IANAZone, wallMs: number): number[] {
  const instants = offsetsAround(zone, wallMs)
    .map((offset) => wallMs - offset * MINUTE)
    .filter((instant) => zone.offset(instant) * MINUTE === wallMs - instant);
  return [...new Set(instants)].sort((a, b) => a - b);
}

/** The first instant at or after `lo` whose offset differs from the offset at `lo` (binary search, minute precision). */
function transitionAfter(zone: IANAZone, lo: number, hi: number): number {
  const before = zone.offset(lo);
  let a = lo;
  let b = hi;
  while (b - a > MINUTE) {
    const mid = a + Math.floor((b - a) / 2 / MINUTE) * MINUTE;
    if (zone.offset(mid) === before) a = mid;
    else b = mid;
  }
  return b;
}

/**
 * Reads `now`, `window` or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]; without an offset the time is read in
 * `timezone`, refusing times that do not exist (nonexistent_local_time, with suggestions) or happen
 * twice (ambiguous_local_time). Other text fails with invalid_time. Does not check for the past.
 */
export function parseWhen(text: string, timezone: string, _now: Date): Result<When> {
  const input = text.trim();
  const lower = input.toLowerCase();
  if (lower === 'now') return ok({ mode: 'now' });
  if (lower === 'window') return ok({ mode: 'window' });
  const m = WHEN_PATTERN.exec(input);
  if (!m) {
    return fail('invalid_time', `Could not read "${input}" as a time. Use ${WHEN_EXAMPLE}.`, { given: input });
  }
  const fields = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6] ?? 0),
  };
  const offsetText = m[7];
  // Validate the calendar fields on a fixed zone first, so Feb 30 or 25:00 is refused rather than rolled over.
  const probe = DateTime.fromObject(fields, { zone: 'UTC' });
  const roundTrips = probe.isValid && probe.day === fields.day && probe.hour === fields.hour && probe.minute === fields.minute;
  if (!roundTrips) {
    return fail('invalid_time', `"${input}" is not a real date and time. Use ${WHEN_EXAMPLE}.`, { given: input });
  }
  if (offsetText !== undefined) {
    let offsetMinutes = 0;
    if (offsetText.toUpperCase() !== 'Z') {
      const sign = offsetText.startsWith('-') ? -1 : 1;
      const hours = Number(offsetText.slice(1, 3));
      const minutes = Number(offsetText.slice(4, 6));
      if (hours > 14 || minutes > 59) {
        return fail('invalid_time', `"${offsetText}" is not a valid UTC offset. Use Z or ±HH:MM, e.g. -05:00.`, { given: input });
      }
      offsetMinutes = sign * (hours * 60 + minutes);
    }
    const at = DateTime.fromObject(fields, { zone: FixedOffsetZone.instance(offsetMinutes) });
    return ok({ mode: 'at', at: at.toJSDate() });
  }
  if (!isValidTimezone(timezone)) {
    return fail('invalid_timezone', `The customer's timezone "${timezone}" is not a known timezone; add an offset such as Z or -05:00 to the time, and ask support to fix the record.`, { timezone });
  }
  const zone = IANAZone.create(timezone);
  const wallMs = probe.toMillis();
  const readings = readingsOf(zone, wallMs);
  const local = `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}${m[6] !== undefined ? `:${m[6]}` : ''}`;
  if (readings.length === 1) {
    return ok({ mode: 'at', at: new Date(readings[0] as number) });
  }
  if (readings.length === 0) {
    // Spring forward: find the jump and suggest the last valid minute before it and the first after it.
    const offsets = offsetsAround(zone, wallMs);
    const from = wallMs - Math.max(...offsets) * MINUTE - 2 * HOUR;
    const transition = transitionAfter(zone, from, wallMs - Math.min(...offsets) * MINUTE + 2 * HOUR);
    const before = DateTime.fromMillis(transition - MINUTE, { zone, locale: 'en-US' });
    const after = DateTime.fromMillis(transition, { zone, locale: 'en-US' });
    const suggestions = [isoWithOffset(before), isoWithOffset(after)];
    const gapStart = DateTime.fromMillis(transition, { zone: FixedOffsetZone.instance(zone.offset(transition - MINUTE)), locale: 'en-US' });
    return fail(
      'nonexistent_local_time',
      `${local} does not exist in ${timezone}: the clocks jump from ${gapStart.toFormat('HH:mm')} to ${after.toFormat('HH:mm')} that day. ` +
        `Pick a time outside the gap, e.g. when=${suggestions[0]} or when=${suggestions[1]}.`,
      { given: input, timezone, suggestions },
    );
  }
  const shown = readings.map((instant) => {
    const dt = DateTime.fromMillis(instant, { zone, locale: 'en-US' });
    return { iso: isoWithOffset(dt), name: zoneAbbreviation(dt) };
  });
  const listed = shown.map((r) => (r.name ? `${r.iso} (${r.name})` : r.iso)).join(' or ');
  return fail(
    'ambiguous_local_time',
    `${local} happens twice in ${timezone} (the clocks go back that night): ${listed}. ` +
      `Add the offset you mean, e.g. when=${shown[0]?.iso}.`,
    { given: input, timezone, readings: shown.map((r) => r.iso) },
  );
}

/** A customer's preferred low-traffic window: on `days` (1 = Monday … 7 = Sunday, the day it starts), from `start` for `durationMinutes`. */
export interface LowTrafficWindow {
  /** ISO weekdays on which an occurrence starts, ascending. */
  days: number[];
  /** Start, minutes after local midnight. */
  startMinute: number;
  /** End, minutes after local midnight; ≤ startMinute means the next day. */
  endMinute: number;
  /** Length in wall-clock minutes (1..1440). */
  durationMinutes: number;
  /** The text it was read from, trimmed. */
  text: string;
}

const DAY_NAMES: Record<string, number> = {
  mon: 1, monday: 1, tue: 2, tues: 2, tuesday: 2, wed: 3, wednesday: 3, thu: 4, thur: 4, thurs: 4, thursday: 4,
  fri: 5, friday: 5, sat: 6, saturday: 6, sun: 7, sunday: 7,
};

/** The ISO weekday a day name means; undefined for other words, including names every object has ("constructor"). */
function dayOf(name: string): number | undefined {
  return Object.hasOwn(DAY_NAMES, name) ? DAY_NAMES[name] : undefined;
}

/** Reads a day spec: "daily", "weekdays", "weekends", "Mon,Wed,Fri", "Sat-Sun", "Fri-Mon" (wraps). */
function parseDays(spec: string): number[] | null {
  const s = spec.toLowerCase();
  if (s === 'daily' || s === 'everyday') return [1, 2, 3, 4, 5, 6, 7];
  if (s === 'weekdays') return [1, 2, 3, 4, 5];
  if (s === 'weekends') return [6, 7];
  const days = new Set<number>();
  for (const part of s.split(',')) {
    const range = part.trim().split('-');
    if (range.length === 1) {
      const d = dayOf(range[0] ?? '');
      if (d === undefined) return null;
      days.add(d);
    } else if (range.length === 2) {
      const a = dayOf(range[0] ?? '');
      const b = dayOf(range[1] ?? '');
      if (a === undefined || b === undefined) return null;
      for (let d = a; ; d = (d % 7) + 1) {
        days.add(d);
        if (d === b) break;
      }
    } else {
      return null;
    }
  }
  return [...days].sort((a, b) => a - b);
}

/** Reads HH:MM (00:00-23:59, or 24:00 when `allow24`) into minutes after midnight. */
function parseClock(text: string, allow24: boolean): number | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text);
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59) return null;
  if (h === 24 && min === 0 && allow24) return 1440;
  if (h > 23) return null;
  return h * 60 + min;
}

/** Reads "Sun 01:00-05:00", "Sat-Sun 22:00-04:00" (end ≤ start: next day), "Mon,Wed,Fri 00:00-06:00" or "daily 01:00-05:00"; null when unreadable. */
export function parseLowTraffic(text: string): LowTrafficWindow | null {
  const m = /^(\S+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$/.exec(text.trim().replace(/\s*,\s*/g, ','));
  if (!m) return null;
  const days = parseDays(m[1] ?? '');
  const startMinute = parseClock(m[2] ?? '', false);
  const endMinute = parseClock(m[3] ?? '', true);
  if (!days || startMinute === null || endMinute === null) return null;
  const durationMinutes = endMinute > startMinute ? endMinute - startMinute : endMinute + 1440 - startMinute;
  return { days, startMinute, endMinute, durationMinutes, text: text.trim() };
}

/** The instant at `minuteOfDay` wall-clock minutes into `day` (1440 = the next midnight). */
function atWallMinute(day: DateTime, minuteOfDay: number): DateTime {
  if (minuteOfDay >= 1440) return day.plus({ days: 1 }).startOf('day');
  return day.set({ hour: Math.floor(minuteOfDay / 60), minute: minuteOfDay % 60, second: 0, millisecond: 0 });
}

/** True when all of [start, end] falls inside one occurrence of the window in `timezone` (the occurrence's day is the day it starts). */
export function withinLowTraffic(window: LowTrafficWindow, timezone: string, start: Date, end: Date): boolean {
  if (!isValidTimezone(timezone) || end.getTime() < start.getTime()) return false;
  const localStart = DateTime.fromJSDate(start, { zone: timezone }).startOf('day');
  // An occurrence lasts at most 24 h, so only occurrences starting the day before or the same day can hold `start`.
  for (const dayOffset of [-1, 0]) {
    const day = localStart.plus({ days: dayOffset });
    if (!window.days.includes(day.weekday)) continue;
    const occStart = atWallMinute(day, window.startMinute);
    const occEnd = atWallMinute(window.endMinute > window.startMinute ? day : day.plus({ days: 1 }), window.endMinute);
    if (occStart.toMillis() <= start.getTime() && end.getTime() <= occEnd.toMillis()) return true;
  }
  return false;
}

/** The zone's short name at that instant (EST, CEST, BST) when Intl knows one, else null. */
function zoneAbbreviation(dt: DateTime): string | null {
  for (const locale of ['en-US', 'en-GB']) {
    const name = dt.setLocale(locale).toFormat('ZZZZ');
    if (!/^(GMT|UTC)[+-]/.test(name)) return name;
  }
  return null;
}

/** Formats an instant as the customer's clock shows it, with the zone's name and offset: "Sun 6 Dec 2026 01:00 EST (UTC-05:00)"; plain UTC for UTC or an unknown timezone. */
export function formatLocalTime(at: Date, timezone: string): string {
  const utc = DateTime.fromJSDate(at, { zone: 'UTC' }).setLocale('en-US');
  if (!isValidTimezone(timezone)) return utc.toFormat("ccc d LLL yyyy HH:mm 'UTC'");
  const local = utc.setZone(timezone).setLocale('en-US');
  const name = zoneAbbreviation(local);
  if (name === 'UTC') return utc.toFormat("ccc d LLL yyyy HH:mm 'UTC'");
  return local.toFormat('ccc d LLL yyyy HH:mm') + (name ? ` ${name}` : '') + ` (UTC${local.toFormat('ZZ')})`;
}

/** Formats an instant in the customer's timezone with its offset and in UTC: "Sun 6 Dec 2026 01:00 EST (UTC-05:00) · 06:00 UTC". */
export function formatInZone(at: Date, timezone: string): string {
  const head = formatLocalTime(at, timezone);
  if (head.endsWith(' UTC')) return head;
  const utc = DateTime.fromJSDate(at, { zone: 'UTC' }).setLocale('en-US');
  const sameDay = DateTime.fromJSDate(at, { zone: timezone }).toISODate() === utc.toISODate();
  const tail = sameDay ? utc.toFormat("HH:mm 'UTC'") : utc.toFormat("ccc d LLL HH:mm 'UTC'");
  return `${head} · ${tail}`;
}

/** An instant as ISO 8601 text with the offset of `timezone` (UTC when unknown), directly usable as `when=`: "2026-12-06T01:00-05:00". */
export function formatWhen(at: Date, timezone: string): string {
  return isoWithOffset(DateTime.fromJSDate(at, { zone: isValidTimezone(timezone) ? timezone : 'UTC' }));
}

/** True when the half-open intervals [aStart, aEnd) and [bStart, bEnd) share time; touching edges do not overlap. */
export function overlaps(aStart: Date, aEnd: Date, bStart: Date, bEnd: Date): boolean {
  return aStart.getTime() < bEnd.getTime() && bStart.getTime() < aEnd.getTime();
}

/** The largest number of slot starts nextSlotStarts returns, whatever `count` asks. */
export const MAX_SLOT_STARTS = 1000;

/** True when `cron` is a cron expression cron-parser accepts. */
export function isValidCron(cron: string): boolean {
  try {
    CronExpressionParser.parse(cron, { currentDate: new Date(0), tz: 'UTC' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The first instant at which the clocks in `zone` show the wall time `wallMs` (given as if it were
 * UTC milliseconds) or a later one: the wall time itself, its earlier reading when the clocks go back
 * over it, or the moment the clocks jump when it falls in a spring-forward gap. Never a local time
 * that does not exist.
 */
function firstInstantShowing(zone: IANAZone, wallMs: number): number {
  // Fast path: the same offset 15 h either side means no change of the clocks near this wall time.
  const offset = zone.offset(wallMs);
  if (zone.offset(wallMs - 15 * HOUR) === offset && zone.offset(wallMs + 15 * HOUR) === offset) {
    const instant = wallMs - offset * MINUTE;
    if (zone.offset(instant) === offset) return instant;
  }
  const readings = readingsOf(zone, wallMs);
  if (readings.length > 0) return readings[0] as number;
  const offsets = offsetsAround(zone, wallMs);
  return transitionAfter(zone, wallMs - Math.max(...offsets) * MINUTE, wallMs - Math.min(...offsets) * MINUTE);
}

/** The wall-clock times (as if UTC milliseconds) the cron matches strictly after `afterWallMs`, ascending; stops at an impossible date. */
function* cronWallTimes(cron: string, afterWallMs: number): Generator<number> {
  let expression;
  try {
    expression = CronExpressionParser.parse(cron, { currentDate: new Date(afterWallMs), tz: 'UTC' });
  } catch {
    return;
  }
  for (;;) {
    let next: number;
    try {
      next = expression.next().getTime();
    } catch {
      return; // no further occurrence (e.g. an impossible date such as 30 February)
    }
    if (next > afterWallMs) yield next;
  }
}

/** One occurrence of a recurring upgrade slot: the half-open interval [start, end). */
export interface SlotOccurrence {
  start: Date;
  end: Date;
}

/** Cron times in a row that may yield no occurrence before slotOccurrencesAfter gives up (a guard, never reached by real slots). */
const MAX_SKIPPED_SLOT_TIMES = 1_000;

/**
 * The occurrences of the upgrade slot `cron` in `timezone` that have not ended by `after`, lazily and
 * ascending, with distinct starts. An occurrence starts when the local clock first shows the cron
 * time (the moment the clocks jump when that time is skipped, the first reading when it comes twice)
 * and ends when the clock first shows the cron time plus `durationMinutes`, but never lasts longer
 * than `durationMinutes`: an hour shorter on a spring-forward night, no longer on a fall-back night.
 * An occurrence wholly inside a skipped hour is left out. Nothing for an invalid cron or timezone or
 * a duration that is not positive. Unbounded: the caller stops taking.
 */
export function* slotOccurrencesAfter(
  cron: string,
  timezone: string,
  durationMinutes: number,
  after: Date,
): Generator<SlotOccurrence> {
  const durationMs = durationMinutes * MINUTE;
  if (!(durationMs > 0) || !isValidTimezone(timezone) || !isValidCron(cron)) return;
  const zone = IANAZone.create(timezone);
  const afterMs = after.getTime();
  // An occurrence still running at `after` ends at a wall time later than the clock shows at `after`,
  // so its cron time is later than that wall time less the duration.
  const wallAfter = afterMs + zone.offset(afterMs) * MINUTE;
  let pending: SlotOccurrence | null = null;
  let skipped = 0;
  for (const wall of cronWallTimes(cron, wallAfter - durationMs)) {
    const start = firstInstantShowing(zone, wall);
    const end = Math.min(firstInstantShowing(zone, wall + durationMs), start + durationMs);
    if (end <= afterMs || end <= start) {
      if (++skipped > MAX_SKIPPED_SLOT_TIMES) return;
      continue;
    }
    skipped = 0;
    if (pending && start === pending.start.getTime()) {
      // Two cron times in one skipped hour both start when the clocks jump: keep the longer reach.
      if (end > pending.end.getTime()) pending.end = new Date(end);
      continue;
    }
    if (pending) yield pending;
    pending = { start: new Date(start), end: new Date(end) };
  }
  if (pending) yield pending;
}

/** Up to `count` (at most MAX_SLOT_STARTS) occurrences of slotOccurrencesAfter: the slot's occurrences not ended by `after`. */
export function slotOccurrences(
  cron: string,
  timezone: string,
  durationMinutes: number,
  after: Date,
  count: number,
): SlotOccurrence[] {
  const limit = Math.min(Math.max(0, Math.floor(count)), MAX_SLOT_STARTS);
  const found: SlotOccurrence[] = [];
  if (limit === 0) return found;
  for (const occurrence of slotOccurrencesAfter(cron, timezone, durationMinutes, after)) {
    found.push(occurrence);
    if (found.length >= limit) break;
  }
  return found;
}

/**
 * Up to `count` (at most MAX_SLOT_STARTS) distinct start times of the cron slot in `timezone`,
 * strictly after `after`, ascending; a cron time in a skipped hour starts when the clocks jump, one
 * the clocks pass twice starts the first time. [] for an invalid cron or timezone.
 */
export function nextSlotStarts(cron: string, timezone: string, after: Date, count: number): Date[] {
  const limit = Math.min(Math.max(0, Math.floor(count)), MAX_SLOT_STARTS);
  if (limit === 0 || !isValidTimezone(timezone) || !isValidCron(cron)) return [];
  const zone = IANAZone.create(timezone);
  const afterMs = after.getTime();
  // A start strictly after `after` shows a wall time later than the clock shows at `after`.
  const wallAfter = afterMs + zone.offset(afterMs) * MINUTE;
  const starts: Date[] = [];
  let lastStart = -Infinity;
  for (const wall of cronWallTimes(cron, wallAfter)) {
    const start = firstInstantShowing(zone, wall);
    if (start <= afterMs || start === lastStart) continue;
    starts.push(new Date(start));
    lastStart = start;
    if (starts.length >= limit) break;
  }
  return starts;
}
