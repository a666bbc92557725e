/**
 * The request lifecycle of SPEC §4 as an explicit transition table. Consent is explicit: nothing
 * reaches `scheduled` without passing through `awaiting_consent` → `approved` [003].
 */
import { fail, ok } from './result.js';
import type { Result } from './result.js';
import type { RequestStatus } from './types.js';

/** Allowed next statuses for each status; terminal statuses allow none. */
export const REQUEST_TRANSITIONS: Record<RequestStatus, readonly RequestStatus[]> = {
  received: ['rejected', 'awaiting_consent', 'cancelled'],
  // A decline ends the request as cancelled.
  awaiting_consent: ['approved', 'cancelled'],
  // Back to awaiting_consent when the consent becomes void.
  approved: ['scheduled', 'cancelled', 'awaiting_consent'],
  // Back to awaiting_consent when the consent becomes void (e.g. the hardware record changed).
  scheduled: ['in_progress', 'cancelled', 'awaiting_consent'],
  in_progress: ['completed', 'completed_with_issues', 'failed', 'aborted'],
  rejected: [],
  completed: [],
  completed_with_issues: [],
  failed: [],
  aborted: [],
  cancelled: [],
};

/** Human wording of a status: "awaiting_consent" → "awaiting consent". */
export function statusLabel(status: RequestStatus): string {
  return status.replace(/_/g, ' ');
}

/** True when the lifecycle allows moving from `from` to `to`. */
export function canTransition(from: RequestStatus, to: RequestStatus): boolean {
  return REQUEST_TRANSITIONS[from].includes(to);
}

/** True for statuses a request never leaves. */
export function isTerminal(status: RequestStatus): boolean {
  return REQUEST_TRANSITIONS[status].length === 0;
}

/** True while the request is still open (it holds its devices: one open request per device). */
export function isOpen(status: RequestStatus): boolean {
  return !isTerminal(status);
}

/** True when the request can still be cancelled: not terminal and not yet in progress. */
export function cancellable(status: RequestStatus): boolean {
  return canTransition(status, 'cancelled');
}

/** Moves `from` to `to` when allowed; otherwise fails with invalid_transition naming the allowed next statuses. */
export function transition(from: RequestStatus, to: RequestStatus): Result<RequestStatus> {
  if (canTransition(from, to)) return ok(to);
  const allowed = REQUEST_TRANSITIONS[from];
  const message = allowed.length === 0
    ? `The request is ${statusLabel(from)}, which is final; it can no longer become ${statusLabel(to)}.`
    : `The request is ${statusLabel(from)}; it cannot become ${statusLabel(to)} from there. ` +
      `It can only become: ${allowed.map(statusLabel).join(', ')}.`;
  return fail('invalid_transition', message, { from, to, allowed: [...allowed] });
}
