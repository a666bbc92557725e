/**
 * Builds Upgrade Desk's Agenda: the backend for the configured database (SQLite file, PostgreSQL
 * or MongoDB) and an Agenda instance with this application's defaults.
 */
import { hostname } from 'node:os';
import { MongoBackend } from '@agendajs/mongo-backend';
import { PostgresBackend, PostgresJobRepository } from '@agendajs/postgres-backend';
import { Agenda } from 'agenda';
import type { AgendaBackend } from 'agenda';
import { SqliteBackend } from './sqlite-backend.js';

/** Where the jobs live. */
export type AgendaBackendOptions =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string }
  | { kind: 'mongodb'; url: string };

/** How often Agenda polls for due jobs when no notification arrives (jobs saved "now" notify). */
export const DEFAULT_PROCESS_EVERY = '5 seconds';

/**
 * How long a job stays locked without `touch()` before another worker presumes its worker dead
 * and runs it again. Upgrade Desk's jobs are short (post a notice, start a step); long ones must
 * call `job.touch()`. Agenda also keeps the process alive up to half of this after `stop()`.
 */
export const DEFAULT_LOCK_LIFETIME_MS = 60_000;

/** Overrides of Upgrade Desk's Agenda defaults; every field optional. */
export interface CreateAgendaOptions {
  /** Identifies this worker in `lastModifiedBy`; default `upgrade-desk@HOST:PID`. */
  name?: string;
  /** Fallback poll interval (ms or a human interval); default '5 seconds'. */
  processEvery?: string | number;
  /** Lock lifetime in ms for job definitions that do not set their own; default 60 s. */
  defaultLockLifetime?: number;
  /** Jobs running at once in this process, all names together; default 20. */
  maxConcurrency?: number;
  /** Jobs of one name running at once in this process; default 5. */
  defaultConcurrency?: number;
}

function required(value: string | undefined, what: string): string {
  const trimmed = value?.trim();
  if (!trimmed) throw new Error(`createAgendaBackend: ${what} is required`);
  return trimmed;
}

/**
 * Makes a backend lock only jobs that are due. Agenda 6.2 locks jobs due within the next scan
 * interval and keeps them in memory with a timer; when that timer fires a millisecond early the job
 * is put back without a new timer and, re-locked at every scan, never runs (seen with run steps
 * held for a few hundred milliseconds). Locking only due jobs avoids that path entirely; the
 * scheduler wakes the processor when a near-future job falls due (AgendaScheduler.wakeAt).
 */
export function lockOnlyDueJobs(backend: AgendaBackend): AgendaBackend {
  const repository = backend.repository;
  const original = repository.getNextJobToRun.bind(repository);
  repository.getNextJobToRun = (name, _nextScanAt, lockDeadline, now, options) =>
    original(name, new Date(), lockDeadline, now, options);
  return backend;
}

/** The AgendaBackend for `options` (locking only due jobs); throws a clear Error when the path or URL is missing. */
export function createAgendaBackend(options: AgendaBackendOptions): AgendaBackend {
  return lockOnlyDueJobs(makeBackend(options));
}

function makeBackend(options: AgendaBackendOptions): AgendaBackend {
  switch (options.kind) {
    case 'sqlite':
      return new SqliteBackend({ path: required(options.path, "the SQLite database path (kind 'sqlite')") });
    case 'postgres':
      return new PostgresBackend({
        connectionString: required(options.url, "a PostgreSQL connection URL (kind 'postgres')"),
      });
    case 'mongodb':
      return new MongoBackend({ address: required(options.url, "a MongoDB connection URL (kind 'mongodb')") });
    default: {
      const kind: unknown = (options as { kind?: unknown }).kind;
      throw new Error(`createAgendaBackend: unknown backend kind ${JSON.stringify(kind)} (sqlite, postgres or mongodb)`);
    }
  }
}

/**
 * An Agenda on `backend` with Upgrade Desk's defaults (see the constants above). It connects the
 * backend at once; call `start()` to process jobs and `stop()` (or `drain()`) to release them.
 * Errors of the backend's notification channel (e.g. PostgreSQL's LISTEN connection dropping) and
 * of idle connections in the PostgreSQL pool (e.g. the server restarting) are re-emitted as the
 * Agenda's 'error' event: unheard, Node would throw them and end the process.
 */
export function createAgenda(backend: AgendaBackend, options: CreateAgendaOptions = {}): Agenda {
  const agenda = new Agenda({
    backend,
    name: options.name ?? `upgrade-desk@${hostname()}:${process.pid}`,
    processEvery: options.processEvery ?? DEFAULT_PROCESS_EVERY,
    defaultLockLifetime: options.defaultLockLifetime ?? DEFAULT_LOCK_LIFETIME_MS,
    maxConcurrency: options.maxConcurrency ?? 20,
    defaultConcurrency: options.defaultConcurrency ?? 5,
  });
  const forward = (error: Error): void => {
    agenda.emit('error', error);
  };
  backend.notificationChannel?.on('error', forward);
  if (backend.repository instanceof PostgresJobRepository) backend.repository.getPool().on('error', forward);
  return agenda;
}
