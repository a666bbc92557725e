/** The log sink: every notice as one info line (who, what, which request), never its body. */
import type { Logger } from '../../core/command.js';
import { formatRef } from '../../domain/types.js';
import type { OutboxMessage } from '../../ports.js';
import type { OutboxSink } from './outbox-worker.js';

function titleOf(payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const title = (payload as { title?: unknown }).title;
  return typeof title === 'string' ? title : null;
}

/**
 * Accepts every destination and logs `{destination, kind, requestId, ref, title, revision}` at
 * info; the payload's blocks are not logged. Returns `log-<id>` as the message's id.
 */
export class LogSink implements OutboxSink {
  readonly name = 'log';

  constructor(private readonly log: Logger) {}

  accepts(_destination: string): boolean {
    return true;
  }

  async deliver(message: OutboxMessage): Promise<{ externalId: string | null }> {
    this.log.info(
      {
        outboxId: message.id,
        destination: message.destination,
        kind: message.kind,
        requestId: message.requestId,
        ref: message.requestId === null ? null : formatRef(message.requestId),
        title: titleOf(message.payload),
        revision: message.revision,
      },
      'notice',
    );
    return { externalId: message.externalId ?? `log-${message.id}` };
  }
}
