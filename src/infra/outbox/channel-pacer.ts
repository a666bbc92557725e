/**
 * Keeps chat sinks within a platform's per-channel message rate: one message at a time per
 * channel, the next one no sooner than `minIntervalMs` (plus a margin) after the platform answered
 * the previous one, and none before a rate limit's Retry-After has passed. Counting from the
 * answer rather than from our own send keeps the pace whatever the network does: the platform
 * counts from when a message arrived, which lies between the two, so a message that was slower
 * on its way than the next one cannot make that next one look too early. Per process and in
 * memory; the platforms' 429 answers (and the outbox's retries) cover the rest.
 */

/** How a pacer reads the time and waits (real time unless a test says otherwise). */
export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL_TIME: PacerClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface ChannelPacerOptions {
  /** Added to the interval; default 5 % of it (clock granularity, the platform's own rounding). */
  marginMs?: number;
  /**
   * A message not answered after this long gives its channel up to the next one anyway (a call that
   * hangs must not stop the channel for good; the outbox times the delivery out before); default 60 s.
   */
  holdLimitMs?: number;
  clock?: PacerClock;
}

/** One channel's state: when it is free again, whether a message holds it, who waits for it. */
interface Lane {
  freeAt: number;
  busy: boolean;
  waiting: Array<() => void>;
}

export class ChannelPacer {
  private readonly lanes = new Map<string, Lane>();
  /** Other names of a channel (a Slack member id → the direct-message channel it opens). */
  private readonly aliases = new Map<string, string>();
  private readonly gapMs: number;
  private readonly holdLimitMs: number;
  private readonly clock: PacerClock;

  /** `minIntervalMs`: least time between the answer to one message and the next message to that channel. */
  constructor(minIntervalMs: number, options: ChannelPacerOptions = {}) {
    this.gapMs = minIntervalMs + (options.marginMs ?? Math.ceil(minIntervalMs * 0.05));
    this.holdLimitMs = options.holdLimitMs ?? 60_000;
    this.clock = options.clock ?? REAL_TIME;
  }

  /**
   * Waits until the channel may take another message and holds it; call the returned function as
   * soon as the platform has answered (or the call failed): the next message to the channel goes a
   * full interval after that. Calling it again does nothing.
   */
  async acquire(channel: string): Promise<() => void> {
    const lane = this.laneOf(channel);
    if (lane.busy) await new Promise<void>((resolve) => lane.waiting.push(resolve));
    // Busy from here on: a waiter is handed the lane by the release, never finds it free in between.
    lane.busy = true;
    for (let wait = lane.freeAt - this.clock.now(); wait > 0; wait = lane.freeAt - this.clock.now()) {
      await this.clock.sleep(wait);
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(limit);
      lane.freeAt = Math.max(lane.freeAt, this.clock.now() + this.gapMs);
      const next = lane.waiting.shift();
      if (next) next();
      else lane.busy = false;
    };
    const limit = setTimeout(release, this.holdLimitMs);
    limit.unref();
    return release;
  }

  /** Holds the channel's next message back for `ms` (a 429's Retry-After). */
  holdFor(channel: string, ms: number): void {
    const lane = this.laneOf(channel);
    lane.freeAt = Math.max(lane.freeAt, this.clock.now() + ms);
  }

  /**
   * Records that `name` is another name of `channel` (a message addressed to a Slack member id
   * lands in the direct-message channel the answer names): from now on both share one pace, and
   * the channel waits for whatever `name` was waiting for.
   */
  alias(name: string, channel: string): void {
    if (name === channel || this.aliases.get(name) === channel) return;
    const before = this.lanes.get(this.keyOf(name));
    this.aliases.set(name, channel);
    const lane = this.laneOf(channel);
    if (before && before !== lane) lane.freeAt = Math.max(lane.freeAt, before.freeAt);
  }

  private keyOf(channel: string): string {
    return this.aliases.get(channel) ?? channel;
  }

  private laneOf(channel: string): Lane {
    const key = this.keyOf(channel);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { freeAt: 0, busy: false, waiting: [] };
      this.lanes.set(key, lane);
    }
    return lane;
  }
}

/** A posted message's id stored as "channel/message" ("C0ACME/1763700000.000100", "1100/123…"): its two parts. */
export function splitExternalId(id: string): [string | undefined, string | undefined] {
  const slash = id.indexOf('/');
  return slash > 0 ? [id.slice(0, slash), id.slice(slash + 1)] : [undefined, undefined];
}
