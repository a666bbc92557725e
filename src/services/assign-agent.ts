/** Use case: a staff member assigns a request's runs to an agent. */
import type { Deps } from '../core/command.js';
import { isTerminal } from '../domain/lifecycle.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { authorize, hasRole } from '../domain/roles.js';
import type { Person } from '../domain/types.js';
import { findRequest } from './decide-request.js';
import { notify } from './notify.js';
import { reply, text } from '../core/reply.js';

/** Assigns the agent named by e-mail; refuses people who are not agents. */
export async function assignAgent(
  deps: Deps,
  person: Person,
  refText: string,
  agentEmail: string,
  invocationId: string,
): Promise<Result<{ ref: string; agent: Person }>> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const found = await findRequest(tx, person, refText);
    if (!found.ok) return found;
    const request = found.value;
    const allowed = authorize(person, 'assign', { customerId: request.customerId });
    if (!allowed.ok) return allowed;
    if (isTerminal(request.status)) {
      return fail('invalid_transition', `${request.ref} is ${request.status.replace(/_/g, ' ')}; there is nothing left to assign.`);
    }
    const agent = await tx.people.byEmail(agentEmail.trim());
    if (!agent || !hasRole(agent, 'agent')) {
      return fail('unknown_agent', `${agentEmail} is not an agent in the records; name an agent by e-mail.`);
    }
    await tx.requests.update(request.id, { assignedAgentId: agent.id, updatedAt: now }, request.status);
    await tx.audit.record({
      at: now,
      actor: person.email,
      action: 'request_assigned',
      entity: 'request',
      entityId: request.ref,
      data: { agent: agent.email },
      invocationId,
    });
    await notify(tx, {
      request,
      kind: 'progress',
      key: `assigned-${agent.id}`,
      reply: { ...reply(`${request.ref} assigned to ${agent.name}`, text(`Assigned by ${person.name}.`)), visibility: 'channel' },
      audiences: ['ops'],
      at: now,
    }, deps.settings.routes);
    return ok({ ref: request.ref, agent });
  });
}
