/**
 * Use case: a customer reports a problem after (or during) an upgrade [003]. The report is kept
 * with the request and the agents are told at once.
 */
import type { Deps } from '../core/command.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { authorize } from '../domain/roles.js';
import type { Channel, Person } from '../domain/types.js';
import type { ProblemReport } from '../ports.js';
import { findRequest } from './decide-request.js';
import { notify } from './notify.js';
import { reply, text, fields } from '../core/reply.js';

/** Longest problem description kept. */
export const MAX_PROBLEM_LENGTH = 2000;

/** Stores the report and tells ops; returns it with the request's ref. */
export async function reportProblem(
  deps: Deps,
  person: Person,
  refText: string,
  description: string,
  via: Channel,
  invocationId: string,
): Promise<Result<{ report: ProblemReport; ref: string }>> {
  const textValue = description.trim();
  if (!textValue) return fail('invalid_arguments', 'Describe the problem after the reference: /upgrade problem UPG-000123 <what happens>.');
  if (textValue.length > MAX_PROBLEM_LENGTH) {
    return fail('invalid_arguments', `Keep the description under ${MAX_PROBLEM_LENGTH} characters; attach details when support replies.`);
  }
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const found = await findRequest(tx, person, refText);
    if (!found.ok) return found;
    const request = found.value;
    const allowed = authorize(person, 'report_problem', { customerId: request.customerId });
    if (!allowed.ok) return allowed;
    const report = await tx.problems.create({ requestId: request.id, reporterId: person.id, text: textValue, via, at: now });
    await tx.audit.record({
      at: now,
      actor: person.email,
      action: 'problem_reported',
      entity: 'request',
      entityId: request.ref,
      data: { problemId: report.id, via },
      invocationId,
    });
    await notify(tx, {
      request,
      kind: 'problem_reported',
      key: String(report.id),
      reply: {
        ...reply(
          `Problem reported on ${request.ref}`,
          fields([
            ['Reported by', `${person.name} <${person.email}>`],
            ['Request status', request.status.replace(/_/g, ' ')],
          ]),
          text(textValue),
        ),
        visibility: 'channel',
      },
      audiences: ['ops'],
      at: now,
    }, deps.settings.routes);
    return ok({ report, ref: request.ref });
  });
}
