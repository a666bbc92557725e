/**
 * Which device runs of a request start next [002]: steps of one device in order; a load-balanced
 * group together, after its database primary; at most `concurrency` runs at once (a group is
 * never split by the limit once its turn comes); and items that can no longer run (an earlier
 * step of the device, or the group's primary, did not complete) are skipped. Pure.
 */
import type { Device, RequestItem, RunOutcome } from './types.js';

/** What the planner decided for the items that have no run yet. */
export interface RunPlan {
  /** Items whose run starts now. */
  start: RequestItem[];
  /** Items that will never run, with why. */
  skip: { item: RequestItem; reason: string }[];
}

const SUCCESS: readonly RunOutcome[] = ['completed', 'completed_with_issues'];

function finished(item: RequestItem): boolean {
  return item.run !== null && item.run.state === 'done';
}

function succeeded(item: RequestItem): boolean {
  return finished(item) && SUCCESS.includes(item.run!.outcome);
}

function active(item: RequestItem): boolean {
  return item.run !== null && item.run.state !== 'done';
}

/** Plans the next runs of one request; `devices` maps device id → device on record. */
export function planRuns(items: readonly RequestItem[], devices: ReadonlyMap<number, Device>, concurrency: number): RunPlan {
  const ordered = [...items].sort((a, b) => a.seq - b.seq || a.id - b.id);
  const plan: RunPlan = { start: [], skip: [] };
  const skipped = new Set<number>();
  const group = (item: RequestItem) => devices.get(item.deviceId)?.loadBalancerGroup ?? null;
  const isPrimary = (item: RequestItem) => devices.get(item.deviceId)?.databasePrimary === true;

  /** Why `item` cannot run at all, or null; 'wait' when it must wait for others. */
  const blocker = (item: RequestItem): string | 'wait' | null => {
    const earlier = ordered.filter((o) => o.deviceId === item.deviceId && o.seq < item.seq);
    for (const e of earlier) {
      if (skipped.has(e.id)) return `an earlier step of ${item.deviceName} was skipped`;
      if (finished(e) && !succeeded(e)) return `the step to ${e.targetVersion} on ${item.deviceName} did not complete`;
      if (!finished(e)) return 'wait';
    }
    const g = group(item);
    if (g !== null && !isPrimary(item)) {
      const primaries = ordered.filter((o) => group(o) === g && isPrimary(o));
      for (const p of primaries) {
        if (skipped.has(p.id)) return `the database primary ${p.deviceName} of group ${g} was skipped`;
        if (finished(p) && !succeeded(p)) return `the database primary ${p.deviceName} of group ${g} did not complete`;
        if (!finished(p)) return 'wait';
      }
    }
    return null;
  };

  let running = ordered.filter(active).length;
  const started = new Set<number>();
  for (const item of ordered) {
    if (item.run !== null || started.has(item.id)) continue;
    const why = blocker(item);
    if (why === 'wait') continue;
    if (why !== null) {
      skipped.add(item.id);
      plan.skip.push({ item, reason: why });
      continue;
    }
    const g = group(item);
    // Members of a group (other than primaries) start together, so take the whole ready group.
    const batch =
      g !== null && !isPrimary(item)
        ? ordered.filter((o) => o.run === null && !started.has(o.id) && group(o) === g && !isPrimary(o) && blocker(o) === null)
        : [item];
    if (running > 0 && running + batch.length > concurrency) continue;
    if (running >= concurrency) continue;
    for (const b of batch) {
      started.add(b.id);
      plan.start.push(b);
    }
    running += batch.length;
  }
  return plan;
}
