/**
 * E-mail approval links: how an authorized representative gives or refuses consent from an
 * e-mail. A link is signed, bound to one request and one representative, expires (72 hours by
 * default) and decides at most once. Opening it decides nothing (mail scanners open links): only
 * the confirmation page's button does, and it decides exactly as the representative's
 * `/upgrade approve|decline` would, with the same checks, audit and notices.
 */
import { randomBytes } from 'node:crypto';
import type { Deps } from '../core/command.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import type { Person, UpgradeRequest } from '../domain/types.js';
import type { ApprovalLink } from '../ports.js';
import { decideRequest } from './decide-request.js';
import type { DecisionOutcome } from './decide-request.js';

/** How long a link can be used. */
export const APPROVAL_LINK_TTL_MS = 72 * 60 * 60_000;

/** A link's token: the random id and its signature, `<id>.<signature>` (URL-safe). */
export function tokenOf(deps: Pick<Deps, 'secretBox'>, id: string): string {
  return `${id}.${deps.secretBox.sign(`approval-link:${id}`)}`;
}

/**
 * Creates a link for `person` to decide `request`, when they may: an authorized representative of
 * the request's customer, while it awaits consent. Returns its token, or null when they may not.
 */
export async function issueApprovalLink(deps: Deps, request: UpgradeRequest, person: Person, now: Date): Promise<string | null> {
  const representative = person.roles.includes('authorized_representative') && person.customerId === request.customerId;
  if (!representative || request.status !== 'awaiting_consent') return null;
  const id = randomBytes(24).toString('base64url');
  await deps.store.approvalLinks.create({ id, requestId: request.id, personId: person.id, createdAt: now, expiresAt: new Date(now.getTime() + APPROVAL_LINK_TTL_MS) });
  return tokenOf(deps, id);
}

/** A link that may be used now, with what it is about. */
export interface OpenLink {
  link: ApprovalLink;
  request: UpgradeRequest;
  person: Person;
}

/**
 * Checks a token without using it: `link_invalid` (unknown or tampered), `link_expired`,
 * `link_used` (details: the decision), `not_authorized` (its person is no longer a representative
 * of the customer), `request_decided` (no longer awaiting consent).
 */
export async function openApprovalLink(deps: Deps, token: string, now: Date): Promise<Result<OpenLink>> {
  const m = /^([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{20,100})$/.exec(token);
  if (!m || !deps.secretBox.verify(`approval-link:${m[1]}`, m[2] as string)) return fail('link_invalid', 'This link is not valid.');
  const link = await deps.store.approvalLinks.byId(m[1] as string);
  if (!link) return fail('link_invalid', 'This link is not valid.');
  if (link.usedAt) return fail('link_used', `This link was already used: the request was ${link.decision}.`, { decision: link.decision });
  if (link.expiresAt.getTime() <= now.getTime()) return fail('link_expired', 'This link has expired.');
  const request = await deps.store.requests.byId(link.requestId);
  const person = await deps.store.people.byId(link.personId);
  if (!request || !person) return fail('link_invalid', 'This link is not valid.');
  // The records may have changed since the link was sent: it works only for a current representative.
  if (!person.roles.includes('authorized_representative') || person.customerId !== request.customerId) {
    return fail('not_authorized', `${person.name} is no longer an authorized representative of this customer, so this link cannot decide.`);
  }
  if (request.status !== 'awaiting_consent') {
    return fail('request_decided', `${request.ref} no longer awaits consent (it is ${request.status.replace(/_/g, ' ')}).`);
  }
  return ok({ link, request, person });
}

/**
 * Decides with a link: uses it (once, race-free: of two clicks at the same moment one wins) and
 * then decides as its representative through the same service as the chat commands. The link is
 * spent even when the decision is then refused (the request was decided another way meanwhile, or
 * the person is no longer a representative): those are final, and the page says why.
 */
export async function decideByApprovalLink(
  deps: Deps,
  token: string,
  decision: 'approve' | 'decline',
  reason: string | null,
  invocationId: string,
): Promise<Result<DecisionOutcome & { person: Person }>> {
  const now = deps.clock.now();
  const opened = await openApprovalLink(deps, token, now);
  if (!opened.ok) return opened;
  const { link, request, person } = opened.value;
  // Not one transaction with the decision: deciding also schedules the queue, which must see it committed.
  if (!(await deps.store.approvalLinks.use(link.id, now, decision === 'approve' ? 'approved' : 'declined'))) {
    return fail('link_used', 'This link was already used.');
  }
  const decided = await decideRequest(deps, person, request.ref, decision === 'approve' ? 'approved' : 'declined', reason, 'email', invocationId);
  if (!decided.ok) return decided;
  deps.scheduler.kickOutbox();
  return ok({ ...decided.value, person });
}
