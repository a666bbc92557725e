/** The manual executor: agents drive every step by hand (Next / Retry / Abort in the ops channel [003]). */
import type { Executor, StepResult } from '../../ports.js';

/** Never performs anything itself: every step reports `waiting`, so only an agent moves the run. */
export class ManualExecutor implements Executor {
  readonly kind = 'manual' as const;

  /** Always `waiting`; the run stays where it is until an agent acts. */
  async perform(): Promise<StepResult> {
    return { outcome: 'waiting' };
  }
}
