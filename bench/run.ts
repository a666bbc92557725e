/**
 * `npm run bench`: every benchmark of GitHub issue 8 (SPEC §9) in one run, side by side on this
 * machine, each measured in processes of its own; prints one table (figure, value, target,
 * PASS/FAIL) and writes it with the machine's description and the raw measurements to
 * bench/results/<timestamp>.json and bench/results/latest.json. A missed target is reported, not
 * an error: the exit code is 0 unless the runner itself breaks.
 *
 * Settings (environment): BENCH_ONLY=startup-ack,bulk,queue,fanout (a subset), BENCH_CLIENTS (200),
 * BENCH_PER_CLIENT (10), BENCH_BULK_DEVICES (10000), BENCH_FANOUT_DEVICES (1000),
 * BENCH_FANOUT_STEP_MS (0), BENCH_FANOUT_LIMIT_MS (240000), MONGODB_URL (adds the MongoDB backend), PG_BIN (PostgreSQL binaries).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pgClusterAvailability, startPgCluster } from '../test/integration/pg-cluster.js';
import { benchStartupAndAck } from './ack.js';
import { BenchService, ROOT, Report, markdownTable, round, runBenchChild } from './common.js';
import type { SlackStats } from './fake-slack-server.js';

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const wanted = (name: string): boolean => ONLY.length === 0 || ONLY.includes(name);
const CLIENTS = env('BENCH_CLIENTS', 200);
const PER_CLIENT = env('BENCH_PER_CLIENT', 10);
const BULK_DEVICES = env('BENCH_BULK_DEVICES', 10_000);
const FANOUT_DEVICES = env('BENCH_FANOUT_DEVICES', 1000);
const FANOUT_STEP_MS = Number(process.env.BENCH_FANOUT_STEP_MS ?? 0);
const MB = 1024 * 1024;

function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    memoryGiB: round(os.totalmem() / 1024 / MB, 1),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((n) => round(n)),
  };
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

// ---- Bulk ----

interface BulkResult {
  devices: number;
  importMs: number;
  fileMs: number;
  approveMs: number;
  totalMs: number;
  noticesMs: number;
  peakRssAfterScheduledMb: number;
  peakRssMb: number;
}

async function benchBulk(report: Report): Promise<void> {
  const r = await runBenchChild<BulkResult>('bulk', [String(BULK_DEVICES)], 300_000);
  report.details.bulk = r;
  const n = r.devices.toLocaleString('en-US');
  report.info('bulk', `import ${n} devices (records file)`, round(r.importMs / 1000, 2), 's');
  report.target('bulk', `${n} devices validated and scheduled`, round(r.totalMs / 1000, 2), 's', '≤ 5 s', (v) => v <= 5, `filed ${round(r.fileMs / 1000, 2)} s + approved and scheduled ${round(r.approveMs / 1000, 2)} s`);
  report.target('bulk', 'peak RSS (import, bulk, its notices)', r.peakRssMb, 'MB', '≤ 300 MB', (v) => v <= 300, `${r.peakRssAfterScheduledMb} MB until scheduled; notices delivered in ${round(r.noticesMs / 1000, 1)} s`);
}

// ---- Queue ----

interface QueueResult {
  jobs: number;
  jobsPerSecond: number;
  savesPerSecond: number;
  pickupMs: { p50: number; p90: number; max: number };
}

async function benchQueue(report: Report): Promise<void> {
  const results: Record<string, QueueResult> = {};
  const dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-bench-queue-'));
  try {
    results.SQLite = await runBenchChild<QueueResult>('queue', ['sqlite', path.join(dir, 'jobs.sqlite')], 300_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pg = pgClusterAvailability();
  if (pg.ok) {
    const cluster = await startPgCluster();
    try {
      results.PostgreSQL = await runBenchChild<QueueResult>('queue', ['postgres', cluster.url], 300_000);
    } finally {
      await cluster.stop();
    }
  }
  const mongo = process.env.MONGODB_URL;
  if (mongo) results.MongoDB = await runBenchChild<QueueResult>('queue', ['mongodb', mongo], 300_000);
  report.details.queue = results;

  const postgres = results.PostgreSQL;
  for (const [name, r] of Object.entries(results)) {
    const label = `${name} backend`;
    if (name === 'SQLite' && postgres) {
      report.target('queue', `${label}: ${r.jobs.toLocaleString('en-US')} now jobs saved one by one and run`, r.jobsPerSecond, 'jobs/s', `≥ PostgreSQL (${postgres.jobsPerSecond})`, (v) => v >= postgres.jobsPerSecond, `saves alone ${r.savesPerSecond}/s`);
    } else {
      report.info('queue', `${label}: ${r.jobs.toLocaleString('en-US')} now jobs saved one by one and run`, r.jobsPerSecond, 'jobs/s', `saves alone ${r.savesPerSecond}/s${name === 'PostgreSQL' ? '; peer figure on a quiet machine: 477 jobs/s' : ''}`);
    }
    report.target('queue', `${label}: pickup of a lone now job, median`, r.pickupMs.p50, 'ms', '≤ 10 ms', (v) => v <= 10, `p90 ${r.pickupMs.p90} ms (call to now() → handler)`);
    report.target('queue', `${label}: pickup of a lone now job, max of 50`, r.pickupMs.max, 'ms', '≤ 200 ms', (v) => v <= 200);
  }
  if (!postgres) {
    report.skipped('queue', 'SQLite backend jobs/s ≥ PostgreSQL backend', '≥ PostgreSQL', `no PostgreSQL here (${pg.ok ? 'cluster failed' : pg.reason})`);
  }
  if (!mongo) report.skipped('queue', 'MongoDB backend', '', 'MONGODB_URL is not set');
}

// ---- Fan-out ----

interface FanoutResult {
  devices: number;
  status: string;
  finished: boolean;
  stalled: boolean;
  outcomes: Record<string, number>;
  issues: Record<string, number>;
  /** Runs that reached done. */
  done: number;
  runMs: number;
  drainMs: number;
  outboxPending: number;
  stepMs: number;
  concurrency: number;
  stuck: unknown;
  failedJobs: Record<string, number>;
}

async function benchFanout(report: Report): Promise<void> {
  const slack = await BenchService.start<{ apiUrl: string }>('fake-slack-server', ['1000']);
  try {
    const r = await runBenchChild<FanoutResult>('fanout', [slack.info.apiUrl, String(FANOUT_DEVICES), String(FANOUT_STEP_MS)], 600_000);
    const stats = await slack.call<SlackStats>('stats');
    report.details.fanout = { ...r, slack: stats };
    const posts = Object.entries(stats.posts).sort((a, b) => b[1] - a[1]);
    const maxUpdates = Math.max(0, ...Object.values(stats.updates));
    const n = r.devices.toLocaleString('en-US');
    const incomplete = r.finished ? '' : ' (until the run stopped)';
    report.target('fan-out', `${n}-device bulk run: messages posted per channel, most${incomplete}`, posts[0]?.[1] ?? 0, '', '≤ 10', (v) => v <= 10, posts.map(([c, k]) => `${c} ${k}`).join(', '));
    report.info('fan-out', `edits of the progress message per channel, most${incomplete}`, maxUpdates, '', Object.entries(stats.updates).map(([c, k]) => `${c} ${k}`).join(', '));
    report.target('fan-out', `429 answers from Slack${incomplete}`, stats.rateLimited, '', '0', (v) => v === 0, 'fake Slack: 1 message (post or edit) per second per channel');
    const failures = Object.entries(r.failedJobs ?? {}).map(([e, k]) => `${k}× ${e}`).join('; ');
    report.target(
      'fan-out',
      'time from approval until every run finished and the outbox drained',
      r.finished && r.outboxPending === 0 ? round(r.drainMs / 1000, 1) : null,
      's',
      'finishes',
      () => true,
      r.finished
        ? `simulate executor, ${r.stepMs} ms steps, ${r.concurrency} devices at once; runs done after ${round(r.runMs / 1000, 1)} s`
        : `did not finish within ${round(r.runMs / 1000)} s${r.stalled ? ' (no run moved for 30 s)' : ''}: ${r.done} of ${r.devices} runs done (${round((r.done / r.runMs) * 60_000, 1)} devices/min)${failures ? `; failed jobs: ${failures}` : ''}`,
    );
    const issues = Object.entries(r.issues ?? {}).sort((a, b) => b[1] - a[1]);
    if (issues.length) report.info('fan-out', 'runs with issues', Object.values(r.outcomes).length ? (r.outcomes.completed_with_issues ?? 0) : 0, '', issues.slice(0, 3).map(([text, k]) => `${k}× ${text}`).join('; '));
  } finally {
    await slack.stop();
  }
}

// ---- Main ----

async function main(): Promise<void> {
  const report = new Report();
  const startedAt = new Date();
  const info = machine();
  log(`Upgrade Desk benchmarks — ${startedAt.toISOString()}`);
  log(`${info.cpus} × ${info.cpuModel}, ${info.memoryGiB} GiB, ${info.os}, Node ${info.node}, load average ${info.loadAverageAtStart.join(' ')}`);
  const benches: Array<{ name: string; run: () => Promise<void>; figures: Array<{ figure: string; target: string }> }> = [
    {
      name: 'startup-ack',
      run: () => benchStartupAndAck(report, { clients: CLIENTS, perClient: PER_CLIENT }),
      figures: [
        { figure: 'start-up', target: '≤ 2,000 ms' },
        { figure: 'idle RSS', target: '≤ 150 MB' },
        { figure: 'ack p99 ratio bot / bare', target: '≤ 1.5' },
      ],
    },
    { name: 'bulk', run: () => benchBulk(report), figures: [{ figure: `${BULK_DEVICES} devices validated and scheduled`, target: '≤ 5 s, ≤ 300 MB' }] },
    { name: 'queue', run: () => benchQueue(report), figures: [{ figure: 'queue throughput and pickup', target: 'SQLite ≥ PostgreSQL, median ≤ 10 ms' }] },
    { name: 'fanout', run: () => benchFanout(report), figures: [{ figure: `${FANOUT_DEVICES}-device bulk run messages`, target: '≤ 10 per channel, no 429' }] },
  ];
  for (const bench of benches.filter((b) => wanted(b.name))) {
    const started = Date.now();
    log(`… ${bench.name}`);
    try {
      await bench.run();
    } catch (error) {
      report.failed(bench.name, bench.figures, error);
      log(`  ${bench.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    log(`  ${bench.name} took ${round((Date.now() - started) / 1000, 1)} s`);
  }
  const finishedAt = new Date();
  const result = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    machine: { ...info, loadAverageAtEnd: os.loadavg().map((n) => round(n)) },
    settings: { clients: CLIENTS, perClient: PER_CLIENT, bulkDevices: BULK_DEVICES, fanoutDevices: FANOUT_DEVICES, fanoutStepMs: FANOUT_STEP_MS, only: ONLY },
    figures: report.figures,
    problems: report.problems,
    details: report.details,
  };
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  const stamped = path.join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(stamped, json);
  writeFileSync(path.join(dir, 'latest.json'), json);

  log('');
  log(markdownTable(report.figures));
  log('');
  const failed = report.figures.filter((f) => f.pass === false);
  log(failed.length ? `FAIL: ${failed.length} of ${report.figures.filter((f) => f.pass !== null).length} targets missed.` : 'All targets met.');
  for (const problem of report.problems) log(`problem: ${problem.split('\n')[0]}`);
  log(`Results: ${path.relative(process.cwd(), stamped)} (and bench/results/latest.json); ${round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1)} s in all.`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
