/**
 * Use case: an agent drives a device's upgrade run by hand (the manual executor [003]): next,
 * retry or abort, through the state machine of [004]. Every transition is persisted with an
 * activity-log entry and an audit event in one transaction; when every run of the request is
 * done, the request is completed (or aborted).
 */
import type { Deps } from '../core/command.js';
import { transition } from '../domain/lifecycle.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { authorize } from '../domain/roles.js';
import { advanceRun } from '../domain/run-machine.js';
import type { RunEventName } from '../domain/run-machine.js';
import type { Person, RequestItem, RequestStatus, Run } from '../domain/types.js';
import { findRequest } from './decide-request.js';
import { loadView } from './request-view.js';
import type { RequestView } from './request-view.js';

/** The item whose run an agent drives now: the first, in order, whose run has not finished. */
export function currentItem(items: readonly RequestItem[]): RequestItem | null {
  return [...items].sort((a, b) => a.seq - b.seq).find((i) => !i.run || i.run.state !== 'done') ?? null;
}

/** The request's final status once every run is done. */
export function finalStatus(runs: readonly Run[]): RequestStatus {
  if (runs.some((r) => r.outcome === 'failed')) return 'failed';
  if (runs.some((r) => r.outcome === 'aborted')) return 'aborted';
  if (runs.some((r) => r.outcome === 'completed_with_issues' || r.issues.length > 0)) return 'completed_with_issues';
  return 'completed';
}

/** Applies one agent event to the request's current run. */
export async function driveRun(
  deps: Deps,
  person: Person,
  refText: string,
  event: RunEventName,
  invocationId: string,
): Promise<Result<{ view: RequestView; run: Run; device: string }>> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const found = await findRequest(tx, person, refText);
    if (!found.ok) return found;
    let request = found.value;
    const allowed = authorize(person, 'drive_run', { customerId: request.customerId });
    if (!allowed.ok) return allowed;
    if (request.status !== 'in_progress') {
      return fail(
        'no_active_run',
        `${request.ref} is ${request.status.replace(/_/g, ' ')}, not in progress; its runs start when the queue picks it up at the scheduled time.`,
      );
    }
    const item = currentItem(request.items);
    if (!item) return fail('no_active_run', `Every run of ${request.ref} is already done.`);
    const run = item.run ?? (await tx.runs.create(item.id, now));
    const step = advanceRun(run, event);
    if (!step.ok) return step;
    const saved = await tx.runs.save({
      ...run,
      state: step.value.state,
      condition: step.value.condition,
      attempt: step.value.attempt,
      outcome: step.value.outcome,
      agentId: run.agentId ?? person.id,
      startedAt: run.startedAt ?? now,
      finishedAt: step.value.state === 'done' ? now : null,
      updatedAt: now,
    });
    await tx.runs.addEvent({
      runId: saved.id,
      from: step.value.from,
      to: step.value.to,
      event,
      actor: person.email,
      message: `${event} by ${person.name}`,
      at: now,
    });
    await tx.audit.record({
      at: now,
      actor: person.email,
      action: 'run_event',
      entity: 'request',
      entityId: request.ref,
      data: { device: item.deviceName, event, from: step.value.from, to: step.value.to },
      invocationId,
    });
    const refreshed = await tx.requests.byId(request.id);
    if (refreshed) request = refreshed;
    const runs = request.items.map((i) => i.run).filter((r): r is Run => r !== null);
    if (runs.length === request.items.length && runs.every((r) => r.state === 'done')) {
      const final = finalStatus(runs);
      const moved = transition(request.status, final);
      if (!moved.ok) return moved;
      request = await tx.requests.update(request.id, { status: final, updatedAt: now }, 'in_progress');
      await tx.audit.record({
        at: now,
        actor: person.email,
        action: 'request_finished',
        entity: 'request',
        entityId: request.ref,
        data: { status: final },
        invocationId,
      });
    }
    return ok({ view: await loadView(tx, request), run: saved, device: item.deviceName });
  });
}
