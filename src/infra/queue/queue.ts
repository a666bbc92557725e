/**
 * The queue of one process: Agenda on the configured backend plus the scheduler services use.
 * A client (the console, the CLI) only saves jobs; a worker (the bot) also processes them, sweeps
 * every minute and once at start, and stops releasing its locks.
 */
import path from 'node:path';
import type { Agenda, AgendaBackend } from 'agenda';
import type { Config } from '../../config.js';
import type { Logger } from '../../core/command.js';
import type { EngineDeps } from '../../services/engine.js';
import type { Clock, Store } from '../../ports.js';
import { createAgenda, createAgendaBackend } from '../agenda/create-agenda.js';
import type { AgendaBackendOptions } from '../agenda/create-agenda.js';
import { AgendaScheduler, JOBS } from './agenda-scheduler.js';
import { defineJobs } from './jobs.js';

/** Where Agenda keeps its jobs for this configuration. */
export function agendaBackendOptions(config: Config): AgendaBackendOptions {
  switch (config.agendaBackend) {
    case 'postgres':
      if (config.database.kind !== 'postgres') throw new Error('AGENDA_BACKEND=postgres needs DATABASE_URL=postgres://…');
      return { kind: 'postgres', url: config.database.url };
    case 'mongodb':
      if (!config.mongodbUrl) throw new Error('AGENDA_BACKEND=mongodb needs MONGODB_URL');
      return { kind: 'mongodb', url: config.mongodbUrl };
    case 'sqlite':
      return {
        kind: 'sqlite',
        path: config.database.kind === 'sqlite' ? config.database.path : path.join(config.dataDir, 'queue.sqlite'),
      };
  }
}

export interface QueueOptions {
  /** Fallback poll interval in ms (jobs saved in this process start at once through notifications). */
  processEveryMs?: number;
  lockLifetimeMs?: number;
}

/** A process's queue. */
export class Queue {
  readonly scheduler: AgendaScheduler;
  private readonly abort = new AbortController();
  private working = false;

  private constructor(
    readonly agenda: Agenda,
    private readonly backend: AgendaBackend,
    store: Store,
    clock: Clock,
    private readonly log: Logger,
    automaticRuns: boolean,
    private readonly lockLifetimeMs: number,
  ) {
    this.scheduler = new AgendaScheduler(agenda, store, clock, log, { automaticRuns });
  }

  /** Connects to the backend; jobs can be saved at once, none are processed until `work`. */
  static async open(config: Config, store: Store, clock: Clock, log: Logger, options: QueueOptions = {}): Promise<Queue> {
    const lockLifetimeMs = options.lockLifetimeMs ?? config.queueLockLifetimeMs;
    const backend = createAgendaBackend(agendaBackendOptions(config));
    const agenda = createAgenda(backend, {
      processEvery: options.processEveryMs ?? 5000,
      defaultLockLifetime: lockLifetimeMs,
    });
    agenda.on('error', (error: unknown) => log.error({ err: error }, 'queue error'));
    await agenda.ready;
    return new Queue(agenda, backend, store, clock, log, config.executor !== 'manual', lockLifetimeMs);
  }

  /** Processes jobs with the engine's use cases, sweeps at once and then every minute. */
  async work(deps: EngineDeps): Promise<void> {
    defineJobs(this.agenda, deps, this.scheduler, this.log, this.abort.signal, this.lockLifetimeMs);
    this.agenda.on('fail', (error: unknown, job: { attrs: { name: string; data: unknown } }) =>
      this.log.error({ err: error, job: job.attrs.name, data: job.attrs.data }, 'job failed'),
    );
    await this.agenda.start();
    this.working = true;
    await this.agenda.every('1 minute', JOBS.sweep, undefined, { skipImmediate: true });
    await this.scheduler.sweep();
  }

  /** Stops processing (running executors are told to stop) and disconnects. */
  async close(): Promise<void> {
    this.abort.abort();
    this.scheduler.clearWakeUps();
    // A client never started Agenda, whose stop() then leaves the backend connected.
    if (this.working) await this.agenda.stop();
    else await this.backend.disconnect();
  }
}
