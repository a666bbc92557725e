/**
 * One process among several holds a named lease in the database, e.g. the Discord gateway
 * connection (Discord delivers each interaction to one connection, and two bots on one token
 * would answer twice or fight over the session). Every process runs a GatewayLease: the holder
 * renews the lease every third of its time to live; the others try to take it at the same pace and
 * get it once the holder released it (clean stop) or let it expire (crash, hang, lost database).
 * `onAcquired` starts what the lease guards, `onLost` stops it; a renewal that cannot reach the
 * database keeps the lease only as long as it surely has not expired yet.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../core/command.js';
import type { LeaseRepository } from '../ports.js';

/** The lease that guards the Discord gateway connection. */
export const DISCORD_GATEWAY_LEASE = 'discord-gateway';

/** An id for this process as a lease holder: host, pid and a random part (a restarted process is someone else). */
export function processHolderId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`.slice(0, 200);
}

export interface GatewayLeaseOptions {
  leases: LeaseRepository;
  /** The lease's name, e.g. DISCORD_GATEWAY_LEASE. */
  name: string;
  /** This process's id (processHolderId()). */
  holder: string;
  /** How long the lease lasts without renewal: another process takes over at most this long after a crash. */
  ttlMs: number;
  /** How often to renew (holder) or try (the others); default a third of ttlMs. */
  renewEveryMs?: number;
  /** What the lease guards, for the log (e.g. "Discord gateway"). */
  what: string;
  log: Logger;
  /** The wall clock (the lease's times are compared across processes); default the system clock. */
  now?: () => Date;
  /** Starts what the lease guards. A throw gives the lease up; it is tried for again after ttlMs. */
  onAcquired(): Promise<void>;
  /** Stops it: the lease was taken over, could not be renewed in time, or the process stops. */
  onLost(): Promise<void>;
}

/** Keeps (or waits for) one named lease; see the module comment. */
export class GatewayLease {
  /** The lease is ours as of the last renewal. */
  private held = false;
  /** onAcquired succeeded and onLost has not been called since. */
  private active = false;
  /** Until when the lease is surely ours (the last successful renewal plus the time to live). */
  private heldUntil = 0;
  /** After a failed onAcquired, no new attempt before this time. */
  private retryAt = 0;
  private stopped = false;
  private stopping: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | null = null;
  /** Starts and stops, one after the other. */
  private transitions: Promise<void> = Promise.resolve();
  /** The other holder last logged, so that standing by is logged once per holder. */
  private otherHolder: string | null = null;
  private readonly every: number;
  private readonly now: () => Date;

  constructor(private readonly options: GatewayLeaseOptions) {
    if (!Number.isFinite(options.ttlMs) || options.ttlMs <= 0) throw new RangeError(`lease time to live must be positive, got ${options.ttlMs}`);
    this.every = Math.max(50, options.renewEveryMs ?? Math.floor(options.ttlMs / 3));
    this.now = options.now ?? (() => new Date());
  }

  /** Whether this process holds the lease and what it guards is running. */
  get holding(): boolean {
    return this.active;
  }

  /**
   * Tries once, and when the lease is free starts what it guards (a failure to start is thrown,
   * with the lease given up); then keeps renewing or trying in the background. True when this
   * process holds the lease.
   */
  async start(): Promise<boolean> {
    await this.renew(false);
    if (this.held) await this.acquired(true);
    else await this.noteOtherHolder();
    if (!this.stopped) {
      this.timer = setInterval(() => this.tick(), this.every);
      this.timer.unref();
    }
    return this.active;
  }

  /** Stops trying; stops what the lease guards and releases the lease when this process held it. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      clearInterval(this.timer);
      await this.ticking;
      await this.transitions;
      await this.lost(true);
      if (this.held) {
        this.held = false;
        await this.options.leases
          .release(this.options.name, this.options.holder)
          .catch((error: unknown) => this.options.log.warn({ err: error, lease: this.options.name }, `could not release the ${this.options.what} lease; it expires by itself`));
      }
    })();
    return this.stopping;
  }

  private tick(): void {
    if (this.ticking || this.stopped) return;
    this.ticking = this.renew(true).finally(() => {
      this.ticking = null;
    });
  }

  /** Takes or renews the lease; schedules the start or stop when that changed (unless `schedule` is false). */
  private async renew(schedule: boolean): Promise<void> {
    const { leases, name, holder, ttlMs, what, log } = this.options;
    const now = this.now();
    if (!this.held && now.getTime() < this.retryAt) return;
    let ok: boolean;
    try {
      ok = await leases.tryAcquire(name, holder, now, ttlMs);
      if (ok) this.heldUntil = now.getTime() + ttlMs;
    } catch (error) {
      // The database did not answer: the lease is still ours only while it surely has not expired.
      ok = this.held && now.getTime() + this.every < this.heldUntil;
      log.warn({ err: error, lease: name, holder, keeping: ok }, `could not renew the ${what} lease`);
    }
    if (ok === this.held) {
      if (!ok && schedule) await this.noteOtherHolder();
      return;
    }
    this.held = ok;
    if (!schedule || this.stopped) return;
    this.transitions = this.transitions.then(() => (ok ? this.acquired(false) : this.lost(false)));
  }

  /** Starts what the lease guards (when the lease is still ours); a failure gives the lease up. */
  private async acquired(rethrow: boolean): Promise<void> {
    const { leases, name, holder, ttlMs, what, log } = this.options;
    if (!this.held || this.active || this.stopped) return;
    const previous = this.otherHolder;
    log.info({ lease: name, holder, ...(previous ? { previousHolder: previous } : {}) }, `${what}: this process holds the lease${previous ? ' (taken over)' : ''}; connecting`);
    try {
      await this.options.onAcquired();
      this.active = true;
      this.otherHolder = null;
      log.info({ lease: name, holder }, `${what}: connected in this process`);
    } catch (error) {
      this.held = false;
      this.retryAt = Date.now() + ttlMs;
      await leases.release(name, holder).catch(() => undefined);
      if (rethrow) throw error;
      log.error({ err: error, lease: name, holder, retryInMs: ttlMs }, `${what}: could not connect; the lease is given up and tried for again later`);
    }
  }

  /** Stops what the lease guards (when it is running and the lease is no longer ours, or when stopping). */
  private async lost(stopping: boolean): Promise<void> {
    const { name, holder, what, log } = this.options;
    if (!this.active || (this.held && !stopping)) return;
    this.active = false;
    if (stopping) log.info({ lease: name, holder }, `${what}: disconnecting (stopping); the lease is released for another process`);
    else log.warn({ lease: name, holder }, `${what}: this process lost the lease (taken over, or not renewed in time); disconnecting`);
    try {
      await this.options.onLost();
    } catch (error) {
      log.warn({ err: error, lease: name }, `${what}: did not stop cleanly`);
    }
  }

  /** Logs, once per holder, which other process holds the lease. */
  private async noteOtherHolder(): Promise<void> {
    const { leases, name, holder, what, log } = this.options;
    let other: string | null;
    try {
      other = (await leases.holder(name))?.holder ?? null;
    } catch {
      return;
    }
    if (!other || other === holder || other === this.otherHolder) return;
    this.otherHolder = other;
    log.info({ lease: name, holder, heldBy: other }, `${what}: held by another process; standing by to take over`);
  }
}
