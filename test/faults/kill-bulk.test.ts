/**
 * Fault: SIGKILL at 20 random points of a bulk run. The built bot runs a bulk upgrade of eight
 * devices and a single upgrade (simulate executor) and is killed with SIGKILL twenty times, each
 * time after a random delay from its start (start-up, sweep, steps, progress edits, deliveries, the
 * post-upgrade checks, the feedback), and started again on the same SQLite file. Then:
 *
 * - every request completes, and every run went through each state of [004] exactly once;
 * - every notice stored in the outbox was delivered (none pending, none given up) and printed at
 *   least once: none lost;
 * - no notice was printed twice, except the documented at-least-once case: a process killed after
 *   printing a notice and before recording it (the row shows no delivery after that kill);
 * - every e-mail notice is one `.eml` file (the spool replaces a re-sent message);
 * - each progress message was last printed with its final revision.
 *
 * The delays come from a seeded generator; the seed is printed, and FAULT_SEED=<seed> replays a run.
 * Bounded: twenty lives of at most 2 s after start-up (itself bounded), bounded waits: one to three
 * minutes, depending mostly on how fast the bot starts on the machine.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { toPlainText } from '../../src/core/reply.js';
import type { Reply } from '../../src/core/reply.js';
import { runCli } from '../fakes/run-cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/upgrade-desk.js');
const KILLS = 20;
const STATES = ['prepare_split', 'split', 'prepare_merge', 'merge', 'commit', 'finish', 'done'];
const EXTRA_DEVICES = ['edge-03', 'edge-04', 'edge-05', 'edge-06'];
const BULK_DEVICES = ['edge-01', 'edge-02', ...EXTRA_DEVICES, 'core-db', 'core-app'];

const SEED = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a small seeded generator of numbers in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let dir: string;
const children: ChildProcessWithoutNullStreams[] = [];

function env(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    DATA_DIR: path.join(dir, 'data'),
    LOG_LEVEL: 'warn',
    PORT: '0',
    SMTP_INTAKE_PORT: '0',
    EXECUTOR: 'simulate',
    SIMULATE_STEP_MS: '800',
    STATUS_CHECK_TIMEOUT_MS: '200',
    STATUS_CHECK_RETRIES: '0',
    // A dead process's jobs and notices are taken over 3 s after its last renewal; a delivery may take 1.5 s (half of it).
    QUEUE_LOCK_LIFETIME_MS: '3000',
  };
}

interface Life {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  startedAt: number;
}

function startBot(): Life {
  const child = spawn(process.execPath, [BIN, 'start'], { cwd: dir, env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, out: () => stdout, err: () => stderr, startedAt: Date.now() };
}

const READY = 'Upgrade Desk is running';

function run(args: string[], input = '', timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args, { bin: BIN, cwd: dir, env: env(), input, timeoutMs, onSpawn: (child) => children.push(child) });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    if (await probe()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what} (seed ${SEED})`);
}

function kill(child: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('close', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Runs `read` on a read-only connection to the bot's database. */
function query<T>(read: (db: Database.Database) => T): T {
  const db = new Database(path.join(dir, 'data', 'upgrade-desk.sqlite'), { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

interface Row {
  id: number;
  destination: string;
  kind: string;
  requestId: number;
  status: string;
  revision: number;
  externalId: string | null;
  payload: string;
}

const rowsNow = (): Row[] =>
  query((db) => db.prepare(`SELECT id, destination, kind, "requestId", status, revision, "externalId", payload FROM outbox_messages ORDER BY id`).all() as Row[]);

const ref = (requestId: number): string => `UPG-${String(requestId).padStart(6, '0')}`;

/** Kinds edited in place: their stored text is the latest revision, not the one first printed. */
const EDITED = ['consent_needed', 'progress'];

/** One printed notice: the first delivery of a row (edits are marked "(updated, revision n)"). */
interface Print {
  life: number;
  /** The row, when the line names it: e-mail notes name the spooled file, which carries the row id. */
  rowId: number | null;
  /** Header and first line of the text, for console blocks. */
  identity: string;
}

/** What one process printed: first deliveries of notices and, per progress destination, the revisions shown. */
function printsOf(stdout: string, life: number): { prints: Print[]; progress: Array<{ destination: string; ref: string; revision: number }> } {
  const lines = stdout.split('\n');
  const prints: Print[] = [];
  const progress: Array<{ destination: string; ref: string; revision: number }> = [];
  for (const [i, line] of lines.entries()) {
    if (!line.startsWith('── to ')) continue;
    const parts = line.split(' · ');
    const destination = parts[0]!.slice('── to '.length);
    const revision = Number(/\((?:updated, )?revision (\d+)\)/.exec(line)?.[1] ?? 0);
    if (parts[1] === 'progress') {
      progress.push({ destination, ref: parts[2] ?? '', revision });
      continue;
    }
    if (line.includes('(updated, revision')) continue;
    const spooled = /upg-\d+\.(\d+)\.\d+@/.exec(line);
    if (spooled) {
      prints.push({ life, rowId: Number(spooled[1]), identity: line });
    } else if (/^(email|person):/.test(destination)) {
      // An e-mail note without a file: a decided consent card, not mailed (and no first delivery of anything).
      continue;
    } else {
      const header = parts.slice(0, 3).join(' · ');
      prints.push({ life, rowId: null, identity: EDITED.includes(parts[1] ?? '') ? header : `${header}\n${lines[i + 1] ?? ''}` });
    }
  }
  return { prints, progress };
}

/** The identity a console block of `row` has: its header and (unless edited since) the first line of its text. */
function identityOf(row: Row): string {
  const header = `── to ${row.destination} · ${row.kind} · ${ref(row.requestId)}`;
  if (EDITED.includes(row.kind)) return header;
  return `${header}\n${toPlainText(JSON.parse(row.payload) as Reply).split('\n')[0]}`;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'upgrade-desk-kill-bulk-'));
  if (!existsSync(path.join(ROOT, 'dist/src/cli.js'))) throw new Error('run `npm run build` first (npm test does)');
});

afterAll(async () => {
  for (const c of children) await kill(c);
  rmSync(dir, { recursive: true, force: true });
});

describe('SIGKILL at random points of a bulk run', () => {
  it(`completes every request and delivers every notice once across ${KILLS} kills and restarts`, async () => {
    const random = seeded(SEED);
    console.info(`kill-bulk: seed ${SEED} (FAULT_SEED=${SEED} replays these kill points)`);
    const lives: Life[] = [];
    let bot = startBot();
    lives.push(bot);
    await until('the bot to start', () => bot.out().includes(READY), 30_000);

    // Four more Acme devices, so the bulk covers eight (two of them a load-balanced group).
    const records = path.join(dir, 'more-devices.json');
    writeFileSync(
      records,
      JSON.stringify({
        devices: EXTRA_DEVICES.map((name, i) => ({
          name,
          customer: 'Acme Corp',
          product: 'SysMaster',
          serial: `SN-19${String(i).padStart(2, '0')}`,
          mac: `00:1A:2B:3C:4E:${String(10 + i)}`,
          ip: `203.0.113.${50 + i}`,
          version: '7.1.0',
          status: 'configured',
          replication: false,
          loadBalancerGroup: null,
          databasePrimary: false,
          statusUrl: `http://203.0.113.${50 + i}:7751/status`,
        })),
      }),
    );
    const imported = await run(['import', records]);
    expect({ code: imported.code, stderr: imported.stderr }).toMatchObject({ code: 0 });

    const bulk = await run(['console', '--as', 'jane@acme.example'], `/upgrade bulk devices=${BULK_DEVICES.join(',')} version=7.3.0 when=now\n`);
    const single = await run(
      ['console', '--as', 'greta@globex.example'],
      '/upgrade request device=gx-tenant-1 version=8.1.0 when=now mac=00:1A:2B:3C:5E:01 ip=198.51.100.20 serial=SN-2001\n',
    );
    const refs = [bulk.stdout, single.stdout].map((out) => /UPG-\d{6}/.exec(out)?.[0]);
    expect(refs.every(Boolean)).toBe(true);
    // The consent cards go out before the decision, so each is first printed as itself.
    await until('the consent cards to be delivered', () => rowsNow().every((r) => r.status === 'sent'), 30_000);
    // The single request first, the bulk last: the kills start right after the bulk is approved.
    expect((await run(['console', '--as', 'greta@globex.example'], `/upgrade approve ${refs[1]}\n`)).stdout).toMatch(/approved/);
    expect((await run(['console', '--as', 'jane@acme.example'], `/upgrade approve ${refs[0]}\n`)).stdout).toMatch(/approved/);
    const approvedAt = Date.now();

    // Twenty kills at random points, a restart after each: one in five while the bot starts (the
    // migrations, the sweep, the first claims), the others a random while after it is up. After a
    // kill, note which rows had not been recorded as delivered: only those may be printed again.
    const unrecordedAfterKill: Array<Set<number>> = [];
    const killedAt: Array<{ afterMs: number; states: string }> = [];
    // How long the last restart took to be up: kills during a start-up fall anywhere within it.
    let startupMs = 1500;
    for (let k = 0; k < KILLS; k++) {
      let afterMs: number;
      if (k > 0 && random() < 0.2) {
        afterMs = Math.round(100 + random() * startupMs);
        await sleep(Math.max(0, bot.startedAt + afterMs - Date.now()));
      } else {
        await until('the bot to start', () => bot.out().includes(READY), 30_000);
        if (k > 0) startupMs = Date.now() - bot.startedAt;
        // The first bot has been up since before the approval: its life counts from there.
        const ready = Date.now() - (k === 0 ? approvedAt : bot.startedAt);
        const wait = Math.round(200 + random() * 1800);
        await sleep(wait);
        afterMs = ready + wait;
      }
      await kill(bot.child);
      const rows = rowsNow();
      unrecordedAfterKill[lives.length - 1] = new Set(rows.filter((r) => r.externalId === null).map((r) => r.id));
      const states = query((db) => db.prepare(`SELECT state FROM runs ORDER BY id`).all() as Array<{ state: string }>).map((r) => r.state);
      const up = bot.out().includes(READY) ? 'up' : 'starting';
      killedAt.push({ afterMs, states: `${up}; runs ${states.join(',') || 'none yet'}; ${rows.filter((r) => r.status !== 'sent').length} unsent` });
      bot = startBot();
      lives.push(bot);
    }

    const terminal = (): Array<{ id: number; status: string }> =>
      query((db) => db.prepare(`SELECT id, status FROM upgrade_requests ORDER BY id`).all() as Array<{ id: number; status: string }>);
    await until('every request to finish', () => terminal().every((r) => ['completed', 'completed_with_issues', 'failed', 'aborted'].includes(r.status)), 60_000);
    await until('the outbox to drain', () => rowsNow().every((r) => r.status !== 'pending'), 30_000);
    await kill(bot.child);
    console.info(`kill-bulk: seed ${SEED}; kills (ms after spawn, or after the approval for the first: bot up or starting; run states; unsent notices):\n${killedAt.map((k, i) => `  ${i + 1}. ${k.afterMs} ms: ${k.states}`).join('\n')}`);

    // Every request completed; every run passed each state once, in order.
    expect({ seed: SEED, requests: terminal().map((r) => r.status) }).toEqual({ seed: SEED, requests: [expect.stringMatching(/^completed/), expect.stringMatching(/^completed/)] });
    const runs = query((db) => db.prepare(`SELECT id, state FROM runs ORDER BY id`).all() as Array<{ id: number; state: string }>);
    expect(runs).toHaveLength(BULK_DEVICES.length + 1);
    for (const r of runs) {
      const steps = query((db) => db.prepare(`SELECT "toState" FROM run_events WHERE "runId" = ? AND event = 'next' ORDER BY id`).all(r.id) as Array<{ toState: string }>);
      expect({ seed: SEED, run: r.id, state: r.state, steps: steps.map((s) => s.toState) }).toEqual({ seed: SEED, run: r.id, state: 'done', steps: STATES });
    }

    // Every notice delivered, none given up.
    const rows = rowsNow();
    expect({ seed: SEED, undelivered: rows.filter((r) => r.status !== 'sent').map((r) => `${r.id} ${r.destination} ${r.kind} ${r.status}`) }).toEqual({ seed: SEED, undelivered: [] });

    // Printed once each: every row's first delivery, across all the processes.
    const perLife = lives.map((life, i) => printsOf(life.out(), i));
    const firsts = rows.filter((r) => r.kind !== 'progress');
    const byIdentity = new Map<string, Row>();
    for (const row of firsts) {
      if (/^(email|person):/.test(row.destination)) continue;
      const identity = identityOf(row);
      expect(byIdentity.has(identity)).toBe(false);
      byIdentity.set(identity, row);
    }
    const printed = new Map<number, number[]>();
    const unknown: string[] = [];
    for (const print of perLife.flatMap((l) => l.prints)) {
      const id = print.rowId ?? byIdentity.get(print.identity)?.id;
      if (id === undefined) unknown.push(print.identity);
      else printed.set(id, [...(printed.get(id) ?? []), print.life]);
    }
    expect({ seed: SEED, unknown }).toEqual({ seed: SEED, unknown: [] });
    // Decided consent cards to e-mail destinations are never mailed (nothing left to do): no print expected.
    const expected = firsts.filter((r) => !(/^(email|person):/.test(r.destination) && r.externalId === null));
    const lost = expected.filter((r) => !printed.has(r.id)).map((r) => `${r.id} ${r.destination} ${r.kind} ${ref(r.requestId)}`);
    expect({ seed: SEED, lost }).toEqual({ seed: SEED, lost: [] });
    const unexplained: string[] = [];
    let repeats = 0;
    for (const row of expected) {
      const livesPrinting = printed.get(row.id) ?? [];
      // A print is the recorded one unless the process was killed before recording it.
      const unrecorded = livesPrinting.filter((life) => unrecordedAfterKill[life]?.has(row.id));
      repeats += livesPrinting.length - 1;
      if (livesPrinting.length - unrecorded.length !== 1) {
        // What the processes logged about that row (retries, timeouts), to tell why.
        const logged = lives.flatMap((l, i) => l.err().split('\n').filter((line) => line.includes(`"outboxId":${row.id},`)).map((line) => `process ${i}: ${line.slice(0, 400)}`));
        unexplained.push(`${row.id} ${row.destination} ${row.kind} ${ref(row.requestId)}: printed by processes ${livesPrinting.join(', ')}${logged.length ? `\n${logged.join('\n')}` : ''}`);
      }
    }
    expect({ seed: SEED, duplicated: unexplained }).toEqual({ seed: SEED, duplicated: [] });
    expect(repeats).toBeLessThanOrEqual(KILLS);

    // E-mail: one spooled file per mailed row, even when a kill made the sink write it again.
    const mailed = rows.filter((r) => /^(email|person):/.test(r.destination) && r.externalId !== null);
    const files = readdirSync(path.join(dir, 'data', 'outbox')).filter((f) => f.endsWith('.eml'));
    const fileRows = files.map((f) => Number(/upg-\d+\.(\d+)\.\d+@/.exec(f)?.[1]));
    expect({ seed: SEED, files: fileRows.sort((a, b) => a - b) }).toEqual({ seed: SEED, files: mailed.map((r) => r.id).sort((a, b) => a - b) });

    // Progress: each destination's message was last shown at its final revision.
    for (const row of rows.filter((r) => r.kind === 'progress' && !/^(email|person):/.test(r.destination))) {
      const shown = perLife.flatMap((l) => l.progress).filter((p) => p.destination === row.destination && p.ref === ref(row.requestId)).map((p) => p.revision);
      expect({ seed: SEED, destination: row.destination, ref: ref(row.requestId), last: Math.max(...shown) }).toEqual({
        seed: SEED,
        destination: row.destination,
        ref: ref(row.requestId),
        last: row.revision,
      });
    }
  }, 300_000);
});
