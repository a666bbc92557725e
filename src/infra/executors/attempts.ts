/**
 * Counts how many times an executor has been asked to perform the same step of a run, so retries
 * are numbered even when the engine retries a `next` without recording anything on the run.
 */
import type { StepContext } from '../../ports.js';

/** Runs remembered at most; the least recently performed are forgotten first. */
const MAX_RUNS = 10_000;

/** Attempt numbers per run; one entry per run in flight, dropped when the run reaches done. */
export class AttemptCounter {
  private readonly byRun = new Map<number, { target: string; count: number }>();

  /** Records one more attempt of ctx.target and returns its number (1 for the first). */
  next(ctx: Pick<StepContext, 'run' | 'target'>): number {
    const key = ctx.run.id;
    const entry = this.byRun.get(key);
    const count = entry && entry.target === ctx.target ? entry.count + 1 : 1;
    this.byRun.delete(key);
    if (ctx.target !== 'done') {
      this.byRun.set(key, { target: ctx.target, count });
      if (this.byRun.size > MAX_RUNS) this.byRun.delete(this.byRun.keys().next().value as number);
    }
    // What the run itself records survives a restart: `attempt` counts the tries at leaving its
    // state (a retry after a transient failure adds one); a step towards the state the run is
    // already in is one more attempt of that state.
    const recorded = ctx.run.state === ctx.target ? ctx.run.attempt + 1 : Math.max(1, ctx.run.attempt);
    return Math.max(count, recorded);
  }

  /** How many runs are being counted (for tests: the map does not grow without bound). */
  get size(): number {
    return this.byRun.size;
  }
}
