/**
 * A throwaway PostgreSQL cluster for integration tests: initdb into a temp directory, start it on
 * a free port on 127.0.0.1 (unix socket in the temp dir, trust auth), stop and delete it after.
 * initdb refuses to run as root, so as root the binaries run as the `postgres` user via runuser.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../fakes/free-port.js';

const run = promisify(execFile);

/** Where the PostgreSQL binaries are looked for (PG_BIN overrides). */
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** How to invoke a PostgreSQL binary: directly, or through runuser as `postgres` when we are root. */
function command(bin: string, args: string[]): [string, string[]] {
  const file = path.join(PG_BIN, bin);
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
}

/**
 * Whether a cluster can be started here; `reason` says why not (missing binaries, no way to run
 * as the postgres user). Synchronous, so that a suite can choose describe or describe.skip.
 */
export function pgClusterAvailability(): { ok: true } | { ok: false; reason: string } {
  if (process.env.SKIP_PG_TESTS) return { ok: false, reason: 'SKIP_PG_TESTS is set' };
  for (const bin of ['initdb', 'pg_ctl']) {
    if (!existsSync(path.join(PG_BIN, bin))) {
      return { ok: false, reason: `${path.join(PG_BIN, bin)} not found (set PG_BIN to the PostgreSQL bin directory)` };
    }
  }
  try {
    const [file, args] = command('initdb', ['--version']);
    execFileSync(file, args, { stdio: 'pipe', timeout: 10_000 });
  } catch (e) {
    const why = isRoot() ? 'cannot run initdb as the postgres user via runuser' : 'cannot run initdb';
    return { ok: false, reason: `${why}: ${(e as Error).message.split('\n')[0]}` };
  }
  return { ok: true };
}

function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('no postgres user in /etc/passwd');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  /** Stops the server (immediate mode) and deletes its directory. */
  stop(): Promise<void>;
}

/** Starts a fresh cluster; the caller must `stop()` it (e.g. in afterAll). */
export async function startPgCluster(): Promise<PgCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'upgrade-desk-pg-'));
  const data = path.join(dir, 'data');
  const socketDir = path.join(dir, 'socket');
  const logFile = path.join(dir, 'server.log');
  mkdirSync(socketDir);
  if (isRoot()) {
    const { uid, gid } = postgresIds();
    for (const p of [dir, socketDir]) chownSync(p, uid, gid);
  }
  const exec = async (bin: string, args: string[], timeout: number): Promise<void> => {
    const [file, argv] = command(bin, args);
    await run(file, argv, { timeout });
  };
  try {
    await exec('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'], 60_000);
    const port = await freePort();
    const serverOptions = [
      `-p ${port}`,
      `-k ${socketDir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=50',
    ].join(' ');
    await exec('pg_ctl', ['-D', data, '-o', serverOptions, '-l', logFile, '-w', '-t', '30', 'start'], 60_000);
    let stopped = false;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 60_000);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
    if (existsSync(path.join(data, 'postmaster.pid'))) {
      await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], 30_000).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start PostgreSQL: ${(e as Error).message}${log ? `\n--- server log ---\n${log}` : ''}`);
  }
}
