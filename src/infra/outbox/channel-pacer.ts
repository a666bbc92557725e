/**
 * Keeps chat sinks within a platform's per-channel message rate: at most one message per
 * `minIntervalMs` to one channel, and none before a rate limit's Retry-After has passed. Per
 * process and in memory; the platforms' 429 answers (and the outbox's retries) cover the rest.
 */
export class ChannelPacer {
  /** Per channel: the earliest time (ms) the next message may go. */
  private readonly nextFree = new Map<string, number>();

  constructor(private readonly minIntervalMs: number) {}

  /** Waits until the channel may take another message, then reserves the next slot. */
  async wait(channel: string): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.nextFree.get(channel) ?? 0);
    this.nextFree.set(channel, at + this.minIntervalMs);
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  }

  /** Holds the channel's next message back for `ms` (a 429's Retry-After). */
  holdFor(channel: string, ms: number): void {
    this.nextFree.set(channel, Math.max(this.nextFree.get(channel) ?? 0, Date.now() + ms));
  }
}

/** A posted message's id stored as "channel/message" ("C0ACME/1763700000.000100", "1100/123…"): its two parts. */
export function splitExternalId(id: string): [string | undefined, string | undefined] {
  const slash = id.indexOf('/');
  return slash > 0 ? [id.slice(0, slash), id.slice(slash + 1)] : [undefined, undefined];
}
