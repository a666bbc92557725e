/**
 * A one-line progress bar for long console work (e.g. importing records): redrawn in place on a
 * terminal, at most every 100 ms; silent when the stream is not a TTY (pipes, files, CI logs).
 */

/** What long-running work reports to; `done()` ends the line. */
export interface ProgressBar {
  update(done: number, total: number): void;
  done(): void;
}

/** The shortest time between two redraws, in milliseconds. */
export const PROGRESS_REDRAW_MS = 100;

/** Draws `label [#####.....]  45%  4500/10000` on one line of a TTY stream; does nothing on other streams. */
export function createProgressBar(
  stream: NodeJS.WriteStream,
  label: string,
  now: () => number = Date.now,
): ProgressBar {
  if (!stream.isTTY) return { update: () => undefined, done: () => undefined };
  let lastDrawn = -Infinity;
  let last: { done: number; total: number } | null = null;
  let drawnOnce = false;
  let finished = false;

  const draw = (done: number, total: number): void => {
    const safeTotal = Math.max(0, total);
    const ratio = safeTotal === 0 ? 1 : Math.min(1, Math.max(0, done / safeTotal));
    const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
    const counts = `${done}/${safeTotal}`;
    const columns = stream.columns && stream.columns > 0 ? stream.columns : 80;
    const fixed = label.length + percent.length + counts.length + 7; // spaces and brackets
    const width = Math.max(10, Math.min(40, columns - fixed - 1));
    const filled = Math.round(ratio * width);
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent}  ${counts}`;
    stream.write(`\r${line.slice(0, Math.max(1, columns - 1))}\x1b[K`);
    drawnOnce = true;
  };

  return {
    update(done: number, total: number): void {
      if (finished) return;
      last = { done, total };
      const t = now();
      if (t - lastDrawn < PROGRESS_REDRAW_MS && done < total) return;
      lastDrawn = t;
      draw(done, total);
    },
    done(): void {
      if (finished) return;
      finished = true;
      if (last !== null) draw(last.done, last.total);
      if (drawnOnce) stream.write('\n');
    },
  };
}
