import { describe, expect, it } from '@jest/globals';
import { WorkQueue } from '../../src/adapters/work-queue.js';
import type { WorkItem } from '../../src/adapters/work-queue.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** An item that records when it ran and finishes when `release` is called (or at once). */
function item(log: string[], name: string, hold = false): WorkItem & { release: () => void } {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  return {
    async run() {
      log.push(`run ${name}`);
      if (hold) await held;
      log.push(`done ${name}`);
    },
    async abandon() {
      log.push(`abandon ${name}`);
    },
    release: () => release(),
  };
}

describe('WorkQueue', () => {
  it('runs items first in, first out, starting one per turn of the event loop', async () => {
    const log: string[] = [];
    const queue = new WorkQueue({ concurrency: 4, maxPending: 10 });
    for (const name of ['a', 'b', 'c']) expect(queue.offer(item(log, name))).toBe(true);
    expect(log).toEqual([]);
    await nextTurn();
    expect(log.filter((l) => l.startsWith('run'))).toEqual(['run a']);
    await nextTurn();
    expect(log.filter((l) => l.startsWith('run'))).toEqual(['run a', 'run b']);
    await nextTurn();
    expect(log).toEqual(['run a', 'done a', 'run b', 'done b', 'run c', 'done c']);
  });

  it('keeps to its concurrency and refuses beyond its pending limit', async () => {
    const log: string[] = [];
    const queue = new WorkQueue({ concurrency: 2, maxPending: 2 });
    const items = ['a', 'b', 'c', 'd'].map((name) => item(log, name, true));
    expect(queue.offer(items[0]!)).toBe(true);
    expect(queue.offer(items[1]!)).toBe(true);
    expect(queue.accepting).toBe(false);
    // a and b start (one per turn), making room; c and d then wait; one more does not fit.
    for (let turn = 0; turn < 3; turn++) await nextTurn();
    expect(queue.offer(items[2]!)).toBe(true);
    expect(queue.offer(items[3]!)).toBe(true);
    for (let turn = 0; turn < 3; turn++) await nextTurn();
    expect(log).toEqual(['run a', 'run b']);
    expect(queue.active).toBe(2);
    expect(queue.waiting).toBe(2);
    expect(queue.accepting).toBe(false);
    expect(queue.offer(item(log, 'e'))).toBe(false);
    items[0]!.release();
    for (let turn = 0; turn < 5; turn++) await nextTurn();
    expect(log).toEqual(['run a', 'run b', 'done a', 'run c']);
    expect(queue.accepting).toBe(true);
    for (const i of items) i.release();
    for (let turn = 0; turn < 10; turn++) await nextTurn();
    expect(log.filter((l) => l.startsWith('done'))).toEqual(['done a', 'done b', 'done c', 'done d']);
  });

  it('reports a failed item and carries on', async () => {
    const log: string[] = [];
    const queue = new WorkQueue({ concurrency: 1, maxPending: 5, onError: (e) => log.push(`error ${(e as Error).message}`) });
    queue.offer({ run: async () => Promise.reject(new Error('boom')), abandon: async () => {} });
    queue.offer(item(log, 'after'));
    for (let turn = 0; turn < 5; turn++) await nextTurn();
    expect(log).toEqual(['error boom', 'run after', 'done after']);
  });

  it('on stop, refuses new items, lets running ones finish and tells the waiting ones they were not run', async () => {
    const log: string[] = [];
    const queue = new WorkQueue({ concurrency: 1, maxPending: 5 });
    const first = item(log, 'a', true);
    queue.offer(first);
    queue.offer(item(log, 'b'));
    await nextTurn();
    const stopped = queue.stop(200);
    expect(queue.stopping).toBe(true);
    expect(queue.offer(item(log, 'c'))).toBe(false);
    const result = await stopped;
    // a held the only slot past the grace time, so b never started and was abandoned.
    expect(result).toEqual({ abandoned: 1 });
    expect(log).toEqual(['run a', 'abandon b']);
    first.release();
    await nextTurn();
    expect(log).toEqual(['run a', 'abandon b', 'done a']);
  });

  it('on stop, runs what is waiting when there is time', async () => {
    const log: string[] = [];
    const queue = new WorkQueue({ concurrency: 1, maxPending: 5 });
    queue.offer(item(log, 'a'));
    queue.offer(item(log, 'b'));
    expect(await queue.stop(5000)).toEqual({ abandoned: 0 });
    expect(log).toEqual(['run a', 'done a', 'run b', 'done b']);
  });

  it('during a burst of arrivals starts items only every burst gap, and all at once again when arrivals pause', async () => {
    const starts: number[] = [];
    const ends: number[] = [];
    const queue = new WorkQueue({ concurrency: 4, maxPending: 1000, burst: { quietMs: 40, burstStartGapMs: 100 } });
    const timed = (): WorkItem => ({
      run: async () => {
        starts.push(performance.now());
        // The first ones outlast the burst gap: a second item may not start while one runs.
        await new Promise((resolve) => setTimeout(resolve, starts.length <= 2 ? 150 : 1));
        ends.push(performance.now());
      },
      abandon: async () => {},
    });
    const began = performance.now();
    // A burst: an arrival every 5 ms for 350 ms (never 40 ms quiet).
    for (let sent = 0; sent < 70; sent++) {
      queue.offer(timed());
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const burstEnded = performance.now();
    const inBurst = starts.filter((t) => t < burstEnded).length;
    // One at once (nothing started before), then one when it ended (150 ms) and so on: a few in 350 ms, never 70.
    expect(inBurst).toBeGreaterThanOrEqual(2);
    expect(inBurst).toBeLessThanOrEqual(Math.ceil((burstEnded - began) / 100) + 1);
    for (let i = 1; i < inBurst; i++) {
      expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(95);
      // One at a time during the burst: each starts after the previous one ended.
      expect(starts[i]!).toBeGreaterThanOrEqual(ends[i - 1]!);
    }
    // Quiet now: the rest start one per turn (four at a time) once 40 ms have passed, long before 100 ms gaps would allow.
    const deadline = Date.now() + 5000;
    while (starts.length < 70 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(starts).toHaveLength(70);
    expect(starts[69]! - burstEnded).toBeLessThan(1000);
    await queue.stop(100);
  });
});
