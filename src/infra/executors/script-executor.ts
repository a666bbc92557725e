/**
 * The script executor: runs one configured command per step (SPEC §5). The command runs under
 * /bin/sh -c in its own process group; everything about the step reaches it through environment
 * variables (never spliced into the command line), and its exit code decides the outcome:
 * 0 done, 75 (EX_TEMPFAIL) transient, 76 busy, anything else broken. The manager password is
 * passed only as MANAGER_PASSWORD and is replaced by "[redacted]" in every message and log line.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../../core/command.js';
import type { Executor, StepContext, StepResult } from '../../ports.js';
import { AttemptCounter } from './attempts.js';

/** Exit code for a temporary failure (sysexits EX_TEMPFAIL): the step is retried. */
export const EXIT_TRANSIENT = 75;
/** Exit code for "the device is busy": the run is marked busy. */
export const EXIT_BUSY = 76;

/** Default time a step may take before it is stopped and the run marked broken. */
export const DEFAULT_SCRIPT_TIMEOUT_MS = 10 * 60_000;

/** The bot's own secrets, never handed to the script even when set in the bot's environment. */
const WITHHELD = [
  'DATABASE_URL',
  'MONGODB_URL',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'DISCORD_TOKEN',
  'SMTP_URL',
  'IMAP_URL',
  'SECRETS_KEY',
  'API_TOKEN',
  'SCRIPT_COMMAND',
];

/** The variables the executor sets itself; inherited values of these names are dropped. */
const STEP_VARIABLES = [
  'UPGRADE_STATE',
  'UPGRADE_PREVIOUS_STATE',
  'UPGRADE_ATTEMPT',
  'REQUEST_REF',
  'DEVICE_NAME',
  'DEVICE_PRODUCT',
  'DEVICE_SERIAL',
  'DEVICE_IP',
  'DEVICE_MAC',
  'FROM_VERSION',
  'TARGET_VERSION',
  'MANAGER_PASSWORD',
];

/** Longest message handed back. */
const MAX_MESSAGE = 300;

/** How a ScriptExecutor runs its command: what, for how long, with which environment. */
export interface ScriptExecutorOptions {
  /** The command, run as `/bin/sh -c <command>`. */
  command: string;
  /** Longest a step may run; then it is stopped (SIGTERM, SIGKILL after `killGraceMs`) and reported broken. */
  timeoutMs?: number;
  /** How long a stopped script gets between SIGTERM and SIGKILL (default 5 s). */
  killGraceMs?: number;
  /** Bytes of stdout and of stderr kept (the tail), default 64 KiB each. */
  maxOutputBytes?: number;
  /** The environment the script inherits (default process.env, minus the bot's secrets). */
  env?: Record<string, string | undefined>;
  /** Working directory of the script (default the bot's). */
  cwd?: string;
  log?: Logger;
}

/** The tail of a stream: keeps at most `max` bytes, remembering whether anything was dropped. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > this.max) {
      const all = Buffer.concat(this.chunks);
      const kept = all.subarray(all.length - this.max);
      this.chunks = [kept];
      this.size = kept.length;
      this.truncated = true;
    }
  }

  /** The kept lines, minus the first one when it may have been cut. */
  lines(): string[] {
    const lines = Buffer.concat(this.chunks).toString('utf8').split(/\r?\n/);
    if (this.truncated) lines.shift();
    return lines;
  }
}

/** How a script run ended. */
interface Ending {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  interrupted: boolean;
  spawnError: Error | null;
  stdout: string[];
  stderr: string[];
  ms: number;
}

/** Replaces the secret everywhere in `text`. */
function redact(text: string, secret: string | null): string {
  return secret ? text.split(secret).join('[redacted]') : text;
}

/** Cuts `text` to MAX_MESSAGE characters. */
function clip(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}

/** "10 min", "300 ms", "90 s". */
function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * Runs SCRIPT_COMMAND for each step; never throws, and stops the script's whole process group on
 * timeout, on abort, and once the script itself exits (no leftover background processes).
 */
export class ScriptExecutor implements Executor {
  readonly kind = 'script' as const;
  private readonly timeoutMs: number;
  private readonly killGraceMs: number;
  private readonly maxOutputBytes: number;
  private readonly attempts = new AttemptCounter();

  constructor(private readonly options: ScriptExecutorOptions) {
    if (options.command.trim() === '') throw new Error('ScriptExecutor needs a command');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS;
    this.killGraceMs = options.killGraceMs ?? 5000;
    this.maxOutputBytes = options.maxOutputBytes ?? 64 * 1024;
  }

  /** The environment one step's script sees: inherited (minus the bot's secrets) plus the step's variables. */
  environment(ctx: StepContext, attempt: number): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.options.env ?? process.env)) {
      if (value !== undefined && !WITHHELD.includes(name) && !STEP_VARIABLES.includes(name)) env[name] = value;
    }
    Object.assign(env, {
      UPGRADE_STATE: ctx.target,
      UPGRADE_PREVIOUS_STATE: ctx.run.state,
      UPGRADE_ATTEMPT: String(attempt),
      REQUEST_REF: ctx.request.ref,
      DEVICE_NAME: ctx.device.name,
      DEVICE_PRODUCT: ctx.device.product,
      DEVICE_SERIAL: ctx.device.serial,
      DEVICE_IP: ctx.device.ip,
      DEVICE_MAC: ctx.device.mac,
      FROM_VERSION: ctx.item.fromVersion,
      TARGET_VERSION: ctx.item.targetVersion,
    });
    if (ctx.managerPassword) env.MANAGER_PASSWORD = ctx.managerPassword;
    return env;
  }

  /** Runs the command for ctx.target and maps its exit to a StepResult (see the file comment). */
  async perform(ctx: StepContext): Promise<StepResult> {
    if (ctx.signal.aborted) return { outcome: 'transient', message: 'interrupted: the bot is shutting down' };
    const attempt = this.attempts.next(ctx);
    const ending = await this.run(this.environment(ctx, attempt), ctx.signal);
    const secret = ctx.managerPassword;
    const stdout = ending.stdout.map((l) => redact(l, secret).trim()).filter((l) => l !== '');
    const stderr = ending.stderr.map((l) => redact(l, secret).trim()).filter((l) => l !== '');
    const lastOut = stdout.at(-1) ?? '';
    const detail = stderr.length > 0 ? stderr.slice(-3).join(' / ') : lastOut;
    const step = ctx.target.replace(/_/g, ' ');
    const withDetail = (head: string) => clip(detail ? `${head}: ${detail}` : head);
    const result = ((): StepResult => {
      if (ending.spawnError) return { outcome: 'broken', message: clip(`${step}: could not start the script: ${ending.spawnError.message}`) };
      if (ending.interrupted) return { outcome: 'transient', message: 'interrupted: the bot is shutting down; the script was stopped' };
      if (ending.timedOut) {
        return { outcome: 'broken', message: withDetail(`${step}: the script timed out after ${duration(this.timeoutMs)} and was stopped`) };
      }
      if (ending.code === 0) return { outcome: 'done', message: clip(lastOut || `${step} done`) };
      if (ending.code === EXIT_TRANSIENT) return { outcome: 'transient', message: withDetail(`${step}: temporary failure (exit ${EXIT_TRANSIENT})`) };
      if (ending.code === EXIT_BUSY) return { outcome: 'busy', message: withDetail(`${step}: the device is busy (exit ${EXIT_BUSY})`) };
      if (ending.code === null) return { outcome: 'broken', message: withDetail(`${step}: the script was killed by ${ending.signal ?? 'a signal'}`) };
      return { outcome: 'broken', message: withDetail(`${step}: the script failed (exit ${ending.code})`) };
    })();
    this.options.log?.[result.outcome === 'done' ? 'info' : 'warn'](
      {
        executor: 'script',
        request: ctx.request.ref,
        device: ctx.device.name,
        state: ctx.target,
        attempt,
        exitCode: ending.code,
        signal: ending.signal,
        timedOut: ending.timedOut,
        ms: ending.ms,
        outcome: result.outcome,
      },
      'message' in result ? result.message : '',
    );
    return result;
  }

  /** Spawns the command and waits for it to end, stopping it on timeout or abort. */
  private run(env: Record<string, string>, signal: AbortSignal): Promise<Ending> {
    const started = Date.now();
    const stdout = new Tail(this.maxOutputBytes);
    const stderr = new Tail(this.maxOutputBytes);
    return new Promise<Ending>((resolve) => {
      let timedOut = false;
      let interrupted = false;
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const child = spawn('/bin/sh', ['-c', this.options.command], {
        env,
        cwd: this.options.cwd,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const finish = (code: number | null, sig: NodeJS.Signals | null, spawnError: Error | null) => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        signal.removeEventListener('abort', onAbort);
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve({
          code,
          signal: sig,
          timedOut,
          interrupted,
          spawnError,
          stdout: stdout.lines(),
          stderr: stderr.lines(),
          ms: Date.now() - started,
        });
      };
      const killGroup = (sig: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // The group is already gone.
        }
      };
      const stop = () => {
        killGroup('SIGTERM');
        timers.push(setTimeout(() => killGroup('SIGKILL'), this.killGraceMs));
        // Bounded even if the process cannot be reaped: give up waiting a little after SIGKILL.
        timers.push(setTimeout(() => finish(null, 'SIGKILL', null), this.killGraceMs + 2000));
      };
      function onAbort() {
        if (settled || timedOut || interrupted) return;
        interrupted = true;
        stop();
      }
      child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.once('error', (error) => finish(null, null, error));
      child.once('exit', (code, sig) => {
        // Background processes the script left behind in its group are stopped with it.
        killGroup('SIGTERM');
        // Whatever is still in the pipes arrives before 'close'; a descendant that escaped the
        // process group may hold them open, so wait for 'close' only briefly.
        timers.push(setTimeout(() => finish(code, sig, null), 500));
        child.once('close', () => finish(code, sig, null));
      });
      signal.addEventListener('abort', onAbort, { once: true });
      timers.push(
        setTimeout(() => {
          if (settled || interrupted) return;
          timedOut = true;
          stop();
        }, this.timeoutMs),
      );
    });
  }
}
