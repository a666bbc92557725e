/**
 * Start-up, idle memory and ack latency, against the bot as users run it: `upgrade-desk start`
 * (bin/upgrade-desk.js, built by `npm run build`) in its own process on the SQLite defaults, with
 * Slack over HTTP pointed at the fake Slack Web API (its own process too). The peer is a bare Bolt
 * app that acknowledges at once (bare-bolt.ts), loaded the same way in the same run.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/fakes/free-port.js';
import { BenchService, ROOT, msSince, round, rssOfPid, sleep, summarize } from './common.js';
import type { Report, Summary } from './common.js';
import type { SlackStats } from './fake-slack-server.js';
import { clientAgents, runPhase } from './load.js';
import type { Command, LoadTarget, PhaseResult } from './load.js';

const SIGNING_SECRET = 'be9c1a5e0d2b4c6f8a7e3d1c0b9a8f7e';

export interface AckOptions {
  clients: number;
  perClient: number;
}

interface FakeSlackInfo {
  apiUrl: string;
  respondBase: string;
}

/** A running `upgrade-desk start`. */
interface CliBot {
  child: ChildProcess;
  url: string;
  /** From spawn until /readyz answered 200. */
  readyMs: number;
  /** What the bot logged as the duration of startBot (database, queue, adapters, listening), once known. */
  startBotMs: () => number | null;
  stderr: () => string;
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Starts the CLI on `dir` and waits until it is ready (the database and the queue answer). */
async function startCli(dir: string, env: NodeJS.ProcessEnv, port: number): Promise<CliBot> {
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/upgrade-desk.js'), 'start'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  let startBotMs: number | null = null;
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
    // The bot logs how long startBot took (after the modules were loaded) when it is up.
    const started = startBotMs === null ? /"ms":(\d+)[^\n]*"msg":"Upgrade Desk started"/.exec(tail) : null;
    if (started) startBotMs = Number(started[1]);
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`upgrade-desk start ended (${child.exitCode ?? child.signalCode}): ${tail}`);
    if ((await getStatus(`${url}/readyz`)) === 200) break;
    if (msSince(start) > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`upgrade-desk start was not ready within 60 s: ${tail}`);
    }
    await sleep(5);
  }
  const readyMs = msSince(start);
  return { child, url, readyMs, startBotMs: () => startBotMs, stderr: () => tail };
}

async function stopCli(bot: CliBot): Promise<void> {
  if (bot.child.exitCode !== null || bot.child.signalCode !== null) return;
  const exited = new Promise((resolve) => bot.child.once('exit', resolve));
  bot.child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (bot.child.exitCode === null && bot.child.signalCode === null) {
    bot.child.kill('SIGKILL');
    await exited;
  }
}

/** The demo records' people with Slack ids, and what each of them may ask for. */
const STATUS_USERS = ['U0JANE', 'U0BOB', 'U0GRETA', 'U0ALEX', 'U0PAT'];
const REQUESTS: Command[] = [
  { userId: 'U0BOB', text: 'request device=edge-01 version=7.1.0 when=window mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001' },
  { userId: 'U0JANE', text: 'request device=edge-01 version=7.1.0 when=window mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001' },
  { userId: 'U0GRETA', text: 'request device=gx-tenant-1 version=8.1.0 when=window mac=00:1A:2B:3C:5E:01 ip=198.51.100.20 serial=SN-2001' },
];
const COMMANDS: Record<'status' | 'request', (client: number) => Command> = {
  status: (client) => ({ userId: STATUS_USERS[client % STATUS_USERS.length] as string, text: 'status' }),
  request: (client) => REQUESTS[client % REQUESTS.length] as Command,
};

interface AckPhase {
  ack: Summary;
  /** Measured requests without a 200 (status or error → count). */
  failures: Record<string, number>;
  /** The same for the warm-up round (a keep-alive connection the server closed while idle fails once). */
  warmUpFailures: Record<string, number>;
  requestsPerSecond: number;
  /** Until the answer reached the response URL (the bot only; ms-resolution clock). */
  reply?: Summary & { missing: number; busy: number };
}

/** Runs everything in this file; adds the start-up, idle memory and ack figures to `report`. */
export async function benchStartupAndAck(report: Report, options: AckOptions): Promise<void> {
  const slack = await BenchService.start<FakeSlackInfo>('fake-slack-server');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-bench-ack-'));
  let bot: CliBot | null = null;
  let bare: BenchService<{ url: string }> | null = null;
  try {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: dir,
      PORT: String(port),
      SMTP_INTAKE_PORT: '0',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.info.apiUrl,
      SLACK_OPS_CHANNEL: 'C0OPS',
    };

    // ---- Start-up and idle memory ----
    const first = await startCli(dir, env, port);
    await stopCli(first);
    bot = await startCli(dir, env, port);
    await sleep(1000);
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      const rss = rssOfPid(bot.child.pid ?? -1);
      if (rss !== null) samples.push(rss);
      await sleep(250);
    }
    const idleRss = samples.length ? Math.max(...samples) : null;
    report.details.startup = {
      firstStartMs: round(first.readyMs),
      firstStartBotMs: first.startBotMs(),
      restartMs: round(bot.readyMs),
      restartStartBotMs: bot.startBotMs(),
      idleRssSamplesMb: samples,
    };
    const split = (b: CliBot) => {
      const inBot = b.startBotMs();
      return inBot === null ? 'spawn → /readyz 200' : `spawn → /readyz 200; startBot ${inBot} ms, the rest is loading the modules`;
    };
    report.target('start-up', 'start-up, empty database (migrations, demo records)', round(first.readyMs), 'ms', '≤ 2,000 ms', (v) => v <= 2000, split(first));
    report.target('start-up', 'start-up, existing database', round(bot.readyMs), 'ms', '≤ 2,000 ms', (v) => v <= 2000, split(bot));
    report.target('start-up', 'idle RSS (Slack on, SQLite, queue)', idleRss, 'MB', '≤ 150 MB', (v) => v <= 150, idleRss === null ? 'no /proc here' : 'max of 20 samples over 5 s idle');

    // ---- Ack latency ----
    bare = await BenchService.start<{ url: string }>('bare-bolt', [SIGNING_SECRET]);
    const targets: Record<'bare' | 'bot', LoadTarget> = {
      bare: { url: bare.info.url, signingSecret: SIGNING_SECRET },
      bot: { url: `${bot.url}/slack/events`, signingSecret: SIGNING_SECRET },
    };
    const agents = { bare: clientAgents(options.clients), bot: clientAgents(options.clients) };
    const results: Record<string, AckPhase> = {};
    let botSent = 0;
    for (const command of ['status', 'request'] as const) {
      for (const who of ['bare', 'bot'] as const) {
        const make = (client: number) => COMMANDS[command](client);
        // One request per client first: connections open, nothing counted.
        const warm = await runPhase(targets[who], agents[who], 1, make, slack.info.respondBase, `${who}-${command}-w`);
        const measured: PhaseResult = await runPhase(targets[who], agents[who], options.perClient, make, slack.info.respondBase, `${who}-${command}-m`);
        const phase: AckPhase = {
          ack: summarize(measured.latenciesMs),
          failures: measured.failures,
          warmUpFailures: warm.failures,
          requestsPerSecond: round((measured.latenciesMs.length / measured.wallMs) * 1000, 1),
        };
        if (who === 'bot') {
          // Wait until the bot has answered every command on its response URL (or no answer came
          // for 5 s: some are lost, see the figure), so that the phases do not overlap.
          botSent += warm.sent.length + measured.sent.length - warm.busy.length - measured.busy.length;
          let answered = -1;
          let lastAnswerAt = process.hrtime.bigint();
          for (;;) {
            const now = (await slack.call<SlackStats>('stats')).responses;
            if (now >= botSent || msSince(lastAnswerAt) > 5000) break;
            if (now !== answered) {
              answered = now;
              lastAnswerAt = process.hrtime.bigint();
            }
            await sleep(200);
          }
          const arrived = new Map(await slack.call<Array<[string, number]>>('responseTimes', `bot-${command}-m`));
          const replies = measured.sent.flatMap(([id, at]) => (arrived.has(id) ? [(arrived.get(id) as number) - at] : []));
          phase.reply = { ...summarize(replies), missing: measured.sent.length - measured.busy.length - replies.length, busy: measured.busy.length };
          await sleep(1000);
        }
        results[`${who}-${command}`] = phase;
      }
    }
    for (const list of Object.values(agents)) for (const agent of list) agent.destroy();
    report.details.ack = { clients: options.clients, perClient: options.perClient, phases: results, botStderrTail: bot.stderr() };

    for (const command of ['status', 'request'] as const) {
      const b = results[`bare-${command}`] as AckPhase;
      const o = results[`bot-${command}`] as AckPhase;
      const failed = Object.values(o.failures).reduce((s, n) => s + n, 0) + Object.values(b.failures).reduce((s, n) => s + n, 0);
      const note = failed ? `${failed} requests failed: ${JSON.stringify({ bot: o.failures, bare: b.failures })}` : undefined;
      const label = `/upgrade ${command}`;
      report.info('ack', `${label}: bare Bolt p50 / p99`, b.ack.p50, 'ms', `p99 ${b.ack.p99} ms, ${b.requestsPerSecond} req/s`);
      report.info('ack', `${label}: Upgrade Desk p50`, o.ack.p50, 'ms', `${o.requestsPerSecond} req/s`);
      report.target('ack', `${label}: Upgrade Desk p99`, o.ack.p99, 'ms', '< 3,000 ms (Slack)', (v) => v < 3000, note);
      report.target('ack', `${label}: p99 ratio bot / bare`, b.ack.p99 > 0 ? round(o.ack.p99 / b.ack.p99) : null, '×', '≤ 1.5', (v) => v <= 1.5, `p50 ratio ${round(o.ack.p50 / b.ack.p50)}×`);
      if (o.reply) {
        const extra = `${o.reply.missing ? `, ${o.reply.missing} missing` : ''}${o.reply.busy ? `, ${o.reply.busy} answered "busy" in the ack` : ''}`;
        report.info('ack', `${label}: answer on response URL p50 / p99`, o.reply.p50, 'ms', `p99 ${o.reply.p99} ms${extra}`);
        report.target('ack', `${label}: answers lost`, o.reply.missing, '', '0', (v) => v === 0, extra ? extra.slice(2) : undefined);
      }
    }
  } finally {
    await bare?.stop();
    if (bot) await stopCli(bot);
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
