/** Starting a harness once for the tests of a describe block and closing it after them. */
import { afterAll, beforeAll } from '@jest/globals';

/** Runs `start` before the enclosing block's tests (handing the result to `use`) and `close()` after them. */
export function startedPerBlock<H extends { close(): Promise<void> }>(start: () => Promise<H>, use: (h: H) => void, timeoutMs: number): void {
  let started: H | undefined;
  beforeAll(async () => {
    started = await start();
    use(started);
  }, timeoutMs);
  afterAll(async () => {
    await started?.close();
  });
}
