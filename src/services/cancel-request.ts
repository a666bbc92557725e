/**
 * Use case: cancel a request before its run starts. Authorized representatives of the customer
 * and platform admins may; a forced request only a platform admin [001]. The cancellation is
 * sent to the same recipients as the earlier notices [001].
 */
import type { Deps } from '../core/command.js';
import { cancellable, transition } from '../domain/lifecycle.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { authorize } from '../domain/roles.js';
import type { Channel, Person } from '../domain/types.js';
import { auditRefusal, findRequest } from './decide-request.js';
import { closeConsentCards, notify, optionAudiences } from './notify.js';
import { describeRequest, loadView } from './request-view.js';
import type { RequestView } from './request-view.js';

/** Cancels the request; refusals are audited. */
export async function cancelRequest(
  deps: Deps,
  person: Person,
  refText: string,
  reason: string | null,
  via: Channel,
  invocationId: string,
): Promise<Result<RequestView>> {
  const now = deps.clock.now();
  const outcome = await deps.store.transaction(async (tx): Promise<Result<RequestView>> => {
    const found = await findRequest(tx, person, refText);
    if (!found.ok) return found;
    const request = found.value;
    const allowed = authorize(person, request.options.forced ? 'cancel_forced' : 'cancel', {
      customerId: request.customerId,
      forced: request.options.forced,
    });
    if (!allowed.ok) return allowed;
    if (!cancellable(request.status)) {
      return fail(
        'invalid_transition',
        request.status === 'in_progress'
          ? `${request.ref} is already running; an agent can abort the run with /upgrade-admin run ${request.ref} abort.`
          : `${request.ref} is ${request.status.replace(/_/g, ' ')}; it can no longer be cancelled.`,
      );
    }
    const moved = transition(request.status, 'cancelled');
    if (!moved.ok) return moved;
    const updated = await tx.requests.update(
      request.id,
      { status: 'cancelled', statusReason: `Cancelled by ${person.name}${reason ? `: ${reason}` : ''}`, updatedAt: now },
      request.status,
    );
    // Nothing will run: the manager password given for it is erased at once.
    await tx.secrets.purge(request.id, now);
    await tx.audit.record({
      at: now,
      actor: person.email,
      action: 'request_cancelled',
      entity: 'request',
      entityId: request.ref,
      data: { from: request.status, reason, via },
      invocationId,
    });
    const view = await loadView(tx, updated);
    const reachedCustomer = request.status !== 'received' && request.status !== 'rejected';
    const cancelledCard = { ...describeRequest(view), title: `${request.ref} cancelled by ${person.name}`, visibility: 'channel' as const };
    await closeConsentCards(tx, updated, cancelledCard, now);
    await notify(tx, {
      request: updated,
      kind: 'cancelled',
      reply: cancelledCard,
      audiences: reachedCustomer
        ? ['customer_channels', 'requester', 'ops', ...optionAudiences(updated)]
        : ['requester', 'ops'],
      at: now,
    }, deps.settings.routes);
    return ok(view);
  });
  if (!outcome.ok && ['not_authorized', 'unknown_request'].includes(outcome.error.code)) {
    await auditRefusal(deps, person, 'cancel', refText.toUpperCase(), outcome.error.code, invocationId);
  }
  if (outcome.ok) {
    await deps.scheduler.syncRequest(outcome.value.request.id);
    deps.scheduler.kickOutbox();
  }
  return outcome;
}
