/**
 * Builds Upgrade Desk's Agenda: the backend for the configured database (SQLite file, PostgreSQL
 * or MongoDB) and an Agenda instance with this application's defaults. The PostgreSQL and MongoDB
 * backends (with pg and the MongoDB driver) are loaded only when one of them connects, so the
 * SQLite default neither loads nor keeps them.
 */
import { hostname } from 'node:os';
import type { PostgresJobRepository } from '@agendajs/postgres-backend';
import { Agenda } from 'agenda';
import type { AgendaBackend, JobRepository, NotificationChannel } from 'agenda';
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

/**
 * `load` run once, on the first call (a failed load is tried again on the next call). Kept here
 * rather than shared: this directory is also compiled on its own (the multi-process test).
 */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () =>
    (pending ??= load().catch((error: unknown) => {
      pending = null;
      throw error;
    }));
}

/** @agendajs/postgres-backend (with pg), loaded when a PostgreSQL backend connects. */
const loadPostgresBackend = once(() => import('@agendajs/postgres-backend'));
/** @agendajs/mongo-backend (with the MongoDB driver), loaded when a MongoDB backend connects. */
const loadMongoBackend = once(() => import('@agendajs/mongo-backend'));

/**
 * An object standing for the `pick`ed part of a backend that is made later (repository, channel):
 * every property is the made object's (methods bound to it). Agenda reads these parts when it is
 * constructed but uses them only once the backend has connected; used earlier, it throws.
 */
function standIn<T extends object>(what: string, pick: () => T | undefined): T {
  return new Proxy({} as T, {
    get(_target, property) {
      const made = pick();
      if (!made) {
        if (typeof property === 'symbol' || property === 'then') return undefined;
        throw new Error(`the ${what} was used before the backend connected (await agenda.ready first)`);
      }
      const value: unknown = Reflect.get(made, property, made);
      return typeof value === 'function' ? value.bind(made) : value;
    },
    set(_target, property, value) {
      const made = pick();
      if (!made) throw new Error(`the ${what} was changed before the backend connected`);
      return Reflect.set(made, property, value, made);
    },
    has(_target, property) {
      const made = pick();
      return made ? property in made : false;
    },
  });
}

/**
 * A backend whose library is loaded on `connect()`: the real backend is made then (locking only
 * due jobs), and `repository` and `notificationChannel` stand for its own. Callbacks given to
 * `whenMade` run on the real backend as soon as it exists, before `connect()` goes on.
 */
export class DeferredBackend implements AgendaBackend {
  readonly repository: JobRepository;
  readonly notificationChannel: NotificationChannel | undefined;
  /** Both backends are made from a URL here, so they own their connection. */
  readonly ownsConnection = true;
  private real: AgendaBackend | null = null;
  private making: Promise<AgendaBackend> | null = null;
  private readonly onMade: Array<(backend: AgendaBackend) => void> = [];

  constructor(
    readonly name: string,
    private readonly make: () => Promise<AgendaBackend>,
    options: { notifies: boolean },
  ) {
    this.repository = standIn(`${name} job repository`, () => this.real?.repository);
    this.notificationChannel = options.notifies ? standIn(`${name} notification channel`, () => this.real?.notificationChannel) : undefined;
  }

  /** The job logger of the real backend (only once connected; Upgrade Desk does not enable Agenda's job logging). */
  get logger() {
    return this.real?.logger;
  }

  /** Runs `callback` on the real backend once it is made (at once if it already is). */
  whenMade(callback: (backend: AgendaBackend) => void): void {
    if (this.real) callback(this.real);
    else this.onMade.push(callback);
  }

  async connect(): Promise<void> {
    this.making ??= this.make().then(
      (backend) => {
        this.real = lockOnlyDueJobs(backend);
        for (const callback of this.onMade.splice(0)) callback(backend);
        return backend;
      },
      (error: unknown) => {
        this.making = null;
        throw error;
      },
    );
    await (await this.making).connect();
  }

  async disconnect(): Promise<void> {
    await this.real?.disconnect();
  }
}

/**
 * The AgendaBackend for `options` (locking only due jobs); throws a clear Error when the path or
 * URL is missing. PostgreSQL and MongoDB come as a DeferredBackend: their library is loaded when
 * the backend connects (Agenda connects it when constructed).
 */
export function createAgendaBackend(options: AgendaBackendOptions): AgendaBackend {
  switch (options.kind) {
    case 'sqlite':
      return lockOnlyDueJobs(new SqliteBackend({ path: required(options.path, "the SQLite database path (kind 'sqlite')") }));
    case 'postgres': {
      const connectionString = required(options.url, "a PostgreSQL connection URL (kind 'postgres')");
      return new DeferredBackend('PostgreSQL', async () => new (await loadPostgresBackend()).PostgresBackend({ connectionString }), { notifies: true });
    }
    case 'mongodb': {
      const address = required(options.url, "a MongoDB connection URL (kind 'mongodb')");
      return new DeferredBackend('MongoDB', async () => new (await loadMongoBackend()).MongoBackend({ address }), { notifies: false });
    }
    default: {
      const kind: unknown = (options as { kind?: unknown }).kind;
      throw new Error(`createAgendaBackend: unknown backend kind ${JSON.stringify(kind)} (sqlite, postgres or mongodb)`);
    }
  }
}

/** The pool of a PostgreSQL backend's repository; null for the other backends. */
function postgresPool(backend: AgendaBackend): ReturnType<PostgresJobRepository['getPool']> | null {
  if (backend.name !== 'PostgreSQL') return null;
  const repository = backend.repository as Partial<Pick<PostgresJobRepository, 'getPool'>>;
  return typeof repository.getPool === 'function' ? repository.getPool() : null;
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
  const listen = (made: AgendaBackend) => {
    made.notificationChannel?.on('error', forward);
    postgresPool(made)?.on('error', forward);
  };
  if (backend instanceof DeferredBackend) backend.whenMade(listen);
  else listen(backend);
  return agenda;
}
