/**
 * The messages of a running request: the progress message (one per destination, edited in place),
 * the downtime notices, and the completion feedback of [003].
 */
import type { NoticeRoutes } from '../core/command.js';
import { actions, fields, list, reply, table, text } from '../core/reply.js';
import type { Block, Reply } from '../core/reply.js';
import { runProgress, runStateLabel } from '../domain/run-machine.js';
import type { RequestItem, Run } from '../domain/types.js';
import type { Repositories } from '../ports.js';
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

/** The runs an agent can drive now: started, not done. */
export function activeRuns(items: readonly RequestItem[]): Array<{ item: RequestItem; run: Run }> {
  return items.filter((i) => i.run && i.run.state !== 'done').map((i) => ({ item: i, run: i.run! }));
}

/** The progress message; the ops version carries the agent's Next / Retry / Abort buttons. */
export function progressReply(view: RequestView, forOps: boolean): Reply {
  const { request } = view;
  const rows = request.items.slice(0, MAX_DEVICE_ROWS).map(progressRow);
  const blocks: Block[] = [
    fields([
      ['Customer', view.customer.name],
      ['Status', request.status.replace(/_/g, ' ')],
      ['Progress', `${requestProgress(request.items)}%`],
    ]),
    table(['device', 'upgrade', 'step', 'done', 'last issue'], rows),
  ];
  if (request.items.length > MAX_DEVICE_ROWS) {
    blocks.push(text(`… and ${request.items.length - MAX_DEVICE_ROWS} more devices (see /upgrade status ${request.ref}).`));
  }
  if (forOps && request.status === 'in_progress') {
    const first = activeRuns(request.items)[0];
    if (first) {
      const suffix = request.items.length > 1 ? ` device=${first.item.deviceName}` : '';
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

/** Updates the progress message in the customer's channels and the ops channel. */
export async function updateProgress(tx: Repositories, view: RequestView, at: Date, routes: NoticeRoutes): Promise<void> {
  const { request } = view;
  await notifyEditable(tx, { request, kind: 'progress', key: 'progress', reply: progressReply(view, false), audiences: ['customer_channels'], at }, routes);
  await notifyEditable(tx, { request, kind: 'progress', key: 'progress', reply: progressReply(view, true), audiences: ['ops'], at }, routes);
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
