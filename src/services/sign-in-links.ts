/**
 * Staff sign-in by e-mailed link, for the ops dashboard (no passwords are stored anywhere): a staff
 * member on record asks for a link and gets one that works once, for 15 minutes. Opening the link
 * changes nothing (mail scanners and link previews open links); only the button on the page it
 * opens signs in, and of two presses at the same moment exactly one wins. A link is
 * `<id>.<signature>`, so a tampered or invented link is refused before any database lookup, and
 * the records are checked again when it is used: someone who is no longer staff cannot sign in.
 */
import { randomBytes } from 'node:crypto';
import type { Deps } from '../core/command.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { isStaff } from '../domain/roles.js';
import type { Person } from '../domain/types.js';
import type { SignInLink } from '../ports.js';

/** How long a sign-in link works. */
export const SIGN_IN_LINK_TTL_MS = 15 * 60_000;

/** What a signature is made over: the id under its own purpose, so no other signed value can pass for it. */
function signed(id: string): string {
  return `signin:${id}`;
}

/** A link's token: its random id and the id's signature, `<id>.<signature>` (URL-safe). */
export function signInToken(deps: Pick<Deps, 'secretBox'>, id: string): string {
  return `${id}.${deps.secretBox.sign(signed(id))}`;
}

/**
 * Creates a link for `person` when they are staff (an agent or a platform admin); null otherwise.
 * Links that expired a day ago or earlier are swept on the way. Nothing is audited here: the caller
 * audits once the e-mail is sent (`recordSignInLinkSent`).
 */
export async function issueSignInLink(deps: Deps, person: Person, now: Date): Promise<{ token: string; expiresAt: Date } | null> {
  if (!isStaff(person)) return null;
  await deps.store.signInLinks.deleteExpired(new Date(now.getTime() - 24 * 3600_000));
  const id = randomBytes(24).toString('base64url');
  const expiresAt = new Date(now.getTime() + SIGN_IN_LINK_TTL_MS);
  await deps.store.signInLinks.create({ id, personId: person.id, createdAt: now, expiresAt });
  return { token: signInToken(deps, id), expiresAt };
}

/** Audits that a sign-in link was e-mailed to `person`. */
export async function recordSignInLinkSent(deps: Deps, person: Person, now: Date, invocationId: string): Promise<void> {
  await deps.store.audit.record({
    at: now,
    actor: person.email,
    action: 'sign_in_link_sent',
    entity: 'person',
    entityId: String(person.id),
    data: {},
    invocationId,
  });
}

/** A link that may be used now, with whom it signs in. */
export interface OpenSignInLink {
  link: SignInLink;
  person: Person;
}

/**
 * Checks a token without using it: `link_invalid` (malformed, tampered, unknown, or its person is
 * gone), `link_expired`, `link_used`, `not_authorized` (its person is no longer staff).
 */
export async function openSignInLink(deps: Deps, token: string, now: Date): Promise<Result<OpenSignInLink>> {
  const m = /^([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{20,100})$/.exec(token);
  if (!m || !deps.secretBox.verify(signed(m[1]!), m[2]!)) return fail('link_invalid', 'This sign-in link is not valid.');
  const link = await deps.store.signInLinks.byId(m[1]!);
  if (!link) return fail('link_invalid', 'This sign-in link is not valid.');
  if (link.expiresAt.getTime() <= now.getTime()) return fail('link_expired', 'This sign-in link has expired: links work for 15 minutes.');
  if (link.usedAt) return fail('link_used', 'This sign-in link was already used: each link works once.');
  const person = await deps.store.people.byId(link.personId);
  if (!person) return fail('link_invalid', 'This sign-in link is not valid.');
  if (!isStaff(person)) return fail('not_authorized', `${person.name} is no longer an agent or platform admin on record, so this link cannot sign in.`);
  return ok({ link, person });
}

/**
 * Uses a link: checks it as `openSignInLink` does, then marks it used (race-free: of two uses at
 * the same moment one wins, the other gets `link_used`) and audits `signed_in`. Returns the
 * person to start a session for.
 */
export async function useSignInLink(deps: Deps, token: string, invocationId: string): Promise<Result<Person>> {
  const now = deps.clock.now();
  const opened = await openSignInLink(deps, token, now);
  if (!opened.ok) return opened;
  const { link, person } = opened.value;
  return deps.store.transaction(async (tx) => {
    if (!(await tx.signInLinks.use(link.id, now))) return fail('link_used', 'This sign-in link was already used: each link works once.');
    await tx.audit.record({
      at: now,
      actor: person.email,
      action: 'signed_in',
      entity: 'person',
      entityId: String(person.id),
      data: { via: 'web' },
      invocationId,
    });
    return ok(person);
  });
}
