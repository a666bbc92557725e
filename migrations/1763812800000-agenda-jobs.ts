/**
 * Agenda's job tables on SQLite: `agenda_jobs` (the jobs, read and locked by
 * src/infra/agenda/sqlite-job-repository.ts) and `agenda_notifications` (how processes sharing the
 * file tell each other that a job was saved). They have no entity: only the Agenda backend uses
 * them. On PostgreSQL this migration does nothing; @agendajs/postgres-backend creates and owns its
 * own `agenda_jobs` there. The statements are written out here, frozen as of this migration; the
 * SQLite Agenda suite checks that they build the same schema the repository creates on connect.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

const UP = [
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

const DOWN = ['DROP TABLE IF EXISTS agenda_notifications', 'DROP TABLE IF EXISTS agenda_jobs'];

/** Upgrade Desk runs SQLite through better-sqlite3 only (see src/infra/data-source.ts). */
function isSqlite(queryRunner: QueryRunner): boolean {
  return queryRunner.connection.driver.options.type === 'better-sqlite3';
}

/** Creates Agenda's tables on SQLite (if missing: the backend may have created them first). */
export class AgendaJobs1763812800000 implements MigrationInterface {
  name = 'AgendaJobs1763812800000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (!isSqlite(queryRunner)) return;
    for (const sql of UP) await queryRunner.query(sql);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (!isSqlite(queryRunner)) return;
    for (const sql of DOWN) await queryRunner.query(sql);
  }
}
