/**
 * Fault: SQLite busy under concurrent writers. One SQLite file is written at once by several
 * connections: the store and the queue's own connection inside one bot, several processes sharing
 * the file (the bot, `upgrade-desk console`, a second bot). SQLite lets one writer in at a time; a
 * transaction that read first and then wants to write while another connection has committed
 * meanwhile is refused at once (SQLITE_BUSY / SQLITE_BUSY_SNAPSHOT; the busy timeout cannot help
 * there). These tests prove that no such refusal reaches a user or a job and that no write is
 * lost: every transaction commits, every read-modify-write counts once.
 *
 * The process tests run the built code (`npm run build`, as npm test does first).
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config.js';
import { dispatch } from '../../src/core/dispatch.js';
import { toPlainText } from '../../src/core/reply.js';
import { startBot } from '../../src/main.js';
import { SimulateExecutor } from '../../src/infra/executors/simulate-executor.js';
import { HttpStatusChecker } from '../../src/infra/status-check.js';
import { openTypeOrmStore } from '../../src/infra/typeorm-store.js';
import { MemoryLogger } from '../fakes/memory-logger.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/upgrade-desk.js');
const DIST_STORE = path.join(ROOT, 'dist/src/infra/typeorm-store.js');
const TERMINAL = ['completed', 'completed_with_issues', 'failed', 'aborted'];
const BULK = '/upgrade bulk devices=edge-01,edge-02,core-db,core-app version=7.3.0 when=now';

let dir: string;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-busy-'));
  if (!existsSync(DIST_STORE)) throw new Error('run `npm run build` first (npm test does)');
});

afterAll(async () => {
  for (const child of children) await kill(child);
  rmSync(dir, { recursive: true, force: true });
});

function kill(child: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('close', () => resolve());
    child.kill('SIGKILL');
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) break;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Runs `node args…` to its end (at most `timeoutMs`), feeding `input`. */
function runNode(args: string[], env: Record<string, string>, input = '', timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} timed out\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/**
 * A writer process: `count` store transactions that each read first (a request, the counter),
 * let other work run, then write an audit entry, an outbox row and the counter plus one.
 */
const WRITER = `
import { openTypeOrmStore } from ${JSON.stringify(pathToFileURL(DIST_STORE).href)};
const [file, name, count] = process.argv.slice(2);
const store = await openTypeOrmStore({ sqlitePath: file, migrate: false });
const errors = [];
for (let i = 0; i < Number(count); i++) {
  try {
    await store.transaction(async (tx) => {
      await tx.requests.byId(1);
      const [{ n }] = await store.dataSource.query('SELECT n FROM fault_counter WHERE id = 1');
      await new Promise((resolve) => setTimeout(resolve, i % 3));
      await tx.audit.record({ at: new Date(), actor: name, action: 'fault_write', entity: 'test', entityId: name + '-' + i, data: {}, invocationId: null });
      await tx.outbox.enqueue({ dedupeKey: name + '-' + i, requestId: null, kind: 'scheduled', destination: 'log:' + name, payload: { title: 'x', blocks: [] }, createdAt: new Date() });
      await store.dataSource.query('UPDATE fault_counter SET n = ? WHERE id = 1', [n + 1]);
    });
  } catch (e) {
    errors.push(String(e && e.message || e));
  }
}
await store.close();
process.stdout.write(JSON.stringify({ name, errors }));
`;

describe('SQLite busy: several processes write one file', () => {
  it('commits every transaction of three processes writing at once, and loses no read-modify-write', async () => {
    const file = path.join(dir, 'writers.sqlite');
    const store = await openTypeOrmStore({ sqlitePath: file });
    await store.dataSource.query('CREATE TABLE fault_counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
    await store.dataSource.query('INSERT INTO fault_counter (id, n) VALUES (1, 0)');
    await store.close();
    const script = path.join(dir, 'writer.mjs');
    writeFileSync(script, WRITER);
    const perProcess = 150;
    const names = ['w1', 'w2', 'w3'];
    const results = await Promise.all(names.map((name) => runNode([script, file, name, String(perProcess)], {}, '', 60_000)));
    const reports = results.map((r) => {
      if (r.code !== 0) throw new Error(`writer exited ${r.code}: ${r.stderr.slice(-2000)}`);
      return JSON.parse(r.stdout) as { name: string; errors: string[] };
    });
    // No transaction failed, in any process…
    expect(reports.map((r) => ({ name: r.name, errors: r.errors.slice(0, 3), failed: r.errors.length }))).toEqual(
      names.map((name) => ({ name, errors: [], failed: 0 })),
    );
    // …and every write is there, once: the counter saw every increment.
    const db = new Database(file, { readonly: true });
    try {
      const audit = db.prepare(`SELECT COUNT(*) AS n, COUNT(DISTINCT "entityId") AS d FROM audit_events WHERE action = 'fault_write'`).get() as { n: number; d: number };
      const outbox = db.prepare(`SELECT COUNT(*) AS n FROM outbox_messages`).get() as { n: number };
      const counter = db.prepare('SELECT n FROM fault_counter WHERE id = 1').get() as { n: number };
      expect({ audit: audit.n, distinct: audit.d, outbox: outbox.n, counter: counter.n }).toEqual({
        audit: names.length * perProcess,
        distinct: names.length * perProcess,
        outbox: names.length * perProcess,
        counter: names.length * perProcess,
      });
    } finally {
      db.close();
    }
  }, 90_000);

  it('answers every command typed into three consoles while the bot runs a bulk upgrade on the same file', async () => {
    const data = path.join(dir, 'bot-data');
    const env = {
      DATA_DIR: data,
      LOG_LEVEL: 'error',
      PORT: '0',
      SMTP_INTAKE_PORT: '0',
      EXECUTOR: 'simulate',
      SIMULATE_STEP_MS: '400',
      STATUS_CHECK_TIMEOUT_MS: '200',
      STATUS_CHECK_RETRIES: '0',
    };
    const bot = spawn(process.execPath, [BIN, 'start'], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(bot);
    let botOut = '';
    let botErr = '';
    bot.stdout.on('data', (d: Buffer) => (botOut += d.toString()));
    bot.stderr.on('data', (d: Buffer) => (botErr += d.toString()));
    await until('the bot to start', () => botOut.includes('Upgrade Desk is running'), 30_000);
    const filed = await runNode([BIN, 'console', '--as', 'jane@acme.example'], env, `${BULK}\n`);
    const ref = /UPG-\d{6}/.exec(filed.stdout)?.[0];
    expect(ref).toBeDefined();
    expect((await runNode([BIN, 'console', '--as', 'jane@acme.example'], env, `/upgrade approve ${ref}\n`)).stdout).toMatch(/approved/);

    // While the bot runs the four devices (steps, progress edits, deliveries), three consoles
    // report problems at the same time, each a line after the other.
    const perConsole = 15;
    const consoles = ['a', 'b', 'c'].map((c) =>
      runNode(
        [BIN, 'console', '--as', 'jane@acme.example'],
        env,
        Array.from({ length: perConsole }, (_, i) => `/upgrade problem ${ref} console ${c} line ${i}\n`).join(''),
        60_000,
      ),
    );
    const outputs = await Promise.all(consoles);
    for (const out of outputs) {
      expect(out.stdout).not.toMatch(/went wrong|internal_error|locked|SQLITE_BUSY/i);
      expect(out.stdout.match(/Problem #\d+ reported on UPG-/g)?.length).toBe(perConsole);
    }
    const db = path.join(data, 'upgrade-desk.sqlite');
    const status = await until(
      'the bulk run to finish',
      () => {
        const conn = new Database(db, { readonly: true });
        try {
          const row = conn.prepare('SELECT status FROM upgrade_requests WHERE id = ?').get(Number(ref!.slice(4))) as { status: string };
          return TERMINAL.includes(row.status) ? row.status : null;
        } finally {
          conn.close();
        }
      },
      60_000,
    );
    await kill(bot);
    expect(['completed', 'completed_with_issues']).toContain(status);
    const conn = new Database(db, { readonly: true });
    try {
      const reports = conn.prepare('SELECT text FROM problem_reports ORDER BY id').all() as Array<{ text: string }>;
      expect(reports.map((r) => r.text).sort()).toEqual(
        ['a', 'b', 'c'].flatMap((c) => Array.from({ length: perConsole }, (_, i) => `console ${c} line ${i}`)).sort(),
      );
      const notices = conn.prepare(`SELECT COUNT(*) AS n FROM outbox_messages WHERE kind = 'problem_reported'`).get() as { n: number };
      expect(notices.n).toBe(3 * perConsole);
    } finally {
      conn.close();
    }
    // The bot's jobs and deliveries never met a busy database either.
    expect(botErr).not.toMatch(/database is locked|SQLITE_BUSY/);
  }, 150_000);
});

describe('SQLite busy: the store and the queue inside one bot', () => {
  it('answers every command while the bot’s own queue writes the same file', async () => {
    const data = mkdtempSync(path.join(dir, 'in-process-'));
    const log = new MemoryLogger();
    const config = loadConfig({ DATA_DIR: data, PORT: '0', SMTP_INTAKE_PORT: '0', LOG_LEVEL: 'silent', EXECUTOR: 'simulate' });
    const bot = await startBot(config, {
      output: new Writable({ write: (_c, _e, cb) => cb() }),
      executor: new SimulateExecutor({ stepMs: 20 }),
      statusChecker: new HttpStatusChecker({ timeoutMs: 100, retries: 0 }),
      queueOptions: { lockLifetimeMs: 3000, processEveryMs: 200 },
      outboxPollMs: 20,
    });
    // Post-upgrade checks answered at once (nothing listens there), not left hanging on an unroutable address.
    await bot.app.dataSource.query(`UPDATE devices SET "statusUrl" = 'http://127.0.0.1:9/status'`);
    // Errors the bot logs (failed jobs, deliveries) are collected next to the answers.
    const logError = bot.app.log.error.bind(bot.app.log);
    bot.app.log.error = ((obj: object, msg?: string) => {
      log.error(obj, msg);
      logError(obj, msg);
    }) as typeof bot.app.log.error;
    try {
      let seq = 0;
      const run = async (text: string) =>
        toPlainText(await dispatch(bot.app.registry, bot.app.deps, { id: `busy-${++seq}`, via: 'console', identity: { kind: 'email', address: 'jane@acme.example' }, text }));
      const ref = /UPG-\d{6}/.exec(await run(BULK))![0];
      expect(await run(`/upgrade approve ${ref}`)).toMatch(/approved/);
      const answers: string[] = [];
      const count = 150;
      for (let i = 0; i < count; i++) answers.push(await run(`/upgrade problem ${ref} in-process ${i}`));
      expect(answers.filter((a) => !/^Problem #\d+ reported/.test(a))).toEqual([]);
      const status = await until('the bulk run to finish', async () => {
        const r = await bot.app.deps.store.requests.byRef(ref);
        return r && TERMINAL.includes(r.status) ? r.status : null;
      }, 60_000);
      expect(['completed', 'completed_with_issues']).toContain(status);
      expect((await bot.app.deps.store.problems.forRequest(Number(ref.slice(4)))).length).toBe(count);
      const busy = log.entries.filter((e) => /database is locked|SQLITE_BUSY/.test(JSON.stringify(e.obj, (_k, v: unknown) => (v instanceof Error ? `${v.message} ${(v as { code?: string }).code ?? ''}` : v))));
      expect(busy.map((e) => e.msg)).toEqual([]);
    } finally {
      await bot.stop();
    }
  }, 120_000);
});
