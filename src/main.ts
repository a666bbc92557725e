/**
 * The composition root: configuration → logger → database (migrated) → store → services → the
 * adapters that exist. `openApp` gives the CLI the same wiring without starting any listener.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { registry } from '../commands/index.js';
import type { Deps, Logger } from './core/command.js';
import type { Registry } from './core/dispatch.js';
import type { Config } from './config.js';
import { createDataSource, runMigrations } from './infra/data-source.js';
import { createLogger } from './infra/logger.js';
import { demoRecordsPath } from './infra/package-root.js';
import { TypeOrmStore } from './infra/typeorm-store.js';
import type { Clock } from './ports.js';
import { formatImportSummary, importRecordsFiles, formatImportProblems } from './services/import-records.js';

/** The wall clock. */
export const systemClock: Clock = { now: () => new Date() };

/** A wired application: what commands need, plus the handles to close. */
export interface App {
  config: Config;
  deps: Deps;
  registry: Registry;
  dataSource: DataSource;
  log: ReturnType<typeof createLogger>;
  close(): Promise<void>;
}

/** A fresh invocation id for logs and user-visible error references. */
export function newInvocationId(): string {
  return randomUUID().slice(0, 8);
}

/** Connects to the database, runs pending migrations, and wires the services. */
export async function openApp(config: Config, options: { logger?: Logger & ReturnType<typeof createLogger> } = {}): Promise<App> {
  const log = options.logger ?? createLogger(config.logLevel);
  const dataSource = createDataSource(
    config.database.kind === 'postgres' ? { url: config.database.url } : { sqlitePath: config.database.path },
  );
  await dataSource.initialize();
  try {
    const applied = await runMigrations(dataSource);
    if (applied.length) log.info({ migrations: applied }, 'database migrated');
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  const store = new TypeOrmStore(dataSource);
  const deps: Deps = { store, clock: systemClock, log, settings: { supportEmail: config.supportEmail } };
  return {
    config,
    deps,
    registry,
    dataSource,
    log,
    async close() {
      await store.close();
    },
  };
}

/** Loads the shipped demo records when the database has no customer yet; returns whether it did. */
export async function seedDemoIfEmpty(app: App): Promise<boolean> {
  if ((await app.deps.store.customers.count()) > 0) return false;
  const result = await importRecordsFiles(app.deps.store, [demoRecordsPath()], { source: 'demo-records.json' });
  if (!result.ok) throw new Error(`the shipped demo records do not import:\n${formatImportProblems(result.error)}`);
  app.log.info({ summary: result.value.summary }, 'demo records loaded (empty database)');
  process.stderr.write(`Loaded the demo records into the empty database:\n${formatImportSummary(result.value.summary)}\n`);
  return true;
}

/** A running bot. */
export interface RunningBot {
  app: App;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts the bot on the configured adapters. For now that is the status endpoint on PORT
 * (`/healthz`); the chat, e-mail and web adapters join here as they are built.
 */
export async function startBot(config: Config): Promise<RunningBot> {
  const started = Date.now();
  const app = await openApp(config);
  await seedDemoIfEmpty(app);
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      app.dataSource
        .query('SELECT 1')
        .then(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'ok' }));
        })
        .catch((error: unknown) => {
          app.log.error({ err: error }, 'health check failed');
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'unavailable', reason: 'database' }));
        });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Upgrade Desk: nothing here yet. GET /healthz reports health.\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : config.port}`;
  app.log.info(
    {
      database: config.database.kind === 'postgres' ? 'postgres' : config.database.path,
      url,
      slack: !!config.slack,
      discord: !!config.discord,
      ms: Date.now() - started,
    },
    'Upgrade Desk started',
  );
  let stopping: Promise<void> | null = null;
  return {
    app,
    server,
    url,
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await app.close();
        app.log.info({}, 'Upgrade Desk stopped');
      })();
      return stopping;
    },
  };
}
