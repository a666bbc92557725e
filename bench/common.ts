/**
 * What every benchmark shares: statistics, the child-process protocol (a scenario or a helper
 * server runs in its own Node process and talks to the runner over IPC), the figures and how they
 * are printed. Benchmarks report; they never throw a missed target at the caller.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory of the compiled benchmark scripts (dist/bench-build/bench). */
export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The package root (where package.json and bin/ are), found from the compiled or the source location. */
export const ROOT = ((): string => {
  let dir = BENCH_DIR;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'upgrade-desk') return dir;
    } catch {
      // not here; go up
    }
    dir = path.dirname(dir);
  }
  throw new Error('bench: cannot find the upgrade-desk package root');
})();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds elapsed since `start` (a process.hrtime.bigint() reading). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Nearest-rank percentile of ascending `sorted` values (p in 0..100); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Count, mean and the usual percentiles of a sample. */
export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1);
  return {
    count: sorted.length,
    mean: round(mean),
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? Number.NaN),
  };
}

/** Rounds to `digits` decimals (default 2). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Peak resident set size of this process so far, in MiB (getrusage's ru_maxrss). */
export function peakRssMb(): number {
  return round(process.resourceUsage().maxRSS / 1024, 1);
}

/** Current resident set size of process `pid` in MiB, from /proc (Linux); null elsewhere. */
export function rssOfPid(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb ? round(Number(kb) / 1024, 1) : null;
  } catch {
    return null;
  }
}

// ---- Figures ----

/** One line of the report: a measured value, its target, and whether the target was met. */
export interface Figure {
  /** Which benchmark it belongs to (ack, bulk, queue, fan-out, start-up). */
  group: string;
  figure: string;
  /** The measured value, or null when it could not be measured (see note). */
  value: number | null;
  unit: string;
  /** The target as text, or "" for a figure shown for context only. */
  target: string;
  /** True/false against the target; null for context figures and skipped ones. */
  pass: boolean | null;
  note?: string;
}

/** Collects figures as the benchmarks produce them. */
export class Report {
  readonly figures: Figure[] = [];
  readonly details: Record<string, unknown> = {};
  readonly problems: string[] = [];

  /** A figure with a target: `check(value)` says whether it is met. */
  target(group: string, figure: string, value: number | null, unit: string, target: string, check: (v: number) => boolean, note?: string): void {
    this.figures.push({ group, figure, value, unit, target, pass: value === null || Number.isNaN(value) ? false : check(value), ...(note ? { note } : {}) });
  }

  /** A figure shown for context (a peer's figure, a breakdown). */
  info(group: string, figure: string, value: number | null, unit: string, note?: string): void {
    this.figures.push({ group, figure, value, unit, target: '', pass: null, ...(note ? { note } : {}) });
  }

  /** A figure that could not be measured here, with the reason. */
  skipped(group: string, figure: string, target: string, reason: string): void {
    this.figures.push({ group, figure, value: null, unit: '', target, pass: null, note: `skipped: ${reason}` });
  }

  /** A benchmark that failed to run: its targets count as missed. */
  failed(group: string, figures: Array<{ figure: string; target: string }>, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.problems.push(`${group}: ${message}`);
    for (const f of figures) this.figures.push({ group, figure: f.figure, value: null, unit: '', target: f.target, pass: false, note: `error: ${message.split('\n')[0]}` });
  }
}

/** A value with its unit, as printed. */
export function formatValue(f: Figure): string {
  if (f.value === null || Number.isNaN(f.value)) return '—';
  const digits = Math.abs(f.value) >= 100 ? 0 : Math.abs(f.value) >= 10 ? 1 : 2;
  const text = f.value.toLocaleString('en-US', { maximumFractionDigits: digits });
  return f.unit ? `${text} ${f.unit}` : text;
}

/** PASS, FAIL, or what a context or skipped figure is. */
export function verdict(f: Figure): string {
  if (f.pass === true) return 'PASS';
  if (f.pass === false) return 'FAIL';
  return f.note?.startsWith('skipped') ? 'SKIP' : 'info';
}

/** The figures as a Markdown table (readable as plain text too). */
export function markdownTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [f.group, f.figure, formatValue(f), f.target || '—', verdict(f), f.note ?? '']);
  const header = ['benchmark', 'figure', 'value', 'target', 'result', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

// ---- Child processes ----

type ToChild = { type: 'call'; id: number; command: string; arg?: unknown };
type FromChild =
  | { type: 'ready'; value: unknown }
  | { type: 'result'; value: unknown }
  | { type: 'error'; message: string }
  | { type: 'reply'; id: number; ok: boolean; value?: unknown; error?: string };

/** Forks a compiled benchmark script (`name` without .js) with IPC; its stderr goes to ours. */
export function forkBench(name: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return fork(path.join(BENCH_DIR, `${name}.js`), args, { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
}

/** Waits for a child's first message of `type`; rejects when it reports an error, exits or takes too long. */
function nextMessage(child: ChildProcess, type: 'ready' | 'result', timeoutMs: number, what: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`${what}: no ${type} within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const onMessage = (message: FromChild) => {
      if (message.type === type) {
        cleanup();
        resolve(message.value);
      } else if (message.type === 'error') {
        cleanup();
        reject(new Error(`${what}: ${message.message}`));
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`${what}: the process ended (${signal ?? `exit code ${code}`}) before its ${type}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Runs a one-shot benchmark script in its own process and resolves with what it measured. */
export async function runBenchChild<T>(name: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<T> {
  const child = forkBench(name, args, env);
  try {
    return (await nextMessage(child, 'result', timeoutMs, name)) as T;
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
}

/** A long-lived helper process (a fake server) the runner calls by command name. */
export class BenchService<Info> {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly info: Info,
  ) {
    child.on('message', (message: FromChild) => {
      if (message.type !== 'reply') return;
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new Error(`${name}: ${message.error}`));
    });
    child.once('exit', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${name} ended`));
      this.pending.clear();
    });
  }

  /** Forks the helper and waits until it says it is ready (with what callers need to know). */
  static async start<Info>(name: string, args: string[] = [], timeoutMs = 30_000): Promise<BenchService<Info>> {
    const child = forkBench(name, args);
    const info = (await nextMessage(child, 'ready', timeoutMs, name)) as Info;
    return new BenchService<Info>(name, child, info);
  }

  call<T>(command: string, arg?: unknown): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ type: 'call', id, command, arg } satisfies ToChild);
    });
  }

  /** Asks the helper to stop, then makes sure it has. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.call('stop').catch(() => undefined);
    await Promise.race([exited, sleep(5000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** In a one-shot child: runs `main`, sends its result to the runner and exits. */
export function childMain(main: () => Promise<unknown>): void {
  const send = (message: FromChild, code: number) => {
    if (process.send) process.send(message, () => process.exit(code));
    else {
      process.stdout.write(`${JSON.stringify(message, null, 2)}\n`);
      process.exit(code);
    }
  };
  main().then(
    (value) => send({ type: 'result', value }, 0),
    (error: unknown) => send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }, 1),
  );
}

/** In a helper child: answers the runner's calls with `handlers` (`stop` ends the process after `onStop`). */
export function serveCalls(ready: unknown, handlers: Record<string, (arg: unknown) => unknown>, onStop: () => Promise<void>): void {
  process.on('message', (message: ToChild) => {
    if (message?.type !== 'call') return;
    const reply = (ok: boolean, value?: unknown, error?: string) => process.send?.({ type: 'reply', id: message.id, ok, value, error } satisfies FromChild);
    if (message.command === 'stop') {
      onStop().finally(() => {
        reply(true);
        setTimeout(() => process.exit(0), 50);
      });
      return;
    }
    const handler = handlers[message.command];
    if (!handler) {
      reply(false, undefined, `unknown command ${message.command}`);
      return;
    }
    Promise.resolve()
      .then(() => handler(message.arg))
      .then(
        (value) => reply(true, value),
        (error: unknown) => reply(false, undefined, error instanceof Error ? error.message : String(error)),
      );
  });
  process.on('disconnect', () => {
    void onStop().finally(() => process.exit(0));
  });
  process.send?.({ type: 'ready', value: ready } satisfies FromChild);
}
