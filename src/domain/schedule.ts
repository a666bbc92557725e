/**
 * When an approved request starts: now, at the custom time, or in the next upgrade slot where the
 * whole maximum downtime fits outside every platform maintenance window [001]; and, when the time
 * asked for cannot be used, the next free upgrade slots to offer instead. Pure; `now` is a
 * parameter. All intervals are half-open: touching edges do not conflict.
 */
import { fail, ok } from './result.js';
import type { Result } from './result.js';
import { formatLocalTime, formatWhen, overlaps, slotOccurrencesAfter } from './time.js';
import type { MaintenanceWindow, ScheduleMode, UpgradeSlot } from './types.js';

/** What planStart needs: the mode and custom time, the current time, the downtime to fit, blackouts and slots. */
export interface PlanInput {
  mode: ScheduleMode;
  /** The custom time for mode `at`. */
  at: Date | null;
  now: Date;
  downtimeMaxMinutes: number;
  maintenance: readonly MaintenanceWindow[];
  slots: readonly UpgradeSlot[];
  /** The customer's IANA timezone, in which failure messages list other times; UTC when absent. */
  timezone?: string;
}

/** What suggestStarts needs: the slots and blackouts, the downtime to fit, and from when to look. */
export interface SuggestInput {
  now: Date;
  downtimeMaxMinutes: number;
  maintenance: readonly MaintenanceWindow[];
  slots: readonly UpgradeSlot[];
  /** Look for starts at or after this instant (e.g. the time asked for); never before `now`. */
  from?: Date;
}

/** How many future occurrences of each slot are searched for a fit. */
export const SLOT_SEARCH_LIMIT = 104;

/** How many other times a failure offers. */
export const SUGGESTION_COUNT = 3;

const MINUTE = 60_000;

/** The instant rounded up to a whole minute, so a suggested time can be typed back exactly. */
function ceilToMinute(ms: number): number {
  return Math.ceil(ms / MINUTE) * MINUTE;
}

/** The first maintenance window the interval [start, start + minutes) overlaps, if any. */
export function firstBlackout(
  start: Date,
  minutes: number,
  maintenance: readonly MaintenanceWindow[],
): MaintenanceWindow | null {
  const end = new Date(start.getTime() + minutes * MINUTE);
  return maintenance.find((m) => overlaps(start, end, m.start, m.end)) ?? null;
}

/** The earliest whole-minute start s ≥ from with [s, s + downtime) inside [from, end) and clear of every blackout, or null. */
function earliestFit(from: number, end: number, downtimeMaxMinutes: number, maintenance: readonly MaintenanceWindow[]): number | null {
  let candidate = ceilToMinute(from);
  // Each step moves past one blackout for good, so one more step than there are blackouts settles it.
  for (let i = 0; i <= maintenance.length; i++) {
    if (candidate + downtimeMaxMinutes * MINUTE > end) return null;
    const blocking = firstBlackout(new Date(candidate), downtimeMaxMinutes, maintenance);
    if (!blocking) return candidate;
    candidate = ceilToMinute(Math.max(candidate, blocking.end.getTime()));
  }
  return null;
}

/** The earliest whole-minute start inside one slot occurrence [slotStart, slotStart + duration) whose downtime fits there and avoids blackouts. */
export function fitInSlot(
  slotStart: Date,
  durationMinutes: number,
  downtimeMaxMinutes: number,
  maintenance: readonly MaintenanceWindow[],
): Date | null {
  const fit = earliestFit(slotStart.getTime(), slotStart.getTime() + durationMinutes * MINUTE, downtimeMaxMinutes, maintenance);
  return fit === null ? null : new Date(fit);
}

/**
 * The next `count` starts to offer: distinct and ascending, each the earliest whole minute in one
 * upgrade-slot occurrence, not before `from` or `now`, whose whole maximum downtime stays inside
 * that occurrence and outside every maintenance window. Fewer when the searched occurrences
 * (SLOT_SEARCH_LIMIT per slot) hold fewer.
 */
export function suggestStarts(input: SuggestInput, count = SUGGESTION_COUNT): Date[] {
  const wanted = Math.max(0, Math.floor(count));
  if (wanted === 0) return [];
  const from = Math.max(input.now.getTime(), input.from?.getTime() ?? -Infinity);
  const minutes = input.downtimeMaxMinutes;
  const all = new Set<number>();
  for (const slot of input.slots) {
    if (slot.durationMinutes < minutes) continue;
    const fits: number[] = [];
    let searched = 0;
    for (const occurrence of slotOccurrencesAfter(slot.cron, slot.timezone, slot.durationMinutes, new Date(from))) {
      if (++searched > SLOT_SEARCH_LIMIT) break;
      const start = occurrence.start.getTime();
      // A later occurrence cannot fit before it starts: stop once it starts after the `wanted` earliest fits.
      if (fits.length >= wanted && start >= (fits[wanted - 1] as number)) break;
      const fit = earliestFit(Math.max(start, from), occurrence.end.getTime(), minutes, input.maintenance);
      if (fit !== null && !fits.includes(fit)) {
        fits.push(fit);
        fits.sort((a, b) => a - b);
      }
    }
    for (const fit of fits.slice(0, wanted)) all.add(fit);
  }
  return [...all]
    .sort((a, b) => a - b)
    .slice(0, wanted)
    .map((ms) => new Date(ms));
}

/** "Next free upgrade slots: A; B; C." with each start as the customer's clock shows it, or '' when there are none. */
export function formatSuggestions(starts: readonly Date[], timezone: string): string {
  if (starts.length === 0) return '';
  const label = starts.length === 1 ? 'Next free upgrade slot' : 'Next free upgrade slots';
  return `${label}: ${starts.map((s) => formatLocalTime(s, timezone)).join('; ')}.`;
}

/** A failure that offers the next free slots: listed in the message, and as `when=` values in details.suggestions. */
function failWithSuggestions(
  code: string,
  problem: string,
  advice: string,
  starts: readonly Date[],
  timezone: string,
  details: Record<string, unknown> = {},
): ReturnType<typeof fail> {
  const offer = formatSuggestions(starts, timezone);
  const message = offer ? `${problem} ${offer} ${advice}` : `${problem} No upgrade slot is free in the coming weeks; ask support for one.`;
  return fail(code, message, { ...details, suggestions: starts.map((s) => formatWhen(s, timezone)) });
}

/**
 * The planned start of an approved request, or why there is none. `now` starts at `now`; `at` at
 * the custom time, unless it has passed (past_time) — a custom time equal to `now` is accepted;
 * `window` at suggestStarts' first start (no_window when none). A `now` or `at` start whose downtime
 * would overlap platform maintenance fails with blackout_conflict. past_time and blackout_conflict
 * list the next free slots (from `now`, or from the asked time for a conflict) in the customer's
 * timezone and carry them as `when=` values in details.suggestions.
 */
export function planStart(input: PlanInput): Result<Date> {
  const { now, downtimeMaxMinutes: minutes, maintenance } = input;
  const timezone = input.timezone ?? 'UTC';
  const refile = 'Cancel this request and file it again for one of these times, or with when=window.';
  if (input.mode === 'now') {
    const blocking = firstBlackout(now, minutes, maintenance);
    if (blocking) {
      return failWithSuggestions(
        'blackout_conflict',
        `Running now would overlap the platform maintenance "${blocking.reason}" (until ${formatLocalTime(blocking.end, timezone)}).`,
        refile,
        suggestStarts(input),
        timezone,
        { maintenanceId: blocking.id },
      );
    }
    return ok(now);
  }
  if (input.mode === 'at') {
    const at = input.at;
    if (!at) return fail('invalid_time', 'The request has no custom time.');
    if (at.getTime() < now.getTime()) {
      return failWithSuggestions(
        'past_time',
        `The requested time, ${formatLocalTime(at, timezone)}, has passed.`,
        refile,
        suggestStarts(input),
        timezone,
      );
    }
    const blocking = firstBlackout(at, minutes, maintenance);
    if (blocking) {
      return failWithSuggestions(
        'blackout_conflict',
        `The upgrade would overlap the platform maintenance "${blocking.reason}" ` +
          `(${formatLocalTime(blocking.start, timezone)} to ${formatLocalTime(blocking.end, timezone)}).`,
        refile,
        suggestStarts({ ...input, from: at }),
        timezone,
        { maintenanceId: blocking.id },
      );
    }
    return ok(at);
  }
  const [first] = suggestStarts(input, 1);
  if (!first) {
    return fail(
      'no_window',
      `No upgrade window in the coming occurrences is long enough for ${minutes} minutes of downtime outside platform maintenance; ask support for a window or choose a custom time.`,
    );
  }
  return ok(first);
}
