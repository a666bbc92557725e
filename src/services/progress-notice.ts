/**
 * The messages of a running request: the progress message (one per destination, edited in place),
 * the downtime notices, and the completion feedback of [003].
 */
import type { NoticeRoutes } from '../core/command.js';
import { actions, fields, list, reply, table, text } from '../core/reply.js';
import type { Block, Reply } from '../core/reply.js';
import { runProgress, runStateLabel } from '../domain/run-machine.js';
import type { RequestItem, Run, RunState } from '../domain/types.js';
import type { Repositories, RequestHeader, RunTally } from '../ports.js';
import { notifyEditable } from './notify.js';
import { MAX_DEVICE_ROWS, downtimeOf, zonedTime } from './request-view.js';
import type { RequestView } from './request-view.js';

/** One row of the progress table. */
function progressRow(item: RequestItem): string[] {
  const run = item.run;
  if (!run) return [item.deviceName, `${item.fromVersion} → ${item.targetVersion}`, 'waiting', '0%', ''];
  const state = run.state === 'done' ? run.outcome.replace(/_/g, ' ') : runStateLabel(run.state);
  const condition = run.condition === 'ok' ? '' : ` (${run.condition})`;
  const attempt = run.attempt > 1 && run.state !== 'done' ? ` · attempt ${run.attempt}` : '';
  return [
    item.deviceName,
    `${item.fromVersion} → ${item.targetVersion}`,
    `${state}${condition}${attempt}`,
    `${runProgress(run.state)}%`,
    run.issues.length ? run.issues[run.issues.length - 1]! : '',
  ];
}

/** The whole request's progress, 0-100 (mean over devices). */
export function requestProgress(items: readonly RequestItem[]): number {
  if (items.length === 0) return 0;
  const sum = items.reduce((acc, i) => acc + (i.run ? runProgress(i.run.state) : 0), 0);
  return Math.round(sum / items.length);
}

/** The same figure as `requestProgress`, from the store's count of runs per state. */
export function tallyProgress(tally: RunTally): number {
  if (tally.items === 0) return 0;
  let sum = 0;
  for (const [state, count] of Object.entries(tally.states) as Array<[RunState, number]>) sum += runProgress(state) * count;
  return Math.round(sum / tally.items);
}

/** The runs an agent can drive now: started, not done. */
export function activeRuns(items: readonly RequestItem[]): Array<{ item: RequestItem; run: Run }> {
  return items.filter((i) => i.run && i.run.state !== 'done').map((i) => ({ item: i, run: i.run! }));
}

/**
 * What the progress message shows, loaded at a cost independent of the request's size: the first
 * rows of the device table, the overall percentage (counted by the store) and the first run under way.
 */
export interface ProgressView {
  request: RequestHeader;
  customerName: string;
  /** The first MAX_DEVICE_ROWS items in order, with their runs. */
  rows: RequestItem[];
  /** Items of the request. */
  total: number;
  /** 0-100, the mean over devices (see requestProgress). */
  percent: number;
  /** The first run under way in order (the ops message's Current line and buttons), or null. */
  current: { item: RequestItem; run: Run } | null;
}

/** Loads the progress message's view of a request. */
export async function loadProgress(tx: Repositories, request: RequestHeader): Promise<ProgressView> {
  const customer = await tx.customers.byId(request.customerId);
  if (!customer) throw new Error(`customer ${request.customerId} of ${request.ref} is missing`);
  const rows = await tx.requests.items(request.id, { limit: MAX_DEVICE_ROWS });
  const tally = await tx.requests.runTally(request.id);
  const first = request.status === 'in_progress' ? ((await tx.requests.items(request.id, { active: true, limit: 1 }))[0] ?? null) : null;
  return {
    request,
    customerName: customer.name,
    rows,
    total: tally.items,
    percent: tallyProgress(tally),
    current: first?.run ? { item: first, run: first.run } : null,
  };
}

/** The progress view of a request whose items are loaded already. */
export function progressViewOf(view: RequestView): ProgressView {
  const { request } = view;
  return {
    request,
    customerName: view.customer.name,
    rows: request.items.slice(0, MAX_DEVICE_ROWS),
    total: request.items.length,
    percent: requestProgress(request.items),
    current: activeRuns(request.items)[0] ?? null,
  };
}

/** The progress message; the ops version carries the agent's Next / Retry / Abort buttons. */
export function progressReply(progress: ProgressView, forOps: boolean): Reply {
  const { request, total } = progress;
  const blocks: Block[] = [
    fields([
      ['Customer', progress.customerName],
      ['Status', request.status.replace(/_/g, ' ')],
      ['Progress', `${progress.percent}%`],
    ]),
    table(['device', 'upgrade', 'step', 'done', 'last issue'], progress.rows.slice(0, MAX_DEVICE_ROWS).map(progressRow)),
  ];
  if (total > MAX_DEVICE_ROWS) {
    blocks.push(text(`… and ${total - MAX_DEVICE_ROWS} more devices (see /upgrade status ${request.ref}).`));
  }
  if (forOps && request.status === 'in_progress') {
    const first = progress.current;
    if (first) {
      const suffix = total > 1 ? ` device=${first.item.deviceName}` : '';
      blocks.push(
        text(`Current: ${first.item.deviceName} in ${runStateLabel(first.run.state)}.`),
        actions(
          { label: 'Next', command: `/upgrade-admin run ${request.ref} next${suffix}`, style: 'primary' },
          { label: 'Retry', command: `/upgrade-admin run ${request.ref} retry${suffix}` },
          { label: 'Abort', command: `/upgrade-admin run ${request.ref} abort${suffix}`, style: 'danger' },
        ),
      );
    }
  }
  return { ...reply(`${request.ref} · upgrade progress`, ...blocks), visibility: 'channel' };
}

/**
 * Updates the progress message in the customer's channels and the ops channel: one stored row per
 * destination, replaced in place, so however often it changes only the newest state is sent.
 */
export async function updateProgress(tx: Repositories, progress: ProgressView, at: Date, routes: NoticeRoutes): Promise<void> {
  const { request } = progress;
  await notifyEditable(tx, { request, kind: 'progress', key: 'progress', reply: progressReply(progress, false), audiences: ['customer_channels'], at }, routes);
  await notifyEditable(tx, { request, kind: 'progress', key: 'progress', reply: progressReply(progress, true), audiences: ['ops'], at }, routes);
}

/** Which downtime notice: 24 h before, 1 h before, at start, at end [003]. */
export type DowntimeKey = 't-24h' | 't-1h' | 'start' | 'end';

/** The text of a downtime notice. */
export function downtimeReply(view: RequestView, key: DowntimeKey, at: Date): Reply {
  const { request, customer } = view;
  const [min, max] = downtimeOf(view);
  const devices = request.items.map((i) => i.deviceName);
  const unique = [...new Set(devices)];
  const when = zonedTime(at, customer.timezone);
  const title: Record<DowntimeKey, string> = {
    't-24h': `${request.ref}: upgrade to ${request.targetVersion} in 24 hours`,
    't-1h': `${request.ref}: upgrade to ${request.targetVersion} in 1 hour`,
    start: `${request.ref}: upgrade to ${request.targetVersion} has started`,
    end: `${request.ref}: upgrade finished, downtime over`,
  };
  const body: Record<DowntimeKey, string> = {
    't-24h': `The upgrade starts ${when}. Expect ${min}–${max} minutes of downtime.`,
    't-1h': `The upgrade starts ${when}. Expect ${min}–${max} minutes of downtime; save your work on the devices below.`,
    start: `Downtime has begun (${when}). Expect ${min}–${max} minutes; progress is posted as it happens.`,
    end: `The devices are back (${when}). The completion report follows with what to do next.`,
  };
  return {
    ...reply(title[key], text(body[key]), list('Devices', unique.slice(0, MAX_DEVICE_ROWS))),
    visibility: 'channel',
  };
}
