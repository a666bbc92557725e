/**
 * Fan-out benchmark (one process): the bot with Slack over HTTP against the fake Slack Web API
 * (another process, enforcing one message per second per channel), the simulate executor, and a
 * simulated device answering the post-upgrade check. A bulk request over 1,000 devices is filed
 * and approved to run now by the customer's representative; it runs to the end (the post-upgrade
 * check with its configured defaults), and the outbox delivers everything. The runner reads from the fake Slack what was posted and refused.
 * Usage: fanout.js <Slack API URL> <devices> <step ms>
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { dispatch } from '../src/core/dispatch.js';
import { toPlainText } from '../src/core/reply.js';
import { SimulateExecutor } from '../src/infra/executors/simulate-executor.js';
import { startSimulatedDevice } from '../src/infra/executors/simulated-device.js';
import { newInvocationId, startBot } from '../src/main.js';
import { formatImportProblems, importRecordsFiles } from '../src/services/import-records.js';
import { childMain, msSince, peakRssMb, round, sleep } from './common.js';
import { fleetRecords, writeRecordsFile } from './records.js';

const apiUrl = process.argv[2] ?? '';
const DEVICES = Number(process.argv[3] ?? 1000);
const STEP_MS = Number(process.argv[4] ?? 0);
const REP = { name: 'Fay Fanout', email: 'fay@fanout.example', slackUserId: 'U0FANREP' };
const TERMINAL = ['completed', 'completed_with_issues', 'failed', 'aborted'];
/** No run moved for this long: the run is stuck (reported as such). */
const STALL_MS = 30_000;

childMain(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-bench-fanout-'));
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const device = await startSimulatedDevice({ version: '5.2.0' });
  const config = loadConfig(
    {
      DATA_DIR: dir,
      PORT: '0',
      SMTP_INTAKE_PORT: '0',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
      EXECUTOR: 'simulate',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: 'be9c1a5e0d2b4c6f8a7e3d1c0b9a8f7e',
      SLACK_API_URL: apiUrl,
      SLACK_OPS_CHANNEL: 'C0OPS',
    },
    dir,
  );
  const bot = await startBot(config, {
    output: quiet,
    smtpIntake: false,
    executor: new SimulateExecutor({ stepMs: STEP_MS, onFinish: (_d, version) => device.setVersion(version) }),
  });
  try {
    const { deps, registry } = bot.app;
    const file = path.join(dir, 'fanout.json');
    writeRecordsFile(
      file,
      fleetRecords({ customer: 'Fanout Ltd', slackChannel: 'C0FAN', rep: REP, devices: DEVICES, prefix: 'fan', version: '5.2.0', statusUrl: device.statusUrl }),
    );
    const imported = await importRecordsFiles(deps.store, [file]);
    if (!imported.ok) throw new Error(`the generated records do not import:\n${formatImportProblems(imported.error)}`);
    const run = async (text: string): Promise<string> =>
      toPlainText(await dispatch(registry, deps, { id: newInvocationId(), via: 'slack', identity: { kind: 'slack', userId: REP.slackUserId }, text }));

    const filed = await run('/upgrade bulk devices=product:SysMaster version=7.1.0 when=now');
    const ref = /UPG-\d{6}/.exec(filed)?.[0];
    if (!ref) throw new Error(`the bulk request was not filed: ${filed.slice(0, 500)}`);
    const start = process.hrtime.bigint();
    const approvedAt = Date.now();
    const approved = await run(`/upgrade approve ${ref}`);
    let request = await deps.store.requests.byRef(ref);
    if (!request || !['scheduled', 'in_progress', ...TERMINAL].includes(request.status)) {
      throw new Error(`${ref} is ${request?.status} after approval: ${approved.slice(0, 500)}`);
    }
    const limitMs = Number(process.env.BENCH_FANOUT_LIMIT_MS ?? 240_000);
    // Waits for the end, giving up at the limit or when nothing has moved for STALL_MS.
    const progress = (): string => JSON.stringify(request?.items.map((i) => [i.run?.state, i.run?.attempt, i.run?.condition]));
    let seen = progress();
    let movedAt = Date.now();
    let stalled = false;
    while (!TERMINAL.includes(request?.status ?? '') && msSince(start) < limitMs) {
      await sleep(250);
      request = await deps.store.requests.byRef(ref);
      const now = progress();
      if (now !== seen) {
        seen = now;
        movedAt = Date.now();
      } else if (Date.now() - movedAt > STALL_MS) {
        stalled = true;
        break;
      }
    }
    const runMs = msSince(start);
    const drainLimit = stalled ? msSince(start) + 15_000 : limitMs;
    while ((await deps.store.outbox.pending(1)).length > 0 && msSince(start) < drainLimit) await sleep(100);
    const drainMs = msSince(start);
    const pending = (await deps.store.outbox.pending(1000)).length;
    const outcomes: Record<string, number> = {};
    const issues: Record<string, number> = {};
    for (const item of request?.items ?? []) {
      const outcome = item.run?.outcome ?? 'no run';
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      for (const issue of item.run?.issues ?? []) {
        const key = issue.slice(0, 100);
        issues[key] = (issues[key] ?? 0) + 1;
      }
    }
    const done = (request?.items ?? []).filter((i) => i.run?.state === 'done').length;
    // Jobs of the request that failed (a failed step job leaves its run where it was), by reason.
    const jobs = (await bot.app.queue!.agenda.queryJobs({ data: { requestId: request?.id }, limit: 100_000 })).jobs;
    const failedJobs: Record<string, number> = {};
    for (const job of jobs) {
      if (!job.failReason) continue;
      const reason = `${job.name}: ${job.failReason.split('\n')[0]?.slice(0, 120)}`;
      failedJobs[reason] = (failedJobs[reason] ?? 0) + 1;
    }
    // When the run did not finish, say where it stands: the first runs that did not, and the jobs still to run.
    const stuck = TERMINAL.includes(request?.status ?? '')
      ? null
      : {
          runs: (request?.items ?? [])
            .filter((i) => i.run && i.run.state !== 'done')
            .slice(0, 10)
            .map((i) => ({ device: i.deviceName, state: i.run?.state, condition: i.run?.condition, attempt: i.run?.attempt })),
          pendingJobs: jobs.filter((j) => !j.lastFinishedAt && !j.failReason).length,
        };
    return {
      stalled,
      failedJobs,
      stuck,
      ref,
      devices: request?.items.length ?? 0,
      status: request?.status ?? 'missing',
      finished: TERMINAL.includes(request?.status ?? ''),
      outcomes,
      issues,
      done,
      approvedAt,
      runMs: round(runMs),
      drainMs: round(drainMs),
      outboxPending: pending,
      stepMs: STEP_MS,
      concurrency: config.runs.concurrency,
      peakRssMb: peakRssMb(),
    };
  } finally {
    await bot.stop();
    await device.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
