/**
 * Fault: the clock jumps across a DST change. The whole bot runs in this process (records, the
 * queue on SQLite, the outbox, the simulate executor) on a clock the test moves: the global Date
 * is faked (it runs on at real speed between jumps; timers stay real), so the services, Agenda and
 * the outbox all see the same jumps. A request is scheduled in the night the clocks change, the
 * clock jumps from before each due time to after it, across the change and, once all is done, an
 * hour backwards and forwards again (a host clock that followed the local time):
 *
 * - New York, the night the clocks go back (1 Nov 2026): 01:30 happens twice; the request asks for
 *   the second one (01:30 EST). The 1-hour notice is due at the first 01:30 (EDT), an hour before:
 *   it goes out then, and the start does not, although the wall clock already shows 01:30.
 * - Berlin, the night the clocks go forward (29 Mar 2026): 02:30 does not exist; the request asks
 *   for 03:00 CEST. The 1-hour notice is due at 01:00 CET, two wall-clock hours earlier.
 *
 * Each time the run starts once, the downtime notices (24 h, 1 h, start, end) are stored once each
 * and delivered in that order to every destination, they show the local time with the right offset,
 * and nothing fires again after the jumps. Bounded: every wait is bounded in real time.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import type * as ConfigModule from '../../src/config.js';
import type * as DispatchModule from '../../src/core/dispatch.js';
import type * as ReplyModule from '../../src/core/reply.js';
import type { Reply } from '../../src/core/reply.js';
import type * as MainModule from '../../src/main.js';
import type { RunningBot } from '../../src/main.js';
import type * as SimulateModule from '../../src/infra/executors/simulate-executor.js';
import type * as DeviceModule from '../../src/infra/executors/simulated-device.js';
import type { SimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import type * as StatusCheckModule from '../../src/infra/status-check.js';
import type { OutboxMessage } from '../../src/ports.js';

/**
 * The application is imported only once Date is faked (see beforeAll): entity classes record
 * `Date` as their columns' type when they are defined, and TypeORM compares that with the global
 * `Date` when it connects, so both must be the same (fake) one.
 */
interface App {
  loadConfig: typeof ConfigModule.loadConfig;
  dispatch: typeof DispatchModule.dispatch;
  toPlainText: typeof ReplyModule.toPlainText;
  startBot: typeof MainModule.startBot;
  SimulateExecutor: typeof SimulateModule.SimulateExecutor;
  startSimulatedDevice: typeof DeviceModule.startSimulatedDevice;
  HttpStatusChecker: typeof StatusCheckModule.HttpStatusChecker;
}
let app: App;

const TERMINAL = ['completed', 'completed_with_issues', 'failed', 'aborted'];
const KEYS = ['t-24h', 't-1h', 'start', 'end'] as const;

/** Every timer API stays real; only Date is faked, and it runs on at real speed between jumps. */
const REAL = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Real milliseconds, whatever Date says. */
const realNow = (): number => performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = realNow() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    const value = await probe();
    if (value) return value;
    if (realNow() > deadline) break;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms (real time) waiting for ${what}; the clock says ${new Date().toISOString()}`);
}

interface Harness {
  bot: RunningBot;
  output: Capture;
  device: SimulatedDevice;
  run(email: string, text: string): Promise<string>;
  /** Sets the clock to `iso` (forwards or backwards); it runs on from there. */
  jump(iso: string): void;
  /** The downtime notice rows of a request, oldest first. */
  downtime(requestId: number): Promise<OutboxMessage[]>;
  /** Every outbox row of a request. */
  rows(requestId: number): Promise<OutboxMessage[]>;
  close(): Promise<void>;
}

let h: Harness | null = null;

beforeAll(async () => {
  jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z'), advanceTimers: true, doNotFake: [...REAL] });
  app = {
    loadConfig: (await import('../../src/config.js')).loadConfig,
    dispatch: (await import('../../src/core/dispatch.js')).dispatch,
    toPlainText: (await import('../../src/core/reply.js')).toPlainText,
    startBot: (await import('../../src/main.js')).startBot,
    SimulateExecutor: (await import('../../src/infra/executors/simulate-executor.js')).SimulateExecutor,
    startSimulatedDevice: (await import('../../src/infra/executors/simulated-device.js')).startSimulatedDevice,
    HttpStatusChecker: (await import('../../src/infra/status-check.js')).HttpStatusChecker,
  };
}, 30_000);

afterAll(() => {
  jest.useRealTimers();
});

/** Starts the bot on a fresh database with the clock set to `at`. */
async function start(at: string): Promise<Harness> {
  jest.setSystemTime(new Date(at));
  const { loadConfig, dispatch, toPlainText, startBot, SimulateExecutor, startSimulatedDevice, HttpStatusChecker } = app;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-dst-'));
  const device = await startSimulatedDevice({ version: '5.2.0' });
  const config = loadConfig({ DATA_DIR: dir, PORT: '0', SMTP_INTAKE_PORT: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', EXECUTOR: 'simulate' });
  const output = new Capture();
  const bot = await startBot(config, {
    output,
    executor: new SimulateExecutor({ stepMs: 30, onFinish: (_d, version) => device.setVersion(version) }),
    statusChecker: new HttpStatusChecker({ timeoutMs: 2000, retries: 1, backoffMs: 50 }),
    queueOptions: { lockLifetimeMs: 3000, processEveryMs: 200 },
    outboxPollMs: 50,
  }).catch(async (error: unknown) => {
    await device.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  await bot.app.dataSource.query(`UPDATE devices SET "statusUrl" = ? WHERE name IN ('edge-01', 'gx-tenant-1')`, [device.statusUrl]);
  let seq = 0;
  const rows = async (requestId: number) => bot.app.deps.store.outbox.forRequest(requestId);
  return {
    bot,
    output,
    device,
    async run(email, text) {
      return toPlainText(await dispatch(bot.app.registry, bot.app.deps, { id: `dst-${++seq}`, via: 'console', identity: { kind: 'email', address: email }, text }));
    },
    jump(iso) {
      jest.setSystemTime(new Date(iso));
    },
    rows,
    async downtime(requestId) {
      return (await rows(requestId)).filter((m) => m.kind === 'downtime').sort((a, b) => a.id - b.id);
    },
    async close() {
      await bot.stop();
      await device.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

afterEach(async () => {
  await h?.close();
  h = null;
});

/** Which downtime notices (t-24h, t-1h, start, end) are stored, per destination, in id order. */
function keysByDestination(rows: OutboxMessage[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const row of rows) {
    const key = KEYS.find((k) => row.dedupeKey.includes(`:downtime:${k}`)) ?? row.dedupeKey;
    (out[row.destination] ??= []).push(key);
  }
  return out;
}

/** Waits a while (real time) and checks that the request's rows stay as they are: nothing fired. */
async function expectQuiet(harness: Harness, requestId: number, ms: number): Promise<void> {
  const before = (await harness.rows(requestId)).map((r) => `${r.id}:${r.revision}`);
  await sleep(ms);
  expect((await harness.rows(requestId)).map((r) => `${r.id}:${r.revision}`)).toEqual(before);
}

/**
 * The end of both scenarios: the run finished once, each downtime notice was stored once per
 * destination and delivered in order (24 h, 1 h, start, end), and jumping an hour back and
 * forward again makes nothing fire twice.
 */
async function expectEachNoticeOnceInOrder(harness: Harness, requestId: number, laterIso: string, earlierIso: string): Promise<void> {
  const store = harness.bot.app.deps.store;
  const request = await waitFor('the run to finish', async () => {
    const r = await store.requests.byId(requestId);
    return r && TERMINAL.includes(r.status) ? r : null;
  });
  expect(request.status).toBe('completed');
  await waitFor('the notices to be delivered', async () => (await harness.rows(requestId)).every((r) => r.status === 'sent'));

  // Back an hour (the host clock followed the local time), then forward again past the start.
  harness.jump(earlierIso);
  await expectQuiet(harness, requestId, 1500);
  harness.jump(laterIso);
  await expectQuiet(harness, requestId, 1500);

  const rows = await harness.downtime(requestId);
  const byDestination = keysByDestination(rows);
  expect(Object.keys(byDestination).length).toBeGreaterThanOrEqual(2);
  for (const [destination, keys] of Object.entries(byDestination)) expect({ destination, keys }).toEqual({ destination, keys: [...KEYS] });
  // Delivered in that order to each destination (console blocks; e-mail notes name the notice kind only).
  for (const destination of Object.keys(byDestination).filter((d) => !/^(email|person):/.test(d))) {
    const blocks = harness.output.text.split('── to ').filter((b) => b.startsWith(`${destination} · downtime ·`));
    const titles = blocks.map((b) => b.split('\n')[1] ?? '');
    expect({ destination, titles }).toEqual({
      destination,
      titles: [/in 24 hours$/, /in 1 hour$/, /has started$/, /downtime over$/].map((re) => expect.stringMatching(re)),
    });
  }
  const sent = rows.filter((r) => r.destination === rows[0]!.destination).map((r) => r.sentAt!.getTime());
  expect([...sent].sort((a, b) => a - b)).toEqual(sent);
  // One start, one run, each state once.
  const started = await store.audit.list({ action: 'request_started', entityId: request.ref });
  expect(started).toHaveLength(1);
  const run = request.items[0]!.run!;
  const events = await store.runs.events(run.id);
  expect(events.filter((e) => e.event === 'next').map((e) => e.to)).toEqual(['prepare_split', 'split', 'prepare_merge', 'merge', 'commit', 'finish', 'done']);
}

describe('the clock jumping across a DST change', () => {
  it('New York, clocks going back: the notice an hour before 01:30 EST goes out at 01:30 EDT, the start only at 01:30 EST', async () => {
    h = await start('2026-10-30T12:00:00Z');
    const hw = 'mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001';
    // 01:30 without an offset happens twice that night: refused, both readings offered.
    const ambiguous = await h.run('bob@acme.example', `/upgrade request device=edge-01 version=7.1.0 when=2026-11-01T01:30 ${hw}`);
    expect(ambiguous).toMatch(/ambiguous_local_time/);
    expect(ambiguous).toContain('2026-11-01T01:30-04:00');
    expect(ambiguous).toContain('2026-11-01T01:30-05:00');
    const filed = await h.run('bob@acme.example', `/upgrade request device=edge-01 version=7.1.0 when=2026-11-01T01:30-05:00 ${hw}`);
    const ref = /UPG-\d{6}/.exec(filed)![0];
    expect(await h.run('jane@acme.example', `/upgrade approve ${ref}`)).toMatch(/approved/);
    const store = h.bot.app.deps.store;
    const request = (await store.requests.byRef(ref))!;
    expect(request.schedule.at?.toISOString()).toBe('2026-11-01T06:30:00.000Z');
    await waitFor('the approval notices to go out', async () => (await h!.rows(request.id)).every((r) => r.status === 'sent'));
    expect(await h.downtime(request.id)).toEqual([]);

    // Saturday 02:29:50 EDT, then past 02:30 EDT: the 24-hour notice, and nothing else.
    h.jump('2026-10-31T06:29:50Z');
    await expectQuiet(h, request.id, 500);
    h.jump('2026-10-31T06:30:05Z');
    await waitFor('the 24-hour notice', async () => (await h!.downtime(request.id)).length > 0);
    await expectQuiet(h, request.id, 1000);
    expect(Object.values(keysByDestination(await h.downtime(request.id)))).toEqual(expect.arrayContaining([['t-24h']]));
    const day = (await h.downtime(request.id))[0]!;
    expect(app.toPlainText(day.payload as Reply)).toContain('Sun 1 Nov 2026 01:30 EST (UTC-05:00)');

    // Sunday 01:31 EDT, the first 01:31 of the night: the 1-hour notice, not the start.
    h.jump('2026-11-01T05:31:00Z');
    await waitFor('the 1-hour notice', async () => (await h!.downtime(request.id)).some((r) => r.dedupeKey.includes(':downtime:t-1h')));
    await expectQuiet(h, request.id, 1500);
    expect((await store.requests.byId(request.id))?.status).toBe('scheduled');
    const hour = (await h.downtime(request.id)).find((r) => r.dedupeKey.includes(':downtime:t-1h'))!;
    expect(app.toPlainText(hour.payload as Reply)).toContain('Sun 1 Nov 2026 01:30 EST (UTC-05:00)');

    // The clocks go back: 01:59:59 EDT is followed by 01:00 EST. Still nothing.
    h.jump('2026-11-01T05:59:55Z');
    await expectQuiet(h, request.id, 500);
    h.jump('2026-11-01T06:00:00Z');
    await expectQuiet(h, request.id, 1000);
    expect((await store.requests.byId(request.id))?.status).toBe('scheduled');

    // 01:30:05 EST: the start, once.
    h.jump('2026-11-01T06:30:05Z');
    await expectEachNoticeOnceInOrder(h, request.id, '2026-11-01T06:35:00Z', '2026-11-01T05:35:00Z');
  }, 90_000);

  it('Berlin, clocks going forward: 02:30 does not exist; a start at 03:00 CEST gets its 1-hour notice at 01:00 CET', async () => {
    h = await start('2026-03-27T12:00:00Z');
    const hw = 'mac=00:1A:2B:3C:5E:01 ip=198.51.100.20 serial=SN-2001';
    const gap = await h.run('greta@globex.example', `/upgrade request device=gx-tenant-1 version=8.1.0 when=2026-03-29T02:30 ${hw}`);
    expect(gap).toMatch(/nonexistent_local_time/);
    expect(gap).toContain('2026-03-29T03:00+02:00');
    const filed = await h.run('greta@globex.example', `/upgrade request device=gx-tenant-1 version=8.1.0 when=2026-03-29T03:00+02:00 ${hw}`);
    const ref = /UPG-\d{6}/.exec(filed)![0];
    expect(await h.run('greta@globex.example', `/upgrade approve ${ref}`)).toMatch(/approved/);
    const store = h.bot.app.deps.store;
    const request = (await store.requests.byRef(ref))!;
    expect(request.schedule.at?.toISOString()).toBe('2026-03-29T01:00:00.000Z');
    await waitFor('the approval notices to go out', async () => (await h!.rows(request.id)).every((r) => r.status === 'sent'));

    // Saturday 02:00:05 CET: the 24-hour notice (a day before is 24 hours, whatever the clocks do).
    h.jump('2026-03-28T01:00:05Z');
    await waitFor('the 24-hour notice', async () => (await h!.downtime(request.id)).length > 0);
    await expectQuiet(h, request.id, 1000);
    expect(app.toPlainText((await h.downtime(request.id))[0]!.payload as Reply)).toContain('Sun 29 Mar 2026 03:00 CEST (UTC+02:00)');

    // Sunday 01:00:05 CET: the 1-hour notice; the wall clock is two hours before the start.
    h.jump('2026-03-29T00:00:05Z');
    await waitFor('the 1-hour notice', async () => (await h!.downtime(request.id)).some((r) => r.dedupeKey.includes(':downtime:t-1h')));
    await expectQuiet(h, request.id, 1500);
    expect((await store.requests.byId(request.id))?.status).toBe('scheduled');

    // 01:59:50 CET, then the jump to 03:00:05 CEST: the start, once.
    h.jump('2026-03-29T00:59:50Z');
    await expectQuiet(h, request.id, 500);
    h.jump('2026-03-29T01:00:05Z');
    await expectEachNoticeOnceInOrder(h, request.id, '2026-03-29T01:05:00Z', '2026-03-29T00:05:00Z');
  }, 90_000);
});
