/**
 * Crash safety: the built bot is killed with SIGKILL twice during a run (simulate executor) and
 * started again on the same SQLite file. The run must finish, and every notice stored in the
 * outbox must have been printed exactly once across all three processes (progress edits aside);
 * the demo command tells the whole story. Real processes, bounded waits.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli } from '../fakes/run-cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/upgrade-desk.js');

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
    SIMULATE_STEP_MS: '400',
    SIMULATE_FAIL: 'merge:1',
    STATUS_CHECK_TIMEOUT_MS: '200',
    STATUS_CHECK_RETRIES: '0',
    QUEUE_LOCK_LIFETIME_MS: '1500',
  };
}

/** A started bot whose stdout is collected. */
function startBot(): { child: ChildProcessWithoutNullStreams; out: () => string } {
  const child = spawn(process.execPath, [BIN, 'start'], { cwd: dir, env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', () => {});
  return { child, out: () => stdout };
}

function run(args: string[], input = '', timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args, { bin: BIN, cwd: dir, env: env(), input, timeoutMs });
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function kill(child: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('close', () => resolve());
    child.kill('SIGKILL');
  });
}

/** "── to DEST · KIND · REF" header lines of notices as first posted: in-place edits (progress, decided consent cards) left out. */
function headers(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('── to ') && !l.includes('(updated, revision'))
    .map((l) => l.split(' · ').slice(0, 3).join(' · '))
    .filter((l) => !l.includes(' · progress'));
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'upgrade-desk-crash-'));
  if (!existsSync(path.join(ROOT, 'dist/src/cli.js'))) throw new Error('run `npm run build` first (npm test does)');
});

afterAll(async () => {
  for (const c of children) await kill(c);
  rmSync(dir, { recursive: true, force: true });
});

describe('crash safety', () => {
  it('finishes a run killed twice with SIGKILL, with every notice printed exactly once', async () => {
    const outputs: Array<() => string> = [];
    let bot = startBot();
    outputs.push(bot.out);
    await until('the bot to start', () => bot.out().includes('Upgrade Desk is running'), 20_000);
    const filed = await run(
      ['console', '--as', 'bob@acme.example'],
      '/upgrade request device=edge-01 version=7.1.0 when=now mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001\n',
    );
    const ref = /UPG-\d{6}/.exec(filed.stdout)?.[0];
    expect(ref).toBeDefined();
    expect((await run(['console', '--as', 'jane@acme.example'], `/upgrade approve ${ref}\n`)).stdout).toMatch(/approved/);

    // Kill once the run reached split, restart; kill again once it reached merge, restart. The
    // state is read from the database: progress edits coalesce, so stdout may skip a state.
    const db = path.join(dir, 'data', 'upgrade-desk.sqlite');
    const order = ['idle', 'prepare_split', 'split', 'prepare_merge', 'merge', 'commit', 'finish', 'done'];
    const runState = (): string | null => {
      const conn = new Database(db, { readonly: true });
      try {
        const row = conn.prepare('SELECT state FROM runs ORDER BY id DESC LIMIT 1').get() as { state: string } | undefined;
        return row?.state ?? null;
      } finally {
        conn.close();
      }
    };
    for (const state of ['split', 'merge']) {
      const current = bot;
      await until(`the run to reach ${state}`, () => order.indexOf(runState() ?? 'idle') >= order.indexOf(state), 30_000);
      await kill(current.child);
      bot = startBot();
      outputs.push(bot.out);
      await until('the bot to restart', () => bot.out().includes('Upgrade Desk is running'), 20_000);
    }

    await until(
      'the request to finish',
      async () => {
        const r = await run(['requests', '--json']);
        const found = (JSON.parse(r.stdout) as Array<{ ref: string; status: string }>).find((x) => x.ref === ref);
        return !!found && !['scheduled', 'in_progress', 'approved'].includes(found.status);
      },
      60_000,
    );
    // Every stored notice delivered, then stop the last bot.
    await until(
      'the outbox to drain',
      () => {
        const conn = new Database(db, { readonly: true });
        try {
          const row = conn.prepare(`SELECT COUNT(*) AS n FROM outbox_messages WHERE status <> 'sent'`).get() as { n: number };
          return row.n === 0;
        } finally {
          conn.close();
        }
      },
      30_000,
    );
    await kill(bot.child);

    const conn = new Database(db, { readonly: true });
    const rows = conn
      .prepare(`SELECT m.destination, m.kind, r.id AS requestId FROM outbox_messages m JOIN upgrade_requests r ON r.id = m."requestId" WHERE m.kind <> 'progress'`)
      .all() as Array<{ destination: string; kind: string; requestId: number }>;
    const status = (conn.prepare(`SELECT status FROM upgrade_requests WHERE id = ?`).get(Number(ref!.slice(4))) as { status: string }).status;
    conn.close();
    expect(['completed', 'completed_with_issues']).toContain(status);

    const printed = outputs.flatMap((o) => headers(o()));
    const expected = rows.map((r) => `── to ${r.destination} · ${r.kind} · UPG-${String(r.requestId).padStart(6, '0')}`);
    const count = (list: string[]) => list.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
    expect(Object.fromEntries(count(printed))).toEqual(Object.fromEntries(count(expected)));
    expect(expected.some((e) => e.includes('· completed ·'))).toBe(true);
  }, 180_000);

  it('tells the whole story with `upgrade-desk demo`', async () => {
    const r = await run(['demo', '--step-ms', '100'], '', 60_000);
    expect(r.code).toBe(0);
    for (const part of [
      /hardware_mismatch/,
      /awaiting consent/,
      /Consent needed: UPG-\d{6}/,
      /approved by Jane Doe/,
      /scheduled: /,
      /upgrade to 7\.1\.0 has started/,
      /\(updated, revision \d+\)/,
      /Issues encountered:[^]*merge/,
      /Reset the manager password now/,
      /how did the upgrade go\?/,
      /rated 5\/5/,
      /"status": "completed_with_issues"/,
    ]) {
      expect(r.stdout).toMatch(part);
    }
    expect(r.stdout).not.toContain('Tr0ub4dor&3');
  }, 90_000);
});
