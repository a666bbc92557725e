/**
 * When an approved request starts: now, at the custom time, or in the next upgrade slot where the
 * whole maximum downtime fits outside every platform maintenance window [001]. Pure; `now` is a
 * parameter.
 */
import { fail, ok } from './result.js';
import type { Result } from './result.js';
import { nextSlotStarts, overlaps } from './time.js';
import type { MaintenanceWindow, ScheduleMode, UpgradeSlot } from './types.js';

export interface PlanInput {
  mode: ScheduleMode;
  /** The custom time for mode `at`. */
  at: Date | null;
  now: Date;
  downtimeMaxMinutes: number;
  maintenance: readonly MaintenanceWindow[];
  slots: readonly UpgradeSlot[];
}

/** How many future occurrences of each slot are searched for a fit. */
export const SLOT_SEARCH_LIMIT = 104;

const MINUTE = 60_000;

/** The first maintenance window the interval [start, start + minutes) overlaps, if any. */
export function firstBlackout(
  start: Date,
  minutes: number,
  maintenance: readonly MaintenanceWindow[],
): MaintenanceWindow | null {
  const end = new Date(start.getTime() + minutes * MINUTE);
  return maintenance.find((m) => overlaps(start, end, m.start, m.end)) ?? null;
}

/** The earliest start inside one slot occurrence [slotStart, slotStart + duration) that avoids blackouts. */
export function fitInSlot(
  slotStart: Date,
  durationMinutes: number,
  downtimeMaxMinutes: number,
  maintenance: readonly MaintenanceWindow[],
): Date | null {
  const slotEnd = slotStart.getTime() + durationMinutes * MINUTE;
  let candidate = slotStart.getTime();
  for (let i = 0; i <= maintenance.length; i++) {
    if (candidate + downtimeMaxMinutes * MINUTE > slotEnd) return null;
    const blocking = firstBlackout(new Date(candidate), downtimeMaxMinutes, maintenance);
    if (!blocking) return new Date(candidate);
    candidate = Math.max(candidate, blocking.end.getTime());
  }
  return null;
}

/** The planned start of an approved request, or why there is none. */
export function planStart(input: PlanInput): Result<Date> {
  const { now, downtimeMaxMinutes: minutes, maintenance } = input;
  if (input.mode === 'now') {
    const blocking = firstBlackout(now, minutes, maintenance);
    if (blocking) {
      return fail(
        'blackout_conflict',
        `Running now would overlap the platform maintenance "${blocking.reason}" (until ${blocking.end.toISOString()}); choose when=window or a time after it.`,
      );
    }
    return ok(now);
  }
  if (input.mode === 'at') {
    if (!input.at) return fail('invalid_time', 'The request has no custom time.');
    if (input.at.getTime() < now.getTime()) {
      return fail('past_time', 'The requested time has passed; cancel this request and file it again with a new time.');
    }
    const blocking = firstBlackout(input.at, minutes, maintenance);
    if (blocking) {
      return fail(
        'blackout_conflict',
        `The upgrade would overlap the platform maintenance "${blocking.reason}"; cancel and file it again for another time.`,
      );
    }
    return ok(input.at);
  }
  let best: Date | null = null;
  for (const slot of input.slots) {
    if (slot.durationMinutes < minutes) continue;
    for (const start of nextSlotStarts(slot.cron, slot.timezone, new Date(now.getTime() - slot.durationMinutes * MINUTE), SLOT_SEARCH_LIMIT)) {
      const from = start.getTime() < now.getTime() ? now : start;
      const remaining = slot.durationMinutes - (from.getTime() - start.getTime()) / MINUTE;
      const fit = fitInSlot(from, remaining, minutes, maintenance);
      if (fit) {
        if (!best || fit < best) best = fit;
        break;
      }
    }
  }
  if (!best) {
    return fail(
      'no_window',
      `No upgrade window in the coming occurrences is long enough for ${minutes} minutes of downtime outside platform maintenance; ask support for a window or choose a custom time.`,
    );
  }
  return ok(best);
}
