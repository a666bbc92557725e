/**
 * The job handlers: each turns one Agenda job into one use case. Handlers re-read the stored state
 * and change it in one transaction, so a job that runs twice (after a crash, before its lock
 * expired) or a stale job (the request was cancelled or rescheduled) changes nothing.
 */
import type { Agenda, Job } from 'agenda';
import type { Logger } from '../../core/command.js';
import type { EngineDeps } from '../../services/engine.js';
import { finishIfAllDone } from '../../services/advance-run.js';
import { performRunStep } from '../../services/perform-run-step.js';
import { sendDowntimeNotice } from '../../services/send-downtime-notice.js';
import { sendRatingPrompt } from '../../services/send-rating-prompt.js';
import { startRequest } from '../../services/start-request.js';
import { JOBS, stepKey } from './agenda-scheduler.js';
import type { AgendaScheduler, NoticeJobData, RatingJobData, StartJobData, StepJobData } from './agenda-scheduler.js';

/**
 * Defines every job on `agenda`; `signal` aborts executors at shutdown. A step keeps its lock
 * alive while the executor works (touch every third of `lockLifetimeMs`), so a long script step
 * is not taken over, while a worker that dies loses its lock within `lockLifetimeMs`.
 */
export function defineJobs(
  agenda: Agenda,
  deps: EngineDeps,
  scheduler: AgendaScheduler,
  log: Logger,
  signal: AbortSignal,
  lockLifetimeMs: number,
): void {
  agenda.define(JOBS.start, async (job: Job<StartJobData>) => {
    const { requestId, at } = job.attrs.data;
    const result = await startRequest(deps, requestId, new Date(at));
    if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
    log.info({ requestId, outcome: result.value.kind }, 'request start');
  });

  agenda.define(JOBS.notice, async (job: Job<NoticeJobData>) => {
    const { requestId, key, at } = job.attrs.data;
    await sendDowntimeNotice(deps, requestId, key, new Date(at));
  });

  agenda.define(
    JOBS.step,
    async (job: Job<StepJobData>) => {
      const { requestId, runId, tries, step } = job.attrs.data;
      // A job made for a step the run has left (run again after its worker died once the step was
      // recorded, or its lock expired) does nothing: the job of the run's current step does it.
      const current = await deps.store.runs.byId(runId);
      if (current && step !== undefined && stepKey(current, tries ?? 0) !== step) {
        log.info({ requestId, runId, step, now: stepKey(current, tries ?? 0) }, 'run step job is stale; skipped');
        return;
      }
      let touching: Promise<void> = Promise.resolve();
      const keepAlive = setInterval(() => {
        touching = job.touch().catch((error: unknown) => log.warn({ err: error, runId }, 'could not renew the lock of a run step'));
      }, Math.max(100, Math.floor(lockLifetimeMs / 3)));
      let result;
      try {
        result = await performRunStep(deps, requestId, runId, signal, tries ?? 0);
      } finally {
        clearInterval(keepAlive);
        // A renewal still on its way must land before Agenda records the job finished, or it would
        // write the lock back and another worker would run the finished job again once it expired.
        await touching;
      }
      if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
      const outcome = result.value;
      const now = deps.clock.now();
      if (outcome.kind === 'continue' || outcome.kind === 'retry_first') {
        const run = await deps.store.runs.byId(runId);
        if (run) {
          const nextTries = outcome.kind === 'retry_first' ? (tries ?? 0) + 1 : 0;
          await scheduler.scheduleStep(requestId, run, new Date(now.getTime() + outcome.delayMs), nextTries);
        }
      }
      // A finished run may have started other runs of the request, or finished it (rating). Any
      // other step changed only its own run, whose next job is the one scheduled above. (The
      // sweep repairs what a crash between the step and this leaves out.)
      if (outcome.kind === 'stop' && outcome.syncRequest) await scheduler.syncRequest(requestId);
      scheduler.kickOutbox();
    },
    { lockLifetime: lockLifetimeMs, concurrency: 8 },
  );

  agenda.define(JOBS.rating, async (job: Job<RatingJobData>) => {
    await sendRatingPrompt(deps, job.attrs.data.requestId);
  });

  agenda.define(JOBS.sweep, async () => {
    await scheduler.sweep();
    for (const request of await deps.store.requests.headers({ statuses: ['in_progress'], limit: 10_000 })) {
      if (!(await finishIfAllDone(deps, request.id))) continue;
      log.warn({ ref: request.ref }, 'request was left in progress with every run done; finished now');
      await scheduler.syncRequest(request.id);
      scheduler.kickOutbox();
    }
  });
}
