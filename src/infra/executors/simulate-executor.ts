/**
 * The simulate executor: timed steps with plausible messages, for the demo and tests (SPEC §5).
 * Deterministic: the same failures spec fails the same steps on every run, with no randomness.
 */
import type { Device, RunState } from '../../domain/types.js';
import type { Executor, StepContext, StepResult } from '../../ports.js';
import { AttemptCounter } from './attempts.js';
import { parseFailureSpec } from './simulate-failures.js';
import type { SimulatedFailure } from './simulate-failures.js';

/** Called when a simulated run enters finish: with the target version after commit, the original one after abort. */
export type FinishHook = (device: Device, version: string) => void | Promise<void>;

/** How a SimulateExecutor behaves: step time, injected failures, and the finish hook. */
export interface SimulateExecutorOptions {
  /** How long each step takes (the run stays in a state this long before the next step). */
  stepMs: number;
  /** Injected failures: parsed ones, or a SIMULATE_FAIL spec string such as "merge:1,split:broken". */
  failures?: readonly SimulatedFailure[] | string;
  /** Lets a simulated device report its new version (see simulated-device.ts). */
  onFinish?: FinishHook;
}

/** What each step reports when it succeeds. */
function doneMessage(ctx: StepContext, aborting: boolean): string {
  const { fromVersion, targetVersion } = ctx.item;
  const messages: Record<RunState, string> = {
    idle: 'Waiting to start',
    prepare_split: 'Readiness checks passed: both nodes healthy, configuration backed up',
    split: 'Split the cluster: standby node detached and taken out of service',
    prepare_merge: `Installed ${targetVersion} on the standby node; readiness checks passed`,
    merge: `Merged: the standby node now serves traffic on ${targetVersion}; applications restarted`,
    commit: 'Committed: resynchronizing data to the other node',
    finish: aborting
      ? `Cleaned up; the device stays on ${fromVersion}`
      : `Cleaned up temporary resources; the device runs ${targetVersion}`,
    abort: `Configuration restored: the device is back on ${fromVersion}`,
    done: aborting ? 'Run closed after abort' : 'Upgrade complete',
  };
  return messages[ctx.target];
}

/** What an injected failure of a step reports. */
function failureMessage(kind: SimulatedFailure['kind'], target: RunState): string {
  const step = target.replace(/_/g, ' ');
  switch (kind) {
    case 'transient':
      return `${step}: the device did not answer the readiness probe in time (simulated); retrying`;
    case 'busy':
      return `${step}: the device is busy with another operation (simulated); clear the run when it is free`;
    case 'broken':
      return `${step}: the step failed and left the device needing attention (simulated)`;
  }
}

/** Performs every step successfully after `stepMs`, except the injected failures; never throws. */
export class SimulateExecutor implements Executor {
  readonly kind = 'simulate' as const;
  private readonly stepMs: number;
  private readonly failures: readonly SimulatedFailure[];
  private readonly onFinish?: FinishHook;
  private readonly attempts = new AttemptCounter();

  /** Throws when `failures` is a spec string that does not parse. */
  constructor(options: SimulateExecutorOptions) {
    if (!Number.isFinite(options.stepMs) || options.stepMs < 0) throw new Error(`stepMs must be >= 0, got ${options.stepMs}`);
    this.stepMs = options.stepMs;
    if (typeof options.failures === 'string') {
      const parsed = parseFailureSpec(options.failures);
      if (!parsed.ok) throw new Error(`Invalid simulate failures: ${parsed.error}`);
      this.failures = parsed.value;
    } else {
      this.failures = options.failures ?? [];
    }
    this.onFinish = options.onFinish;
  }

  /** `done` with holdMs = stepMs, or the injected failure for this step and attempt. */
  async perform(ctx: StepContext): Promise<StepResult> {
    if (ctx.signal.aborted) return { outcome: 'transient', message: 'interrupted: the bot is shutting down' };
    const attempt = this.attempts.next(ctx);
    const failure = this.failures.find((f) => f.state === ctx.target);
    if (failure) {
      const limit = failure.kind === 'transient' ? failure.times : 1;
      if (attempt <= limit) return { outcome: failure.kind, message: failureMessage(failure.kind, ctx.target) };
    }
    const aborting = ctx.run.outcome === 'aborted' || ctx.run.state === 'abort';
    if (ctx.target === 'finish' && this.onFinish) {
      const version = aborting ? ctx.item.fromVersion : ctx.item.targetVersion;
      try {
        await this.onFinish(ctx.device, version);
      } catch (error) {
        return { outcome: 'broken', message: `finish: could not update the simulated device: ${(error as Error).message}` };
      }
    }
    return { outcome: 'done', message: doneMessage(ctx, aborting), holdMs: this.stepMs };
  }
}
