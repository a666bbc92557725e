/**
 * The Agenda backend for SQLite: jobs in `agenda_jobs` of the application's database file, on a
 * connection of its own, and a notification channel so that jobs saved to run now start at once
 * (in this process directly, in other processes sharing the file within one watch interval).
 */
import type { AgendaBackend } from 'agenda';
import { SqliteJobRepository } from './sqlite-job-repository.js';
import type { SqliteJobRepositoryOptions } from './sqlite-job-repository.js';
import { SqliteNotificationChannel } from './sqlite-notification-channel.js';

/** The database file and connection settings, plus how saved jobs are announced. */
export interface SqliteBackendOptions extends SqliteJobRepositoryOptions {
  /**
   * How often (ms) to look for jobs saved through other connections to the file (default 50).
   * 0 keeps notifications within this backend; other processes then wait for Agenda's poll.
   */
  notificationWatchMs?: number;
  /** No notification channel at all: every job waits for Agenda's `processEvery` poll. */
  disableNotifications?: boolean;
}

/** An AgendaBackend over one SQLite file; connect() opens (and if needed creates) the tables. */
export class SqliteBackend implements AgendaBackend {
  readonly name = 'SQLite';
  readonly repository: SqliteJobRepository;
  readonly notificationChannel: SqliteNotificationChannel | undefined;
  /** The backend opens and closes its own connection; Agenda's stop() closes it. */
  readonly ownsConnection = true;

  constructor(options: SqliteBackendOptions) {
    this.repository = new SqliteJobRepository(options);
    this.notificationChannel = options.disableNotifications
      ? undefined
      : new SqliteNotificationChannel({
          connection: () => this.repository.connection(),
          watchIntervalMs: options.notificationWatchMs,
        });
  }

  /**
   * Opens the connection and connects the channel, so that even an Agenda that is never started
   * (one that only saves jobs) tells the processes that run them.
   */
  async connect(): Promise<void> {
    await this.repository.connect();
    await this.notificationChannel?.connect();
  }

  /** Disconnects the channel and closes the connection; idempotent. */
  async disconnect(): Promise<void> {
    await this.notificationChannel?.disconnect();
    await this.repository.disconnect();
  }
}
