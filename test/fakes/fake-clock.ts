/** A clock that stands still until a test moves it. */
import type { Clock } from '../../src/ports.js';

/** Fixed time for tests; `set` and `advance` move it. */
export class FakeClock implements Clock {
  private current: Date;

  constructor(start: string | Date) {
    this.current = new Date(start);
  }

  now(): Date {
    return new Date(this.current);
  }

  set(at: string | Date): void {
    this.current = new Date(at);
  }

  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}
