/**
 * Agenda's notification channel for SQLite, so that a job saved to run now starts at once instead
 * of at the next poll. In the publishing process the notification reaches its own subscribers
 * directly. Every other connection to the same file (other processes, other backends in this
 * process) learns of it within one watch interval: the publisher appends a row to
 * `agenda_notifications`; watchers poll `PRAGMA data_version`, which changes only when another
 * connection commits, so an idle watch costs a few microseconds and no I/O.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { BaseNotificationChannel, toJobId } from 'agenda';
import type { JobNotification, NotificationHandler } from 'agenda';

/** How often a watching channel checks for notifications from other connections, by default. */
export const DEFAULT_NOTIFICATION_WATCH_MS = 50;

/** How long a notification row is kept before publishers prune it. */
const RETENTION_MS = 30_000;
const PRUNE_EVERY_MS = 5_000;

/** The connection a channel uses and how often it watches for other connections' rows. */
export interface SqliteNotificationChannelOptions {
  /** The open connection to use (the job repository's); called on connect. */
  connection: () => Database.Database;
  /** Watch interval in milliseconds for notifications from other connections; 0 = this process only. */
  watchIntervalMs?: number;
}

interface NotificationRow {
  seq: number;
  origin: string;
  job_id: string;
  job_name: string;
  next_run_at: number | null;
  priority: number;
  source: string | null;
  created_at: number;
}

/** A notification channel over the SQLite file itself; see the module comment for delivery. */
export class SqliteNotificationChannel extends BaseNotificationChannel {
  /** Tells this channel's own rows apart from those of other connections. */
  private readonly origin = randomUUID();
  private readonly watchIntervalMs: number;
  private readonly connection: () => Database.Database;
  private statements:
    | {
        insert: Database.Statement<unknown[], unknown>;
        prune: Database.Statement<unknown[], unknown>;
        since: Database.Statement<unknown[], unknown>;
        dataVersion: Database.Statement<unknown[], unknown>;
      }
    | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastSeq = 0;
  private lastDataVersion = -1;
  private lastPrune = 0;

  constructor(options: SqliteNotificationChannelOptions) {
    super({ channelName: 'agenda_notifications', reconnect: { enabled: false } });
    this.connection = options.connection;
    this.watchIntervalMs = Math.max(0, options.watchIntervalMs ?? DEFAULT_NOTIFICATION_WATCH_MS);
  }

  /** Prepares the statements and starts from the newest row; idempotent. */
  async connect(): Promise<void> {
    if (this._state === 'connected') return;
    this.setState('connecting');
    try {
      const db = this.connection();
      this.statements = {
        insert: db.prepare(
          `INSERT INTO agenda_notifications (origin, job_id, job_name, next_run_at, priority, source, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        ),
        prune: db.prepare('DELETE FROM agenda_notifications WHERE created_at < ?'),
        since: db.prepare('SELECT * FROM agenda_notifications WHERE seq > ? ORDER BY seq'),
        dataVersion: db.prepare('PRAGMA data_version').pluck(),
      };
      this.lastDataVersion = this.statements.dataVersion.get() as number;
      this.lastSeq = (db.prepare('SELECT MAX(seq) FROM agenda_notifications').pluck().get() as number | null) ?? 0;
    } catch (error) {
      this.statements = undefined;
      this.setState('error');
      throw error;
    }
    this.setState('connected');
    this.updateWatch();
  }

  /** Stops watching and forgets every subscriber; idempotent. */
  async disconnect(): Promise<void> {
    this.stopWatch();
    this.statements = undefined;
    this.handlers.clear();
    this.stateHandlers.clear();
    this.setState('disconnected');
  }

  /** Subscribes; the channel watches for other connections' rows only while it has subscribers. */
  override subscribe(handler: NotificationHandler): () => void {
    const unsubscribe = super.subscribe(handler);
    this.updateWatch();
    return () => {
      unsubscribe();
      this.updateWatch();
    };
  }

  /** Records the notification for other connections, then tells this channel's subscribers. */
  async publish(notification: JobNotification): Promise<void> {
    const statements = this.statements;
    if (this._state !== 'connected' || !statements) throw new Error('Cannot publish: channel not connected');
    const now = Date.now();
    statements.insert.run(
      this.origin,
      String(notification.jobId),
      notification.jobName,
      notification.nextRunAt ? notification.nextRunAt.getTime() : null,
      notification.priority ?? 0,
      notification.source ?? null,
      now,
    );
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      statements.prune.run(now - RETENTION_MS);
    }
    await this.notifyHandlers(notification);
  }

  private updateWatch(): void {
    if (this._state === 'connected' && this.handlers.size > 0 && this.watchIntervalMs > 0) {
      if (!this.timer) {
        this.timer = setInterval(() => this.watch(), this.watchIntervalMs);
        this.timer.unref();
      }
    } else {
      this.stopWatch();
    }
  }

  private stopWatch(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One watch step: when another connection has committed, deliver the rows it added. */
  private watch(): void {
    const statements = this.statements;
    if (!statements) return;
    let rows: NotificationRow[];
    try {
      const version = statements.dataVersion.get() as number;
      if (version === this.lastDataVersion) return;
      this.lastDataVersion = version;
      rows = statements.since.all(this.lastSeq) as NotificationRow[];
    } catch (error) {
      // A failed watch only delays jobs until Agenda's next poll; report it if anyone listens.
      if (this.listenerCount('error') > 0) this.emit('error', error);
      return;
    }
    if (rows.length === 0) return;
    this.lastSeq = rows[rows.length - 1]!.seq;
    // One notification per job name (the earliest due) is enough to make Agenda fill its queue.
    const earliest = new Map<string, NotificationRow>();
    for (const row of rows) {
      if (row.origin === this.origin) continue;
      const seen = earliest.get(row.job_name);
      if (!seen || (seen.next_run_at !== null && (row.next_run_at === null || row.next_run_at < seen.next_run_at))) {
        earliest.set(row.job_name, row);
      }
    }
    for (const row of earliest.values()) {
      void this.notifyHandlers({
        jobId: toJobId(row.job_id),
        jobName: row.job_name,
        nextRunAt: row.next_run_at === null ? null : new Date(row.next_run_at),
        priority: row.priority,
        timestamp: new Date(row.created_at),
        source: row.source ?? undefined,
      });
    }
  }
}
