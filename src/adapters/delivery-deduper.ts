/**
 * Remembers which platform deliveries were handled (Slack trigger and event ids, Discord
 * interaction ids), so a delivery sent again creates nothing twice. Per process.
 */

/** A bounded, time-limited set of delivery keys. */
export class DeliveryDeduper {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly ttlMs = 60 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True the first time `key` is offered within the time to live; false for a repeat. */
  firstTime(key: string): boolean {
    const t = this.now();
    const at = this.seen.get(key);
    if (at !== undefined && t - at < this.ttlMs) return false;
    this.seen.delete(key);
    this.seen.set(key, t);
    // Maps iterate in insertion order: the first entries are the oldest.
    for (const [k, when] of this.seen) {
      if (this.seen.size <= this.maxEntries && t - when < this.ttlMs) break;
      this.seen.delete(k);
    }
    return true;
  }
}
