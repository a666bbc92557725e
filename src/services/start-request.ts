/**
 * Use case: the queue starts a scheduled request at its time. Consent is bound to the hardware:
 * the devices on record are compared with the fingerprint the representative approved; if
 * anything changed, the consent is void, nothing runs, and consent is asked again with the
 * difference shown. Otherwise the request goes in progress, the start-of-downtime notice goes
 * out, and the first runs are created (the executor's step jobs follow through the scheduler).
 */
import { compareFingerprints, describeChanges } from '../domain/consent.js';
import { transition } from '../domain/lifecycle.js';
import { ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { list, text } from '../core/reply.js';
import type { Deps } from '../core/command.js';
import { runTxContext, startPlannedRuns } from './advance-run.js';
import { notify } from './notify.js';
import { downtimeReply, progressViewOf, updateProgress } from './progress-notice.js';
import { consentActions, describeRequest, devicesById, loadView } from './request-view.js';

/** What starting came to. */
export type StartOutcome =
  | { kind: 'started'; runs: number[] }
  | { kind: 'consent_void'; changes: string[] }
  /** Not scheduled (cancelled, already started) or scheduled for another time: a stale job. */
  | { kind: 'stale'; status: string };

/** Starts request `requestId` if it is still scheduled for `plannedAt`. */
export async function startRequest(deps: Deps, requestId: number, plannedAt: Date): Promise<Result<StartOutcome>> {
  const now = deps.clock.now();
  const outcome = await deps.store.transaction(async (tx): Promise<Result<StartOutcome>> => {
    const request = await tx.requests.byId(requestId);
    if (!request) return ok({ kind: 'stale', status: 'missing' });
    if (request.status !== 'scheduled' || request.schedule.at?.getTime() !== plannedAt.getTime()) {
      return ok({ kind: 'stale', status: request.status });
    }
    const approval = [...request.approvals].reverse().find((a) => a.decision === 'approved');
    const current = await devicesById(tx, request.customerId, request.items.map((i) => i.deviceId));
    const changes = describeChanges(compareFingerprints(approval?.fingerprint ?? [], current));
    if (!approval || changes.length > 0) {
      const reasons = approval ? changes : ['no recorded consent'];
      const moved = transition(request.status, 'awaiting_consent');
      if (!moved.ok) return moved;
      const updated = await tx.requests.update(
        request.id,
        {
          status: 'awaiting_consent',
          statusReason: `Consent void: the records changed since approval (${reasons.join('; ')}). Please approve again.`,
          schedule: { mode: request.schedule.mode, at: request.schedule.mode === 'at' ? request.schedule.at : null },
          updatedAt: now,
        },
        'scheduled',
      );
      await tx.audit.record({
        at: now,
        actor: 'system',
        action: 'consent_void',
        entity: 'request',
        entityId: request.ref,
        data: { changes: reasons, approvalId: approval?.id ?? null },
        invocationId: null,
      });
      const view = await loadView(tx, updated);
      await notify(tx, {
        request: updated,
        kind: 'consent_needed',
        key: `reconsent-${approval?.id ?? 0}`,
        reply: {
          ...describeRequest(view, [
            text('Nothing was run. The devices on record differ from what was approved, so the approval no longer holds.'),
            list('What changed', reasons),
            consentActions(request.ref),
          ]),
          title: `${request.ref}: consent needed again`,
          visibility: 'channel',
        },
        audiences: ['customer_channels', 'representatives', 'ops'],
        at: now,
      }, deps.settings.routes);
      return ok({ kind: 'consent_void', changes: reasons });
    }
    const moved = transition(request.status, 'in_progress');
    if (!moved.ok) return moved;
    let started = await tx.requests.update(request.id, { status: 'in_progress', updatedAt: now }, 'scheduled');
    await tx.audit.record({
      at: now,
      actor: 'system',
      action: 'request_started',
      entity: 'request',
      entityId: request.ref,
      data: { plannedAt: plannedAt.toISOString() },
      invocationId: null,
    });
    const runs = await startPlannedRuns(tx, started, runTxContext(deps));
    started = (await tx.requests.byId(request.id))!;
    const view = await loadView(tx, started);
    await notify(tx, {
      request: started,
      kind: 'downtime',
      key: `start@${plannedAt.toISOString()}`,
      reply: downtimeReply(view, 'start', now),
      audiences: ['customer_channels', 'contact_email'],
      at: now,
    }, deps.settings.routes);
    await updateProgress(tx, progressViewOf(view), now, deps.settings.routes);
    return ok({ kind: 'started', runs: runs.map((r) => r.id) });
  });
  if (outcome.ok && outcome.value.kind !== 'stale') {
    await deps.scheduler.syncRequest(requestId);
    deps.scheduler.kickOutbox();
  }
  return outcome;
}
