/**
 * Remembers which Slack deliveries were handled, so a delivery sent again (Slack's retries with
 * `x-slack-retry-num`, a replaying proxy, a Socket Mode envelope re-sent after a reconnect)
 * creates nothing twice. Per process: across processes the commands themselves refuse repeats
 * (a device has one open request, a decided request cannot be decided again).
 */

/** The identity of one delivery: the event id, or the trigger id of a command, click or submission. */
export function deliveryKey(body: Record<string, unknown>): string | null {
  if (typeof body.event_id === 'string') return `event:${body.event_id}`;
  if (typeof body.trigger_id === 'string' && body.trigger_id) {
    const kind = typeof body.type === 'string' ? body.type : typeof body.command === 'string' ? 'command' : 'other';
    return `${kind}:${body.trigger_id}`;
  }
  return null;
}

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
