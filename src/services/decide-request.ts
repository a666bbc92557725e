/**
 * Use case: an authorized representative approves or declines a request [003]. Consent is
 * recorded with who, when and through which channel, together with the warnings it accepted; an
 * approved request is scheduled at once (now, custom time or next window). Only a representative
 * of the request's own customer may decide: anyone else is refused and the refusal is audited.
 */
import type { Deps } from '../core/command.js';
import { transition } from '../domain/lifecycle.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { authorize } from '../domain/roles.js';
import { planStart } from '../domain/schedule.js';
import { parseRef } from '../domain/types.js';
import type { Channel, Decision, DeviceFingerprint, FindingCode, Person, UpgradeRequest } from '../domain/types.js';
import { fingerprintOf } from '../domain/consent.js';
import type { Repositories } from '../ports.js';
import { closeConsentCards, notify, optionAudiences } from './notify.js';
import { allFindings, describeRequest, devicesById, downtimeOf, loadView, zonedTime } from './request-view.js';
import type { RequestView } from './request-view.js';

/** Loads a request by its reference, with a clear error when it does not exist or is not the person's to see. */
export async function findRequest(tx: Repositories, person: Person, refText: string): Promise<Result<UpgradeRequest>> {
  const id = parseRef(refText);
  if (id === null) return fail('invalid_arguments', `"${refText}" is not a request reference; they look like UPG-000123.`);
  const request = await tx.requests.byId(id);
  const visible = request && authorize(person, 'view_request', { customerId: request.customerId }).ok;
  if (!request || !visible) return fail('unknown_request', `There is no request ${refText.toUpperCase()} you can see.`);
  return ok(request);
}

/** Writes a refusal to the audit log, outside the failed change, so it survives. */
export async function auditRefusal(
  deps: Deps,
  person: Person,
  action: string,
  ref: string,
  code: string,
  invocationId: string,
): Promise<void> {
  await deps.store.audit.record({
    at: deps.clock.now(),
    actor: person.email,
    action: 'refused',
    entity: 'request',
    entityId: ref,
    data: { attempted: action, code },
    invocationId,
  });
}

/** Result of a decision: the request as it now is, and the schedule problem if scheduling failed. */
export interface DecisionOutcome {
  view: RequestView;
  scheduleProblem: string | null;
}

/** Approves or declines; an approval also schedules the request. */
export async function decideRequest(
  deps: Deps,
  person: Person,
  refText: string,
  decision: Decision,
  reason: string | null,
  via: Channel,
  invocationId: string,
): Promise<Result<DecisionOutcome>> {
  const now = deps.clock.now();
  const outcome = await deps.store.transaction(async (tx): Promise<Result<DecisionOutcome>> => {
    const found = await findRequest(tx, person, refText);
    if (!found.ok) return found;
    let request = found.value;
    const allowed = authorize(person, 'decide', { customerId: request.customerId });
    if (!allowed.ok) return allowed;
    if (request.status !== 'awaiting_consent') {
      return fail(
        'invalid_transition',
        `${request.ref} is ${request.status.replace(/_/g, ' ')}; only a request awaiting consent can be ${decision}.`,
      );
    }
    const acknowledged = allFindings(request)
      .filter((f) => f.severity === 'warning')
      .map((f) => f.code);
    const view0 = await loadView(tx, request);
    let scheduleProblem: string | null = null;
    let plannedAt: Date | null = null;
    if (decision === 'approved') {
      const planned = planStart({
        mode: request.schedule.mode,
        at: request.schedule.at,
        now,
        downtimeMaxMinutes: downtimeOf(view0)[1],
        maintenance: await tx.windows.maintenance(),
        slots: await tx.windows.slots(request.customerId),
        timezone: view0.customer.timezone,
      });
      if (!planned.ok && planned.error.code !== 'no_window') return planned;
      if (planned.ok) plannedAt = planned.value;
      else scheduleProblem = planned.error.message;
    }
    const fingerprint: DeviceFingerprint[] = [];
    if (decision === 'approved') {
      const devices = await devicesById(tx, request.customerId, request.items.map((i) => i.deviceId));
      for (const deviceId of new Set(request.items.map((i) => i.deviceId))) {
        const device = devices.get(deviceId);
        if (device) fingerprint.push(fingerprintOf(device));
      }
    }
    const approval = await tx.requests.addApproval({
      requestId: request.id,
      personId: person.id,
      by: `${person.name} <${person.email}>`,
      decision,
      via,
      at: now,
      reason,
      acknowledged: [...new Set(acknowledged)] as FindingCode[],
      fingerprint,
    });
    const next = decision === 'approved' ? 'approved' : 'cancelled';
    const moved = transition(request.status, next);
    if (!moved.ok) return moved;
    request = await tx.requests.update(
      request.id,
      {
        status: next,
        statusReason: decision === 'declined' ? `Declined by ${person.name}${reason ? `: ${reason}` : ''}` : null,
        updatedAt: now,
      },
      'awaiting_consent',
    );
    if (decision === 'declined') await tx.secrets.purge(request.id, now);
    await tx.audit.record({
      at: now,
      actor: person.email,
      action: decision === 'approved' ? 'request_approved' : 'request_declined',
      entity: 'request',
      entityId: request.ref,
      data: { via, reason, acknowledged },
      invocationId,
    });
    if (plannedAt) {
      request = await tx.requests.update(
        request.id,
        { status: 'scheduled', schedule: { mode: request.schedule.mode, at: plannedAt }, updatedAt: now },
        'approved',
      );
      await tx.audit.record({
        at: now,
        actor: 'system',
        action: 'request_scheduled',
        entity: 'request',
        entityId: request.ref,
        data: { at: plannedAt.toISOString(), mode: request.schedule.mode },
        invocationId,
      });
    }
    const view = await loadView(tx, request);
    const decided = describeRequest(view);
    await closeConsentCards(
      tx,
      request,
      {
        ...decided,
        title: `${request.ref} ${decision} by ${person.name} via ${via}, ${zonedTime(now, view.customer.timezone)}`,
        visibility: 'channel',
      },
      now,
    );
    await notify(tx, {
      request,
      kind: decision,
      // Keyed by the decision: a request approved again after its consent became void is told again.
      key: `decision-${approval.id}`,
      reply: {
        ...decided,
        title: `${request.ref} ${decision} by ${person.name} via ${via}`,
        visibility: 'channel',
      },
      audiences: ['customer_channels', 'requester', 'ops', ...optionAudiences(request)],
      at: now,
    }, deps.settings.routes);
    if (plannedAt) {
      await notify(tx, {
        request,
        kind: 'scheduled',
        key: `decision-${approval.id}`,
        reply: {
          ...decided,
          title: `${request.ref} scheduled: ${zonedTime(plannedAt, view.customer.timezone)}`,
          visibility: 'channel',
        },
        audiences: ['customer_channels', 'requester', 'ops', ...optionAudiences(request)],
        at: now,
      }, deps.settings.routes);
    }
    return ok({ view, scheduleProblem });
  });
  if (!outcome.ok && ['not_authorized', 'unknown_request'].includes(outcome.error.code)) {
    await auditRefusal(deps, person, decision === 'approved' ? 'approve' : 'decline', refText.toUpperCase(), outcome.error.code, invocationId);
  }
  if (outcome.ok) {
    await deps.scheduler.syncRequest(outcome.value.view.request.id);
    deps.scheduler.kickOutbox();
  }
  return outcome;
}
