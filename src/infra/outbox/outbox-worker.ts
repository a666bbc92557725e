/**
 * Delivers the outbox: claims due messages (the oldest pending one of each destination, with a
 * lease), hands each to the first sink that accepts its destination, and records the outcome.
 * Delivery is at least once: a worker that dies mid-delivery leaves a lease that runs out, and
 * the message is delivered again. Several workers, in one process or many, may share an outbox.
 *
 * Order: one destination is strictly sequential (the store only hands out a destination's head,
 * and the head stays pending until it is sent or given up), so a destination whose head waits for
 * a retry blocks only itself; different destinations are delivered concurrently, up to a bound.
 */
import type { Logger } from '../../core/command.js';
import type { Clock, OutboxMessage, OutboxRepository } from '../../ports.js';

/** Where messages go: Slack, Discord, e-mail, the console, the log. */
export interface OutboxSink {
  /** For logs. */
  name: string;
  /** Whether this sink delivers to `destination` (e.g. "slack:C0ACME", "ops"). */
  accepts(destination: string): boolean;
  /**
   * Posts the message, or, when `message.externalId` is set, edits the message posted before.
   * Returns the platform's id of the posted message. Throw RetryableDeliveryError or
   * PermanentDeliveryError to say how a failure should be treated; anything else is retried.
   */
  deliver(message: OutboxMessage): Promise<{ externalId: string | null }>;
}

/**
 * A failure worth retrying; `retryAfterMs` (e.g. from HTTP 429 Retry-After) replaces the backoff,
 * and such a rate limit does not count among the attempts after which a message is given up.
 */
export class RetryableDeliveryError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableDeliveryError';
  }
}

/** A failure that retrying cannot fix (unknown channel, rejected address): the message is given up at once. */
export class PermanentDeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentDeliveryError';
  }
}

/** How an OutboxWorker is wired and tuned; every number has a working default. */
export interface OutboxWorkerOptions {
  outbox: OutboxRepository;
  /** Tried in order; the first that accepts a destination delivers to it. */
  sinks: readonly OutboxSink[];
  log: Logger;
  clock?: Clock;
  /** How often to look for due messages when nothing wakes the worker; default 1000 ms. */
  pollIntervalMs?: number;
  /** How long a claimed message is reserved for this worker; default 60 s. */
  leaseMs?: number;
  /** A delivery still running after this long counts as a retryable failure; default 30 s, less than the lease. */
  deliveryTimeoutMs?: number;
  /** Failed attempts before a message is given up (status failed); rate limits do not count; default 8. */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt; default 2000 ms. */
  backoffBaseMs?: number;
  /** Longest retry delay; default 5 minutes. */
  backoffCapMs?: number;
  /** Deliveries in flight at once (different destinations); default 4. */
  concurrency?: number;
  /** [0, 1) for jitter; default Math.random. */
  random?: () => number;
}

/** What a `drain` did. */
export interface DrainResult {
  delivered: number;
  /** Failed attempts that will be retried later. */
  retried: number;
  /** Messages given up (status failed). */
  gaveUp: number;
  /** True when `timeoutMs` ran out while messages were still due or in flight. */
  timedOut: boolean;
}

const SYSTEM_CLOCK: Clock = { now: () => new Date() };
/** Longest error text kept in `lastError` and logs. */
const MAX_ERROR_LENGTH = 500;
/** Longest pause after the outbox itself (the database) failed. */
const MAX_ERROR_PAUSE_MS = 30_000;

/**
 * Retry delay for the `attempt`-th failure (1-based): base·2^(attempt-1), capped, with "equal
 * jitter" (between half and all of it) so that retries of many messages spread out.
 */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const full = Math.min(capMs, baseMs * 2 ** exponent);
  return Math.round(full / 2 + (random() * full) / 2);
}

function describeError(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

/** Resolves after `ms`, or as soon as `promises` has one settled; never rejects. */
async function settleAnyOrWait(promises: Iterable<Promise<unknown>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms));
  });
  try {
    await Promise.race([waited, ...[...promises].map((p) => p.then(() => undefined, () => undefined))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Rejects with RetryableDeliveryError when `work` takes longer than `ms`. */
async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RetryableDeliveryError(`delivery timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    // A late failure of an abandoned delivery must not surface as an unhandled rejection.
    work.catch(() => undefined);
  }
}

/**
 * Polls the outbox and delivers through the sinks. `start()` runs it in the background until
 * `stop()`; `kick()` wakes it at once (new messages were committed); `drain()` delivers in the
 * foreground until nothing is due (tests, the demo, one-shot commands).
 */
export class OutboxWorker {
  private readonly outbox: OutboxRepository;
  private readonly sinks: readonly OutboxSink[];
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly pollIntervalMs: number;
  private readonly leaseMs: number;
  private readonly deliveryTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;
  private readonly concurrency: number;
  private readonly random: () => number;

  /** Deliveries under way, by message id. */
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly counts = { delivered: 0, retried: 0, gaveUp: 0 };
  /** One claim at a time per worker, so the concurrency bound holds between the loop and drain(). */
  private claiming: Promise<number> | null = null;
  private running = false;
  private loopDone: Promise<void> | null = null;
  private kicked = false;
  private wake: (() => void) | null = null;
  /** The earliest retry this worker scheduled itself, so it need not wait a whole poll interval. */
  private nextRetryAt: number | null = null;

  constructor(options: OutboxWorkerOptions) {
    this.outbox = options.outbox;
    this.sinks = options.sinks;
    this.log = options.log;
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? Math.min(30_000, Math.floor(this.leaseMs / 2));
    this.maxAttempts = options.maxAttempts ?? 8;
    this.backoffBaseMs = options.backoffBaseMs ?? 2000;
    this.backoffCapMs = options.backoffCapMs ?? 5 * 60_000;
    this.concurrency = options.concurrency ?? 4;
    this.random = options.random ?? Math.random;
    const positive = { pollIntervalMs: this.pollIntervalMs, leaseMs: this.leaseMs, maxAttempts: this.maxAttempts, concurrency: this.concurrency };
    for (const [name, value] of Object.entries(positive)) {
      if (!(Number.isFinite(value) && value > 0)) throw new Error(`OutboxWorker: ${name} must be a positive number, got ${value}`);
    }
    if (!(this.deliveryTimeoutMs > 0 && this.deliveryTimeoutMs < this.leaseMs)) {
      throw new Error('OutboxWorker: deliveryTimeoutMs must be positive and shorter than leaseMs');
    }
  }

  /** Starts delivering in the background; does nothing when already started. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /**
   * Stops claiming and waits up to `timeoutMs` (default 10 s) for deliveries in flight. Deliveries
   * still running then are abandoned: their leases run out and they are delivered again later.
   */
  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.running = false;
    this.wake?.();
    const deadline = Date.now() + timeoutMs;
    const loopDone = this.loopDone;
    this.loopDone = null;
    if (loopDone) await settleAnyOrWait([loopDone], timeoutMs);
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      await settleAnyOrWait(this.inFlight.values(), deadline - Date.now());
    }
    if (this.inFlight.size > 0) {
      this.log.warn({ inFlight: this.inFlight.size, timeoutMs }, 'outbox worker stopped with deliveries still in flight');
    }
  }

  /** Wakes the background loop now; several kicks before it wakes count as one. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /**
   * Delivers until nothing is due and nothing is in flight, or until `timeoutMs` (default 10 s)
   * has passed. Messages waiting for a retry later are left for later. Usable with or without
   * `start()`.
   */
  async drain(options: { timeoutMs?: number } = {}): Promise<DrainResult> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    const before = { ...this.counts };
    let timedOut = false;
    for (;;) {
      const started = await this.claimAndDeliver();
      if (started === 0 && this.inFlight.size === 0) break;
      if (Date.now() >= deadline) {
        timedOut = true;
        break;
      }
      if (started === 0 || this.inFlight.size >= this.concurrency) {
        await settleAnyOrWait(this.inFlight.values(), deadline - Date.now());
      }
    }
    return {
      delivered: this.counts.delivered - before.delivered,
      retried: this.counts.retried - before.retried,
      gaveUp: this.counts.gaveUp - before.gaveUp,
      timedOut,
    };
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let pause = this.pollIntervalMs;
      try {
        await this.claimAndDeliver();
        failures = 0;
        if (this.nextRetryAt !== null) {
          // A retry this worker scheduled falls due before the next poll: wake for it.
          const untilRetry = this.nextRetryAt - this.clock.now().getTime();
          if (untilRetry <= 0) this.nextRetryAt = null;
          pause = Math.min(pause, Math.max(0, untilRetry));
        }
      } catch (e) {
        failures += 1;
        pause = Math.min(MAX_ERROR_PAUSE_MS, this.pollIntervalMs * 2 ** Math.min(failures - 1, 10));
        this.log.error({ err: describeError(e), failures, retryInMs: pause }, 'outbox worker could not claim messages');
      }
      if (this.running) await this.sleep(pause);
    }
  }

  /** Waits `ms`, or less when kicked or stopped. */
  private async sleep(ms: number): Promise<void> {
    if (this.kicked) {
      this.kicked = false;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.wake = null;
    this.kicked = false;
  }

  /** Claims as many due messages as there are free slots and starts delivering them; returns how many started. */
  private async claimAndDeliver(): Promise<number> {
    while (this.claiming) await this.claiming.catch(() => undefined);
    const claiming = this.claimOnce();
    this.claiming = claiming;
    try {
      return await claiming;
    } finally {
      this.claiming = null;
    }
  }

  private async claimOnce(): Promise<number> {
    const free = this.concurrency - this.inFlight.size;
    if (free <= 0) return 0;
    const now = this.clock.now();
    const claimed = await this.outbox.claimDue(now, new Date(now.getTime() + this.leaseMs), free);
    let started = 0;
    for (const message of claimed) {
      // Our own lease ran out while we are still delivering it: the delivery under way decides.
      if (this.inFlight.has(message.id)) continue;
      const delivery = this.deliver(message).finally(() => {
        this.inFlight.delete(message.id);
        this.kick();
      });
      this.inFlight.set(message.id, delivery);
      started += 1;
    }
    return started;
  }

  /** Delivers one claimed message and records the outcome; never rejects. */
  private async deliver(message: OutboxMessage): Promise<void> {
    const sink = this.sinks.find((s) => s.accepts(message.destination));
    const context = {
      outboxId: message.id,
      destination: message.destination,
      kind: message.kind,
      requestId: message.requestId,
      revision: message.revision,
      attempt: message.attempts + 1,
      sink: sink?.name ?? null,
    };
    let outcome: { ok: true; externalId: string | null } | { ok: false; error: unknown };
    try {
      if (!sink) throw new PermanentDeliveryError(`no sink accepts destination ${message.destination}`);
      const { externalId } = await withTimeout(sink.deliver(message), this.deliveryTimeoutMs);
      outcome = { ok: true, externalId };
    } catch (error) {
      outcome = { ok: false, error };
    }
    try {
      if (outcome.ok) {
        await this.outbox.markSent(message.id, message.revision, this.clock.now(), outcome.externalId);
        this.counts.delivered += 1;
      } else {
        await this.recordFailure(message, outcome.error, context);
      }
    } catch (e) {
      // The outbox itself failed (e.g. the database): the lease runs out and the message is tried again.
      this.log.error({ ...context, err: describeError(e) }, 'outbox delivery outcome could not be recorded');
    }
  }

  private async recordFailure(message: OutboxMessage, e: unknown, context: Record<string, unknown>): Promise<void> {
    const now = this.clock.now();
    const attempt = message.attempts + 1;
    const permanent = e instanceof PermanentDeliveryError;
    const requested = e instanceof RetryableDeliveryError ? e.retryAfterMs : undefined;
    // A rate limit (Retry-After) is no failure of the message: the platform said when to come back.
    // It is waited out however long it lasts and does not use up the attempts that give a message up.
    const rateLimited = requested !== undefined && Number.isFinite(requested);
    let retryAt: Date | null = null;
    if (!permanent && (rateLimited || attempt < this.maxAttempts)) {
      const delay = rateLimited ? Math.max(0, requested) : backoffDelay(attempt, this.backoffBaseMs, this.backoffCapMs, this.random);
      retryAt = new Date(now.getTime() + delay);
    }
    const error = describeError(e);
    await this.outbox.markFailed(message.id, error, retryAt, now, { countAttempt: !rateLimited });
    if (retryAt) {
      this.counts.retried += 1;
      this.noteRetry(retryAt);
      this.log.warn({ ...context, err: error, retryInMs: retryAt.getTime() - now.getTime() }, 'outbox delivery failed; will retry');
    } else {
      this.counts.gaveUp += 1;
      this.log.error({ ...context, err: error, permanent }, 'outbox delivery failed; giving up');
    }
  }

  private noteRetry(at: Date): void {
    const t = at.getTime();
    if (this.nextRetryAt === null || t < this.nextRetryAt) this.nextRetryAt = t;
  }
}
