/**
 * The queue behind the Scheduler port, on Agenda. Jobs are derived from stored state and saved
 * with unique keys (insert-only), so `syncRequest` can be repeated any number of times — after
 * each change, and by the periodic sweep that repairs what a crash between commit and scheduling
 * left out — without ever creating a job twice.
 *
 * Jobs: `request.start` at the planned time; `notice.downtime` 24 h and 1 h before it;
 * `run.step` for each active run (not with the manual executor; the completed ones are removed
 * once their run is done); `rating.prompt` 24 h after a verified completion; `queue.sweep` every
 * minute.
 */
import type { Agenda, Job } from 'agenda';
import type { Clock, RequestHeader, Scheduler, Store } from '../../ports.js';
import type { Logger } from '../../core/command.js';
import { RATING_DELAY_HOURS, earnsRating } from '../../services/send-rating-prompt.js';
import type { RequestItem, RequestStatus, Run } from '../../domain/types.js';

/** The runs of these items (items without one left out). */
function runsOf(items: readonly RequestItem[]): Run[] {
  return items.flatMap((i) => (i.run ? [i.run] : []));
}

/** Job names. */
export const JOBS = {
  start: 'request.start',
  notice: 'notice.downtime',
  step: 'run.step',
  rating: 'rating.prompt',
  sweep: 'queue.sweep',
} as const;

/** Downtime notices before the planned start [003]. */
export const NOTICE_OFFSETS: ReadonlyArray<{ key: 't-24h' | 't-1h'; ms: number }> = [
  { key: 't-24h', ms: 24 * 3600_000 },
  { key: 't-1h', ms: 3600_000 },
];

export interface StartJobData {
  requestId: number;
  at: string;
}
export interface NoticeJobData {
  requestId: number;
  key: 't-24h' | 't-1h';
  at: string;
}
export interface StepJobData {
  requestId: number;
  runId: number;
  /** The run's state and attempt the job was made for, plus failed first-step tries: the unique key. */
  step: string;
  tries: number;
}
export interface RatingJobData {
  requestId: number;
}

/** The unique step key of a run in its current state. */
export function stepKey(run: Pick<Run, 'state' | 'attempt'>, tries = 0): string {
  return `${run.state}#${run.attempt}#${tries}`;
}

export interface AgendaSchedulerOptions {
  /** False with the manual executor: agents move runs, no step jobs. */
  automaticRuns: boolean;
  /** Wakes the outbox worker (set once the worker exists). */
  onKickOutbox?: () => void;
}

/** Statuses of a request whose runs have started: it may have step jobs. */
const RAN: ReadonlySet<RequestStatus> = new Set(['in_progress', 'completed', 'completed_with_issues', 'failed', 'aborted']);

/** Near-future jobs are woken by a timer up to this far ahead (beyond it, the scans find them in time). */
const MAX_WAKE_DELAY_MS = 60_000;
/** How late after its due time a near-future job is announced. */
const WAKE_MARGIN_MS = 5;

export class AgendaScheduler implements Scheduler {
  onKickOutbox: () => void;

  /** Resolves when the queue's backend answers a query (for /readyz); rejects otherwise. */
  async ping(): Promise<void> {
    await this.agenda.queryJobs({ name: '__ping__' });
  }

  constructor(
    private readonly agenda: Agenda,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: AgendaSchedulerOptions,
  ) {
    this.onKickOutbox = options.onKickOutbox ?? (() => {});
  }

  kickOutbox(): void {
    this.onKickOutbox();
  }

  /** Saves a job unless one with the same unique key exists. */
  private async ensure(name: string, data: object, unique: Record<string, unknown>, at: Date): Promise<void> {
    const job = await this.agenda.create(name, data).unique(unique, { insertOnly: true }).schedule(at).save();
    this.wakeAt(job);
  }

  /** Timers of near-future jobs, so `stop` can clear them. */
  private readonly wakeTimers = new Set<NodeJS.Timeout>();

  /**
   * Backends lock only due jobs (see lockOnlyDueJobs), so a job due in the near future would wait
   * for the next scan: this process tells the processor again once it is due. Jobs further away
   * than the longest wait are left to the scans.
   */
  private wakeAt(job: Job): void {
    const at = job.attrs.nextRunAt?.getTime();
    if (at === undefined || job.attrs.lastFinishedAt) return;
    const delay = at - Date.now();
    if (delay <= 0 || delay > MAX_WAKE_DELAY_MS) return;
    const timer = setTimeout(() => {
      this.wakeTimers.delete(timer);
      // A few milliseconds late on purpose: the job must be due when the processor looks.
      void this.agenda.publishJobNotification(job).catch(() => undefined);
    }, delay + WAKE_MARGIN_MS);
    timer.unref();
    this.wakeTimers.add(timer);
  }

  /** Forgets pending wake-ups (the queue is closing). */
  clearWakeUps(): void {
    for (const timer of this.wakeTimers) clearTimeout(timer);
    this.wakeTimers.clear();
  }

  /** Removes pending jobs of `name` for the request whose data does not satisfy `keep`. */
  private async removeStale(name: string, requestId: number, keep: (data: Record<string, unknown>) => boolean): Promise<number> {
    const found = await this.agenda.queryJobs({ name, data: { requestId } });
    const stale = found.jobs.filter((j) => !j.lastFinishedAt && !j.lockedAt && !keep(j.data as Record<string, unknown>)).map((j) => j._id);
    if (stale.length === 0) return 0;
    return this.agenda.cancel({ ids: stale });
  }

  /**
   * Removes the step jobs of the request that completed for runs no longer under way (done, or the
   * request ended): a done run is never given a step job again, so their unique keys guard nothing,
   * while every unique save of a step job reads all step jobs kept. Failed jobs stay for the record.
   */
  private async pruneSteps(requestId: number, active: ReadonlySet<number>): Promise<number> {
    const found = await this.agenda.queryJobs({ name: JOBS.step, data: { requestId }, state: 'completed' });
    const done = found.jobs
      .filter((j) => j.lastFinishedAt && !j.lockedAt && !j.failedAt && !active.has(Number((j.data as Partial<StepJobData>).runId)))
      .map((j) => j._id);
    if (done.length === 0) return 0;
    return this.agenda.cancel({ ids: done });
  }

  /** Schedules the next step of a run (after the executor's hold), keyed by the run's current state. */
  async scheduleStep(requestId: number, run: Run, at: Date, tries = 0): Promise<void> {
    const data: StepJobData = { requestId, runId: run.id, step: stepKey(run, tries), tries };
    await this.ensure(JOBS.step, data, { 'data.runId': run.id, 'data.step': data.step }, at);
  }

  /**
   * Reads the request's header, and its items only as far as needed: the runs under way of a request
   * in progress, every item once it completed (for the rating); so syncing a request while it runs
   * costs the same for one device as for thousands.
   */
  async syncRequest(requestId: number): Promise<void> {
    const request = await this.store.requests.header(requestId);
    if (request) await this.syncHeader(request);
  }

  /** Brings the jobs of a request, read without its items, in line with it (see syncRequest). */
  private async syncHeader(request: RequestHeader): Promise<void> {
    const now = this.clock.now();
    const requestId = request.id;
    if (request.status === 'scheduled' && request.schedule.at) {
      const at = request.schedule.at;
      const iso = at.toISOString();
      await this.removeStale(JOBS.start, requestId, (d) => d.at === iso);
      await this.removeStale(JOBS.notice, requestId, (d) => d.at === iso);
      await this.ensure(JOBS.start, { requestId, at: iso } satisfies StartJobData, { 'data.requestId': requestId, 'data.at': iso }, at);
      for (const { key, ms } of NOTICE_OFFSETS) {
        const when = new Date(at.getTime() - ms);
        if (when.getTime() <= now.getTime()) continue;
        await this.ensure(
          JOBS.notice,
          { requestId, key, at: iso } satisfies NoticeJobData,
          { 'data.requestId': requestId, 'data.key': key, 'data.at': iso },
          when,
        );
      }
      return;
    }
    // Not scheduled (any more): nothing may start it or announce it.
    await this.removeStale(JOBS.start, requestId, () => false);
    await this.removeStale(JOBS.notice, requestId, () => false);
    const active = request.status === 'in_progress' ? runsOf(await this.store.requests.items(requestId, { active: true })) : [];
    if (this.options.automaticRuns) {
      for (const run of active) {
        if (run.state !== 'done' && run.condition === 'ok') await this.scheduleStep(requestId, run, now);
      }
    }
    if (RAN.has(request.status)) await this.pruneSteps(requestId, new Set(active.map((r) => r.id)));
    if (request.status !== 'completed' && request.status !== 'completed_with_issues') return;
    const whole = await this.store.requests.byId(requestId);
    if (whole && earnsRating(whole)) {
      const finishedAt = Math.max(...whole.items.map((i) => i.run?.finishedAt?.getTime() ?? 0));
      await this.ensure(
        JOBS.rating,
        { requestId } satisfies RatingJobData,
        { 'data.requestId': requestId },
        new Date(finishedAt + RATING_DELAY_HOURS * 3600_000),
      );
    }
  }

  /** Syncs every request that may need jobs: scheduled, in progress, recently completed. */
  async sweep(): Promise<number> {
    // Headers only: a bulk request under way is not read whole every minute (see syncRequest).
    const open = await this.store.requests.headers({ statuses: ['scheduled', 'in_progress'], limit: 10_000 });
    const done = await this.store.requests.headers({ statuses: ['completed', 'completed_with_issues'], limit: 200 });
    let count = 0;
    for (const request of [...open, ...done]) {
      try {
        await this.syncHeader(request);
        count++;
      } catch (error) {
        this.log.error({ err: error, ref: request.ref }, 'queue sweep could not sync a request');
      }
    }
    return count;
  }
}
