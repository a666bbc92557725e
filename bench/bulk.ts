/**
 * Bulk benchmark (one process, so its peak RSS is this scenario's): the bot on the SQLite defaults,
 * 10,000 devices imported from a records file, then one `/upgrade bulk` over all of them filed
 * through the dispatcher by the customer's authorized representative and approved by them, until
 * the request is scheduled with its queue jobs saved. Prints nothing; reports to the runner.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { dispatch } from '../src/core/dispatch.js';
import { toPlainText } from '../src/core/reply.js';
import { startBot, newInvocationId } from '../src/main.js';
import { JOBS } from '../src/infra/queue/agenda-scheduler.js';
import { formatImportProblems, importRecordsFiles } from '../src/services/import-records.js';
import { childMain, msSince, peakRssMb, round, sleep } from './common.js';
import { fleetRecords, writeRecordsFile } from './records.js';

const DEVICES = Number(process.argv[2] ?? 10_000);
const REP = { name: 'Bea Bulk', email: 'bea@fleet.example', slackUserId: null };

childMain(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-bench-bulk-'));
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const config = loadConfig({ DATA_DIR: dir, PORT: '0', SMTP_INTAKE_PORT: '0', LOG_LEVEL: 'silent' }, dir);
  const bot = await startBot(config, { output: quiet, smtpIntake: false });
  try {
    const { deps, registry } = bot.app;
    const file = path.join(dir, 'fleet.json');
    writeRecordsFile(
      file,
      fleetRecords({ customer: 'Fleet Inc', slackChannel: null, rep: REP, devices: DEVICES, prefix: 'fleet', version: '5.2.0', statusUrl: 'http://127.0.0.1:9/status' }),
    );
    const rssBeforeImport = peakRssMb();
    const importStart = process.hrtime.bigint();
    const imported = await importRecordsFiles(deps.store, [file]);
    if (!imported.ok) throw new Error(`the generated records do not import:\n${formatImportProblems(imported.error)}`);
    const importMs = msSince(importStart);

    const run = async (text: string): Promise<string> =>
      toPlainText(await dispatch(registry, deps, { id: newInvocationId(), via: 'console', identity: { kind: 'email', address: REP.email }, text }));
    const start = process.hrtime.bigint();
    const filed = await run(`/upgrade bulk devices=product:SysMaster version=7.1.0 when=window`);
    const fileMs = msSince(start);
    const ref = /UPG-\d{6}/.exec(filed)?.[0];
    if (!ref) throw new Error(`the bulk request was not filed: ${filed.slice(0, 500)}`);
    const approveStart = process.hrtime.bigint();
    const approved = await run(`/upgrade approve ${ref}`);
    const approveMs = msSince(approveStart);
    const totalMs = msSince(start);
    const request = await deps.store.requests.byRef(ref);
    if (request?.status !== 'scheduled') throw new Error(`${ref} is ${request?.status}, not scheduled: ${approved.slice(0, 500)}`);
    const jobs = await bot.app.queue!.agenda.queryJobs({ data: { requestId: request.id } });
    const startJobs = jobs.jobs.filter((j) => j.name === JOBS.start).length;
    if (startJobs !== 1) throw new Error(`${ref} is scheduled but has ${startJobs} start jobs`);
    const peakAfterScheduled = peakRssMb();

    // The notices about the request (consent card, approved, scheduled) go out through the outbox;
    // they render all 10,000 devices, so they count towards the peak too.
    const drainStart = process.hrtime.bigint();
    while ((await deps.store.outbox.pending(1)).length > 0 && msSince(drainStart) < 60_000) await sleep(50);
    const noticesMs = msSince(drainStart);
    const noticesLeft = (await deps.store.outbox.pending(1000)).length;
    return {
      devices: request.items.length,
      ref,
      status: request.status,
      scheduledAt: request.schedule.at?.toISOString() ?? null,
      jobs: jobs.jobs.map((j) => j.name),
      importMs: round(importMs),
      fileMs: round(fileMs),
      approveMs: round(approveMs),
      totalMs: round(totalMs),
      noticesMs: round(noticesMs),
      noticesLeft,
      rssBeforeImportMb: rssBeforeImport,
      peakRssAfterScheduledMb: peakAfterScheduled,
      peakRssMb: peakRssMb(),
    };
  } finally {
    await bot.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
