/**
 * Use cases for platform maintenance windows [001]: adding one refuses new upgrades inside it and
 * cancels the scheduled upgrades that overlap it, telling each customer; listing; removing.
 */
import { parseRef } from '../domain/types.js';
import type { Deps } from '../core/command.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { overlaps } from '../domain/time.js';
import type { MaintenanceWindow, Person } from '../domain/types.js';
import { notify, optionAudiences } from './notify.js';
import { describeRequest, downtimeOf, loadView } from './request-view.js';

/** Longest downtime any request may have; bounds the search for overlapping scheduled requests. */
const LOOKBACK_MS = 7 * 24 * 3600_000;

/** Reads an admin-typed instant; an explicit offset or Z is required so nobody guesses the zone. */
export function parseInstant(value: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(value.trim())) return null;
  const d = new Date(value.trim());
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Adds a maintenance window and cancels the scheduled upgrades it overlaps; returns them. */
export async function addMaintenance(
  deps: Deps,
  person: Person,
  input: { start: string; end: string; reason: string },
  invocationId: string,
): Promise<Result<{ window: MaintenanceWindow; cancelled: string[] }>> {
  const start = parseInstant(input.start);
  const end = parseInstant(input.end);
  if (!start || !end) {
    return fail(
      'invalid_time',
      'Give start and end with a UTC offset, e.g. 2026-12-01T00:00Z 2026-12-01T06:00Z "Database upgrade".',
    );
  }
  if (end.getTime() <= start.getTime()) return fail('invalid_time', 'The end must be after the start.');
  const reason = input.reason.trim();
  if (!reason) return fail('invalid_arguments', 'Say why, e.g. "Platform maintenance": customers see it.');
  const now = deps.clock.now();
  const outcome = await deps.store.transaction(async (tx) => {
    const window = await tx.windows.addMaintenance({ start, end, reason });
    await tx.audit.record({
      at: now,
      actor: person.email,
      action: 'maintenance_added',
      entity: 'window',
      entityId: String(window.id),
      data: { start: start.toISOString(), end: end.toISOString(), reason },
      invocationId,
    });
    const cancelled: string[] = [];
    const candidates = await tx.requests.scheduledBetween(new Date(start.getTime() - LOOKBACK_MS), end);
    for (const request of candidates) {
      if (!request.schedule.at) continue;
      const view = await loadView(tx, request);
      const runEnd = new Date(request.schedule.at.getTime() + downtimeOf(view)[1] * 60_000);
      if (!overlaps(request.schedule.at, runEnd, start, end)) continue;
      const reasonText = `Cancelled: it overlaps the platform maintenance "${reason}" (${start.toISOString()} – ${end.toISOString()}). Please file it again for another time.`;
      const updated = await tx.requests.update(
        request.id,
        { status: 'cancelled', statusReason: reasonText, updatedAt: now },
        'scheduled',
      );
      await tx.secrets.purge(request.id, now);
      await tx.audit.record({
        at: now,
        actor: 'system',
        action: 'request_cancelled',
        entity: 'request',
        entityId: request.ref,
        data: { from: 'scheduled', reason: 'maintenance_overlap', windowId: window.id },
        invocationId,
      });
      await notify(tx, {
        request: updated,
        kind: 'cancelled',
        reply: { ...describeRequest(await loadView(tx, updated)), title: `${request.ref} cancelled: platform maintenance`, visibility: 'channel' },
        audiences: ['customer_channels', 'requester', 'ops', ...optionAudiences(updated)],
        at: now,
      }, deps.settings.routes);
      cancelled.push(request.ref);
    }
    return ok({ window, cancelled });
  });
  if (outcome.ok) {
    for (const ref of outcome.value.cancelled) {
      const id = parseRef(ref);
      if (id !== null) await deps.scheduler.syncRequest(id);
    }
    deps.scheduler.kickOutbox();
  }
  return outcome;
}

/** Maintenance windows, soonest first; ended ones only when `all`. */
export async function listMaintenance(deps: Deps, now: Date, all: boolean): Promise<MaintenanceWindow[]> {
  return (await deps.store.windows.maintenance())
    .filter((w) => all || w.end.getTime() > now.getTime())
    .sort((a, b) => a.start.getTime() - b.start.getTime());
}

/** Removes a maintenance window by id. */
export async function removeMaintenance(
  deps: Deps,
  person: Person,
  idText: string,
  invocationId: string,
): Promise<Result<MaintenanceWindow>> {
  const id = Number(idText);
  if (!Number.isInteger(id) || id <= 0) return fail('invalid_arguments', `"${idText}" is not a window id; see /upgrade-admin maintenance list.`);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const window = await tx.windows.maintenanceById(id);
    if (!window) return fail('unknown_window', `There is no maintenance window ${id}; see /upgrade-admin maintenance list.`);
    await tx.windows.removeMaintenance(id);
    await tx.audit.record({
      at: now,
      actor: person.email,
      action: 'maintenance_removed',
      entity: 'window',
      entityId: String(id),
      data: { start: window.start.toISOString(), end: window.end.toISOString(), reason: window.reason },
      invocationId,
    });
    return ok(window);
  });
}
