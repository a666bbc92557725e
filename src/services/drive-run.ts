/**
 * Use case: an agent drives a device's upgrade run by hand (the manual executor [003]): next,
 * retry, abort or clear, through the state machine of [004]. The change goes through
 * applyRunChange (persisted with its activity-log entry, audit event and progress update in one
 * transaction); afterwards the queue is told so the next runs and notices follow.
 */
import type { Deps } from '../core/command.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { authorize } from '../domain/roles.js';
import type { RunEventName } from '../domain/run-machine.js';
import type { Person, RequestItem, Run } from '../domain/types.js';
import { applyRunChange, runTxContext } from './advance-run.js';
import { findRequest } from './decide-request.js';
import { loadView } from './request-view.js';
import type { RequestView } from './request-view.js';

/** The run an agent drives: the named device's active run, or the first active run in order. */
export function currentItem(items: readonly RequestItem[], device?: string | null): RequestItem | null {
  const active = [...items].sort((a, b) => a.seq - b.seq).filter((i) => i.run && i.run.state !== 'done');
  if (device) return active.find((i) => i.deviceName.toLowerCase() === device.toLowerCase()) ?? null;
  return active[0] ?? null;
}

/** Applies one agent event to a run of the request; `note` is recorded as an issue for the feedback. */
export async function driveRun(
  deps: Deps,
  person: Person,
  refText: string,
  event: RunEventName,
  invocationId: string,
  options: { device?: string | null; note?: string | null } = {},
): Promise<Result<{ view: RequestView; run: Run; device: string }>> {
  const outcome = await deps.store.transaction(async (tx) => {
    const found = await findRequest(tx, person, refText);
    if (!found.ok) return found;
    const request = found.value;
    const allowed = authorize(person, 'drive_run', { customerId: request.customerId });
    if (!allowed.ok) return allowed;
    if (request.status !== 'in_progress') {
      return fail(
        'no_active_run',
        `${request.ref} is ${request.status.replace(/_/g, ' ')}, not in progress; its runs start when the queue picks it up at the scheduled time.`,
      );
    }
    const item = currentItem(request.items, options.device);
    if (!item || !item.run) {
      return fail(
        'no_active_run',
        options.device
          ? `${options.device} has no active run in ${request.ref}.`
          : `No run of ${request.ref} is active right now.`,
      );
    }
    const changed = await applyRunChange(
      tx,
      runTxContext(deps),
      request.id,
      item.run.id,
      {
        event,
        actor: person.email,
        message: `${event.replace(/_/g, ' ')} by ${person.name}${options.note ? `: ${options.note}` : ''}`,
        ...(options.note ? { issue: options.note } : {}),
        agentId: person.id,
        invocationId,
      },
    );
    if (!changed.ok) return changed;
    // The agent is shown the whole request as the change left it.
    const current = await tx.requests.byId(request.id);
    if (!current) throw new Error(`request ${request.ref} vanished while a run of it was changed`);
    return ok({ view: await loadView(tx, current), run: changed.value.run, device: item.deviceName, requestId: request.id });
  });
  if (!outcome.ok) return outcome;
  await deps.scheduler.syncRequest(outcome.value.requestId);
  deps.scheduler.kickOutbox();
  return ok({ view: outcome.value.view, run: outcome.value.run, device: outcome.value.device });
}
