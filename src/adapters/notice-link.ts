/**
 * The status-page link a sink puts in a notice about a request (chat and e-mail alike): resolved
 * through the sink's `statusUrl` option, and left out, with a warning, when it cannot be made now:
 * a notice never waits or fails for its link.
 */
import type { Logger } from '../core/command.js';
import { formatRef } from '../domain/types.js';
import type { OutboxMessage } from '../ports.js';

/** Resolves a request id to the URL of its status page (null: no link for it). */
export type StatusUrl = (requestId: number) => Promise<string | null>;

/** The link of the message's request, with its reference; null without a request, resolver or URL. */
export async function noticeStatusLink(message: OutboxMessage, statusUrl: StatusUrl | undefined, log: Logger): Promise<{ url: string; ref: string } | null> {
  if (message.requestId === null || !statusUrl) return null;
  try {
    const url = await statusUrl(message.requestId);
    return url ? { url, ref: formatRef(message.requestId) } : null;
  } catch (e) {
    log.warn({ outboxId: message.id, err: (e as Error).message }, 'status link unavailable; the notice goes out without it');
    return null;
  }
}
