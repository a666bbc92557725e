/**
 * A bulk run driven step by step as the queue drives it (performRunStep per run step), on a
 * SQLite file with the shipped records plus thirty more devices, the simulate executor, and the
 * post-upgrade check against a simulated device over HTTP. The clock stands still unless the
 * test moves it, so which changes refresh the progress message is decided, not timed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { dispatch } from '../../src/core/dispatch.js';
import { toPlainText } from '../../src/core/reply.js';
import type { Reply } from '../../src/core/reply.js';
import type { RunState } from '../../src/domain/types.js';
import { SimulateExecutor } from '../../src/infra/executors/simulate-executor.js';
import { startSimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import type { SimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import { HttpStatusChecker } from '../../src/infra/status-check.js';
import { openApp } from '../../src/main.js';
import type { App } from '../../src/main.js';
import { PROGRESS_INTERVAL_MS, finishIfAllDone } from '../../src/services/advance-run.js';
import { DEFAULT_ENGINE_SETTINGS } from '../../src/services/engine.js';
import type { EngineDeps } from '../../src/services/engine.js';
import { importRecordsFiles } from '../../src/services/import-records.js';
import { performRunStep } from '../../src/services/perform-run-step.js';
import { startRequest } from '../../src/services/start-request.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { DEMO_RECORDS } from '../commands/harness.js';

const DEVICES = Array.from({ length: 30 }, (_, i) => `fan-${String(i + 1).padStart(2, '0')}`);
const STATES: RunState[] = ['prepare_split', 'split', 'prepare_merge', 'merge', 'commit', 'finish', 'done'];

let dir: string;
let device: SimulatedDevice;
const opened: App[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ud-run-progress-'));
  device = await startSimulatedDevice({ version: '5.2.0' });
});

afterAll(async () => {
  for (const app of opened) await app.close();
  await device.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Bulk {
  app: App;
  clock: FakeClock;
  engine: EngineDeps;
  requestId: number;
  ref: string;
}

/** A fresh database with thirty Acme devices on 5.2.0 filed in one bulk request, approved and started. */
async function startedBulk(name: string, failures = ''): Promise<Bulk> {
  const dataDir = path.join(dir, name);
  const clock = new FakeClock('2026-11-21T12:00:00Z');
  const app = await openApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, dataDir), { clock });
  opened.push(app);
  const records = path.join(dir, `${name}-devices.json`);
  writeFileSync(
    records,
    JSON.stringify({
      devices: DEVICES.map((deviceName, i) => ({
        name: deviceName,
        customer: 'Acme Corp',
        product: 'SysMaster',
        serial: `SN-FAN-${i + 1}`,
        mac: `02:00:00:00:01:${(i + 16).toString(16)}`,
        ip: `198.51.100.${i + 100}`,
        version: '5.2.0',
        status: 'configured',
        replication: false,
        loadBalancerGroup: null,
        databasePrimary: false,
        statusUrl: device.statusUrl,
      })),
    }),
  );
  const imported = await importRecordsFiles(app.deps.store, [DEMO_RECORDS, records]);
  if (!imported.ok) throw new Error(JSON.stringify(imported.error));
  let seq = 0;
  const run = async (text: string): Promise<string> =>
    toPlainText(await dispatch(app.registry, app.deps, { id: `inv-${++seq}`, via: 'console', identity: { kind: 'email', address: 'jane@acme.example' }, text }));
  const ref = /UPG-\d{6}/.exec(await run(`/upgrade bulk devices=${DEVICES.join(',')} version=7.1.0 when=now`))?.[0];
  if (!ref) throw new Error('the bulk request was not filed');
  expect(await run(`/upgrade approve ${ref}`)).toMatch(/approved/);
  const requestId = Number(ref.slice(4));
  const scheduled = await app.deps.store.requests.header(requestId);
  const started = await startRequest(app.deps, requestId, scheduled!.schedule.at!);
  expect(started).toMatchObject({ ok: true, value: { kind: 'started' } });
  const engine: EngineDeps = {
    ...app.deps,
    executor: new SimulateExecutor({ stepMs: 0, failures, onFinish: (_d, version) => device.setVersion(version) }),
    statusChecker: new HttpStatusChecker({ timeoutMs: 2000, retries: 0 }),
    engine: DEFAULT_ENGINE_SETTINGS,
  };
  return { app, clock, engine, requestId, ref };
}

/** The progress message as stored for each destination: revision and text. */
async function progress(b: Bulk): Promise<Map<string, { revision: number; text: string }>> {
  const rows = (await b.app.deps.store.outbox.forRequest(b.requestId)).filter((m) => m.kind === 'progress');
  return new Map(rows.map((m) => [m.destination, { revision: m.revision, text: toPlainText(m.payload as Reply) }]));
}

/** Performs the next step of the first run under way (as its queue job would). */
async function stepFirstActive(b: Bulk): Promise<boolean> {
  const [item] = await b.app.deps.store.requests.items(b.requestId, { active: true, limit: 1 });
  if (!item?.run) return false;
  const result = await performRunStep(b.engine, b.requestId, item.run.id, new AbortController().signal);
  expect(result.ok).toBe(true);
  return true;
}

describe('progress of a bulk run', () => {
  it('leaves routine steps within the interval to a later change, and ends at 100% with every state of every run recorded once', async () => {
    const b = await startedBulk('routine');
    const atStart = await progress(b);
    expect([...atStart.keys()].sort()).toEqual(['discord:1100', 'ops', 'slack:C0ACME']);
    expect(atStart.get('slack:C0ACME')!.text).toContain('… and 5 more devices');

    // The first step of this request in this process refreshes the message.
    expect(await stepFirstActive(b)).toBe(true);
    const first = await progress(b);
    for (const [destination, row] of first) expect(row.revision).toBe(atStart.get(destination)!.revision + 1);
    expect(first.get('ops')!.text).toContain('Current: fan-01 in prepare split.');

    // The next routine step at the same moment leaves it as it is: another step follows shortly.
    expect(await stepFirstActive(b)).toBe(true);
    expect(await progress(b)).toEqual(first);

    // Once the interval is over, the next step shows where the run is now.
    b.clock.advance(PROGRESS_INTERVAL_MS);
    expect(await stepFirstActive(b)).toBe(true);
    const later = await progress(b);
    for (const [destination, row] of later) expect(row.revision).toBe(first.get(destination)!.revision + 1);
    expect(later.get('ops')!.text).toContain('Current: fan-01 in prepare merge.');

    // To the end, the clock still: the message is refreshed far less often than runs step.
    let steps = 3;
    while (await stepFirstActive(b)) steps += 1;
    expect(steps).toBe(DEVICES.length * STATES.length);
    const request = await b.app.deps.store.requests.byId(b.requestId);
    expect(request?.status).toBe('completed');
    for (const item of request!.items) {
      const events = await b.app.deps.store.runs.events(item.run!.id);
      expect({ device: item.deviceName, steps: events.filter((e) => e.event === 'next').map((e) => e.to) }).toEqual({ device: item.deviceName, steps: STATES });
    }
    const end = await progress(b);
    for (const row of end.values()) {
      expect(row.text).toMatch(/Status: +completed\n/);
      expect(row.text).toMatch(/Progress: +100%\n/);
      expect(row.revision).toBeLessThan(steps / 4);
    }
  });

  it('shows a retry at once, even right after a refresh', async () => {
    const b = await startedBulk('retry', 'split:1');
    expect(await stepFirstActive(b)).toBe(true); // fan-01 → prepare_split: refreshes
    const before = await progress(b);
    expect(await stepFirstActive(b)).toBe(true); // fan-01 → split fails once: a retry
    const after = await progress(b);
    for (const [destination, row] of after) expect(row.revision).toBe(before.get(destination)!.revision + 1);
    expect(after.get('ops')!.text).toContain('(retried)');
  });

  it('finishes, once, a request left in progress with every run done (the repair the queue sweep runs)', async () => {
    const b = await startedBulk('stalled');
    while (await stepFirstActive(b)) {
      // every step of every run
    }
    const store = b.app.deps.store;
    expect((await store.requests.header(b.requestId))?.status).toBe('completed');
    const finishedRows = async () =>
      (await store.outbox.forRequest(b.requestId)).filter((m) => m.kind === 'completed' || m.dedupeKey.includes(':downtime:end:')).map((m) => m.dedupeKey).sort();
    const notices = await finishedRows();
    expect(notices.length).toBeGreaterThan(0);
    // As an earlier version could leave it: every run done, the request still in progress, nothing of the finish stored.
    await b.app.dataSource.query(`UPDATE upgrade_requests SET status = 'in_progress' WHERE id = ?`, [b.requestId]);
    await b.app.dataSource.query(`DELETE FROM outbox_messages WHERE "requestId" = ? AND (kind = 'completed' OR "dedupeKey" LIKE '%:downtime:end:%')`, [b.requestId]);
    expect(await finishRequestLeft(b)).toBe(true);
    expect((await store.requests.header(b.requestId))?.status).toBe('completed');
    expect(await finishedRows()).toEqual(notices);
    for (const row of (await progress(b)).values()) expect(row.text).toMatch(/Status: +completed\n/);
    // Again: nothing to do, nothing stored twice.
    expect(await finishRequestLeft(b)).toBe(false);
    expect(await finishedRows()).toEqual(notices);
  });

  it('leaves a request with runs under way to its runs', async () => {
    const b = await startedBulk('underway');
    expect(await stepFirstActive(b)).toBe(true);
    expect(await finishRequestLeft(b)).toBe(false);
    expect((await b.app.deps.store.requests.header(b.requestId))?.status).toBe('in_progress');
  });
});

function finishRequestLeft(b: Bulk): Promise<boolean> {
  return finishIfAllDone(b.app.deps, b.requestId);
}
