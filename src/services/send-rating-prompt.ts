/**
 * Use case: a day after a completed upgrade the customer is asked to rate it [003] — only when
 * every device verifiably came back on its target version (the post-upgrade check saw it).
 * Failures and aborts get no survey; they got a follow-up for the agents instead.
 */
import { actions, reply, text } from '../core/reply.js';
import type { Deps } from '../core/command.js';
import type { UpgradeRequest } from '../domain/types.js';
import { verified } from './advance-run.js';
import { notify } from './notify.js';

/** Hours between completion and the rating prompt. */
export const RATING_DELAY_HOURS = 24;

/** True when the request earns a rating prompt: completed and every device verified on its target. */
export function earnsRating(request: UpgradeRequest): boolean {
  if (request.status !== 'completed' && request.status !== 'completed_with_issues') return false;
  return request.items.every((i) => i.run !== null && verified(i.run, i));
}

/** Stores the rating prompt for delivery; false when the request does not earn one (or it was sent). */
export async function sendRatingPrompt(deps: Deps, requestId: number): Promise<boolean> {
  const now = deps.clock.now();
  const stored = await deps.store.transaction(async (tx) => {
    const request = await tx.requests.byId(requestId);
    if (!request || !earnsRating(request)) return 0;
    const scores = [1, 2, 3, 4, 5].map((n) => ({ label: '★'.repeat(n), command: `/upgrade rate ${request.ref} ${n}` }));
    return notify(tx, {
      request,
      kind: 'follow_up',
      key: 'rating',
      reply: {
        ...reply(
          `${request.ref}: how did the upgrade go?`,
          text(`Your devices are running ${request.targetVersion}. Rate the upgrade from 1 to 5: /upgrade rate ${request.ref} <1-5> [comment].`),
          actions(...scores),
          text(`Anything not working? /upgrade problem ${request.ref} <what happened> links your report to this request.`),
        ),
        visibility: 'channel',
      },
      audiences: ['customer_channels', 'contact_email'],
      at: now,
    }, deps.settings.routes);
  });
  if (stored > 0) deps.scheduler.kickOutbox();
  return stored > 0;
}
