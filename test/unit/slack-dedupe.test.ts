import { describe, expect, it } from '@jest/globals';
import { DeliveryDeduper, deliveryKey } from '../../src/adapters/slack/dedupe.js';

describe('Slack delivery keys', () => {
  it.each([
    ['an event by its event id', { event_id: 'Ev1', trigger_id: 't' }, 'event:Ev1'],
    ['a slash command by its trigger id', { command: '/upgrade', trigger_id: '1.2.a' }, 'command:1.2.a'],
    ['a click by its trigger id', { type: 'block_actions', trigger_id: '1.2.b' }, 'block_actions:1.2.b'],
    ['a modal submission by its trigger id', { type: 'view_submission', trigger_id: '1.2.c' }, 'view_submission:1.2.c'],
    ['nothing without an id', { type: 'block_actions' }, null],
  ])('identifies %s', (_what, body, key) => {
    expect(deliveryKey(body)).toBe(key);
  });
});

describe('DeliveryDeduper', () => {
  it('lets a key through once, then refuses it until its time to live has passed', () => {
    let now = 0;
    const d = new DeliveryDeduper(100, 1000, () => now);
    expect(d.firstTime('a')).toBe(true);
    expect(d.firstTime('a')).toBe(false);
    now = 999;
    expect(d.firstTime('a')).toBe(false);
    now = 2000;
    expect(d.firstTime('a')).toBe(true);
  });

  it('keeps at most its bound of keys, forgetting the oldest first', () => {
    const d = new DeliveryDeduper(3, 60_000, () => 0);
    for (const k of ['a', 'b', 'c', 'd']) expect(d.firstTime(k)).toBe(true);
    expect(d.firstTime('d')).toBe(false);
    expect(d.firstTime('b')).toBe(false);
    expect(d.firstTime('a')).toBe(true);
  });
});
