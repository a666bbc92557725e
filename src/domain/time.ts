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
      const d = DAY_NAMES[range[0] ?? ''];
      if (d === undefined) return null;
      days.add(d);
    } else if (range.length === 2) {
      const a = DAY_NAMES[range[0] ?? ''];
      const b = DAY_NAMES[range[1] ?? ''];
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

/** Formats an instant in the customer's timezone with its offset and in UTC: "Sun 6 Dec 2026 01:00 EST (UTC-05:00) · 06:00 UTC". */
export function formatInZone(at: Date, timezone: string): string {
  const utc = DateTime.fromJSDate(at, { zone: 'UTC' }).setLocale('en-US');
  if (!isValidTimezone(timezone)) return utc.toFormat("ccc d LLL yyyy HH:mm 'UTC'");
  const local = utc.setZone(timezone).setLocale('en-US');
  const name = zoneAbbreviation(local);
  if (name === 'UTC') return utc.toFormat("ccc d LLL yyyy HH:mm 'UTC'");
  const head = local.toFormat('ccc d LLL yyyy HH:mm') + (name ? ` ${name}` : '') + ` (UTC${local.toFormat('ZZ')})`;
  const sameDay = local.toISODate() === utc.toISODate();
  const tail = sameDay ? utc.toFormat("HH:mm 'UTC'") : utc.toFormat("ccc d LLL HH:mm 'UTC'");
  return `${head} · ${tail}`;
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

/** Up to `count` (at most MAX_SLOT_STARTS) start times of the cron slot in `timezone`, strictly after `after`; [] for an invalid cron or timezone. */
export function nextSlotStarts(cron: string, timezone: string, after: Date, count: number): Date[] {
  const limit = Math.min(Math.max(0, Math.floor(count)), MAX_SLOT_STARTS);
  if (limit === 0 || !isValidTimezone(timezone)) return [];
  let expression;
  try {
    expression = CronExpressionParser.parse(cron, { currentDate: after, tz: timezone });
  } catch {
    return [];
  }
  const starts: Date[] = [];
  while (starts.length < limit) {
    let next: Date;
    try {
      next = expression.next().toDate();
    } catch {
      break; // no further occurrence (e.g. an impossible date such as 30 February)
    }
    if (next.getTime() > after.getTime()) starts.push(next);
  }
  return starts;
}
