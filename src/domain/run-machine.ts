/**
 * The upgrade run state machine of [004] (SPEC §5): a fixed order with no skipping and no going
 * back, abort only before commit, retry of the current state after a transient failure, and
 * nothing advancing while the run is busy or broken.
 */
import { fail, ok } from './result.js';
import type { Result } from './result.js';
import type { Run, RunCondition, RunOutcome, RunState } from './types.js';

/** The happy path, in order. */
export const RUN_ORDER: readonly RunState[] = [
  'idle',
  'prepare_split',
  'split',
  'prepare_merge',
  'merge',
  'commit',
  'finish',
  'done',
];

/** States from which a run may be aborted [004]. */
export const ABORTABLE_STATES: readonly RunState[] = ['prepare_split', 'split', 'prepare_merge', 'merge'];

/** What an executor or agent can do to a run. */
export type RunEventName = 'next' | 'retry' | 'abort' | 'mark_busy' | 'mark_broken' | 'clear';

/** Every run event, in a stable order. */
export const RUN_EVENTS: readonly RunEventName[] = ['next', 'retry', 'abort', 'mark_busy', 'mark_broken', 'clear'];

/** The part of a run the machine reads. */
export type RunSnapshot = Pick<Run, 'state' | 'condition' | 'attempt' | 'outcome'>;

/** The run after an event, with the state it left and the state it entered (equal for retry and condition changes). */
export interface RunStep {
  state: RunState;
  condition: RunCondition;
  attempt: number;
  outcome: RunOutcome;
  from: RunState;
  to: RunState;
}

/** The state `next` leads to, or null when `next` does not apply. */
export function nextState(state: RunState): RunState | null {
  if (state === 'abort') return 'finish';
  if (state === 'done') return null;
  const i = RUN_ORDER.indexOf(state);
  return RUN_ORDER[i + 1] ?? null;
}

/** Human wording of a run state: "prepare_split" → "prepare split". */
export function runStateLabel(state: RunState): string {
  return state.replace(/_/g, ' ');
}

/** Events that move the state (refused while busy or broken). */
const MOVING: readonly RunEventName[] = ['next', 'retry', 'abort'];

/** Why `event` cannot apply to `run`, or null when it can (the blocked case is reported separately). */
function refusal(run: RunSnapshot, event: RunEventName): string | null {
  const s = run.state;
  switch (event) {
    case 'next':
      return s === 'done' ? 'the run is done' : null;
    case 'retry':
      if (s === 'idle') return 'the run has not started, so there is nothing to retry';
      if (s === 'done') return 'the run is done';
      return null;
    case 'abort':
      if (ABORTABLE_STATES.includes(s)) return null;
      if (s === 'idle') return 'the run has not started; cancel the request instead';
      if (s === 'abort') return 'the run is already aborting';
      return `abort is only possible from ${ABORTABLE_STATES.map(runStateLabel).join(', ')} [004]`;
    case 'mark_busy':
      if (s === 'done') return 'the run is done';
      return run.condition === 'ok' ? null : `the run is already ${run.condition}`;
    case 'mark_broken':
      if (s === 'done') return 'the run is done';
      return run.condition === 'broken' ? 'the run is already broken' : null;
    case 'clear':
      return run.condition === 'ok' ? 'the run is not busy or broken' : null;
  }
}

/** The events the run accepts right now, in RUN_EVENTS order. */
export function allowedRunEvents(run: RunSnapshot): RunEventName[] {
  return RUN_EVENTS.filter((e) => advanceRun(run, e).ok);
}

/**
 * Applies one event: `next` moves one state along (abort → finish → done), `retry` re-attempts the
 * current state, `abort` enters abort, and mark_busy / mark_broken / clear change the condition.
 * Moving events are refused with run_blocked while busy or broken; other refusals use
 * invalid_run_transition and name the allowed events. Reaching done sets outcome completed,
 * unless the run was aborted (outcome aborted is set on entering abort).
 */
export function advanceRun(run: RunSnapshot, event: RunEventName): Result<RunStep> {
  const from = run.state;
  if (MOVING.includes(event) && run.condition !== 'ok') {
    return fail(
      'run_blocked',
      `The run is ${run.condition} in ${runStateLabel(from)}; nothing can advance until it is cleared. ` +
        (run.condition === 'broken' ? 'Fix the problem, then clear it.' : 'Wait for the current step to finish.'),
      { state: from, condition: run.condition, event },
    );
  }
  const reason = refusal(run, event);
  if (reason !== null) {
    const allowed = RUN_EVENTS.filter((e) => e !== event && refusal(run, e) === null && (run.condition === 'ok' || !MOVING.includes(e)));
    return fail(
      'invalid_run_transition',
      `Cannot ${event.replace(/_/g, ' ')} the run in ${runStateLabel(from)}: ${reason}. ` +
        (allowed.length > 0 ? `Allowed now: ${allowed.join(', ')}.` : 'No further events are allowed.'),
      { state: from, event, allowed },
    );
  }
  const same = { state: from, condition: run.condition, attempt: run.attempt, outcome: run.outcome, from, to: from };
  switch (event) {
    case 'next': {
      const to = nextState(from) as RunState;
      const outcome: RunOutcome = to === 'done' ? (run.outcome === 'pending' ? 'completed' : run.outcome) : run.outcome;
      return ok({ state: to, condition: 'ok', attempt: 1, outcome, from, to });
    }
    case 'retry':
      return ok({ ...same, attempt: run.attempt + 1 });
    case 'abort':
      return ok({ state: 'abort', condition: 'ok', attempt: 1, outcome: 'aborted', from, to: 'abort' });
    case 'mark_busy':
      return ok({ ...same, condition: 'busy' });
    case 'mark_broken':
      return ok({ ...same, condition: 'broken' });
    case 'clear':
      return ok({ ...same, condition: 'ok' });
  }
}

/** Display progress, 0-100: the position along RUN_ORDER (abort counts as the commit position). */
export function runProgress(state: RunState): number {
  const position = state === 'abort' ? RUN_ORDER.indexOf('commit') : RUN_ORDER.indexOf(state);
  return Math.round((position / (RUN_ORDER.length - 1)) * 100);
}
