/**
 * The one place a device's run changes (SPEC §5): an agent's button, an executor's step or the
 * start of a request all come here. Each change is persisted with an activity-log entry, an audit
 * event and the updated progress message in one transaction; then the next runs of the request
 * are started, and when every run is done the request is finished with the completion feedback
 * of [003], the end-of-downtime notice, the purge of the manager password and, for a failure or
 * abort, a follow-up for the agents.
 */
import type { Deps, NoticeRoutes } from '../core/command.js';
import { list, reply, table, text } from '../core/reply.js';
import type { Block } from '../core/reply.js';
import { transition } from '../domain/lifecycle.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { advanceRun } from '../domain/run-machine.js';
import type { RunEventName } from '../domain/run-machine.js';
import { planRuns } from '../domain/run-plan.js';
import type { PostCheck, RequestItem, RequestStatus, Run, RunState, UpgradeRequest } from '../domain/types.js';
import { StaleRunError } from '../ports.js';
import type { Clock, Repositories, RequestHeader, RunTally } from '../ports.js';
import { notify } from './notify.js';
import { downtimeReply, loadProgress, updateProgress } from './progress-notice.js';
import { devicesById, loadView } from './request-view.js';
import type { RequestView } from './request-view.js';

/** One change to a run. */
export interface RunChange {
  event: RunEventName;
  /** Who: a person's e-mail, or "executor:simulate", "system". */
  actor: string;
  message: string;
  /** An issue to add to the run's record (shown in the feedback). */
  issue?: string;
  /** The post-upgrade check, when the change finishes the run. */
  postCheck?: PostCheck;
  /** The agent driving the run, remembered on the run. */
  agentId?: number;
  /** Only apply when the run is still in this state and attempt (an executor's step may be stale). */
  expect?: { state: RunState; attempt: number };
  invocationId?: string | null;
  /**
   * A routine step (an executor's success followed by a short hold): the progress message may
   * skip it and show it with a later change, at most PROGRESS_INTERVAL_MS on (see applyRunChange).
   */
  coalesceProgress?: boolean;
}

/** What a change led to. */
export interface RunChangeOutcome {
  run: Run;
  item: RequestItem;
  /** The request as the change left it (without its items: a step does not load them all). */
  request: RequestHeader;
  /** Runs created by this change (next devices of the request). */
  started: Run[];
}

/** Settings the engine's transaction needs. */
export interface RunTxContext {
  clock: Clock;
  concurrency: number;
  supportEmail: string;
  routes: NoticeRoutes;
  /** When this process last refreshed each request's progress message (ms), for coalescing routine steps. */
  progressRefreshed?: Map<number, number>;
}

/**
 * How long routine steps may leave a request's progress message as it was: reading a request's
 * progress costs more the more devices it has, and Slack takes one edit a second per channel anyway.
 */
export const PROGRESS_INTERVAL_MS = 1000;

/** Per store (one bot): request id → when this process last refreshed its progress message. */
const progressRefreshes = new WeakMap<object, Map<number, number>>();

/** The engine's transaction context from the command dependencies. */
export function runTxContext(deps: Pick<Deps, 'clock' | 'settings' | 'store'>): RunTxContext {
  let progressRefreshed = progressRefreshes.get(deps.store);
  if (!progressRefreshed) {
    progressRefreshed = new Map();
    progressRefreshes.set(deps.store, progressRefreshed);
  }
  return {
    clock: deps.clock,
    concurrency: deps.settings.runConcurrency,
    supportEmail: deps.settings.supportEmail,
    routes: deps.settings.routes,
    progressRefreshed,
  };
}

/** The request's final status once every run is done. */
export function finalStatus(runs: readonly Run[]): RequestStatus {
  if (runs.some((r) => r.outcome === 'failed')) return 'failed';
  if (runs.some((r) => r.outcome === 'aborted')) return 'aborted';
  if (runs.some((r) => r.outcome === 'completed_with_issues' || r.issues.length > 0)) return 'completed_with_issues';
  return 'completed';
}

/** True when the device verifiably came back on the target version. */
export function verified(run: Run, item: RequestItem): boolean {
  return (
    run.state === 'done' &&
    (run.outcome === 'completed' || run.outcome === 'completed_with_issues') &&
    run.postCheck !== null &&
    run.postCheck.ok &&
    run.postCheck.version === item.targetVersion
  );
}

/**
 * Starts the runs the plan allows now and closes the items that can no longer run; returns the
 * created runs. Called when a request starts and after every finished run.
 */
export async function startPlannedRuns(tx: Repositories, request: Pick<UpgradeRequest, 'customerId' | 'items'>, ctx: RunTxContext): Promise<Run[]> {
  const now = ctx.clock.now();
  const plan = planRuns(request.items, await devicesById(tx, request.customerId, request.items.map((i) => i.deviceId)), ctx.concurrency);
  const started: Run[] = [];
  for (const item of plan.start) {
    const run = await tx.runs.create(item.id, now);
    const saved = await tx.runs.save({ ...run, startedAt: now, updatedAt: now });
    await tx.runs.addEvent({ runId: saved.id, from: 'idle', to: 'idle', event: 'start', actor: 'system', message: `Run of ${item.deviceName} queued`, at: now });
    started.push(saved);
  }
  for (const { item, reason } of plan.skip) {
    const run = await tx.runs.create(item.id, now);
    await tx.runs.save({
      ...run,
      state: 'done',
      outcome: 'aborted',
      issues: [`Skipped: ${reason}.`],
      startedAt: null,
      finishedAt: now,
      updatedAt: now,
    });
    await tx.runs.addEvent({ runId: run.id, from: 'idle', to: 'done', event: 'skip', actor: 'system', message: `Skipped: ${reason}`, at: now });
  }
  return started;
}

/**
 * The items of a request that `planRuns` needs to reach the same plan as with all of them, read
 * without loading every item of a large request:
 *
 * - the runs under way (they count against the concurrency);
 * - every item of a device that another item of the request also upgrades (steps of one device
 *   wait for each other) or that belongs to a load-balancer group (groups start together, after
 *   their primary): only these can wait, be skipped or start in batches;
 * - of the other items without a run, the first `concurrency` in order. Such an item starts exactly
 *   when fewer than `concurrency` runs are under way as the planner reaches it, and the planner
 *   only ever adds runs, so the ones that start are always a prefix of them, never more than
 *   `concurrency`; the rest neither start nor bear on any other item.
 */
export async function planningItems(tx: Repositories, request: Pick<UpgradeRequest, 'id' | 'customerId'>, concurrency: number): Promise<RequestItem[]> {
  const grouped = await tx.devices.grouped(request.customerId);
  const linked = [...new Set([...(await tx.requests.repeatedDevices(request.id)), ...grouped.map((d) => d.id)])];
  const byId = new Map<number, RequestItem>();
  const add = (items: RequestItem[]) => {
    for (const item of items) byId.set(item.id, item);
  };
  add(await tx.requests.items(request.id, { active: true }));
  const linkedItems = linked.length ? await tx.requests.items(request.id, { deviceIds: linked }) : [];
  add(linkedItems);
  // The linked ones without a run come first at most; beyond them, the first `concurrency` others.
  add(await tx.requests.items(request.id, { pending: true, limit: Math.max(0, concurrency) + linkedItems.length }));
  return [...byId.values()];
}

/**
 * Applies one change to a run of `requestId`, then starts what follows and finishes the request
 * when all is done. Reads the request's header, the one run and, when the run finished, the few
 * items planning needs (see planningItems), so a step costs the same in a request of one device
 * as in one of thousands.
 */
export async function applyRunChange(
  tx: Repositories,
  ctx: RunTxContext,
  requestId: number,
  runId: number,
  change: RunChange,
): Promise<Result<RunChangeOutcome>> {
  const now = ctx.clock.now();
  // Locked: two runs of the request finishing at once in two processes must not both take the
  // other for unfinished, or neither would finish the request.
  const request0 = await tx.requests.header(requestId, { lock: true });
  if (!request0) return fail('unknown_request', `Request ${requestId} does not exist.`);
  if (request0.status !== 'in_progress') {
    return fail('no_active_run', `${request0.ref} is ${request0.status.replace(/_/g, ' ')}, not in progress.`);
  }
  const item = await tx.requests.itemOfRun(runId);
  const run = item?.requestId === requestId ? item.run : null;
  if (!item || !run) return fail('no_active_run', `Run ${runId} is not part of ${request0.ref}.`);
  if (change.expect && (change.expect.state !== run.state || change.expect.attempt !== run.attempt)) {
    return fail('stale_step', `The run of ${item.deviceName} moved on meanwhile (now ${run.state}, attempt ${run.attempt}).`);
  }
  const step = advanceRun(run, change.event);
  if (!step.ok) return step;
  const issues = change.issue ? [...run.issues, change.issue] : [...run.issues];
  let outcome = step.value.outcome;
  if (step.value.state === 'done' && outcome === 'completed' && issues.length > 0) outcome = 'completed_with_issues';
  // Saved only from the state and attempt read above: of two workers applying a change to the same
  // step at once (another process, a job run again), one wins and the other finds the step stale.
  const saving = tx.runs.save({
    ...run,
    state: step.value.state,
    condition: step.value.condition,
    attempt: step.value.attempt,
    outcome,
    issues,
    agentId: run.agentId ?? change.agentId ?? null,
    startedAt: run.startedAt ?? now,
    finishedAt: step.value.state === 'done' ? now : null,
    updatedAt: now,
    postCheck: change.postCheck ?? run.postCheck,
  }, { state: run.state, attempt: run.attempt });
  const saved = await saving.catch((error: unknown) => {
    if (error instanceof StaleRunError) return null;
    throw error;
  });
  if (!saved) return fail('stale_step', `The run of ${item.deviceName} moved on meanwhile.`);
  await tx.runs.addEvent({
    runId: saved.id,
    from: step.value.from,
    to: step.value.to,
    event: change.event,
    actor: change.actor,
    message: change.message,
    at: now,
  });
  await tx.audit.record({
    at: now,
    actor: change.actor,
    action: 'run_event',
    entity: 'request',
    entityId: request0.ref,
    data: { device: item.deviceName, event: change.event, from: step.value.from, to: step.value.to, attempt: saved.attempt },
    invocationId: change.invocationId ?? null,
  });
  if (saved.state === 'done' && verified(saved, item)) {
    await tx.devices.recordVersion(item.deviceId, item.targetVersion);
  }
  let request: RequestHeader = request0;
  let started: Run[] = [];
  if (saved.state === 'done') {
    started = await startPlannedRuns(tx, { customerId: request0.customerId, items: await planningItems(tx, request0, ctx.concurrency) }, ctx);
    // A run just started is not done; only when none started can this have been the last one.
    const tally = started.length === 0 ? await tx.requests.runTally(requestId) : null;
    if (tally && (tally.states.done ?? 0) === tally.items) {
      request = await finishRequest(tx, ctx, request0, change);
    }
  }
  if (refreshesProgress(ctx, change, { request, ended: request !== request0, saved, started })) {
    await updateProgress(tx, await loadProgress(tx, request), now, ctx.routes);
  }
  return ok({ run: saved, item: { ...item, run: saved }, request, started });
}

/**
 * Whether this change refreshes the progress message now. Every change does, except a routine
 * step (`coalesceProgress`) that comes less than PROGRESS_INTERVAL_MS after this process last
 * refreshed it while a step follows shortly: that step shows it (or the one after, once the
 * interval is over), so the message is never left behind for long. It is always refreshed when
 * the request ends, when a run fails, retries, is busy or broken, when an agent acts, and when a
 * run ends without starting another.
 */
function refreshesProgress(
  ctx: RunTxContext,
  change: RunChange,
  after: { request: RequestHeader; ended: boolean; saved: Run; started: Run[] },
): boolean {
  const log = ctx.progressRefreshed;
  const id = after.request.id;
  const now = ctx.clock.now().getTime();
  if (after.ended) {
    log?.delete(id);
    return true;
  }
  const last = log?.get(id);
  const due = !change.coalesceProgress || last === undefined || now - last >= PROGRESS_INTERVAL_MS || now < last;
  // A step follows shortly: this run's next one (a routine step holds only briefly), or the first
  // step of a run this change started.
  const steppingOn = (after.saved.state !== 'done' && after.saved.condition === 'ok') || after.started.length > 0;
  if (!due && steppingOn) return false;
  if (log) {
    // A bounded log: requests that never end here (another process ended them) are forgotten in time.
    if (log.size >= 1000 && !log.has(id)) log.clear();
    log.set(id, now);
  }
  return true;
}

/**
 * Finishes request `requestId` if it is in progress with every run done, and says whether it did.
 * The end of the last run and the finish happen in one transaction, so this only repairs what an
 * earlier version could leave behind (on PostgreSQL, two runs of a request ending at once in two
 * processes could each take the other for unfinished); the queue's sweep calls it.
 */
export async function finishIfAllDone(deps: Pick<Deps, 'clock' | 'settings' | 'store'>, requestId: number): Promise<boolean> {
  const allDone = (tally: RunTally) => tally.items > 0 && (tally.states.done ?? 0) === tally.items;
  // Counted first without a transaction: most requests in progress have runs under way.
  if (!allDone(await deps.store.requests.runTally(requestId))) return false;
  return deps.store.transaction(async (tx) => {
    const header = await tx.requests.header(requestId, { lock: true });
    if (!header || header.status !== 'in_progress' || !allDone(await tx.requests.runTally(requestId))) return false;
    const ctx = runTxContext(deps);
    const finished = await finishRequest(tx, ctx, header, { actor: 'system', invocationId: null });
    await updateProgress(tx, await loadProgress(tx, finished), ctx.clock.now(), ctx.routes);
    return true;
  });
}

/** Moves a request whose runs are all done to its final status and sends what follows [003]; once per request, so it may read every item. */
async function finishRequest(
  tx: Repositories,
  ctx: RunTxContext,
  header: RequestHeader,
  change: Pick<RunChange, 'actor' | 'invocationId'>,
): Promise<UpgradeRequest> {
  const now = ctx.clock.now();
  const request = await tx.requests.byId(header.id);
  if (!request) throw new Error(`request ${header.ref} vanished while it was being finished`);
  const runs = request.items.map((i) => i.run!);
  const final = finalStatus(runs);
  const moved = transition(request.status, final);
  if (!moved.ok) throw new Error(moved.error.message);
  const finished = await tx.requests.update(request.id, { status: final, updatedAt: now }, 'in_progress');
  await tx.audit.record({
    at: now,
    actor: change.actor,
    action: 'request_finished',
    entity: 'request',
    entityId: request.ref,
    data: { status: final },
    invocationId: change.invocationId ?? null,
  });
  const purged = await tx.secrets.purge(request.id, now);
  if (purged > 0) {
    await tx.audit.record({ at: now, actor: 'system', action: 'secret_purged', entity: 'request', entityId: request.ref, data: { count: purged }, invocationId: null });
  }
  const view = await loadView(tx, finished);
  await notify(tx, { request: finished, kind: 'downtime', key: 'end', reply: downtimeReply(view, 'end', now), audiences: ['customer_channels', 'contact_email'], at: now }, ctx.routes);
  await notify(tx, {
    request: finished,
    kind: 'completed',
    reply: await completionReply(tx, view, ctx.supportEmail),
    audiences: ['customer_channels', 'contact_email', 'requester', 'ops', ...(finished.options.notifyPartner ? ['partner' as const] : [])],
    at: now,
  }, ctx.routes);
  if (final === 'failed' || final === 'aborted') {
    await notify(tx, {
      request: finished,
      kind: 'follow_up',
      key: 'agents',
      reply: {
        ...reply(
          `${request.ref} ${final}: follow-up needed`,
          text(`The upgrade of ${view.customer.name} ended ${final}. Contact the customer, check the devices and decide the next attempt. No survey was sent.`),
          list('Issues', issuesOf(finished)),
        ),
        visibility: 'channel',
      },
      audiences: ['ops'],
      at: now,
    }, ctx.routes);
    await tx.audit.record({ at: now, actor: 'system', action: 'follow_up_opened', entity: 'request', entityId: request.ref, data: { status: final }, invocationId: null });
  }
  return finished;
}

/** Every issue of a request's runs, prefixed with its device. */
export function issuesOf(request: UpgradeRequest): string[] {
  const out: string[] = [];
  for (const item of request.items) for (const issue of item.run?.issues ?? []) out.push(`${item.deviceName}: ${issue}`);
  return out.length ? out : ['None.'];
}

/** The completion feedback [003]: outcome per device, issues, post-upgrade tasks, password reminder, how to report a problem. */
export async function completionReply(tx: Repositories, view: RequestView, supportEmail: string) {
  const { request } = view;
  const agentIds = [...new Set(request.items.map((i) => i.run?.agentId).filter((id): id is number => typeof id === 'number'))];
  const agents = (await Promise.all(agentIds.map((id) => tx.people.byId(id)))).filter((p) => p !== null).map((p) => p.name);
  const rows = request.items.map((i) => [
    i.deviceName,
    `${i.fromVersion} → ${i.targetVersion}`,
    (i.run?.outcome ?? 'pending').replace(/_/g, ' '),
    i.run?.postCheck ? (i.run.postCheck.ok ? `reports ${i.run.postCheck.version ?? 'no version'}` : 'not verified') : '—',
  ]);
  const tasks = [...new Set([...view.releases.values()].flatMap((r) => r.postUpgradeTasks))];
  const status = request.status.replace(/_/g, ' ');
  const blocks: Block[] = [
    text(
      agents.length
        ? `Feedback from ${agents.join(', ')}: the upgrade is ${status}.`
        : `Feedback from the upgrade run: the upgrade is ${status}.`,
    ),
    table(['device', 'upgrade', 'outcome', 'check'], rows),
    list('Issues encountered', issuesOf(request)),
  ];
  if (tasks.length && (request.status === 'completed' || request.status === 'completed_with_issues')) {
    blocks.push(list('Post-upgrade tasks', tasks));
  }
  blocks.push(
    text('Reset the manager password now: it was shared with support for this upgrade and has been erased from our systems.'),
    text(`Something wrong? Reply with /upgrade problem ${request.ref} <what happened>, or write to ${supportEmail}.`),
  );
  return { ...reply(`${request.ref} ${status}`, ...blocks), visibility: 'channel' as const };
}
