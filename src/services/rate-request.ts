/**
 * Use case: a customer rates a finished upgrade (the follow-up of [003]). The rating is kept in
 * the audit log with the request and passed on to the agents.
 */
import type { Deps } from '../core/command.js';
import { fields, reply } from '../core/reply.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { authorize } from '../domain/roles.js';
import type { Channel, Person } from '../domain/types.js';
import { findRequest } from './decide-request.js';
import { notify } from './notify.js';

/** Records a 1–5 rating with an optional comment. */
export async function rateRequest(
  deps: Deps,
  person: Person,
  refText: string,
  score: number,
  comment: string | null,
  via: Channel,
  invocationId: string,
): Promise<Result<{ ref: string; score: number }>> {
  if (!Number.isInteger(score) || score < 1 || score > 5) {
    return fail('invalid_arguments', 'Rate from 1 (poor) to 5 (excellent), e.g. /upgrade rate UPG-000123 5 smooth and quick.');
  }
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const found = await findRequest(tx, person, refText);
    if (!found.ok) return found;
    const request = found.value;
    const allowed = authorize(person, 'report_problem', { customerId: request.customerId });
    if (!allowed.ok) return allowed;
    if (request.status !== 'completed' && request.status !== 'completed_with_issues') {
      return fail('invalid_transition', `${request.ref} is ${request.status.replace(/_/g, ' ')}; only a completed upgrade can be rated.`);
    }
    const text = comment?.trim().slice(0, 1000) || null;
    await tx.audit.record({
      at: now,
      actor: person.email,
      action: 'request_rated',
      entity: 'request',
      entityId: request.ref,
      data: { score, comment: text, via },
      invocationId,
    });
    await notify(tx, {
      request,
      kind: 'follow_up',
      key: `rating-${person.id}-${now.getTime()}`,
      reply: {
        ...reply(`${request.ref} rated ${score}/5 by ${person.name}`, fields([['Comment', text]])),
        visibility: 'channel',
      },
      audiences: ['ops'],
      at: now,
    }, deps.settings.routes);
    return ok({ ref: request.ref, score });
  });
}
