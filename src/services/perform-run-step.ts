/**
 * Use case: the queue asks the executor to perform the next step of a run. The executor works
 * outside any transaction; its result is applied through applyRunChange only if the run has not
 * moved meanwhile (so a repeated or stale job changes nothing). Transient failures are retried
 * with backoff up to the limit, then the run is marked broken for an agent; after `finish` the
 * device's status URL is checked [002]: the original version is expected after an abort.
 */
import { ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { nextState } from '../domain/run-machine.js';
import type { PostCheck } from '../ports.js';
import { PROGRESS_INTERVAL_MS, applyRunChange, runTxContext } from './advance-run.js';
import type { RunChange } from './advance-run.js';
import { retryDelayMs } from './engine.js';
import type { EngineDeps } from './engine.js';
import { readManagerPassword } from './manager-password.js';

/** What the job should do next for this run. */
export type StepOutcome =
  /** Schedule the next step of the run after `delayMs`. */
  | { kind: 'continue'; delayMs: number }
  /** The first step failed transiently: try it again after `delayMs` (the job counts the tries). */
  | { kind: 'retry_first'; delayMs: number; reason: string }
  /**
   * Nothing further is automatic for this run (done, waiting for an agent, blocked, or the step was
   * stale). `syncRequest`: the run finished, so other runs may have started or the request ended,
   * and the request's jobs need bringing in line.
   */
  | { kind: 'stop'; reason: string; syncRequest?: boolean };

/** Performs one step of run `runId` of request `requestId` and records what happened. */
export async function performRunStep(
  deps: EngineDeps,
  requestId: number,
  runId: number,
  signal: AbortSignal,
  /** Failed tries of the first step so far (an idle run has no attempt counter of its own). */
  idleTries = 0,
): Promise<Result<StepOutcome>> {
  // The request's header and the one run: a step reads the same whatever the size of the request.
  const request = await deps.store.requests.header(requestId);
  if (!request || request.status !== 'in_progress') return ok({ kind: 'stop', reason: 'request not in progress' });
  const item = await deps.store.requests.itemOfRun(runId);
  const run = item?.requestId === requestId ? item.run : null;
  if (!item || !run) return ok({ kind: 'stop', reason: 'run not found' });
  if (run.state === 'done') return ok({ kind: 'stop', reason: 'run done' });
  if (run.condition !== 'ok') return ok({ kind: 'stop', reason: `run ${run.condition}` });
  const device = await deps.store.devices.byId(item.deviceId);
  if (!device) return ok({ kind: 'stop', reason: 'device missing' });
  const target = nextState(run.state);
  if (!target) return ok({ kind: 'stop', reason: 'no next state' });
  const managerPassword = await readManagerPassword(deps.store, deps.secretBox, requestId);
  const result = await deps.executor.perform({ request, item, device, run, target, managerPassword, signal });
  if (result.outcome === 'waiting') return ok({ kind: 'stop', reason: 'waiting for an agent' });
  const expect = { state: run.state, attempt: run.attempt };
  const actor = `executor:${deps.executor.kind}`;
  let change: RunChange;
  let after: StepOutcome;
  switch (result.outcome) {
    case 'done': {
      let postCheck: PostCheck | undefined;
      let issue: string | undefined;
      if (target === 'done') {
        const expected = run.outcome === 'aborted' ? item.fromVersion : item.targetVersion;
        postCheck = await deps.statusChecker.check(device, expected);
        if (!postCheck.ok) issue = `Post-upgrade check failed: ${postCheck.message}`;
        else if (postCheck.version !== expected) {
          issue = `Post-upgrade check: the device reports ${postCheck.version ?? 'no version'}, expected ${expected}.`;
        }
      }
      // A routine step leaves the progress message to a later change when the next step follows
      // shortly (a large request's progress is costly to read; see applyRunChange).
      const routine = !issue && (result.holdMs ?? 0) < PROGRESS_INTERVAL_MS;
      change = {
        event: 'next',
        actor,
        message: result.message,
        expect,
        ...(postCheck ? { postCheck } : {}),
        ...(issue ? { issue } : {}),
        ...(routine ? { coalesceProgress: true } : {}),
      };
      after = target === 'done' ? { kind: 'stop', reason: 'run done', syncRequest: true } : { kind: 'continue', delayMs: result.holdMs ?? 0 };
      break;
    }
    case 'transient': {
      if (run.state === 'idle' && idleTries + 1 < deps.engine.maxAttempts) {
        // The machine has nothing to retry before the first state: try again later, unchanged.
        return ok({ kind: 'retry_first', delayMs: retryDelayMs(deps.engine, idleTries + 1), reason: result.message });
      }
      if (run.attempt >= deps.engine.maxAttempts || run.state === 'idle') {
        change = {
          event: 'mark_broken',
          actor,
          message: `${result.message} (gave up after ${Math.max(run.attempt, idleTries + 1)} attempts)`,
          issue: `${target.replace(/_/g, ' ')} failed ${Math.max(run.attempt, idleTries + 1)} times: ${result.message}`,
          expect,
        };
        after = { kind: 'stop', reason: 'broken after retries' };
      } else {
        change = { event: 'retry', actor, message: `Retrying after: ${result.message}`, issue: `${result.message} (retried)`, expect };
        after = { kind: 'continue', delayMs: retryDelayMs(deps.engine, run.attempt) };
      }
      break;
    }
    case 'busy':
      change = { event: 'mark_busy', actor, message: result.message, issue: `Device busy: ${result.message}`, expect };
      after = { kind: 'stop', reason: 'device busy' };
      break;
    case 'broken':
      change = { event: 'mark_broken', actor, message: result.message, issue: result.message, expect };
      after = { kind: 'stop', reason: 'broken' };
      break;
  }
  const applied = await deps.store.transaction((tx) =>
    applyRunChange(tx, runTxContext(deps), requestId, runId, change),
  );
  if (!applied.ok) {
    if (applied.error.code === 'stale_step' || applied.error.code === 'no_active_run') return ok({ kind: 'stop', reason: applied.error.message });
    return applied;
  }
  return ok(after);
}
