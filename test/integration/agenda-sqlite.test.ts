import { afterAll, describe, expect, it } from '@jest/globals';
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import ts from 'typescript';
import { AgendaJobs1763812800000 } from '../../migrations/1763812800000-agenda-jobs.js';
import { createAgenda, createAgendaBackend } from '../../src/infra/agenda/create-agenda.js';
import { SqliteBackend } from '../../src/infra/agenda/sqlite-backend.js';
import { SqliteJobRepository } from '../../src/infra/agenda/sqlite-job-repository.js';
import { createDataSource, runMigrations } from '../../src/infra/data-source.js';
import { agendaBackendContract, sleep, waitFor } from './agenda-backend-contract.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'upgrade-desk-agenda-'));
let files = 0;
const nextFile = (): string => path.join(dir, `jobs-${++files}.sqlite`);
const removeDatabase = (file: string): void => {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${file}${suffix}`, { force: true });
};

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

agendaBackendContract('SQLite', {
  notifies: true,
  async fresh() {
    const file = nextFile();
    return {
      backend: () => createAgendaBackend({ kind: 'sqlite', path: file }),
      async dispose() {
        removeDatabase(file);
      },
    };
  },
});

/** The agenda_* schema objects of a database file, as SQLite stores their definitions. */
function agendaSchema(file: string): { type: string; name: string; sql: string }[] {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db
      .prepare(`SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'agenda%' ORDER BY type, name`)
      .all() as { type: string; name: string; sql: string }[];
    return rows.map((r) => ({ ...r, sql: r.sql.replace(/\s+/g, ' ') }));
  } finally {
    db.close();
  }
}

/** Transpiles src/infra/agenda/*.ts to ES modules in `outDir` (inside the repo, so packages resolve). */
function compileAgendaModules(outDir: string): void {
  const srcDir = path.join(ROOT, 'src/infra/agenda');
  mkdirSync(outDir, { recursive: true });
  for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(readFileSync(path.join(srcDir, file), 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(path.join(outDir, file.replace(/\.ts$/, '.js')), outputText);
  }
}

function nextMessage(child: ChildProcess, type: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker sent no '${type}' within ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before '${type}'`));
    };
    child.once('exit', onExit);
    child.on('message', function listener(message: { type?: string }) {
      if (message?.type !== type) return;
      clearTimeout(timer);
      child.off('message', listener);
      child.off('exit', onExit);
      resolve();
    });
  });
}

function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('createAgendaBackend and createAgenda', () => {
  it('reject a missing path or URL with an error that names what is missing', () => {
    expect(() => createAgendaBackend({ kind: 'sqlite', path: '' })).toThrow(/SQLite database path.*required/);
    expect(() => createAgendaBackend({ kind: 'postgres', url: ' ' })).toThrow(/PostgreSQL connection URL.*required/);
    expect(() => createAgendaBackend({ kind: 'mongodb', url: undefined as unknown as string })).toThrow(
      /MongoDB connection URL.*required/,
    );
    expect(() => createAgendaBackend({ kind: 'redis' } as unknown as Parameters<typeof createAgendaBackend>[0])).toThrow(
      /unknown backend kind "redis"/,
    );
  });

  it("builds an Agenda with Upgrade Desk's defaults: 5 s fallback poll, 60 s lock lifetime, named after the process", async () => {
    const backend = createAgendaBackend({ kind: 'sqlite', path: nextFile() });
    expect(backend.name).toBe('SQLite');
    const agenda = createAgenda(backend);
    try {
      await agenda.ready;
      expect(agenda.attrs).toMatchObject({
        processEvery: 5000,
        defaultLockLifetime: 60_000,
        maxConcurrency: 20,
        defaultConcurrency: 5,
      });
      expect(agenda.attrs.name).toMatch(new RegExp(`^upgrade-desk@.+:${process.pid}$`));
    } finally {
      await backend.disconnect();
    }
  });
});

describe('SQLite Agenda backend, SQLite specifics', () => {
  it('opens its own connection in WAL mode with a 5 s busy timeout and synchronous=NORMAL', async () => {
    const repository = new SqliteJobRepository({ path: nextFile() });
    await repository.connect();
    try {
      const db = repository.connection();
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
      expect(db.pragma('synchronous', { simple: true })).toBe(1);
    } finally {
      await repository.disconnect();
    }
    await expect(repository.getQueueSize()).rejects.toThrow(/not connected/);
  });

  it('creates the same tables and indexes as the migration, and connects to a migrated database', async () => {
    const migratedFile = nextFile();
    const ds = createDataSource({ sqlitePath: migratedFile });
    await ds.initialize();
    try {
      await runMigrations(ds);
      const standaloneFile = nextFile();
      const repository = new SqliteJobRepository({ path: standaloneFile });
      await repository.connect();
      await repository.disconnect();
      const expected = agendaSchema(standaloneFile);
      expect(expected.map((o) => o.name)).toEqual([
        'agenda_jobs_find_and_lock_idx',
        'agenda_jobs_next_run_at_idx',
        'agenda_jobs_single_job_idx',
        'agenda_jobs',
        'agenda_notifications',
      ]);
      expect(agendaSchema(migratedFile)).toEqual(expected);

      const agenda = createAgenda(new SqliteBackend({ path: migratedFile }), { defaultLockLifetime: 1000 });
      await agenda.ready;
      const job = await agenda.create('after-migration', { ok: true }).save();
      expect((await agenda.db.getJobById(String(job.attrs._id)))?.data).toEqual({ ok: true });
      await agenda.stop();
      const backend = new SqliteBackend({ path: migratedFile });
      await backend.connect();
      await backend.disconnect();

      const runner = ds.createQueryRunner();
      try {
        await new AgendaJobs1763812800000().down(runner);
        expect(agendaSchema(migratedFile)).toEqual([]);
        await new AgendaJobs1763812800000().up(runner);
        expect(agendaSchema(migratedFile)).toEqual(expected);
      } finally {
        await runner.release();
      }
    } finally {
      await ds.destroy();
    }
  });

  it('starts at once a job saved on another connection by an Agenda that was never started', async () => {
    const file = nextFile();
    const worker = createAgenda(createAgendaBackend({ kind: 'sqlite', path: file }), {
      name: 'worker',
      processEvery: 4000,
      defaultLockLifetime: 1000,
    });
    const producerBackend = createAgendaBackend({ kind: 'sqlite', path: file });
    const producer = createAgenda(producerBackend, { name: 'producer' });
    try {
      const ranAt: number[] = [];
      worker.define('enqueued-elsewhere', async () => {
        ranAt.push(Date.now());
      });
      await worker.start();
      await producer.ready;
      await sleep(200);
      const savedAt = Date.now();
      await producer.now('enqueued-elsewhere');
      await waitFor(() => ranAt.length === 1, 1500, 'the job to run on the worker');
      expect(ranAt[0]! - savedAt).toBeLessThan(1000);
    } finally {
      await worker.stop();
      await producer.ready;
      await producerBackend.disconnect();
    }
  });

  it('runs 200 jobs exactly once across three worker processes sharing the file', async () => {
    const work = mkdtempSync(path.join(dir, 'multi-'));
    const file = path.join(work, 'jobs.sqlite');
    const moduleDir = path.join(ROOT, 'test/artifacts', `agenda-modules-${process.pid}`);
    compileAgendaModules(moduleDir);
    expect(existsSync(path.join(moduleDir, 'create-agenda.js'))).toBe(true);
    const fixture = path.join(ROOT, 'test/integration/fixtures/agenda-sqlite-worker.mjs');
    const producerBackend = new SqliteBackend({ path: file });
    const producer = createAgenda(producerBackend, { name: 'producer' });
    const names = ['p1', 'p2', 'p3'];
    const outputs = names.map((n) => path.join(work, `${n}.txt`));
    const children: ChildProcess[] = [];
    const errors: string[] = [];
    try {
      await producer.ready;
      for (const [i, n] of names.entries()) {
        const child = fork(fixture, [moduleDir, file, outputs[i]!, n], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        child.on('message', (m: { type?: string; message?: string }) => {
          if (m?.type === 'error') errors.push(`${n}: ${m.message}`);
        });
        children.push(child);
      }
      await Promise.all(children.map((c) => nextMessage(c, 'ready', 15_000)));

      for (let i = 0; i < 200; i += 1) await producer.now('multi-process', { i });
      const lines = (): number[][] =>
        outputs.map((o) =>
          existsSync(o)
            ? readFileSync(o, 'utf8')
                .split('\n')
                .filter(Boolean)
                .map(Number)
            : [],
        );
      await waitFor(() => lines().flat().length >= 200, 15_000, '200 jobs to run', 50);
      await waitFor(
        async () => (await producer.queryJobs({ name: 'multi-process', state: 'completed' })).total === 200,
        5000,
        'every job to be stored as completed',
        50,
      );
      await sleep(300);

      const perProcess = lines();
      const all = perProcess.flat().sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(perProcess.filter((l) => l.length > 0).length).toBeGreaterThanOrEqual(2);
      expect(errors).toEqual([]);
      const { jobs } = await producer.queryJobs({ name: 'multi-process' });
      expect(jobs.filter((j) => j.lockedAt !== undefined || j.lastFinishedAt === undefined)).toEqual([]);
    } finally {
      for (const child of children) if (child.connected) child.send('stop');
      await Promise.all(children.map((c) => exited(c, 10_000)));
      await producerBackend.disconnect();
      rmSync(moduleDir, { recursive: true, force: true });
    }
  }, 40_000);
});
