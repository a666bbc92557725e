/**
 * A Scheduler for command tests that records what services asked of the queue, so tests can
 * assert that a change was handed to the queue (the real one is tested in test/integration).
 */
import type { Scheduler } from '../../src/ports.js';

export class RecordingScheduler implements Scheduler {
  /** Request ids passed to syncRequest, in call order. */
  readonly synced: number[] = [];
  kicks = 0;

  async syncRequest(requestId: number): Promise<void> {
    this.synced.push(requestId);
  }

  kickOutbox(): void {
    this.kicks++;
  }
}
