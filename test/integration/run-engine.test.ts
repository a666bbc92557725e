/**
 * The run engine end to end inside one process: the real bot (SQLite records, Agenda on the
 * SQLite backend, the outbox worker with the console sink) driven through the dispatcher, with
 * the simulate executor against a simulated device over real HTTP, and the manual executor
 * driven by an agent's commands.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { dispatch } from '../../src/core/dispatch.js';
import { toPlainText } from '../../src/core/reply.js';
import { startSimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import type { SimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import { SimulateExecutor } from '../../src/infra/executors/simulate-executor.js';
import { HttpStatusChecker } from '../../src/infra/status-check.js';
import { JOBS, NOTICE_OFFSETS } from '../../src/infra/queue/agenda-scheduler.js';
import { startBot } from '../../src/main.js';
import type { RunningBot } from '../../src/main.js';
import { startRequest } from '../../src/services/start-request.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Started {
  bot: RunningBot;
  output: Capture;
  device: SimulatedDevice;
  run(email: string, text: string): Promise<string>;
}

async function boot(env: Record<string, string>, simulate?: { stepMs: number; failures?: string }): Promise<Started> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ud-engine-'));
  const config = loadConfig({ DATA_DIR: dir, PORT: '0',
    SMTP_INTAKE_PORT: '0', LOG_LEVEL: 'silent', ...env });
  const output = new Capture();
  const device = await startSimulatedDevice({ version: '5.2.0' });
  const bot = await startBot(config, {
    output,
    ...(simulate
      ? {
          executor: new SimulateExecutor({
            stepMs: simulate.stepMs,
            failures: simulate.failures,
            onFinish: (_d, version) => device.setVersion(version),
          }),
        }
      : {}),
    statusChecker: new HttpStatusChecker({ timeoutMs: 2000, retries: 1, backoffMs: 50 }),
    queueOptions: { lockLifetimeMs: 1500, processEveryMs: 200 },
    outboxPollMs: 50,
  });
  await bot.app.dataSource.query(`UPDATE devices SET "statusUrl" = ? WHERE name = 'edge-01'`, [device.statusUrl]);
  cleanups.push(async () => {
    await bot.stop();
    await device.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let seq = 0;
  const run = async (email: string, text: string) =>
    toPlainText(
      await dispatch(bot.app.registry, bot.app.deps, { id: `t-${++seq}`, via: 'console', identity: { kind: 'email', address: email }, text }),
    );
  return { bot, output, device, run };
}

const REQUEST = '/upgrade request device=edge-01 version=7.1.0 when=now mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001';
/** The start job plus the downtime notices (24 h, 1 h before) that still lie ahead. */
function expectedJobs(at: Date): string[] {
  const notices = NOTICE_OFFSETS.filter((o) => at.getTime() - o.ms > Date.now()).map(() => JOBS.notice);
  return [JOBS.start, ...notices].sort();
}

const refIn = (text: string) => /UPG-\d{6}/.exec(text)![0];

describe('the run engine', () => {
  it('runs an approved request with the simulate executor to a verified completion, each notice once', async () => {
    const { bot, output, run } = await boot({ EXECUTOR: 'simulate' }, { stepMs: 20, failures: 'merge:1' });
    const ref = refIn(await run('bob@acme.example', REQUEST));
    await run('bob@acme.example', `/upgrade password ${ref} s3cret-Manager!`);
    await run('jane@acme.example', `/upgrade approve ${ref}`);
    const store = bot.app.deps.store;
    const done = await waitFor('completion', async () => {
      const r = await store.requests.byRef(ref);
      return r && ['completed', 'completed_with_issues', 'failed', 'aborted'].includes(r.status) ? r : null;
    });
    expect(done.status).toBe('completed_with_issues');
    const item = done.items[0]!;
    expect(item.run?.state).toBe('done');
    expect(item.run?.postCheck).toMatchObject({ ok: true, version: '7.1.0' });
    expect(item.run?.issues.join(' ')).toMatch(/merge/);
    expect((await store.devices.byId(item.deviceId))?.version).toBe('7.1.0');
    // Every state of [004] was passed in order, with one retry of the merge.
    const events = await store.runs.events(item.run!.id);
    expect(events.filter((e) => e.event === 'next').map((e) => e.to)).toEqual([
      'prepare_split', 'split', 'prepare_merge', 'merge', 'commit', 'finish', 'done',
    ]);
    expect(events.filter((e) => e.event === 'retry')).toHaveLength(1);
    // The manager password was erased when the run ended and never printed.
    expect(await store.secrets.get(done.id, 'manager_password')).toBeNull();
    await bot.outbox.drain({ timeoutMs: 5000 });
    expect(output.text).not.toContain('s3cret-Manager!');
    const messages = await store.outbox.forRequest(done.id);
    expect(messages.every((m) => m.status === 'sent')).toBe(true);
    const keys = messages.map((m) => m.dedupeKey);
    expect(new Set(keys).size).toBe(keys.length);
    const kinds = (destination: string) => messages.filter((m) => m.destination === destination).map((m) => m.kind);
    expect(kinds('slack:C0ACME')).toEqual(expect.arrayContaining(['approved', 'scheduled', 'downtime', 'progress', 'completed']));
    // One progress message per destination, edited in place many times.
    const progress = messages.filter((m) => m.kind === 'progress');
    expect(progress.map((m) => m.destination).sort()).toEqual(['discord:1100', 'ops', 'slack:C0ACME']);
    expect(Math.min(...progress.map((m) => m.revision))).toBeGreaterThan(3);
    expect(output.text).toMatch(/Reset the manager password/);
    expect(output.text).toMatch(/\(updated, revision \d+\)/);
    // The rating prompt waits a day, as a job.
    const rating = await bot.app.queue!.agenda.queryJobs({ name: JOBS.rating, data: { requestId: done.id } });
    expect(rating.jobs).toHaveLength(1);
    expect(rating.jobs[0]!.nextRunAt!.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
  });

  it('lets an agent drive a manual run to completion with Next, and records the note as an issue', async () => {
    const { bot, run } = await boot({ EXECUTOR: 'manual' });
    const ref = refIn(await run('bob@acme.example', REQUEST));
    await run('jane@acme.example', `/upgrade approve ${ref}`);
    const store = bot.app.deps.store;
    await waitFor('start', async () => (await store.requests.byRef(ref))?.status === 'in_progress');
    expect(await run('alex@upgradedesk.example', `/upgrade-admin run ${ref} abort`)).toMatch(/Cannot abort/);
    for (let i = 0; i < 6; i++) await run('alex@upgradedesk.example', `/upgrade-admin run ${ref} next`);
    expect(await run('alex@upgradedesk.example', `/upgrade-admin run ${ref} next note="slow disk during merge"`)).toMatch(/completed/);
    const done = (await store.requests.byRef(ref))!;
    expect(done.status).toBe('completed_with_issues');
    expect(done.items[0]!.run?.agentId).not.toBeNull();
    await bot.outbox.drain({ timeoutMs: 5000 });
    const completed = (await store.outbox.forRequest(done.id)).find((m) => m.kind === 'completed' && m.destination === 'slack:C0ACME');
    expect(toPlainText(completed!.payload as never)).toMatch(/Feedback from Alex[^]*slow disk during merge/);
  });

  it('voids consent and asks again when the hardware on record changed after approval', async () => {
    const { bot, run } = await boot({ EXECUTOR: 'manual' });
    const ref = refIn(await run('bob@acme.example', REQUEST.replace('when=now', 'when=window')));
    await run('jane@acme.example', `/upgrade approve ${ref}`);
    const store = bot.app.deps.store;
    const scheduled = (await store.requests.byRef(ref))!;
    expect(scheduled.status).toBe('scheduled');
    const jobs = await bot.app.queue!.agenda.queryJobs({ data: { requestId: scheduled.id } });
    expect(jobs.jobs.map((j) => j.name).sort()).toEqual(expectedJobs(scheduled.schedule.at!));
    await bot.app.dataSource.query(`UPDATE devices SET ip = '203.0.113.99' WHERE name = 'edge-01'`);
    const started = await startRequest(bot.app.deps, scheduled.id, scheduled.schedule.at!);
    expect(started).toEqual({ ok: true, value: { kind: 'consent_void', changes: ['edge-01: IP 203.0.113.10 → 203.0.113.99'] } });
    const again = (await store.requests.byRef(ref))!;
    expect(again.status).toBe('awaiting_consent');
    expect(again.items[0]!.run).toBeNull();
    const notice = (await store.outbox.forRequest(again.id)).find((m) => m.kind === 'consent_needed' && m.dedupeKey.includes('reconsent'));
    expect(toPlainText(notice!.payload as never)).toMatch(/IP 203\.0\.113\.10 → 203\.0\.113\.99/);
    // The jobs of the void schedule are gone.
    expect((await bot.app.queue!.agenda.queryJobs({ name: JOBS.start, data: { requestId: scheduled.id } })).jobs).toHaveLength(0);
  });

  it('removes the start and notice jobs when a scheduled request is cancelled', async () => {
    const { bot, run } = await boot({ EXECUTOR: 'manual' });
    const ref = refIn(await run('bob@acme.example', REQUEST.replace('when=now', 'when=window')));
    await run('jane@acme.example', `/upgrade approve ${ref}`);
    const request = (await bot.app.deps.store.requests.byRef(ref))!;
    const agenda = bot.app.queue!.agenda;
    expect((await agenda.queryJobs({ data: { requestId: request.id } })).jobs.map((j) => j.name).sort()).toEqual(
      expectedJobs(request.schedule.at!),
    );
    expect(await run('jane@acme.example', `/upgrade cancel ${ref} plans changed`)).toMatch(/cancelled/);
    expect((await agenda.queryJobs({ data: { requestId: request.id } })).total).toBe(0);
  });
});
