/**
 * Queue benchmark for one Agenda backend (one process per backend): the application's Agenda
 * (createAgendaBackend + createAgenda with Upgrade Desk's defaults) saves 2,000 jobs to run now one
 * after another and runs them, then saves a lone job to run now 50 times and measures how long
 * each takes from the call to `now()` until its handler starts (the save included).
 * Usage: queue.js sqlite <file> | postgres <url> | mongodb <url>
 */
import { createAgenda, createAgendaBackend } from '../src/infra/agenda/create-agenda.js';
import type { AgendaBackendOptions } from '../src/infra/agenda/create-agenda.js';
import { childMain, msSince, peakRssMb, round, sleep, summarize } from './common.js';

const THROUGHPUT_JOBS = Number(process.env.BENCH_QUEUE_JOBS ?? 2000);
const PICKUP_SAMPLES = 50;
const kind = process.argv[2] as AgendaBackendOptions['kind'];
const location = process.argv[3] ?? '';

childMain(async () => {
  const options = (kind === 'sqlite' ? { kind, path: location } : { kind, url: location }) as AgendaBackendOptions;
  const agenda = createAgenda(createAgendaBackend(options));
  agenda.on('error', () => undefined);
  let ran = 0;
  let allRan: (() => void) | null = null;
  let target = 0;
  agenda.define('bench.throughput', async () => {
    ran++;
    if (ran === target) allRan?.();
  });
  let picked: ((at: bigint) => void) | null = null;
  agenda.define('bench.pickup', async () => {
    picked?.(process.hrtime.bigint());
  });
  await agenda.ready;
  await agenda.start();
  try {
    const runAll = async (count: number): Promise<{ savedMs: number; doneMs: number }> => {
      ran = 0;
      target = count;
      const done = new Promise<void>((resolve) => (allRan = resolve));
      const start = process.hrtime.bigint();
      for (let i = 0; i < count; i++) await agenda.now('bench.throughput', { i });
      const savedMs = msSince(start);
      await Promise.race([done, sleep(120_000).then(() => Promise.reject(new Error(`only ${ran} of ${count} jobs ran within 120 s`)))]);
      return { savedMs, doneMs: msSince(start) };
    };
    await runAll(50); // warm-up: connections, statements, JIT
    const { savedMs, doneMs } = await runAll(THROUGHPUT_JOBS);

    await sleep(500);
    const pickups: number[] = [];
    for (let i = 0; i < PICKUP_SAMPLES; i++) {
      const started = new Promise<bigint>((resolve) => (picked = resolve));
      const t0 = process.hrtime.bigint();
      await agenda.now('bench.pickup', { i });
      const at = await Promise.race([started, sleep(10_000).then(() => null)]);
      pickups.push(at === null ? 10_000 : Number(at - t0) / 1e6);
      await sleep(100);
    }
    return {
      backend: kind,
      jobs: THROUGHPUT_JOBS,
      savedMs: round(savedMs),
      doneMs: round(doneMs),
      jobsPerSecond: round((THROUGHPUT_JOBS / doneMs) * 1000, 1),
      savesPerSecond: round((THROUGHPUT_JOBS / savedMs) * 1000, 1),
      pickupMs: summarize(pickups),
      peakRssMb: peakRssMb(),
    };
  } finally {
    await agenda.stop();
  }
});
