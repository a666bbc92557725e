import { describe, expect, it } from '@jest/globals';
import { advanceRun, allowedRunEvents, RUN_ORDER, runProgress } from '../../src/domain/run-machine.js';
import type { RunEventName } from '../../src/domain/run-machine.js';
import { RUN_STATES } from '../../src/domain/types.js';
import type { RunCondition, RunState } from '../../src/domain/types.js';

// [004] / SPEC §5, written out independently of the implementation.
const NEXT: Partial<Record<RunState, RunState>> = {
  idle: 'prepare_split',
  prepare_split: 'split',
  split: 'prepare_merge',
  prepare_merge: 'merge',
  merge: 'commit',
  commit: 'finish',
  finish: 'done',
  abort: 'finish',
};
const ABORTABLE: RunState[] = ['prepare_split', 'split', 'prepare_merge', 'merge'];
const RETRYABLE: RunState[] = ['prepare_split', 'split', 'prepare_merge', 'merge', 'commit', 'finish', 'abort'];

const run = (state: RunState, condition: RunCondition = 'ok', attempt = 1) => ({ state, condition, attempt, outcome: 'pending' as const });

describe('run state machine', () => {
  it('follows the order of [004]', () => {
    expect(RUN_ORDER).toEqual(['idle', 'prepare_split', 'split', 'prepare_merge', 'merge', 'commit', 'finish', 'done']);
  });

  describe('next', () => {
    it.each(RUN_STATES.map((s) => [s, NEXT[s] ?? null] as const))('from %s leads to %s', (state, to) => {
      const result = advanceRun(run(state, 'ok', 3), 'next');
      if (to === null) {
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.error.code).toBe('invalid_run_transition');
        return;
      }
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.value).toMatchObject({ from: state, to, state: to, condition: 'ok', attempt: 1 });
    });

    it('completes a run that reaches done through commit', () => {
      let current = { ...run('idle'), attempt: 0 };
      const visited: RunState[] = [];
      while (current.state !== 'done') {
        const result = advanceRun(current, 'next');
        if (!result.ok) throw new Error(result.error.message);
        const { state, condition, attempt, outcome } = result.value;
        current = { state, condition, attempt, outcome: outcome as 'pending' };
        visited.push(state);
      }
      expect(visited).toEqual(['prepare_split', 'split', 'prepare_merge', 'merge', 'commit', 'finish', 'done']);
      expect(current.outcome).toBe('completed');
    });

    it('keeps the outcome pending until done', () => {
      for (const state of ['idle', 'prepare_split', 'split', 'prepare_merge', 'merge', 'commit'] as RunState[]) {
        const result = advanceRun(run(state), 'next');
        expect(result.ok && result.value.outcome).toBe('pending');
      }
    });
  });

  describe('abort', () => {
    it.each(RUN_STATES.map((s) => [s, ABORTABLE.includes(s)] as const))('from %s is allowed: %s', (state, allowed) => {
      const result = advanceRun(run(state, 'ok', 2), 'abort');
      expect(result.ok).toBe(allowed);
      if (result.ok) {
        expect(result.value).toMatchObject({ from: state, to: 'abort', state: 'abort', attempt: 1, outcome: 'aborted' });
      } else {
        expect(result.error.code).toBe('invalid_run_transition');
      }
    });

    it.each(ABORTABLE)('from %s goes abort → finish → done and ends aborted', (state) => {
      const aborted = advanceRun(run(state), 'abort');
      if (!aborted.ok) throw new Error(aborted.error.message);
      const finish = advanceRun(aborted.value, 'next');
      if (!finish.ok) throw new Error(finish.error.message);
      expect(finish.value.state).toBe('finish');
      const done = advanceRun(finish.value, 'next');
      if (!done.ok) throw new Error(done.error.message);
      expect(done.value).toMatchObject({ state: 'done', outcome: 'aborted' });
    });

    it.each(['commit', 'finish'] as RunState[])('from %s is refused with a message naming where abort is possible', (state) => {
      const result = advanceRun(run(state), 'abort');
      expect(result.ok ? '' : result.error.message).toMatch(/only possible from prepare split, split, prepare merge, merge/);
      expect(result.ok ? '' : result.error.message).toMatch(/Allowed now: next, retry/);
    });
  });

  describe('retry', () => {
    it.each(RUN_STATES.map((s) => [s, RETRYABLE.includes(s)] as const))('in %s is allowed: %s', (state, allowed) => {
      const result = advanceRun(run(state, 'ok', 2), 'retry');
      expect(result.ok).toBe(allowed);
      if (result.ok) {
        expect(result.value).toMatchObject({ from: state, to: state, state, attempt: 3, condition: 'ok' });
      } else {
        expect(result.error.code).toBe('invalid_run_transition');
      }
    });
  });

  describe('busy and broken runs', () => {
    const moving: RunEventName[] = ['next', 'retry', 'abort'];
    const cases = (['busy', 'broken'] as RunCondition[]).flatMap((condition) =>
      ['prepare_split', 'split', 'merge', 'commit', 'finish', 'abort'].flatMap((state) =>
        moving.map((event) => [condition, state as RunState, event] as const),
      ),
    );

    it.each(cases)('a %s run in %s refuses %s', (condition, state, event) => {
      const result = advanceRun(run(state, condition), event);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe('run_blocked');
      expect(result.error.message).toContain(condition);
    });

    it('a busy run may turn broken and both can be cleared, keeping state and attempt', () => {
      const busy = advanceRun(run('split', 'ok', 2), 'mark_busy');
      expect(busy.ok && busy.value).toMatchObject({ state: 'split', condition: 'busy', attempt: 2 });
      const broken = advanceRun(run('split', 'busy', 2), 'mark_broken');
      expect(broken.ok && broken.value).toMatchObject({ state: 'split', condition: 'broken', attempt: 2 });
      const cleared = advanceRun(run('split', 'broken', 2), 'clear');
      expect(cleared.ok && cleared.value).toMatchObject({ state: 'split', condition: 'ok', attempt: 2 });
      const clearedBusy = advanceRun(run('split', 'busy', 2), 'clear');
      expect(clearedBusy.ok && clearedBusy.value).toMatchObject({ condition: 'ok' });
    });

    it.each([
      ['ok', 'clear'],
      ['busy', 'mark_busy'],
      ['broken', 'mark_busy'],
      ['broken', 'mark_broken'],
    ] as Array<[RunCondition, RunEventName]>)('a %s run refuses %s', (condition, event) => {
      const result = advanceRun(run('split', condition), event);
      expect(result.ok ? '' : result.error.code).toBe('invalid_run_transition');
    });

    it('a finished run accepts no event at all', () => {
      expect(allowedRunEvents(run('done'))).toEqual([]);
    });
  });

  describe('allowed events', () => {
    it.each([
      ['idle', 'ok', ['next', 'mark_busy', 'mark_broken']],
      ['split', 'ok', ['next', 'retry', 'abort', 'mark_busy', 'mark_broken']],
      ['commit', 'ok', ['next', 'retry', 'mark_busy', 'mark_broken']],
      ['abort', 'ok', ['next', 'retry', 'mark_busy', 'mark_broken']],
      ['split', 'busy', ['mark_broken', 'clear']],
      ['split', 'broken', ['clear']],
      ['done', 'ok', []],
    ] as Array<[RunState, RunCondition, RunEventName[]]>)('in %s while %s are %j', (state, condition, events) => {
      expect(allowedRunEvents(run(state, condition))).toEqual(events);
    });
  });

  describe('progress', () => {
    it.each([
      ['idle', 0],
      ['prepare_split', 14],
      ['split', 29],
      ['prepare_merge', 43],
      ['merge', 57],
      ['commit', 71],
      ['abort', 71],
      ['finish', 86],
      ['done', 100],
    ] as Array<[RunState, number]>)('%s shows %i %%', (state, percent) => {
      expect(runProgress(state)).toBe(percent);
    });
  });
});
