/**
 * What the run engine's use cases need besides the command dependencies: the executor that
 * performs steps, the post-upgrade checker and the engine's limits.
 */
import type { Deps } from '../core/command.js';
import type { Executor, StatusChecker } from '../ports.js';

export interface EngineSettings {
  /** Devices of one request upgraded at once (a load-balanced group may exceed it to stay together). */
  concurrency: number;
  /** Attempts of one step before a transient failure marks the run broken. */
  maxAttempts: number;
  /** First retry delay; doubled per attempt. */
  retryBaseMs: number;
}

export const DEFAULT_ENGINE_SETTINGS: EngineSettings = { concurrency: 4, maxAttempts: 3, retryBaseMs: 2000 };

/** Dependencies of the engine's use cases. */
export interface EngineDeps extends Deps {
  executor: Executor;
  statusChecker: StatusChecker;
  engine: EngineSettings;
}

/** The delay before retry number `attempt` (1-based): base, 2×base, 4×base …, capped at 5 minutes. */
export function retryDelayMs(settings: EngineSettings, attempt: number): number {
  return Math.min(settings.retryBaseMs * 2 ** Math.max(0, attempt - 1), 5 * 60_000);
}
