/**
 * The Agenda backend contract: one suite that every backend (SQLite, PostgreSQL, MongoDB) must
 * pass, driven through real Agenda instances: saving, locking under competing workers, lock
 * expiry, ordering, concurrency limits, repetition, unique jobs, disable/enable, removal, retries
 * with backoff, stop() and prompt start of jobs saved to run now. Every wait has a deadline.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { constant } from 'agenda';
import type { Agenda, AgendaBackend, JobWithState, RetryDetails } from 'agenda';
import { createAgenda } from '../../src/infra/agenda/create-agenda.js';
import type { CreateAgendaOptions } from '../../src/infra/agenda/create-agenda.js';

/** One empty job store (a database file, a database) on which backends can be opened. */
export interface AgendaStore {
  /** A new, unconnected backend on this store (each its own connection). */
  backend(): AgendaBackend;
  /** Deletes the store; called after every backend opened on it has been disconnected. */
  dispose(): Promise<void>;
}

/** How the suite gets a fresh store per test, and what the backend can do. */
export interface AgendaBackendFactory {
  /** A fresh, empty store for one test. */
  fresh(): Promise<AgendaStore>;
  /** Whether the backend has a notification channel (jobs saved "now" start before the poll). */
  notifies: boolean;
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every `intervalMs` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Resolves with `promise`, or rejects naming `what` after `timeoutMs`. */
async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const HOUR = 3_600_000;

/** Registers the contract suite for one backend. */
export function agendaBackendContract(name: string, factory: AgendaBackendFactory): void {
  describe(`${name} Agenda backend`, () => {
    let store: AgendaStore | undefined;
    let opened: { agenda: Agenda; backend: AgendaBackend }[] = [];
    let releases: (() => void)[] = [];
    // Agenda keeps an alive-check timer per job run for max(processEvery, lockLifetime) / 2, even
    // after stop(); waiting those out lets Jest exit without open handles.
    let lingerUntil = 0;

    beforeEach(async () => {
      store = await factory.fresh();
      opened = [];
      releases = [];
    });

    afterEach(async () => {
      for (const release of releases) release();
      await Promise.all(
        opened.map(async ({ agenda, backend }) => {
          await within(agenda.ready, 10_000, 'the backend to connect').catch(() => undefined);
          await agenda.stop().catch(() => undefined);
          await backend.disconnect().catch(() => undefined);
        }),
      );
      await store?.dispose();
      store = undefined;
    }, 30_000);

    afterAll(async () => {
      const wait = lingerUntil - Date.now();
      if (wait > 0) await sleep(Math.min(wait + 50, 6000));
    }, 10_000);

    /** A connected Agenda on a new backend of this test's store; stopped after the test. */
    async function open(options: CreateAgendaOptions = {}): Promise<Agenda> {
      if (!store) throw new Error('no store');
      const backend = store.backend();
      const agenda = createAgenda(backend, {
        name: `worker-${opened.length + 1}`,
        processEvery: 100,
        defaultLockLifetime: 3000,
        ...options,
      });
      opened.push({ agenda, backend });
      agenda.on('start', () => {
        const lifetimes = Object.values(agenda.definitions).map((d) => d.lockLifetime);
        const linger = Math.max(agenda.attrs.processEvery, ...lifetimes) / 2;
        lingerUntil = Math.max(lingerUntil, Date.now() + linger);
      });
      await within(agenda.ready, 15_000, 'the backend to connect');
      return agenda;
    }

    /** A promise the test resolves later (released after the test at the latest). */
    function gate(): { promise: Promise<void>; release: () => void } {
      let release: () => void = () => undefined;
      const promise = new Promise<void>((resolve) => {
        release = resolve;
      });
      releases.push(release);
      return { promise, release };
    }

    async function onlyJob(agenda: Agenda, jobName: string): Promise<JobWithState> {
      const { jobs } = await agenda.queryJobs({ name: jobName });
      expect(jobs).toHaveLength(1);
      return jobs[0]!;
    }

    // First, so that the long alive-check timer Agenda leaves behind (processEvery / 2) has
    // expired by the time the suite ends.
    (factory.notifies ? it : it.skip)(
      'starts a job saved to run now well before the poll interval, from the same or another Agenda',
      async () => {
        const worker = await open({ name: 'worker', processEvery: 10_000 });
        const ranAt: number[] = [];
        worker.define('prompt', async () => {
          ranAt.push(Date.now());
        });
        await worker.start();
        await sleep(200);
        const savedAt = Date.now();
        await worker.now('prompt');
        await waitFor(() => ranAt.length === 1, 1000, 'the job saved through the worker to run');
        expect(ranAt[0]! - savedAt).toBeLessThan(1000);

        const producer = await open({ name: 'producer', processEvery: 10_000 });
        await producer.start();
        await sleep(200);
        const producedAt = Date.now();
        await producer.now('prompt');
        await waitFor(() => ranAt.length === 2, 1000, 'the job saved through another Agenda to run');
        expect(ranAt[1]! - producedAt).toBeLessThan(1000);
      },
    );

    (factory.notifies ? it : it.skip)("reports notification channel errors as the Agenda's error event", async () => {
      const agenda = await open();
      const heard: Error[] = [];
      agenda.on('error', (error: Error) => {
        heard.push(error);
      });
      const channel = (agenda as unknown as { notificationChannel: { emit(event: string, error: Error): void } })
        .notificationChannel;
      channel.emit('error', new Error('listen connection lost'));
      expect(heard.map((e) => e.message)).toEqual(['listen connection lost']);
    });

    it('saves a job and updates it in place: same id, new data and priority, still one job', async () => {
      const agenda = await open();
      const job = await agenda
        .create('report', { customer: 'acme', n: 1 })
        .schedule(new Date(Date.now() + HOUR))
        .save();
      const id = job.attrs._id;
      expect(id).toBeDefined();
      const first = await onlyJob(agenda, 'report');
      expect(first).toMatchObject({ data: { customer: 'acme', n: 1 }, state: 'scheduled', priority: 0 });
      expect(first.nextRunAt).toEqual(job.attrs.nextRunAt);

      job.attrs.data = { customer: 'acme', n: 2 };
      job.priority('high');
      await job.save();
      expect(job.attrs._id).toEqual(id);
      const other = await open({ name: 'reader' });
      const updated = await onlyJob(other, 'report');
      expect(String(updated._id)).toBe(String(id));
      expect(updated).toMatchObject({ data: { customer: 'acme', n: 2 }, priority: 10 });
    });

    it('round-trips every stored job field through a second connection', async () => {
      const writer = await open();
      const fields = {
        name: 'roundtrip',
        priority: 5,
        nextRunAt: new Date('2031-05-06T07:08:09.123Z'),
        type: 'normal' as const,
        data: { nested: { list: [1, 'two', null] }, flag: true, text: "it's \"quoted\"" },
        repeatInterval: '0 3 * * *',
        repeatTimezone: 'Europe/Berlin',
        repeatAt: '3:30pm',
        disabled: true,
        startDate: new Date('2031-01-01T00:00:00.000Z'),
        endDate: new Date('2032-01-01T00:00:00.000Z'),
        skipDays: [0, 6],
      };
      const saved = await writer.db.saveJob(fields, { lastModifiedBy: 'tester' });
      const reader = await open({ name: 'reader' });
      const loaded = await reader.db.getJobById(String(saved._id));
      expect(loaded).toMatchObject(fields);
      expect(loaded?.lastModifiedBy).toBe('tester');
    });

    it('keeps one job per name for type single: every() twice updates the job', async () => {
      const agenda = await open();
      const first = await agenda.every('1 hour', 'digest', { version: 1 });
      await agenda.every('1 hour', 'digest', { version: 2 });
      const stored = await onlyJob(agenda, 'digest');
      expect(stored).toMatchObject({ type: 'single', repeatInterval: '1 hour', data: { version: 2 } });
      // A due nextRunAt does not overwrite the stored one (restarts keep the schedule).
      expect(stored.nextRunAt).toEqual(first.attrs.nextRunAt);
    });

    it('saves unique jobs once: insertOnly keeps the first, a plain unique save updates it', async () => {
      const agenda = await open();
      const save = (customer: number, note: string, insertOnly: boolean) =>
        agenda
          .create('sync', { customer, note })
          .unique({ 'data.customer': customer }, insertOnly ? { insertOnly: true } : undefined)
          .save();
      await save(7, 'first', true);
      await save(7, 'second', true);
      expect((await onlyJob(agenda, 'sync')).data).toEqual({ customer: 7, note: 'first' });
      await save(7, 'third', false);
      expect((await onlyJob(agenda, 'sync')).data).toEqual({ customer: 7, note: 'third' });
      await save(8, 'other customer', true);
      expect((await agenda.queryJobs({ name: 'sync' })).total).toBe(2);

      const runs: number[] = [];
      agenda.define<{ customer: number }>('sync', async (job) => {
        runs.push(job.attrs.data.customer);
      });
      await agenda.start();
      await waitFor(() => runs.length >= 2, 5000, 'both unique jobs to run');
      await sleep(300);
      expect(runs.sort()).toEqual([7, 8]);
    });

    it('debounces unique jobs: each save within the delay moves the single run later', async () => {
      const worker = await open();
      const runs: { n: number; at: number }[] = [];
      worker.define<{ key: string; n: number }>('reindex', async (job) => {
        runs.push({ n: job.attrs.data.n, at: Date.now() });
      });
      await worker.start();
      let lastSaveAt = 0;
      for (const n of [1, 2, 3]) {
        lastSaveAt = Date.now();
        await worker.nowDebounced('reindex', { key: 'catalog', n }, { 'data.key': 'catalog' }, 400);
        expect((await worker.queryJobs({ name: 'reindex' })).total).toBe(1);
        await sleep(150);
      }
      expect(runs).toEqual([]);
      await waitFor(() => runs.length === 1, 5000, 'the debounced job to run');
      expect(runs[0]!.n).toBe(3);
      expect(runs[0]!.at).toBeGreaterThanOrEqual(lastSaveAt + 400);
      await sleep(300);
      expect(runs).toHaveLength(1);
    });

    it('runs each of 60 jobs exactly once while four workers compete for them', async () => {
      const runs = new Map<number, number>();
      const byWorker = new Map<string, number>();
      const workers: Agenda[] = [];
      for (const workerName of ['w1', 'w2', 'w3', 'w4']) {
        const worker = await open({ name: workerName });
        worker.define<{ i: number }>(
          'contended',
          async (job) => {
            runs.set(job.attrs.data.i, (runs.get(job.attrs.data.i) ?? 0) + 1);
            byWorker.set(workerName, (byWorker.get(workerName) ?? 0) + 1);
            await sleep(10);
          },
          { concurrency: 2, lockLimit: 2 },
        );
        workers.push(worker);
      }
      await Promise.all(workers.map((w) => w.start()));
      const producer = await open({ name: 'producer' });
      for (const i of range(60)) await producer.now('contended', { i });
      const total = (): number => [...runs.values()].reduce((a, b) => a + b, 0);
      await waitFor(() => total() >= 60, 20_000, 'all 60 jobs to run');
      await sleep(300);
      expect([...runs.keys()].sort((a, b) => a - b)).toEqual(range(60));
      expect([...runs.values()].filter((n) => n !== 1)).toEqual([]);
      expect(byWorker.size).toBeGreaterThanOrEqual(2);
      await waitFor(
        async () => (await producer.queryJobs({ name: 'contended', state: 'completed' })).total === 60,
        5000,
        'every job to be stored as completed',
      );
    });

    it('takes over a job whose worker died holding its lock, once the lock is older than lockLifetime', async () => {
      const lifetime = 1500;
      const seed = await open({ name: 'seed' });
      const saved = await seed.create('orphan', { n: 1 }).save();
      // A worker locks the job 500 ms "ago" and dies: the lock expires one second from now.
      const lockedAt = Date.now() - lifetime + 1000;
      const locked = await seed.db.getNextJobToRun('orphan', new Date(Date.now() + 1000), new Date(0), new Date(lockedAt), {
        lastModifiedBy: 'dead-worker',
      });
      expect(String(locked?._id)).toBe(String(saved.attrs._id));
      expect(locked?.lockedAt?.getTime()).toBe(lockedAt);

      const ranAt: number[] = [];
      const rescuer = await open({ name: 'rescuer', defaultLockLifetime: lifetime });
      rescuer.define('orphan', async () => {
        ranAt.push(Date.now());
      });
      await rescuer.start();
      await waitFor(() => ranAt.length > 0, 8000, 'the orphaned job to be taken over');
      expect(ranAt[0]!).toBeGreaterThanOrEqual(lockedAt + lifetime);
      await waitFor(
        async () => (await onlyJob(rescuer, 'orphan')).lastFinishedAt !== undefined,
        5000,
        'the taken-over job to be stored as finished',
      );
      const stored = await onlyJob(rescuer, 'orphan');
      expect(stored.lockedAt).toBeUndefined();
      expect(stored.lastModifiedBy).toBe('rescuer');
      expect(ranAt).toHaveLength(1);
    });

    it('runs due jobs in nextRunAt order, and by priority among jobs due at the same moment', async () => {
      const seed = await open({ name: 'seed' });
      const base = Date.now() - 60_000;
      const plan = [
        { label: 'latest, highest priority', at: base + 2000, priority: 20 },
        { label: 'earliest, low priority', at: base, priority: -10 },
        { label: 'middle', at: base + 1000, priority: 0 },
        { label: 'earliest, high priority', at: base, priority: 10 },
      ];
      for (const p of plan) {
        await seed.create('ordered', { label: p.label }).schedule(new Date(p.at)).priority(p.priority).save();
      }
      const order: string[] = [];
      const worker = await open({ name: 'worker', maxConcurrency: 1 });
      worker.define<{ label: string }>(
        'ordered',
        async (job) => {
          order.push(job.attrs.data.label);
        },
        { concurrency: 1 },
      );
      await worker.start();
      await waitFor(() => order.length === 4, 5000, 'the four jobs to run');
      expect(order).toEqual(['earliest, high priority', 'earliest, low priority', 'middle', 'latest, highest priority']);
    });

    it("never runs more jobs of one name at once than the definition's concurrency", async () => {
      const worker = await open({ maxConcurrency: 10 });
      let running = 0;
      let peak = 0;
      let done = 0;
      worker.define(
        'slow',
        async () => {
          running += 1;
          peak = Math.max(peak, running);
          await sleep(150);
          running -= 1;
          done += 1;
        },
        { concurrency: 2 },
      );
      for (let i = 0; i < 6; i += 1) await worker.create('slow', { i }).save();
      await worker.start();
      await waitFor(() => done === 6, 10_000, 'six slow jobs to finish');
      expect(peak).toBe(2);
    });

    it('never runs more jobs at once than maxConcurrency, whatever their names', async () => {
      const worker = await open({ maxConcurrency: 3, defaultConcurrency: 5 });
      let running = 0;
      let peak = 0;
      let done = 0;
      const slow = async (): Promise<void> => {
        running += 1;
        peak = Math.max(peak, running);
        await sleep(150);
        running -= 1;
        done += 1;
      };
      worker.define('first-kind', slow);
      worker.define('second-kind', slow);
      for (let i = 0; i < 5; i += 1) {
        await worker.create('first-kind', { i }).save();
        await worker.create('second-kind', { i }).save();
      }
      await worker.start();
      await waitFor(() => done === 10, 10_000, 'ten jobs to finish');
      expect(peak).toBe(3);
    });

    it('repeats a job every interval, keeping one job record', async () => {
      const worker = await open();
      let runs = 0;
      worker.define('tick', async () => {
        runs += 1;
      });
      await worker.start();
      await worker.every(300, 'tick');
      await waitFor(() => runs >= 3, 6000, 'three runs of the repeating job');
      await worker.every(300, 'tick');
      const stored = await onlyJob(worker, 'tick');
      expect(stored.type).toBe('single');
      expect(Number(stored.repeatInterval)).toBe(300);
      expect(stored.nextRunAt!.getTime()).toBeGreaterThan(stored.lastRunAt!.getTime());
    });

    it('computes the next cron run in the repeatTimezone after a run, and the next repeatAt time', async () => {
      const worker = await open();
      let nightly = 0;
      let afternoon = 0;
      worker.define('nightly', async () => {
        nightly += 1;
      });
      worker.define('afternoon', async () => {
        afternoon += 1;
      });
      // 02:30 in India (UTC+05:30, no DST) is 21:00 UTC; run it once now, then on the schedule.
      const cron = worker.create('nightly', {}).repeatEvery('30 2 * * *', { timezone: 'Asia/Kolkata' });
      await cron.schedule(new Date()).save();
      const at = worker.create('afternoon', {}).repeatAt('3:30pm');
      at.attrs.repeatTimezone = 'Europe/Berlin';
      await at.save();
      await worker.start();
      await waitFor(() => nightly === 1 && afternoon === 1, 5000, 'both jobs to run once');
      const finished = async (jobName: string): Promise<JobWithState> => {
        let job: JobWithState | undefined;
        await waitFor(
          async () => (job = await onlyJob(worker, jobName)).lastFinishedAt !== undefined,
          5000,
          `${jobName} to be stored as finished`,
        );
        return job!;
      };
      const now = Date.now();
      const storedCron = await finished('nightly');
      expect(storedCron).toMatchObject({ repeatInterval: '30 2 * * *', repeatTimezone: 'Asia/Kolkata' });
      const nextCron = storedCron.nextRunAt!;
      expect([nextCron.getUTCHours(), nextCron.getUTCMinutes(), nextCron.getUTCSeconds()]).toEqual([21, 0, 0]);
      expect(nextCron.getTime()).toBeGreaterThan(now);
      expect(nextCron.getTime()).toBeLessThanOrEqual(now + 24 * HOUR);

      const storedAt = await finished('afternoon');
      expect(storedAt).toMatchObject({ repeatAt: '3:30pm', repeatTimezone: 'Europe/Berlin' });
      const nextAt = storedAt.nextRunAt!;
      expect([nextAt.getHours(), nextAt.getMinutes()]).toEqual([15, 30]);
      expect(nextAt.getTime()).toBeGreaterThan(now);
      expect(nextAt.getTime()).toBeLessThanOrEqual(now + 25 * HOUR);
      expect([nightly, afternoon]).toEqual([1, 1]);
    });

    it('does not run disabled jobs until they are enabled again', async () => {
      const worker = await open();
      let runs = 0;
      worker.define('paused', async () => {
        runs += 1;
      });
      const job = await worker.create('paused', {}).save();
      expect(await worker.disable({ name: 'paused' })).toBe(1);
      await worker.start();
      await sleep(500);
      expect(runs).toBe(0);
      expect((await worker.queryJobs({ state: 'paused' })).jobs.map((j) => String(j._id))).toEqual([String(job.attrs._id)]);
      expect(await worker.enable({ id: job.attrs._id })).toBe(1);
      await waitFor(() => runs === 1, 5000, 'the enabled job to run');
    });

    it('removes jobs by name and data, and by job.remove(); removed jobs never run', async () => {
      const worker = await open();
      let runs = 0;
      worker.define('doomed', async () => {
        runs += 1;
      });
      await worker.create('doomed', { k: 1 }).save();
      const second = await worker.create('doomed', { k: 2 }).save();
      await worker.create('kept', { k: 3 }).schedule(new Date(Date.now() + HOUR)).save();
      expect(await worker.cancel({ name: 'doomed', data: { k: 1 } })).toBe(1);
      expect(await second.remove()).toBe(1);
      await worker.start();
      await sleep(400);
      expect(runs).toBe(0);
      expect((await worker.queryJobs({})).jobs.map((j) => j.name)).toEqual(['kept']);
    });

    it('retries a failing job after the backoff delay until it succeeds', async () => {
      const worker = await open();
      const startedAt: number[] = [];
      const retries: number[] = [];
      worker.define(
        'flaky',
        async () => {
          startedAt.push(Date.now());
          if (startedAt.length < 3) throw new Error(`boom ${startedAt.length}`);
        },
        { backoff: constant({ delay: 300, maxRetries: 5 }) },
      );
      worker.on('retry:flaky', (_job: unknown, details: RetryDetails, remote?: false) => {
        if (!remote) retries.push(details.attempt);
      });
      await worker.start();
      await worker.now('flaky');
      await waitFor(() => startedAt.length === 3, 8000, 'the third attempt');
      expect(retries).toEqual([1, 2]);
      expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(290);
      expect(startedAt[2]! - startedAt[1]!).toBeGreaterThanOrEqual(290);
      await waitFor(
        async () => (await onlyJob(worker, 'flaky')).state === 'completed',
        5000,
        'the job to be stored as completed',
      );
      const stored = await onlyJob(worker, 'flaky');
      expect(stored.failCount ?? 0).toBe(0);
      await sleep(400);
      expect(startedAt).toHaveLength(3);
    });

    it('stops retrying when the backoff gives up, leaving the job failed with its reason', async () => {
      const worker = await open();
      let attempts = 0;
      let exhausted = false;
      worker.define(
        'hopeless',
        async () => {
          attempts += 1;
          throw new Error(`attempt ${attempts} failed`);
        },
        { backoff: constant({ delay: 100, maxRetries: 2 }) },
      );
      worker.on('retry exhausted:hopeless', () => {
        exhausted = true;
      });
      await worker.start();
      await worker.now('hopeless');
      await waitFor(() => exhausted, 8000, 'the retries to be exhausted');
      await waitFor(
        async () => (await onlyJob(worker, 'hopeless')).failCount === 3,
        5000,
        'the third failure to be stored',
      );
      const stored = await onlyJob(worker, 'hopeless');
      expect(stored).toMatchObject({ state: 'failed', failCount: 3, failReason: 'attempt 3 failed' });
      expect(stored.failedAt).toBeInstanceOf(Date);
      await sleep(300);
      expect(attempts).toBe(3);
    });

    it('releases on stop() the jobs it locked but had not started, so another worker runs them at once', async () => {
      const { promise: blocker } = gate();
      const started: number[] = [];
      const first = await open({ name: 'first', maxConcurrency: 1, defaultLockLifetime: 4000 });
      first.define<{ i: number }>(
        'held',
        async (job) => {
          started.push(job.attrs.data.i);
          await blocker;
        },
        { concurrency: 1 },
      );
      for (const i of range(3)) await first.create('held', { i }).save();
      const observer = await open({ name: 'observer' });
      const lockedCount = async (): Promise<number> =>
        (await observer.queryJobs({ name: 'held' })).jobs.filter((j) => j.lockedAt !== undefined).length;
      await first.start();
      await waitFor(async () => started.length === 1 && (await lockedCount()) === 3, 5000, 'one running, three locked');

      await first.stop();
      const after = (await observer.queryJobs({ name: 'held' })).jobs;
      const stillLocked = after.filter((j) => j.lockedAt !== undefined).map((j) => (j.data as { i: number }).i);
      expect(stillLocked).toEqual([started[0]]);

      const second: number[] = [];
      const next = await open({ name: 'second', defaultLockLifetime: 4000 });
      next.define<{ i: number }>('held', async (job) => {
        second.push(job.attrs.data.i);
      });
      await next.start();
      // Well before the running job's lock (4 s) could expire and be taken over.
      await waitFor(() => second.length === 2, 2000, 'the released jobs to run on the other worker');
      expect(second.sort()).toEqual(range(3).filter((i) => i !== started[0]));
    });
  });
}
