import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openTypeOrmStore } from '../../src/infra/typeorm-store.js';
import type { TypeOrmStore } from '../../src/infra/typeorm-store.js';
import { OutboxWorker, PermanentDeliveryError, RetryableDeliveryError, backoffDelay } from '../../src/infra/outbox/outbox-worker.js';
import type { OutboxSink, OutboxWorkerOptions } from '../../src/infra/outbox/outbox-worker.js';
import type { NewOutboxMessage, OutboxMessage } from '../../src/ports.js';
import { MemoryLogger } from '../fakes/memory-logger.js';
import { pgClusterAvailability, startPgCluster } from './pg-cluster.js';
import type { PgCluster } from './pg-cluster.js';

const dir = mkdtempSync(path.join(tmpdir(), 'upgrade-desk-outbox-'));
let files = 0;
const nextFile = (): string => path.join(dir, `outbox-${++files}.sqlite`);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds, checking every 10 ms; fails after `timeoutMs`. */
async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

interface Delivery {
  key: string;
  destination: string;
  revision: number;
  /** The externalId the sink was handed: set when the message is an edit. */
  externalId: string | null;
  payload: unknown;
  at: number;
}

/**
 * A sink that records what it was asked to deliver. `failures` lists, per dedupe key, errors to
 * throw on the next attempts; `delayMs` makes deliveries take a while; `gate`, when set, holds
 * deliveries of that key until released.
 */
class RecordingSink implements OutboxSink {
  readonly name = 'recording';
  readonly delivered: Delivery[] = [];
  readonly attempts: Delivery[] = [];
  readonly failures = new Map<string, unknown[]>();
  readonly gates = new Map<string, Promise<void>>();
  maxConcurrentPerDestination = 0;
  maxConcurrent = 0;
  private readonly active = new Map<string, number>();

  constructor(private readonly delayMs = 0) {}

  accepts(): boolean {
    return true;
  }

  async deliver(message: OutboxMessage): Promise<{ externalId: string | null }> {
    const record: Delivery = {
      key: message.dedupeKey,
      destination: message.destination,
      revision: message.revision,
      externalId: message.externalId,
      payload: message.payload,
      at: Date.now(),
    };
    this.attempts.push(record);
    const now = (this.active.get(message.destination) ?? 0) + 1;
    this.active.set(message.destination, now);
    this.maxConcurrentPerDestination = Math.max(this.maxConcurrentPerDestination, now);
    this.maxConcurrent = Math.max(this.maxConcurrent, [...this.active.values()].reduce((a, b) => a + b, 0));
    try {
      const gate = this.gates.get(message.dedupeKey);
      if (gate) await gate;
      if (this.delayMs > 0) await sleep(this.delayMs);
      const failure = this.failures.get(message.dedupeKey)?.shift();
      if (failure !== undefined) throw failure;
      this.delivered.push(record);
      return { externalId: message.externalId ?? `ext-${message.id}` };
    } finally {
      this.active.set(message.destination, (this.active.get(message.destination) ?? 1) - 1);
    }
  }

  keysTo(destination: string): string[] {
    return this.delivered.filter((d) => d.destination === destination).map((d) => d.key);
  }
}

const message = (key: string, destination: string, payload: unknown = { title: key, blocks: [], visibility: 'channel' }): NewOutboxMessage => ({
  dedupeKey: key,
  requestId: null,
  kind: 'scheduled',
  destination,
  payload,
  createdAt: new Date(),
});

interface Row {
  status: string;
  attempts: number;
  lastError: string | null;
  externalId: string | null;
  revision: number;
}

async function rowOf(store: TypeOrmStore, key: string): Promise<Row> {
  const [sql, params] = store.dataSource.driver.escapeQueryWithParameters(
    'SELECT "status", "attempts", "lastError", "externalId", "revision" FROM "outbox_messages" WHERE "dedupeKey" = :key',
    { key },
  );
  const rows = (await store.dataSource.query(sql, params)) as Row[];
  if (!rows[0]) throw new Error(`no outbox row ${key}`);
  return rows[0];
}

describe('OutboxWorker on a SQLite store', () => {
  let store: TypeOrmStore;
  let log: MemoryLogger;
  const workers: OutboxWorker[] = [];
  const extraStores: TypeOrmStore[] = [];

  const worker = (sinks: OutboxSink[], options: Partial<OutboxWorkerOptions> = {}, on: TypeOrmStore = store): OutboxWorker => {
    const w = new OutboxWorker({ outbox: on.outbox, sinks, log, pollIntervalMs: 20, ...options });
    workers.push(w);
    return w;
  };

  beforeEach(async () => {
    store = await openTypeOrmStore({ sqlitePath: nextFile() });
    log = new MemoryLogger();
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop({ timeoutMs: 2000 });
    for (const s of extraStores.splice(0)) await s.close();
    await store.close();
  });

  it('delivers every message once, in order per destination, destinations concurrently', async () => {
    const destinations = ['slack:C0ACME', 'discord:1100', 'email:jane@acme.example', 'ops', 'person:7'];
    for (let i = 0; i < 6; i += 1) {
      for (const d of destinations) await store.outbox.enqueue(message(`${d}#${i}`, d));
    }
    const sink = new RecordingSink(5);
    const result = await worker([sink], { concurrency: 4 }).drain({ timeoutMs: 10_000 });
    expect(result).toEqual({ delivered: 30, retried: 0, gaveUp: 0, timedOut: false });
    for (const d of destinations) expect(sink.keysTo(d)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${d}#${i}`));
    expect(new Set(sink.delivered.map((d) => d.key)).size).toBe(30);
    expect(sink.maxConcurrentPerDestination).toBe(1);
    expect(sink.maxConcurrent).toBeGreaterThan(1);
    expect(sink.maxConcurrent).toBeLessThanOrEqual(4);
    expect(await store.outbox.pending()).toEqual([]);
    expect(await rowOf(store, 'ops#0')).toMatchObject({ status: 'sent', attempts: 1, externalId: expect.stringMatching(/^ext-/) });
  });

  it('waits as long as a destination asks (429 Retry-After) while other destinations carry on', async () => {
    await store.outbox.enqueue(message('a1', 'slack:A'));
    await store.outbox.enqueue(message('a2', 'slack:A'));
    for (let i = 1; i <= 4; i += 1) await store.outbox.enqueue(message(`b${i}`, 'slack:B'));
    const sink = new RecordingSink(5);
    sink.failures.set('a1', [new RetryableDeliveryError('HTTP 429 rate_limited', 300)]);
    // A backoff this long would outlast the test: only the Retry-After can get a1 out in time.
    const w = worker([sink], { backoffBaseMs: 60_000 });
    w.start();
    await until(() => sink.delivered.length === 6);
    const firstTry = sink.attempts.find((a) => a.key === 'a1')!.at;
    const retry = sink.delivered.find((d) => d.key === 'a1')!.at;
    expect(retry - firstTry).toBeGreaterThanOrEqual(300);
    expect(retry - firstTry).toBeLessThan(2000);
    expect(sink.keysTo('slack:A')).toEqual(['a1', 'a2']);
    expect(sink.keysTo('slack:B')).toEqual(['b1', 'b2', 'b3', 'b4']);
    expect(Math.max(...sink.delivered.filter((d) => d.destination === 'slack:B').map((d) => d.at))).toBeLessThan(retry);
    expect(log.entries.filter((e) => e.level === 'warn')).toEqual([
      {
        level: 'warn',
        obj: expect.objectContaining({ destination: 'slack:A', attempt: 1, retryInMs: 300, err: 'RetryableDeliveryError: HTTP 429 rate_limited' }),
        msg: 'outbox delivery failed; will retry',
      },
    ]);
  });

  it('retries other errors with backoff until they succeed, logging each failure without the payload', async () => {
    const secret = { title: 'Scheduled', blocks: [{ type: 'text', text: 'manager password hunter2' }], visibility: 'channel' };
    await store.outbox.enqueue(message('m1', 'discord:1100', secret));
    const sink = new RecordingSink();
    sink.failures.set('m1', [new Error('HTTP 500 from discord'), new Error('socket hang up')]);
    const w = worker([sink], { backoffBaseMs: 20, backoffCapMs: 100 });
    w.start();
    await until(() => sink.delivered.length === 1);
    await until(async () => (await rowOf(store, 'm1')).status === 'sent');
    expect(sink.attempts.map((a) => a.key)).toEqual(['m1', 'm1', 'm1']);
    expect(await rowOf(store, 'm1')).toMatchObject({ status: 'sent', attempts: 3, lastError: null });
    const warnings = log.entries.filter((e) => e.level === 'warn');
    expect(warnings.map((e) => (e.obj as { err: string }).err)).toEqual(['Error: HTTP 500 from discord', 'Error: socket hang up']);
    expect(JSON.stringify(log.entries)).not.toContain('hunter2');
  });

  it('gives up on a permanent error at once and moves on to the next message of that destination', async () => {
    await store.outbox.enqueue(message('p1', 'email:nobody@acme.example'));
    await store.outbox.enqueue(message('p2', 'email:nobody@acme.example'));
    const sink = new RecordingSink();
    sink.failures.set('p1', [new PermanentDeliveryError('550 mailbox unavailable')]);
    const result = await worker([sink], { maxAttempts: 8 }).drain({ timeoutMs: 5000 });
    expect(result).toEqual({ delivered: 1, retried: 0, gaveUp: 1, timedOut: false });
    expect(sink.attempts.map((a) => a.key)).toEqual(['p1', 'p2']);
    expect(await rowOf(store, 'p1')).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: 'PermanentDeliveryError: 550 mailbox unavailable',
    });
    expect(log.entries.filter((e) => e.level === 'error').map((e) => e.msg)).toEqual(['outbox delivery failed; giving up']);
  });

  it('gives up after the last allowed attempt', async () => {
    await store.outbox.enqueue(message('g1', 'ops'));
    const sink = new RecordingSink();
    sink.failures.set('g1', [new Error('down'), new Error('down'), new Error('down')]);
    const w = worker([sink], { maxAttempts: 3, backoffBaseMs: 10, backoffCapMs: 20 });
    w.start();
    await until(async () => (await rowOf(store, 'g1')).status === 'failed');
    expect(sink.attempts).toHaveLength(3);
    expect(await rowOf(store, 'g1')).toMatchObject({ attempts: 3, lastError: 'Error: down' });
  });

  it('gives up on a message no sink accepts', async () => {
    await store.outbox.enqueue(message('n1', 'fax:+1555'));
    const nothing: OutboxSink = { name: 'none', accepts: () => false, deliver: async () => ({ externalId: null }) };
    expect(await worker([nothing]).drain()).toMatchObject({ delivered: 0, gaveUp: 1 });
    expect((await rowOf(store, 'n1')).lastError).toMatch(/no sink accepts destination fax:\+1555/);
  });

  it('re-delivers an edited message as an edit of the one posted before', async () => {
    const key = 'UPG-000001:progress:slack:C0ACME';
    const progress = (percent: number): NewOutboxMessage =>
      message(key, 'slack:C0ACME', { title: `${percent}%`, blocks: [], visibility: 'channel' });
    const sink = new RecordingSink();
    const w = worker([sink]);
    await store.outbox.upsertEditable(progress(10), new Date());
    await w.drain();
    const posted = (await rowOf(store, key)).externalId;
    expect(posted).toMatch(/^ext-\d+$/);
    expect(await store.outbox.upsertEditable(progress(10), new Date())).toBe(false);
    await store.outbox.upsertEditable(progress(60), new Date());
    await w.drain();
    expect(sink.delivered.map((d) => [d.revision, d.externalId, (d.payload as { title: string }).title])).toEqual([
      [0, null, '10%'],
      [1, posted, '60%'],
    ]);
    expect(await rowOf(store, key)).toMatchObject({ status: 'sent', revision: 1, externalId: posted });
  });

  it('edits again when the message was edited while its first version was being posted', async () => {
    const key = 'UPG-000002:progress:ops';
    const progress = (percent: number): NewOutboxMessage => message(key, 'ops', { title: `${percent}%`, blocks: [], visibility: 'channel' });
    const sink = new RecordingSink();
    let release!: () => void;
    sink.gates.set(key, new Promise<void>((resolve) => (release = resolve)));
    await store.outbox.upsertEditable(progress(10), new Date());
    const w = worker([sink]);
    const draining = w.drain({ timeoutMs: 5000 });
    await until(() => sink.attempts.length === 1);
    await store.outbox.upsertEditable(progress(40), new Date());
    sink.gates.delete(key);
    release();
    expect(await draining).toMatchObject({ delivered: 2, timedOut: false });
    const posted = sink.delivered[0] ? (await rowOf(store, key)).externalId : null;
    expect(sink.delivered.map((d) => [d.revision, d.externalId, (d.payload as { title: string }).title])).toEqual([
      [0, null, '10%'],
      [1, posted, '40%'],
    ]);
    expect(await rowOf(store, key)).toMatchObject({ status: 'sent', revision: 1 });
  });

  it('never delivers a message twice when two workers on two connections share the outbox', async () => {
    const file = nextFile();
    await store.close();
    store = await openTypeOrmStore({ sqlitePath: file });
    const second = await openTypeOrmStore({ sqlitePath: file });
    extraStores.push(second);
    await twoWorkersDeliverOnce(store, second, log, (w) => workers.push(w));
  });

  it('delivers a message claimed by a worker that died, once its lease has run out', async () => {
    await store.outbox.enqueue(message('c1', 'slack:A'));
    await store.outbox.enqueue(message('c2', 'slack:A'));
    const leaseEnd = Date.now() + 300;
    // The "dead" worker: claims and never reports back.
    expect((await store.outbox.claimDue(new Date(), new Date(leaseEnd), 10)).map((m) => m.dedupeKey)).toEqual(['c1']);
    const sink = new RecordingSink();
    worker([sink]).start();
    await sleep(150);
    expect(sink.attempts).toEqual([]);
    await until(() => sink.delivered.length === 2);
    expect(sink.delivered[0]!.key).toBe('c1');
    expect(sink.delivered[0]!.at).toBeGreaterThanOrEqual(leaseEnd);
    expect(sink.keysTo('slack:A')).toEqual(['c1', 'c2']);
  });

  it('wakes at once when kicked instead of waiting for the next poll', async () => {
    const sink = new RecordingSink();
    const w = worker([sink], { pollIntervalMs: 60_000 });
    w.start();
    await sleep(20);
    await store.outbox.enqueue(message('k1', 'ops'));
    w.kick();
    w.kick();
    await until(() => sink.delivered.length === 1, 2000);
  });

  it('stop waits for the delivery in flight and then claims nothing more', async () => {
    await store.outbox.enqueue(message('s1', 'ops'));
    const sink = new RecordingSink(150);
    const w = worker([sink]);
    w.start();
    await until(() => sink.attempts.length === 1);
    await w.stop({ timeoutMs: 2000 });
    expect(sink.delivered.map((d) => d.key)).toEqual(['s1']);
    expect(await rowOf(store, 's1')).toMatchObject({ status: 'sent' });
    await store.outbox.enqueue(message('s2', 'ops'));
    await sleep(80);
    expect(sink.attempts).toHaveLength(1);
  });

  it('treats a delivery that hangs past its timeout as a retryable failure', async () => {
    await store.outbox.enqueue(message('h1', 'ops'));
    const hanging: OutboxSink = { name: 'hang', accepts: () => true, deliver: () => new Promise(() => undefined) };
    const result = await worker([hanging], { leaseMs: 1000, deliveryTimeoutMs: 50 }).drain({ timeoutMs: 2000 });
    expect(result).toEqual({ delivered: 0, retried: 1, gaveUp: 0, timedOut: false });
    expect((await rowOf(store, 'h1')).lastError).toBe('RetryableDeliveryError: delivery timed out after 50 ms');
  });
});

/** Two workers, one per store (connection), drain 4 destinations × 25 messages at the same time. */
async function twoWorkersDeliverOnce(
  first: TypeOrmStore,
  second: TypeOrmStore,
  log: MemoryLogger,
  track: (w: OutboxWorker) => void,
): Promise<void> {
  const destinations = ['slack:A', 'slack:B', 'discord:C', 'ops'];
  for (let i = 0; i < 25; i += 1) {
    for (const d of destinations) await first.outbox.enqueue(message(`${d}#${i}`, d));
  }
  const sinkA = new RecordingSink(1);
  const sinkB = new RecordingSink(1);
  const a = new OutboxWorker({ outbox: first.outbox, sinks: [sinkA], log, concurrency: 2, pollIntervalMs: 20 });
  const b = new OutboxWorker({ outbox: second.outbox, sinks: [sinkB], log, concurrency: 2, pollIntervalMs: 20 });
  track(a);
  track(b);
  // drain() ends when nothing is due *for that worker*; the background loops mop up the rest.
  a.start();
  b.start();
  await Promise.all([a.drain({ timeoutMs: 20_000 }), b.drain({ timeoutMs: 20_000 })]);
  await until(async () => (await first.outbox.pending()).length === 0, 20_000);
  await a.stop();
  await b.stop();
  const all = [...sinkA.delivered, ...sinkB.delivered].sort((x, y) => x.at - y.at);
  expect(all).toHaveLength(100);
  expect(new Set(all.map((d) => d.key)).size).toBe(100);
  expect(sinkA.delivered.length).toBeGreaterThan(0);
  expect(sinkB.delivered.length).toBeGreaterThan(0);
  for (const d of destinations) {
    const keys = all.filter((x) => x.destination === d).map((x) => x.key);
    expect(keys).toEqual(Array.from({ length: 25 }, (_, i) => `${d}#${i}`));
  }
  expect(log.entries.filter((e) => e.level !== 'info')).toEqual([]);
}

describe('backoffDelay', () => {
  it('doubles per attempt between half and all of the delay, up to the cap', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 1000, 300_000, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 1000, 300_000, () => 0.999999))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelay(40, 1000, 300_000, () => 0.5)).toBe(225_000);
  });
});

const availability = pgClusterAvailability();
const describePg = availability.ok ? describe : describe.skip;

describePg('OutboxWorker on PostgreSQL (throwaway cluster)', () => {
  let cluster: PgCluster | undefined;
  const workers: OutboxWorker[] = [];

  beforeAll(async () => {
    cluster = await startPgCluster();
  }, 120_000);

  afterAll(async () => {
    for (const w of workers.splice(0)) await w.stop({ timeoutMs: 2000 });
    await cluster?.stop();
  }, 60_000);

  it('never delivers a message twice when two workers on two connections share the outbox', async () => {
    if (!cluster) throw new Error('cluster not started');
    const first = await openTypeOrmStore({ url: cluster.url });
    const second = await openTypeOrmStore({ url: cluster.url, migrate: false });
    try {
      await twoWorkersDeliverOnce(first, second, new MemoryLogger(), (w) => workers.push(w));
    } finally {
      for (const w of workers.splice(0)) await w.stop({ timeoutMs: 2000 });
      await second.close();
      await first.close();
    }
  }, 60_000);
});
