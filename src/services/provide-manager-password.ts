/**
 * Use case: the customer gives the manager password the support agent needs to log in and apply
 * the upgrade [003]. Only the person who filed the request or an authorized representative of its
 * customer may, while the request is open. The password is sealed before it is stored; the
 * `missing_manager_password` warning goes away; the audit event records that it was given, never
 * what it is. Refusals are audited outside the failed change.
 */
import type { Deps } from '../core/command.js';
import { isOpen, statusLabel } from '../domain/lifecycle.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { hasRole, isStaff } from '../domain/roles.js';
import { formatRef, parseRef } from '../domain/types.js';
import type { Channel, Person, UpgradeRequest } from '../domain/types.js';
import { auditRefusal, findRequest } from './decide-request.js';
import { MANAGER_PASSWORD, withoutMissingPassword } from './manager-password.js';

/** Longest manager password accepted. */
export const MAX_MANAGER_PASSWORD_LENGTH = 256;

/** Failures that are written to the audit log as refusals. */
const AUDITED_REFUSALS = ['not_authorized', 'unknown_request', 'request_closed'];

/** What storing the password came to. */
export interface ProvidedPassword {
  request: UpgradeRequest;
  /** True when a password given earlier was replaced. */
  replaced: boolean;
  /** True when this removed the `missing_manager_password` warning. */
  resolvedWarning: boolean;
}

/** The requester of the request, or an authorized representative of its customer; nobody else. */
function mayProvide(person: Person, request: UpgradeRequest): Result<true> {
  if (person.id === request.requesterId) return ok(true);
  if (hasRole(person, 'authorized_representative') && person.customerId === request.customerId) return ok(true);
  return fail(
    'not_authorized',
    `Only the person who filed ${request.ref} or an authorized representative of its customer can give its manager password.` +
      (isStaff(person) ? ' Support staff receive the password from the customer; they do not provide it.' : ''),
    { action: 'provide_manager_password' },
  );
}

/** Checks the password's form without ever quoting it. */
function checkPassword(password: string): Result<string> {
  if (password.length === 0) return fail('invalid_arguments', 'The manager password is empty; nothing was stored.');
  if (password.length > MAX_MANAGER_PASSWORD_LENGTH) {
    return fail(
      'invalid_arguments',
      `The manager password is longer than ${MAX_MANAGER_PASSWORD_LENGTH} characters; nothing was stored. Check what you pasted.`,
    );
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(password)) {
    return fail(
      'invalid_arguments',
      'The manager password contains a control character (a line break or tab?); nothing was stored. Check what you pasted.',
    );
  }
  return ok(password);
}

/** Seals and stores the manager password of the request `refText`; never returns or records the password. */
export async function provideManagerPassword(
  deps: Deps,
  person: Person,
  refText: string,
  password: string,
  via: Channel,
  invocationId: string,
): Promise<Result<ProvidedPassword>> {
  const id = parseRef(refText);
  // Never quote what was typed: the words may be in the wrong order, and this could be the password.
  if (id === null) {
    return fail(
      'invalid_arguments',
      'Give the request reference first, then the password: /upgrade password UPG-000123 <password>. Nothing was stored.',
    );
  }
  const ref = formatRef(id);
  const checked = checkPassword(password);
  if (!checked.ok) return checked;
  const now = deps.clock.now();
  const outcome = await deps.store.transaction(async (tx): Promise<Result<ProvidedPassword>> => {
    const found = await findRequest(tx, person, ref);
    if (!found.ok) return found;
    const request = found.value;
    const allowed = mayProvide(person, request);
    if (!allowed.ok) return allowed;
    if (!isOpen(request.status)) {
      return fail(
        'request_closed',
        `${ref} is ${statusLabel(request.status)}, so it no longer takes a manager password; nothing was stored.`,
      );
    }
    const replaced = (await tx.secrets.get(request.id, MANAGER_PASSWORD)) !== null;
    await tx.secrets.put(request.id, MANAGER_PASSWORD, deps.secretBox.seal(checked.value), now);
    const findings = withoutMissingPassword(request.findings);
    const resolvedWarning = findings !== request.findings;
    const updated = resolvedWarning
      ? await tx.requests.update(request.id, { findings, updatedAt: now }, request.status)
      : request;
    await tx.audit.record({
      at: now,
      actor: person.email,
      action: 'secret_stored',
      entity: 'request',
      entityId: ref,
      data: { name: MANAGER_PASSWORD, replaced, via },
      invocationId,
    });
    return ok({ request: updated, replaced, resolvedWarning });
  });
  if (!outcome.ok && AUDITED_REFUSALS.includes(outcome.error.code)) {
    await auditRefusal(deps, person, 'provide_manager_password', ref, outcome.error.code, invocationId);
  }
  return outcome;
}
