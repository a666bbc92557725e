/**
 * The console sink: every notice as a readable block on a stream (stdout by default), so the bot
 * can be watched, and demonstrated, without any chat platform.
 */
import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { isReply, toPlainText } from '../../core/reply.js';
import { formatRef } from '../../domain/types.js';
import type { OutboxMessage } from '../../ports.js';
import type { OutboxSink } from './outbox-worker.js';

/** How long a synchronous write waits, in total, for a full pipe to drain before falling back. */
const MAX_BLOCKED_MS = 5000;
/** The pause between tries when the descriptor is full (EAGAIN on a non-blocking pipe). */
const BLOCKED_PAUSE_MS = 1;

const PAUSE_CELL = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (a full pipe leaves nothing else useful to do here). */
function pauseSync(ms: number): void {
  Atomics.wait(PAUSE_CELL, 0, 0, ms);
}

/** The block printed for one message: a header line, then the reply as plain text. */
export function formatConsoleNotice(message: OutboxMessage): string {
  const parts = [`── to ${message.destination}`, message.kind];
  if (message.requestId !== null) parts.push(formatRef(message.requestId));
  // An edit of a message printed before says so; a message changed before it was first printed
  // (a consent card decided while it waited) is a first print, showing only its revision.
  if (message.externalId !== null) parts.push(`(updated, revision ${message.revision})`);
  else if (message.revision > 0) parts.push(`(revision ${message.revision})`);
  const body = isReply(message.payload) ? toPlainText(message.payload) : JSON.stringify(message.payload, null, 2);
  return `${parts.join(' · ')}\n${body}\n\n`;
}

/**
 * Writes `bytes` to a file descriptor synchronously, waiting for a full pipe to drain; returns how
 * many bytes were written, fewer only when the pipe stayed full for MAX_BLOCKED_MS.
 */
function writeSyncBounded(fd: number, bytes: Buffer): number {
  let offset = 0;
  let blockedMs = 0;
  while (offset < bytes.length && blockedMs < MAX_BLOCKED_MS) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      pauseSync(BLOCKED_PAUSE_MS);
      blockedMs += BLOCKED_PAUSE_MS;
    }
  }
  return offset;
}

/**
 * Accepts every destination and prints each message; an edit is marked "(updated, revision n)", a first print of a message changed since it was queued "(revision n)".
 * Returns `console-<id>` as the message's id, so later edits are recognisable. On process.stdout
 * (and stderr) the text is written synchronously to the descriptor before delivery counts as done,
 * so a kill right after cannot lose it.
 */
export class ConsoleSink implements OutboxSink {
  readonly name = 'console';

  constructor(private readonly out: Writable = process.stdout) {}

  accepts(_destination: string): boolean {
    return true;
  }

  async deliver(message: OutboxMessage): Promise<{ externalId: string | null }> {
    const text = formatConsoleNotice(message);
    const fd = this.out === process.stdout ? 1 : this.out === process.stderr ? 2 : null;
    if (fd === null) {
      this.out.write(text);
    } else {
      const bytes = Buffer.from(text, 'utf8');
      const written = writeSyncBounded(fd, bytes);
      if (written < bytes.length) this.out.write(bytes.subarray(written));
    }
    return { externalId: message.externalId ?? `console-${message.id}` };
  }
}
