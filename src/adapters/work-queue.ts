/**
 * Work that a chat adapter has acknowledged and still owes an answer for. Slack (and Discord)
 * expect the acknowledgement within 3 seconds; the command itself may take longer. Running every
 * acknowledged command at once makes the acknowledgements of the next ones wait behind that work
 * in the one event loop, and under a flood it opens as many outgoing answers at once as there are
 * commands. This queue runs the work first in, first out, a few at a time, and starts at most one
 * item per turn of the event loop, so incoming requests are read (and acknowledged) between items.
 * When it is full the adapter answers "busy" at once instead of accepting work it cannot do soon.
 */
import { errorReply } from '../core/reply.js';
import type { Reply } from '../core/reply.js';

/** The answer to a command the queue had no room for. */
export function busyReply(): Reply {
  return errorReply(
    'busy',
    'Upgrade Desk is handling many commands right now, so this one was not run. Nothing was changed.',
    'Please send it again in a minute.',
  );
}

/** The answer to a command accepted while the bot was stopping, and never run. */
export function stoppedReply(): Reply {
  return errorReply(
    'busy',
    'Upgrade Desk was stopping (for a restart) and could not run this command. Nothing was changed.',
    'Please send it again in a minute.',
  );
}

/**
 * The chat adapters' burst setting (see WorkQueueOptions.burst): arrivals less than 5 ms apart
 * are a burst, and during one a single command runs at a time, started at most every 25 ms.
 */
export const ACKNOWLEDGEMENTS_FIRST = { quietMs: 5, burstStartGapMs: 25 } as const;

/** One piece of acknowledged work. */
export interface WorkItem {
  /** Does the work, including answering. A failure goes to the queue's `onError`. */
  run(): Promise<void>;
  /** Called instead of `run` for an item that never started because the queue stopped. */
  abandon(): Promise<void>;
}

export interface WorkQueueOptions {
  /** Items running at once (waiting on the network or the database). */
  concurrency: number;
  /** Items accepted but not yet started; beyond that `offer` refuses. */
  maxPending: number;
  /** Told of an item's `run` or `abandon` that failed (the queue carries on). */
  onError?: (error: unknown) => void;
  /**
   * Acknowledgements first. While items keep arriving (the last one less than `quietMs` ago), one
   * item runs at a time, and the next starts no sooner than `burstStartGapMs` after the previous
   * start; once arrivals pause, the waiting items start one per turn again, up to `concurrency`. Under a burst of commands the event loop then mostly
   * acknowledges (Slack and Discord allow 3 seconds for that), and the work catches up between
   * and after (an answer may come up to 30 minutes later on Slack, 15 on Discord). Without it,
   * items start one per turn whatever arrives.
   */
  burst?: { quietMs: number; burstStartGapMs: number };
}

export class WorkQueue {
  private readonly pending: WorkItem[] = [];
  private readonly running = new Set<Promise<void>>();
  private pumpScheduled = false;
  private stopped = false;
  /** performance.now() of the last offer and of the last start. */
  private lastArrival = Number.NEGATIVE_INFINITY;
  private lastStart = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: WorkQueueOptions) {
    if (!(options.concurrency >= 1) || !(options.maxPending >= 0)) throw new Error('WorkQueue needs concurrency ≥ 1 and maxPending ≥ 0');
  }

  /** Items waiting to start. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Items started and not finished. */
  get active(): number {
    return this.running.size;
  }

  /** True once `stop` was called. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** True when `offer` would accept an item now. */
  get accepting(): boolean {
    return !this.stopped && this.pending.length < this.options.maxPending;
  }

  /** Queues `item`; false (and nothing queued) when the queue is full or stopped. */
  offer(item: WorkItem): boolean {
    if (!this.accepting) return false;
    this.lastArrival = performance.now();
    this.pending.push(item);
    this.schedulePump();
    return true;
  }

  /**
   * Stops accepting, waits up to `timeoutMs` for the running and waiting items, then abandons the
   * items that have not started (each is told, so its sender can be answered). Running items are
   * waited for until the timeout only; they are not interrupted.
   */
  async stop(timeoutMs: number): Promise<{ abandoned: number }> {
    this.stopped = true;
    const deadline = Date.now() + timeoutMs;
    while ((this.pending.length || this.running.size) && Date.now() < deadline) {
      const left = deadline - Date.now();
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.min(left, 50));
      });
      await Promise.race([tick, ...this.running]);
      clearTimeout(timer);
    }
    const left = this.pending.splice(0);
    await Promise.all(left.map((item) => item.abandon().catch((error: unknown) => this.options.onError?.(error))));
    return { abandoned: left.length };
  }

  private schedulePump(delayMs = 0): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // setImmediate, not a microtask: pending I/O (the next acknowledgements) is polled first.
    if (delayMs <= 0) setImmediate(() => this.pump());
    else setTimeout(() => this.pump(), delayMs);
  }

  /** How long the next start must wait for a pause in arrivals or the burst gap (0: it may start now). */
  private burstDelay(now: number): number {
    const burst = this.options.burst;
    if (!burst || this.stopped) return 0;
    const quietAt = this.lastArrival + burst.quietMs;
    const gapAt = this.lastStart + burst.burstStartGapMs;
    return now >= quietAt || now >= gapAt ? 0 : Math.ceil(Math.min(quietAt, gapAt) - now);
  }

  /** True while items keep arriving (see WorkQueueOptions.burst): then one item runs at a time. */
  private inBurst(now: number): boolean {
    const burst = this.options.burst;
    return !!burst && !this.stopped && now < this.lastArrival + burst.quietMs;
  }

  /** Starts at most one item; schedules itself again for the next turn while there is more. */
  private pump(): void {
    this.pumpScheduled = false;
    if (this.running.size >= this.options.concurrency) return;
    if (this.pending.length === 0) return;
    const now = performance.now();
    const delay = this.burstDelay(now);
    if (delay > 0 || (this.running.size > 0 && this.inBurst(now))) {
      this.schedulePump(Math.max(delay, this.options.burst?.quietMs ?? 0));
      return;
    }
    const item = this.pending.shift()!;
    this.lastStart = now;
    const done: Promise<void> = item
      .run()
      .catch((error: unknown) => this.options.onError?.(error))
      .finally(() => {
        this.running.delete(done);
        if (this.pending.length) this.schedulePump();
      });
    this.running.add(done);
    if (this.pending.length) this.schedulePump();
  }
}
