/**
 * Agenda's JobRepository over SQLite (better-sqlite3), on its own connection to the application's
 * database file. Every lock is taken by one `UPDATE … RETURNING` statement (or inside a
 * `BEGIN IMMEDIATE` transaction), so any number of processes may share the file and a job is
 * locked by at most one of them; a lock older than the caller's lock deadline is taken over.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { computeJobState, toJobId } from 'agenda';
import type {
  JobId,
  JobParameters,
  JobRepository,
  JobRepositoryOptions,
  JobsOverview,
  JobsQueryOptions,
  JobsResult,
  JobsSort,
  JobWithState,
  RemoveJobsOptions,
} from 'agenda';

/**
 * The SQLite schema, every statement idempotent: `agenda_jobs` (the same table name that
 * @agendajs/postgres-backend owns on PostgreSQL) and `agenda_notifications` (how processes sharing
 * the file tell each other about saved jobs; see sqlite-notification-channel.ts). Points in
 * time are integer milliseconds since the epoch (UTC); `data`, `skip_days`, `unique_query` and
 * `unique_opts` are JSON text; booleans are 0/1. `repeat_interval` has no declared type, so a
 * number (milliseconds) and a string (cron or human interval) both come back as they went in.
 */
export const AGENDA_SQLITE_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS agenda_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    next_run_at INTEGER,
    type TEXT NOT NULL DEFAULT 'normal' CHECK (type IN ('normal', 'single')),
    locked_at INTEGER,
    last_finished_at INTEGER,
    failed_at INTEGER,
    fail_count INTEGER,
    fail_reason TEXT,
    repeat_timezone TEXT,
    last_run_at INTEGER,
    repeat_interval,
    data TEXT,
    repeat_at TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    progress REAL,
    fork INTEGER NOT NULL DEFAULT 0,
    last_modified_by TEXT,
    debounce_started_at INTEGER,
    start_date INTEGER,
    end_date INTEGER,
    skip_days TEXT,
    unique_query TEXT,
    unique_opts TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS agenda_jobs_find_and_lock_idx
    ON agenda_jobs (name, disabled, locked_at, next_run_at, priority DESC)`,
  `CREATE UNIQUE INDEX IF NOT EXISTS agenda_jobs_single_job_idx ON agenda_jobs (name) WHERE type = 'single'`,
  `CREATE INDEX IF NOT EXISTS agenda_jobs_next_run_at_idx ON agenda_jobs (next_run_at)`,
  `CREATE TABLE IF NOT EXISTS agenda_notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    job_id TEXT NOT NULL,
    job_name TEXT NOT NULL,
    next_run_at INTEGER,
    priority INTEGER NOT NULL DEFAULT 0,
    source TEXT,
    created_at INTEGER NOT NULL
  )`,
];

/** How long SQLite waits for a lock held by another connection before SQLITE_BUSY. */
export const AGENDA_SQLITE_BUSY_TIMEOUT_MS = 5000;

/** Where the repository connects, and how. */
export interface SqliteJobRepositoryOptions {
  /** The database file (the application's file); its directory is created when missing. */
  path: string;
  /** Busy timeout in milliseconds (default 5000). */
  busyTimeoutMs?: number;
  /** Create the tables when missing on connect (default true; the migration also creates them). */
  ensureSchema?: boolean;
}

/** A row of agenda_jobs as better-sqlite3 returns it. */
interface JobRow {
  id: number;
  name: string;
  priority: number;
  next_run_at: number | null;
  type: 'normal' | 'single';
  locked_at: number | null;
  last_finished_at: number | null;
  failed_at: number | null;
  fail_count: number | null;
  fail_reason: string | null;
  repeat_timezone: string | null;
  last_run_at: number | null;
  repeat_interval: string | number | null;
  data: string | null;
  repeat_at: string | null;
  disabled: number;
  progress: number | null;
  fork: number;
  last_modified_by: string | null;
  debounce_started_at: number | null;
  start_date: number | null;
  end_date: number | null;
  skip_days: string | null;
  unique_query: string | null;
  unique_opts: string | null;
}

type SqlValue = string | number | bigint | Buffer | null;
type Params = Record<string, SqlValue>;
type Db = Database.Database;
type Stmt = Database.Statement<unknown[], unknown>;

/** Columns a `unique` key may name directly (anything else must be a `data.` path). */
const UNIQUE_COLUMNS: Readonly<Record<string, string>> = {
  name: 'name',
  priority: 'priority',
  nextRunAt: 'next_run_at',
  type: 'type',
  lockedAt: 'locked_at',
  lastFinishedAt: 'last_finished_at',
  failedAt: 'failed_at',
  failCount: 'fail_count',
  failReason: 'fail_reason',
  repeatTimezone: 'repeat_timezone',
  lastRunAt: 'last_run_at',
  repeatInterval: 'repeat_interval',
  data: 'data',
  repeatAt: 'repeat_at',
  disabled: 'disabled',
  progress: 'progress',
  fork: 'fork',
  lastModifiedBy: 'last_modified_by',
  debounceStartedAt: 'debounce_started_at',
  startDate: 'start_date',
  endDate: 'end_date',
};

const SORT_COLUMNS: Readonly<Record<keyof JobsSort, string | undefined>> = {
  nextRunAt: 'next_run_at',
  lastRunAt: 'last_run_at',
  lastFinishedAt: 'last_finished_at',
  priority: 'priority',
  name: 'name',
  data: undefined,
};

const INSERT_COLUMNS = [
  'name',
  'priority',
  'next_run_at',
  'type',
  'locked_at',
  'last_finished_at',
  'failed_at',
  'fail_count',
  'fail_reason',
  'repeat_timezone',
  'last_run_at',
  'repeat_interval',
  'data',
  'repeat_at',
  'disabled',
  'progress',
  'fork',
  'last_modified_by',
  'debounce_started_at',
  'start_date',
  'end_date',
  'skip_days',
  'unique_query',
  'unique_opts',
  'created_at',
  'updated_at',
] as const;

const INSERT_SQL = `INSERT INTO agenda_jobs (${INSERT_COLUMNS.join(', ')})
  VALUES (${INSERT_COLUMNS.map((c) => `@${c}`).join(', ')})`;

/** Milliseconds since the epoch, or null; rejects an unparseable date rather than storing NaN. */
function toMs(value: Date | string | number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const ms = value instanceof Date ? value.getTime() : new Date(value).getTime();
  if (Number.isNaN(ms)) throw new Error(`invalid date: ${String(value)}`);
  return ms;
}

const toDate = (ms: number | null): Date | undefined => (ms === null ? undefined : new Date(ms));
const toJson = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
const fromJson = (text: string | null): unknown => (text === null ? undefined : JSON.parse(text));
const flag = (value: boolean | undefined): number => (value ? 1 : 0);

/** An integer row id from a job id, or null when it cannot be one of ours. */
function rowId(id: unknown): number | null {
  const text = String(id);
  return /^\d{1,15}$/.test(text) ? Number(text) : null;
}

/** Whether `value` contains `pattern` the way PostgreSQL's jsonb `@>` does. */
export function jsonContains(value: unknown, pattern: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object') return value === pattern;
  if (Array.isArray(pattern)) {
    return Array.isArray(value) && pattern.every((p) => value.some((v) => jsonContains(v, p)));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return Object.entries(pattern as Record<string, unknown>).every(
    ([key, p]) => Object.prototype.hasOwnProperty.call(record, key) && jsonContains(record[key], p),
  );
}

/** A SQLite JSON path for a dotted `data.` key: `data.a.b` → `$."a"."b"`. */
function jsonPath(dottedKey: string): string {
  const segments = dottedKey.split('.');
  if (segments.some((s) => s === '' || s.includes('"'))) {
    throw new Error(`Invalid unique constraint field: "data.${dottedKey}"`);
  }
  return `$${segments.map((s) => `."${s}"`).join('')}`;
}

/** A unique-constraint value as stored in its column. */
function columnValue(column: string, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (column === 'data') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'string') {
    if (column.endsWith('_at') || column.endsWith('_date')) return toMs(value);
    return value;
  }
  if (typeof value === 'bigint') return value;
  return JSON.stringify(value);
}

/** Agenda's JobRepository on SQLite; see the module comment for the locking guarantees. */
export class SqliteJobRepository implements JobRepository {
  readonly path: string;
  private readonly busyTimeoutMs: number;
  private readonly ensureSchema: boolean;
  private db: Db | undefined;
  private statements = new Map<string, Stmt>();

  constructor(options: SqliteJobRepositoryOptions) {
    if (!options.path) throw new Error('SqliteJobRepository needs the path of the SQLite database file');
    this.path = options.path === ':memory:' ? options.path : path.resolve(options.path);
    this.busyTimeoutMs = options.busyTimeoutMs ?? AGENDA_SQLITE_BUSY_TIMEOUT_MS;
    this.ensureSchema = options.ensureSchema ?? true;
  }

  /** Whether the connection is open. */
  get connected(): boolean {
    return this.db !== undefined;
  }

  /** The open connection (shared with the notification channel); throws when not connected. */
  connection(): Db {
    if (!this.db) throw new Error(`the SQLite job repository is not connected (${this.path})`);
    return this.db;
  }

  /** Opens the connection (WAL, busy timeout, synchronous=NORMAL) and creates missing tables; idempotent. */
  async connect(): Promise<void> {
    if (this.db) return;
    if (this.path !== ':memory:') mkdirSync(path.dirname(this.path), { recursive: true });
    const db = new Database(this.path, { timeout: this.busyTimeoutMs });
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.busyTimeoutMs))}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      if (this.ensureSchema) {
        db.transaction(() => {
          for (const sql of AGENDA_SQLITE_SCHEMA) db.exec(sql);
        }).immediate();
      }
    } catch (error) {
      db.close();
      throw error;
    }
    this.db = db;
  }

  /** Closes the connection; idempotent. Calls after this throw until `connect()` again. */
  async disconnect(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.statements.clear();
    db?.close();
  }

  /** A prepared statement, cached per connection by its SQL text. */
  private stmt(sql: string): Stmt {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.connection().prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private rowToJob(row: JobRow): JobParameters {
    const job: JobParameters = {
      _id: toJobId(String(row.id)),
      name: row.name,
      priority: row.priority,
      nextRunAt: row.next_run_at === null ? null : new Date(row.next_run_at),
      type: row.type,
      data: fromJson(row.data),
      disabled: row.disabled === 1,
      fork: row.fork === 1,
    };
    const optional: Partial<JobParameters> = {
      lockedAt: toDate(row.locked_at),
      lastFinishedAt: toDate(row.last_finished_at),
      failedAt: toDate(row.failed_at),
      failCount: row.fail_count ?? undefined,
      failReason: row.fail_reason ?? undefined,
      repeatTimezone: row.repeat_timezone ?? undefined,
      lastRunAt: toDate(row.last_run_at),
      repeatInterval: row.repeat_interval ?? undefined,
      repeatAt: row.repeat_at ?? undefined,
      progress: row.progress ?? undefined,
      lastModifiedBy: row.last_modified_by ?? undefined,
      debounceStartedAt: toDate(row.debounce_started_at),
      startDate: toDate(row.start_date),
      endDate: toDate(row.end_date),
      skipDays: fromJson(row.skip_days) as number[] | undefined,
      unique: fromJson(row.unique_query) as Record<string, unknown> | undefined,
      uniqueOpts: fromJson(row.unique_opts) as JobParameters['uniqueOpts'],
    };
    for (const [key, value] of Object.entries(optional)) {
      if (value !== undefined) (job as unknown as Record<string, unknown>)[key] = value;
    }
    return job;
  }

  /** Every column of a job as bound parameters (for INSERT). */
  private insertParams(job: JobParameters, options: JobRepositoryOptions | undefined, now: number): Params {
    return {
      name: job.name,
      priority: job.priority ?? 0,
      next_run_at: toMs(job.nextRunAt),
      type: job.type ?? 'normal',
      locked_at: toMs(job.lockedAt),
      last_finished_at: toMs(job.lastFinishedAt),
      failed_at: toMs(job.failedAt),
      fail_count: job.failCount ?? null,
      fail_reason: job.failReason ?? null,
      repeat_timezone: job.repeatTimezone ?? null,
      last_run_at: toMs(job.lastRunAt),
      repeat_interval: job.repeatInterval ?? null,
      data: toJson(job.data),
      repeat_at: job.repeatAt ?? null,
      disabled: flag(job.disabled),
      progress: job.progress ?? null,
      fork: flag(job.fork),
      last_modified_by: options?.lastModifiedBy ?? null,
      debounce_started_at: toMs(job.debounceStartedAt),
      start_date: toMs(job.startDate),
      end_date: toMs(job.endDate),
      skip_days: toJson(job.skipDays),
      unique_query: toJson(job.unique),
      unique_opts: toJson(job.uniqueOpts),
      created_at: now,
      updated_at: now,
    };
  }

  private insert(params: Params): JobParameters {
    return this.rowToJob(this.stmt(`${INSERT_SQL} RETURNING *`).get(params) as JobRow);
  }

  async getJobById(id: string): Promise<JobParameters | null> {
    const rid = rowId(id);
    if (rid === null) return null;
    const row = this.stmt('SELECT * FROM agenda_jobs WHERE id = ?').get(rid) as JobRow | undefined;
    return row ? this.rowToJob(row) : null;
  }

  async queryJobs(options: JobsQueryOptions = {}): Promise<JobsResult> {
    const { name, names, state, id, ids, search, data, includeDisabled = true, sort, skip = 0, limit = 0 } = options;
    const now = new Date();
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (name) {
      where.push('name = ?');
      params.push(name);
    } else if (names && names.length > 0) {
      where.push('name IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(names));
    }
    if (id) {
      where.push('id = ?');
      params.push(rowId(id) ?? -1);
    } else if (ids && ids.length > 0) {
      where.push('id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(ids.map(rowId).filter((n) => n !== null)));
    }
    if (search) {
      where.push(`name LIKE ? ESCAPE '\\'`);
      params.push(`%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    if (!includeDisabled) where.push('disabled = 0');
    const sql = `SELECT * FROM agenda_jobs${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${orderBy(sort)}`;
    const rows = this.stmt(sql).all(...params) as JobRow[];
    let jobs: JobWithState[] = [];
    for (const row of rows) {
      const job = this.rowToJob(row);
      if (data !== undefined && !jsonContains(job.data, data)) continue;
      const withState = { ...job, _id: job._id!, state: computeJobState(job, now) } as JobWithState;
      if (state && (state === 'paused' ? job.disabled !== true : withState.state !== state)) continue;
      jobs.push(withState);
    }
    const total = jobs.length;
    if (limit > 0) jobs = jobs.slice(skip, skip + limit);
    else if (skip > 0) jobs = jobs.slice(skip);
    return { jobs, total };
  }

  async getJobsOverview(): Promise<JobsOverview[]> {
    const now = new Date();
    const rows = this.stmt('SELECT * FROM agenda_jobs ORDER BY name').all() as JobRow[];
    const byName = new Map<string, JobsOverview>();
    for (const row of rows) {
      let overview = byName.get(row.name);
      if (!overview) {
        overview = {
          name: row.name,
          total: 0,
          running: 0,
          scheduled: 0,
          queued: 0,
          completed: 0,
          failed: 0,
          repeating: 0,
          paused: 0,
        };
        byName.set(row.name, overview);
      }
      const job = this.rowToJob(row);
      overview.total += 1;
      overview[computeJobState(job, now)] += 1;
      if (job.disabled) overview.paused += 1;
    }
    return [...byName.values()];
  }

  async getDistinctJobNames(): Promise<string[]> {
    return this.stmt('SELECT DISTINCT name FROM agenda_jobs ORDER BY name').pluck().all() as string[];
  }

  async getQueueSize(): Promise<number> {
    return this.stmt('SELECT COUNT(*) FROM agenda_jobs WHERE next_run_at < ?').pluck().get(Date.now()) as number;
  }

  /**
   * Runs `change(whereSql, params)` on the jobs matching the options; null when the options name
   * no jobs at all. A `data` filter (jsonb-style containment) is applied in JS inside one
   * immediate transaction, so the selection and the change see the same rows.
   */
  private changeMatching(options: RemoveJobsOptions, change: (where: string, params: SqlValue[]) => number): number {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (options.id) {
      where.push('id = ?');
      params.push(rowId(options.id) ?? -1);
    } else if (options.ids && options.ids.length > 0) {
      where.push('id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(options.ids.map(rowId).filter((n) => n !== null)));
    }
    if (options.name) {
      where.push('name = ?');
      params.push(options.name);
    } else if (options.names && options.names.length > 0) {
      where.push('name IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(options.names));
    } else if (options.notNames && options.notNames.length > 0) {
      where.push('name NOT IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(options.notNames));
    }
    if (options.data === undefined) {
      if (where.length === 0) return 0;
      return change(where.join(' AND '), params);
    }
    const db = this.connection();
    return db
      .transaction(() => {
        const sql = `SELECT id, data FROM agenda_jobs${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
        const rows = this.stmt(sql).all(...params) as Pick<JobRow, 'id' | 'data'>[];
        const matching = rows.filter((r) => jsonContains(fromJson(r.data), options.data)).map((r) => r.id);
        if (matching.length === 0) return 0;
        return change('id IN (SELECT value FROM json_each(?))', [JSON.stringify(matching)]);
      })
      .immediate();
  }

  async removeJobs(options: RemoveJobsOptions): Promise<number> {
    return this.changeMatching(
      options,
      (where, params) => this.stmt(`DELETE FROM agenda_jobs WHERE ${where}`).run(...params).changes,
    );
  }

  async disableJobs(options: RemoveJobsOptions): Promise<number> {
    return this.changeMatching(
      options,
      (where, params) =>
        this.stmt(`UPDATE agenda_jobs SET disabled = 1, updated_at = ? WHERE ${where}`).run(Date.now(), ...params)
          .changes,
    );
  }

  async enableJobs(options: RemoveJobsOptions): Promise<number> {
    return this.changeMatching(
      options,
      (where, params) =>
        this.stmt(`UPDATE agenda_jobs SET disabled = 0, updated_at = ? WHERE ${where}`).run(Date.now(), ...params)
          .changes,
    );
  }

  async purgeAllJobs(): Promise<number> {
    return this.stmt('DELETE FROM agenda_jobs').run().changes;
  }

  async saveJobState(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<void> {
    if (!job._id) throw new Error('Cannot save job state without job ID');
    const rid = rowId(job._id);
    const changes =
      rid === null
        ? 0
        : this.stmt(
            `UPDATE agenda_jobs SET locked_at = @locked_at, next_run_at = @next_run_at, last_run_at = @last_run_at,
               progress = @progress, fail_reason = @fail_reason, fail_count = @fail_count, failed_at = @failed_at,
               last_finished_at = @last_finished_at, last_modified_by = @last_modified_by, updated_at = @now
             WHERE id = @id AND name = @name`,
          ).run({
            id: rid,
            name: job.name,
            locked_at: toMs(job.lockedAt),
            next_run_at: toMs(job.nextRunAt),
            last_run_at: toMs(job.lastRunAt),
            progress: job.progress ?? null,
            fail_reason: job.failReason ?? null,
            fail_count: job.failCount ?? null,
            failed_at: toMs(job.failedAt),
            last_finished_at: toMs(job.lastFinishedAt),
            last_modified_by: options?.lastModifiedBy ?? null,
            now: Date.now(),
          }).changes;
    if (changes !== 1) {
      throw new Error(
        `job ${String(job._id)} (name: ${job.name}) cannot be updated in the database, maybe it does not exist anymore?`,
      );
    }
  }

  async lockJob(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<JobParameters | undefined> {
    const rid = job._id ? rowId(job._id) : null;
    if (rid === null) return undefined;
    const now = Date.now();
    const row = this.stmt(
      `UPDATE agenda_jobs SET locked_at = @now, last_modified_by = @by, updated_at = @now
       WHERE id = @id AND name = @name AND locked_at IS NULL AND next_run_at IS @next_run_at AND disabled = 0
       RETURNING *`,
    ).get({ id: rid, name: job.name, next_run_at: toMs(job.nextRunAt), by: options?.lastModifiedBy ?? null, now }) as
      | JobRow
      | undefined;
    return row ? this.rowToJob(row) : undefined;
  }

  async unlockJob(job: JobParameters): Promise<void> {
    const rid = job._id ? rowId(job._id) : null;
    if (rid === null) return;
    // A job whose nextRunAt is null has started running; only its runner may unlock it.
    this.stmt('UPDATE agenda_jobs SET locked_at = NULL WHERE id = ? AND next_run_at IS NOT NULL').run(rid);
  }

  async unlockJobs(jobIds: (JobId | string)[]): Promise<void> {
    const ids = jobIds.map(rowId).filter((n) => n !== null);
    if (ids.length === 0) return;
    this.stmt('UPDATE agenda_jobs SET locked_at = NULL WHERE id IN (SELECT value FROM json_each(?))').run(
      JSON.stringify(ids),
    );
  }

  /**
   * Locks and returns the next job of `jobName` to run, in one statement: first a job whose lock
   * is older than `lockDeadline` (its worker is presumed dead; oldest lock first), otherwise the
   * unlocked, enabled job due by `nextScanAt` with the earliest nextRunAt, then highest priority.
   */
  async getNextJobToRun(
    jobName: string,
    nextScanAt: Date,
    lockDeadline: Date,
    now: Date | undefined,
    options: JobRepositoryOptions | undefined,
  ): Promise<JobParameters | undefined> {
    const lockTime = toMs(now ?? new Date());
    const row = this.stmt(
      `UPDATE agenda_jobs SET locked_at = @lock_time, last_modified_by = @by, updated_at = @lock_time
       WHERE id = COALESCE(
         (SELECT id FROM agenda_jobs
           WHERE name = @name AND disabled = 0 AND locked_at <= @lock_deadline
           ORDER BY locked_at LIMIT 1),
         (SELECT id FROM agenda_jobs
           WHERE name = @name AND disabled = 0 AND locked_at IS NULL AND next_run_at <= @next_scan_at
           ORDER BY next_run_at, priority DESC LIMIT 1))
       RETURNING *`,
    ).get({
      name: jobName,
      lock_time: lockTime,
      lock_deadline: toMs(lockDeadline),
      next_scan_at: toMs(nextScanAt),
      by: options?.lastModifiedBy ?? null,
    }) as JobRow | undefined;
    return row ? this.rowToJob(row) : undefined;
  }

  /**
   * Saves a job: an update when it has an id (processor-managed fields untouched, failure fields
   * only when given); an upsert by name for type 'single' (a due nextRunAt does not overwrite a
   * stored one); an upsert by the `unique` query otherwise (insertOnly keeps the stored job,
   * debounce moves nextRunAt as Agenda specifies); else an insert.
   */
  async saveJob<DATA = unknown>(
    job: JobParameters<DATA>,
    options: JobRepositoryOptions | undefined,
  ): Promise<JobParameters<DATA>> {
    const now = Date.now();
    const params = this.insertParams(job as JobParameters, options, now);
    if (job._id) return (this.updateById(job as JobParameters, params) ?? job) as JobParameters<DATA>;
    if (job.type === 'single') {
      const due = params.next_run_at !== null && (params.next_run_at as number) <= now;
      const row = this.stmt(
        `${INSERT_SQL}
         ON CONFLICT (name) WHERE type = 'single' DO UPDATE SET
           priority = excluded.priority,
           next_run_at = CASE WHEN @protect_next_run_at = 1
             THEN COALESCE(agenda_jobs.next_run_at, excluded.next_run_at) ELSE excluded.next_run_at END,
           repeat_timezone = excluded.repeat_timezone,
           repeat_interval = excluded.repeat_interval,
           data = excluded.data,
           repeat_at = excluded.repeat_at,
           disabled = excluded.disabled,
           fork = excluded.fork,
           last_modified_by = excluded.last_modified_by,
           start_date = excluded.start_date,
           end_date = excluded.end_date,
           skip_days = excluded.skip_days,
           updated_at = excluded.updated_at
         RETURNING *`,
      ).get({ ...params, protect_next_run_at: due ? 1 : 0 }) as JobRow;
      return this.rowToJob(row) as JobParameters<DATA>;
    }
    if (job.unique) {
      const unique = job.unique;
      return this.connection()
        .transaction(() => this.upsertUnique(job as JobParameters, unique, params, now))
        .immediate() as JobParameters<DATA>;
    }
    return this.insert(params) as JobParameters<DATA>;
  }

  private updateById(job: JobParameters, params: Params): JobParameters | undefined {
    const rid = rowId(job._id);
    if (rid === null) return undefined;
    const row = this.stmt(
      `UPDATE agenda_jobs SET
         priority = @priority, next_run_at = @next_run_at, type = @type, repeat_timezone = @repeat_timezone,
         repeat_interval = @repeat_interval, data = @data, repeat_at = @repeat_at, disabled = @disabled,
         fork = @fork, fail_reason = COALESCE(@fail_reason, fail_reason),
         fail_count = COALESCE(@fail_count, fail_count), failed_at = COALESCE(@failed_at, failed_at),
         last_modified_by = @last_modified_by, start_date = @start_date, end_date = @end_date,
         skip_days = @skip_days, updated_at = @updated_at
       WHERE id = @id AND name = @name
       RETURNING *`,
    ).get({ ...params, id: rid }) as JobRow | undefined;
    return row ? this.rowToJob(row) : undefined;
  }

  /** The unique upsert; runs inside an immediate transaction (see saveJob). */
  private upsertUnique(job: JobParameters, unique: Record<string, unknown>, params: Params, now: number): JobParameters {
    const where = ['name = ?'];
    const values: SqlValue[] = [job.name];
    for (const [key, value] of Object.entries(unique)) {
      if (key.startsWith('data.')) {
        where.push(`json_extract(data, ?) IS json_extract(?, '$')`);
        values.push(jsonPath(key.slice(5)), JSON.stringify(value ?? null));
      } else {
        const column = UNIQUE_COLUMNS[key];
        if (!column) throw new Error(`Invalid unique constraint field: "${key}"`);
        where.push(`${column} IS ?`);
        values.push(columnValue(column, value));
      }
    }
    const existing = this.stmt(`SELECT * FROM agenda_jobs WHERE ${where.join(' AND ')} ORDER BY id LIMIT 1`).get(
      ...values,
    ) as JobRow | undefined;
    const debounce = job.uniqueOpts?.debounce;
    if (!existing) {
      if (debounce) {
        params.debounce_started_at = now;
        if (debounce.strategy !== 'leading') params.next_run_at = now + debounce.delay;
      }
      return this.insert(params);
    }
    if (job.uniqueOpts?.insertOnly && !debounce) return this.rowToJob(existing);
    let nextRunAt = params.next_run_at;
    let debounceStartedAt: number | null = null;
    if (debounce) {
      const started = existing.debounce_started_at ?? now;
      if (debounce.strategy === 'leading') {
        nextRunAt = existing.next_run_at;
        debounceStartedAt = started;
      } else if (debounce.maxWait !== undefined && now - started >= debounce.maxWait) {
        nextRunAt = now;
      } else {
        nextRunAt = now + debounce.delay;
        debounceStartedAt = started;
      }
    }
    const row = this.stmt(
      `UPDATE agenda_jobs SET
         priority = @priority, next_run_at = @next_run_at, type = @type, repeat_timezone = @repeat_timezone,
         repeat_interval = @repeat_interval, data = @data, repeat_at = @repeat_at, disabled = @disabled,
         fork = @fork, last_modified_by = @last_modified_by, debounce_started_at = @debounce_started_at,
         start_date = @start_date, end_date = @end_date, skip_days = @skip_days, unique_query = @unique_query,
         unique_opts = @unique_opts, updated_at = @updated_at
       WHERE id = @id
       RETURNING *`,
    ).get({ ...params, id: existing.id, next_run_at: nextRunAt, debounce_started_at: debounceStartedAt }) as JobRow;
    return this.rowToJob(row);
  }
}

/** ORDER BY for queryJobs: Agenda's default (latest nextRunAt, then lastRunAt), nulls last. */
function orderBy(sort: JobsSort | undefined): string {
  const parts: string[] = [];
  for (const [key, direction] of Object.entries(sort ?? {})) {
    const column = SORT_COLUMNS[key as keyof JobsSort];
    if (!column || (direction !== 'asc' && direction !== 'desc')) continue;
    parts.push(`${column} ${direction === 'asc' ? 'ASC' : 'DESC'}${column === 'name' || column === 'priority' ? '' : ' NULLS LAST'}`);
  }
  if (parts.length === 0) parts.push('next_run_at DESC NULLS LAST', 'last_run_at DESC NULLS LAST');
  return [...parts, 'id'].join(', ');
}
