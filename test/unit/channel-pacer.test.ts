/**
 * The per-channel pace of the chat sinks, on a clock the test moves: sleeping advances it, so
 * what is asserted is how long the pacer asks to wait, never how long anything took.
 */
import { describe, expect, it } from '@jest/globals';
import { ChannelPacer } from '../../src/infra/outbox/channel-pacer.js';
import type { PacerClock } from '../../src/infra/outbox/channel-pacer.js';

/** A clock that stands still until the pacer sleeps (or the test moves it); records every sleep. */
function steppedClock(start = 0): PacerClock & { t: number; sleeps: number[] } {
  const clock = {
    t: start,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}

describe('ChannelPacer', () => {
  it('lets the first message to a channel go at once', async () => {
    const clock = steppedClock();
    const pacer = new ChannelPacer(1000, { marginMs: 50, clock });
    (await pacer.acquire('C1'))();
    expect(clock.sleeps).toEqual([]);
  });

  it('counts the interval from the answer to the previous message, not from its send, and adds the margin', async () => {
    const clock = steppedClock();
    const pacer = new ChannelPacer(1000, { marginMs: 50, clock });
    const release = await pacer.acquire('C1');
    clock.t = 400; // the platform answered 400 ms after the send
    release();
    (await pacer.acquire('C1'))();
    expect(clock.sleeps).toEqual([1050]);
    expect(clock.t).toBe(1450);
  });

  it('adds 5 % of the interval as the margin unless told otherwise', async () => {
    const clock = steppedClock();
    const pacer = new ChannelPacer(1000, { clock });
    (await pacer.acquire('C1'))();
    (await pacer.acquire('C1'))();
    expect(clock.sleeps).toEqual([1050]);
  });

  it('keeps channels apart', async () => {
    const clock = steppedClock();
    const pacer = new ChannelPacer(1000, { clock });
    (await pacer.acquire('C1'))();
    (await pacer.acquire('C2'))();
    expect(clock.sleeps).toEqual([]);
  });

  it('holds a channel for one message at a time: the next waits for the answer to the one before, in order', async () => {
    const clock = steppedClock();
    const pacer = new ChannelPacer(1000, { marginMs: 0, clock });
    const first = await pacer.acquire('C1');
    const order: string[] = [];
    const second = pacer.acquire('C1').then((release) => {
      order.push('second');
      return release;
    });
    const third = pacer.acquire('C1').then((release) => {
      order.push('third');
      return release;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    clock.t = 300;
    first();
    (await second)();
    expect(order).toEqual(['second']);
    (await third)();
    expect(order).toEqual(['second', 'third']);
    // Each waited a full interval after the answer to the one before it.
    expect(clock.sleeps).toEqual([1000, 1000]);
  });

  it("waits out a rate limit's Retry-After when it is longer than the interval", async () => {
    const clock = steppedClock();
    const pacer = new ChannelPacer(1000, { marginMs: 0, clock });
    const release = await pacer.acquire('C1');
    pacer.holdFor('C1', 5000);
    release();
    (await pacer.acquire('C1'))();
    expect(clock.sleeps).toEqual([5000]);
  });

  it('paces a member id and the direct-message channel it opened as one channel, once told they are the same', async () => {
    const clock = steppedClock();
    const pacer = new ChannelPacer(1000, { marginMs: 0, clock });
    (await pacer.acquire('U0JANE'))();
    pacer.alias('U0JANE', 'D0JANE');
    (await pacer.acquire('D0JANE'))();
    (await pacer.acquire('U0JANE'))();
    expect(clock.sleeps).toEqual([1000, 1000]);
  });

  it('gives a channel to the next message when the one holding it is never answered, after the hold limit', async () => {
    const pacer = new ChannelPacer(0, { holdLimitMs: 20 });
    await pacer.acquire('C1'); // never released
    const next = await pacer.acquire('C1');
    next();
    next(); // releasing twice changes nothing
    (await pacer.acquire('C1'))();
  });
});
