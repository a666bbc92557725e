/**
 * Use case: the queue sends a downtime notice ahead of a scheduled upgrade (24 h and 1 h before
 * [003]). A notice whose request is no longer scheduled for that time (cancelled, rescheduled,
 * already started) sends nothing, so a stale job is harmless.
 */
import type { Deps } from '../core/command.js';
import { notify, optionAudiences } from './notify.js';
import { downtimeReply } from './progress-notice.js';
import type { DowntimeKey } from './progress-notice.js';
import { loadView } from './request-view.js';

/** Sends notice `key` for the request planned at `plannedAt`; true when it was stored for delivery. */
export async function sendDowntimeNotice(deps: Deps, requestId: number, key: Extract<DowntimeKey, 't-24h' | 't-1h'>, plannedAt: Date): Promise<boolean> {
  const now = deps.clock.now();
  const stored = await deps.store.transaction(async (tx) => {
    const request = await tx.requests.byId(requestId);
    if (!request || request.status !== 'scheduled' || request.schedule.at?.getTime() !== plannedAt.getTime()) return 0;
    const view = await loadView(tx, request);
    return notify(tx, {
      request,
      kind: 'downtime',
      key: `${key}@${plannedAt.toISOString()}`,
      reply: downtimeReply(view, key, plannedAt),
      audiences: ['customer_channels', 'contact_email', ...optionAudiences(request)],
      at: now,
    }, deps.settings.routes);
  });
  if (stored > 0) deps.scheduler.kickOutbox();
  return stored > 0;
}
