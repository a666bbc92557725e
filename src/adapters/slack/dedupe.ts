/**
 * Remembers which Slack deliveries were handled, so a delivery sent again (Slack's retries with
 * `x-slack-retry-num`, a replaying proxy, a Socket Mode envelope re-sent after a reconnect)
 * creates nothing twice. Per process: across processes the commands themselves refuse repeats
 * (a device has one open request, a decided request cannot be decided again).
 */
export { DeliveryDeduper } from '../delivery-deduper.js';

/** The identity of one delivery: the event id, or the trigger id of a command, click or submission. */
export function deliveryKey(body: Record<string, unknown>): string | null {
  if (typeof body.event_id === 'string') return `event:${body.event_id}`;
  if (typeof body.trigger_id === 'string' && body.trigger_id) {
    const kind = typeof body.type === 'string' ? body.type : typeof body.command === 'string' ? 'command' : 'other';
    return `${kind}:${body.trigger_id}`;
  }
  return null;
}
