import { describe, expect, it } from '@jest/globals';
import { createProgressBar } from '../../src/adapters/console/progress.js';

/** A stand-in for process.stderr that records what is written. */
function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = {
    isTTY,
    columns: 80,
    write: (chunk: string) => {
      written.push(chunk);
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

describe('the console progress bar', () => {
  it('writes nothing when the stream is not a terminal', () => {
    const { stream, written } = fakeStream(false);
    const bar = createProgressBar(stream, 'Importing');
    bar.update(1, 10);
    bar.update(10, 10);
    bar.done();
    expect(written).toEqual([]);
  });

  it('redraws one line in place at most every 100 ms and always shows completion', () => {
    const { stream, written } = fakeStream(true);
    let now = 0;
    const bar = createProgressBar(stream, 'Importing', () => now);
    bar.update(0, 200);
    now = 50;
    bar.update(50, 200);
    now = 120;
    bar.update(100, 200);
    bar.update(200, 200);
    bar.done();
    const lines = written.filter((w) => w.startsWith('\r'));
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain(' 50%  100/200');
    expect(lines[2]).toContain('100%  200/200');
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    expect(written[written.length - 1]).toBe('\n');
  });

  it('ends without a newline when nothing was drawn', () => {
    const { stream, written } = fakeStream(true);
    createProgressBar(stream, 'Importing').done();
    expect(written).toEqual([]);
  });
});
