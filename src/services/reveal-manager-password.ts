/**
 * Use case: the support agent assigned to a request reads its manager password to log in to the
 * customer's server [003]. Nobody else may, platform admins included, and never through e-mail.
 * Every reading and every refusal is audited; the password itself never is.
 */
import type { Deps } from '../core/command.js';
import { isOpen, statusLabel } from '../domain/lifecycle.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { formatRef, parseRef } from '../domain/types.js';
import type { Channel, Person, UpgradeRequest } from '../domain/types.js';
import { auditRefusal, findRequest } from './decide-request.js';
import { MANAGER_PASSWORD, readManagerPassword } from './manager-password.js';

/** Channels that keep what they show (chat history, mailboxes): the password is never shown there [003]. */
const KEEPING_CHANNELS: readonly Channel[] = ['email', 'slack', 'discord'];

/** Failures that are written to the audit log as refusals. */
const AUDITED_REFUSALS = ['not_authorized', 'unknown_request', 'channel_not_private'];

/** The password with the request it belongs to. Show it only to the person who asked, privately. */
export interface RevealedPassword {
  request: UpgradeRequest;
  password: string;
}

/** Only the assigned agent sees the password (SPEC §6). */
function mayReveal(person: Person, request: UpgradeRequest): Result<true> {
  if (request.assignedAgentId !== null && request.assignedAgentId === person.id) return ok(true);
  return fail(
    'not_authorized',
    `Only the agent assigned to ${request.ref} can see its manager password.` +
      (request.assignedAgentId === null
        ? ` Nobody is assigned yet: a platform admin can assign an agent with /upgrade-admin assign ${request.ref} <agent e-mail>.`
        : ''),
    { action: 'reveal_manager_password' },
  );
}

/** Opens the manager password of the request `refText` for its assigned agent. */
export async function revealManagerPassword(
  deps: Deps,
  person: Person,
  refText: string,
  via: Channel,
  invocationId: string,
): Promise<Result<RevealedPassword>> {
  const id = parseRef(refText);
  if (id === null) return fail('invalid_arguments', 'Give the request reference, e.g. /upgrade-admin password UPG-000123.');
  const ref = formatRef(id);
  const now = deps.clock.now();
  const outcome = await deps.store.transaction(async (tx): Promise<Result<RevealedPassword>> => {
    const found = await findRequest(tx, person, ref);
    if (!found.ok) return found;
    const request = found.value;
    const allowed = mayReveal(person, request);
    if (!allowed.ok) return allowed;
    if (KEEPING_CHANNELS.includes(via)) {
      return fail(
        'channel_not_private',
        `The manager password is never shown in ${via === 'email' ? 'e-mail' : via === 'slack' ? 'Slack' : 'Discord'}, which keeps what it shows. Ask for it in the console (upgrade-desk console --as <your e-mail>), where nothing is kept.`,
      );
    }
    if (!isOpen(request.status)) {
      return fail(
        'no_manager_password',
        `${ref} is ${statusLabel(request.status)}: its manager password was erased when the request closed.`,
      );
    }
    let password: string | null;
    try {
      password = await readManagerPassword(tx, deps.secretBox, request.id);
    } catch {
      deps.log.warn({ ref, invocationId }, 'a stored manager password cannot be decrypted');
      return fail(
        'secret_unreadable',
        `The manager password stored for ${ref} cannot be decrypted (was the secrets key changed?). ` +
          `Ask the customer to give it again with /upgrade password ${ref} <password>.`,
      );
    }
    if (password === null) {
      return fail(
        'no_manager_password',
        `The customer has not given the manager password of ${ref} yet (or it was erased). ` +
          `They can give it with /upgrade password ${ref} <password>.`,
      );
    }
    await tx.audit.record({
      at: now,
      actor: person.email,
      action: 'secret_viewed',
      entity: 'request',
      entityId: ref,
      data: { name: MANAGER_PASSWORD, via },
      invocationId,
    });
    return ok({ request, password });
  });
  if (!outcome.ok && AUDITED_REFUSALS.includes(outcome.error.code)) {
    await auditRefusal(deps, person, 'reveal_manager_password', ref, outcome.error.code, invocationId);
  }
  return outcome;
}
