/**
 * The TypeORM data source: SQLite (better-sqlite3, WAL) by default, PostgreSQL when given a
 * postgres:// URL. Entities and migrations are listed explicitly; nothing is synchronized.
 */
import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DataSource } from 'typeorm';
import type { DataSourceOptions } from 'typeorm';
import { ApprovalEntity } from '../../entities/approval.entity.js';
import { AuditEventEntity } from '../../entities/audit-event.entity.js';
import { CustomerEntity } from '../../entities/customer.entity.js';
import { DeviceEntity } from '../../entities/device.entity.js';
import { OutboxMessageEntity } from '../../entities/outbox-message.entity.js';
import { PersonEntity } from '../../entities/person.entity.js';
import { ProblemReportEntity } from '../../entities/problem-report.entity.js';
import { ReleaseEntity } from '../../entities/release.entity.js';
import { RequestItemEntity } from '../../entities/request-item.entity.js';
import { RunEventEntity } from '../../entities/run-event.entity.js';
import { RunEntity } from '../../entities/run.entity.js';
import { SecretEntity } from '../../entities/secret.entity.js';
import { InboundMailEntity } from '../../entities/inbound-mail.entity.js';
import { ApprovalLinkEntity } from '../../entities/approval-link.entity.js';
import { SignInLinkEntity } from '../../entities/sign-in-link.entity.js';
import { LeaseEntity } from '../../entities/lease.entity.js';
import { UpgradeRequestEntity } from '../../entities/upgrade-request.entity.js';
import { WindowEntity } from '../../entities/window.entity.js';
import { InitialSchema1763726400000 } from '../../migrations/1763726400000-initial-schema.js';
import { AgendaJobs1763812800000 } from '../../migrations/1763812800000-agenda-jobs.js';
import { OutboxDelivery1763812900000 } from '../../migrations/1763812900000-outbox-delivery.js';
import { ConsentFingerprintAndPostCheck1763813000000 } from '../../migrations/1763813000000-consent-fingerprint-and-post-check.js';
import { EmailIntake1764400000000 } from '../../migrations/1764400000000-email-intake.js';
import { WebSignIn1764500000000 } from '../../migrations/1764500000000-web-sign-in.js';
import { Leases1764600000000 } from '../../migrations/1764600000000-leases.js';

/** Every entity class, listed explicitly. */
export const ENTITIES = [
  CustomerEntity,
  PersonEntity,
  DeviceEntity,
  ReleaseEntity,
  WindowEntity,
  UpgradeRequestEntity,
  RequestItemEntity,
  ApprovalEntity,
  RunEntity,
  RunEventEntity,
  AuditEventEntity,
  OutboxMessageEntity,
  SecretEntity,
  ProblemReportEntity,
  InboundMailEntity,
  ApprovalLinkEntity,
  SignInLinkEntity,
  LeaseEntity,
];

/** Every migration class, oldest first. */
export const MIGRATIONS = [
  InitialSchema1763726400000,
  AgendaJobs1763812800000,
  OutboxDelivery1763812900000,
  ConsentFingerprintAndPostCheck1763813000000,
  EmailIntake1764400000000,
  WebSignIn1764500000000,
  Leases1764600000000,
];

/** The SQLite file used when neither a URL nor a path is given. */
export const DEFAULT_SQLITE_PATH = 'data/upgrade-desk.sqlite';

/** How long SQLite waits on a locked database before failing with SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

export interface CreateDataSourceOptions {
  /** postgres://… (or postgresql://…) for PostgreSQL; sqlite:PATH / file:PATH also accepted; undefined for SQLite. */
  url?: string;
  /** SQLite database file; default data/upgrade-desk.sqlite. Its directory is created if missing. */
  sqlitePath?: string;
  logging?: boolean;
}

/**
 * A DataSource that stores points in time as `timestamptz` on PostgreSQL. Entities declare times
 * as `Date` (→ `datetime` on SQLite, which cannot take `timestamptz`); after the metadata is built
 * and validated those columns are switched to `timestamptz`, matching the migrations.
 */
class UpgradeDeskDataSource extends DataSource {
  protected override async buildMetadatas(): Promise<void> {
    await super.buildMetadatas();
    if (this.options.type !== 'postgres') return;
    for (const metadata of this.entityMetadatas) {
      for (const column of metadata.columns) {
        if (column.type === Date) column.type = 'timestamptz';
      }
    }
  }
}

/** Which database a URL (or its absence) designates. */
export function describeDatabase(opts: CreateDataSourceOptions): { kind: 'postgres'; url: string } | { kind: 'sqlite'; path: string } {
  const url = opts.url?.trim();
  if (url) {
    if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', url };
    const file = /^(?:sqlite|file):(.+)$/i.exec(url);
    // sqlite:data/x.sqlite, sqlite://data/x.sqlite (relative), sqlite:///abs/x.sqlite, sqlite::memory:
    if (file?.[1]) return { kind: 'sqlite', path: file[1].replace(/^\/\//, '') };
    // Only the scheme is echoed: the rest of a URL may hold a password.
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1] ?? 'no scheme';
    throw new Error(`DATABASE_URL must be postgres://… (PostgreSQL) or sqlite:PATH / unset (SQLite); got ${scheme}:…`);
  }
  return { kind: 'sqlite', path: opts.sqlitePath ?? DEFAULT_SQLITE_PATH };
}

/** Builds (does not connect) the data source; call `initialize()` and then `runMigrations()`. */
export function createDataSource(opts: CreateDataSourceOptions = {}): DataSource {
  const target = describeDatabase(opts);
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: opts.logging ?? false,
  } as const;
  let options: DataSourceOptions;
  if (target.kind === 'postgres') {
    options = { ...common, type: 'postgres', url: target.url };
  } else {
    const file = target.path === ':memory:' ? target.path : path.resolve(target.path);
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    options = {
      ...common,
      type: 'better-sqlite3',
      database: file,
      enableWAL: true,
      timeout: SQLITE_BUSY_TIMEOUT_MS,
      prepareDatabase: (db: { pragma(source: string): unknown }) => {
        db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
        // WAL + NORMAL: durable across application crashes, far fewer fsyncs than FULL.
        db.pragma('synchronous = NORMAL');
      },
    };
  }
  return new UpgradeDeskDataSource(options);
}

/** The PostgreSQL advisory lock key that serializes schema changes of processes starting together (the bytes of "UDMIGRAT"). */
export const SCHEMA_LOCK_KEY = '6144120768764723540';

/**
 * Runs `work` holding the schema lock: on PostgreSQL a session advisory lock, so that several
 * processes started at once (replicas of one deployment) change the schema one after the other
 * (TypeORM's migrations and @agendajs/postgres-backend's CREATE … IF NOT EXISTS fail when run
 * concurrently); on SQLite it just runs `work`.
 */
export async function withSchemaLock<T>(ds: DataSource, work: () => Promise<T>): Promise<T> {
  if (ds.options.type !== 'postgres') return work();
  const lock = ds.createQueryRunner();
  try {
    await lock.query('SELECT pg_advisory_lock($1::bigint)', [SCHEMA_LOCK_KEY]);
    try {
      return await work();
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1::bigint)', [SCHEMA_LOCK_KEY]);
    }
  } finally {
    await lock.release();
  }
}

/**
 * Applies pending migrations (each in its own transaction); returns the names of those applied.
 * Under the schema lock: of processes started together, the first migrates, the others then find
 * nothing to do.
 */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  return withSchemaLock(ds, async () => (await ds.runMigrations({ transaction: 'each' })).map((m) => m.name));
}
