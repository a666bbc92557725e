/**
 * The composition root: configuration → logger → database (migrated) → store → services → the
 * adapters that exist. `openApp` gives the CLI the same wiring without starting any listener.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { registry } from '../commands/index.js';
import type { Deps, Logger, NoticeRoutes } from './core/command.js';
import type { Registry } from './core/dispatch.js';
import type { Config } from './config.js';
import { createDataSource, runMigrations, withSchemaLock } from './infra/data-source.js';
import { createLogger } from './infra/logger.js';
import { demoRecordsPath } from './infra/package-root.js';
import { TypeOrmStore } from './infra/typeorm-store.js';
import type { Clock, Executor, Scheduler, StatusChecker } from './ports.js';
import type { Writable } from 'node:stream';
import { createExecutor } from './infra/executors/create-executor.js';
import { HttpStatusChecker } from './infra/status-check.js';
import { OutboxWorker } from './infra/outbox/outbox-worker.js';
import type { OutboxSink } from './infra/outbox/outbox-worker.js';
import { ConsoleSink } from './infra/outbox/console-sink.js';
import { LogSink } from './infra/outbox/log-sink.js';
import { DEFAULT_ENGINE_SETTINGS } from './services/engine.js';
import type { EngineDeps } from './services/engine.js';
import { loadSecretBox } from './infra/secrets.js';
import { Queue } from './infra/queue/queue.js';
import type { QueueOptions } from './infra/queue/queue.js';
import { SLACK_EVENTS_PATH, startSlackAdapter } from './adapters/slack/slack-app.js';
import type { SlackAdapter } from './adapters/slack/slack-app.js';
import { SlackSink } from './adapters/slack/slack-sink.js';
import type { DiscordAdapter } from './adapters/discord/discord-app.js';
import { DISCORD_GATEWAY_LEASE, GatewayLease, processHolderId } from './infra/gateway-lease.js';
import { MailSink } from './adapters/email/mail-sink.js';
import { APPROVAL_PATH, approvalPageHandler } from './adapters/web/approval-page.js';
import { apiRouter } from './adapters/web/api.js';
import { mountPages, webContext } from './adapters/web/pages.js';
import { statusLinkPath } from './adapters/web/status-link.js';
import { formatRef } from './domain/types.js';
import express from 'express';
import { issueApprovalLink } from './services/approval-links.js';
import { bareAddress } from './infra/mail-address.js';
import { startSmtpIntake, mailauthAuthenticator } from './adapters/email/smtp-intake.js';
import type { SmtpIntake } from './adapters/email/smtp-intake.js';
import type { MailAuthenticator, MailIntakeDeps } from './adapters/email/mail-intake.js';
import type { ImapPoller } from './adapters/email/imap-poller.js';
import { createMailer } from './infra/mailer.js';
import type { Mailer } from './infra/mailer.js';
import { formatImportSummary, importRecordsFiles, formatImportProblems } from './services/import-records.js';
import { lazyImport } from './infra/lazy-import.js';

/** The Discord adapter and sink (discord.js, @discordjs/rest): loaded only when Discord is configured. */
const loadDiscord = lazyImport(async () => {
  const app = await import('./adapters/discord/discord-app.js');
  const sink = await import('./adapters/discord/discord-sink.js');
  return { startDiscordAdapter: app.startDiscordAdapter, createDiscordSinkRest: app.createDiscordSinkRest, DiscordSink: sink.DiscordSink };
});

/** The IMAP poller (imapflow): loaded only when IMAP_URL is set. */
const loadImapPoller = lazyImport(() => import('./adapters/email/imap-poller.js'));

/** The wall clock. */
export const systemClock: Clock = { now: () => new Date() };

/** A wired application: what commands need, plus the handles to close. */
export interface App {
  config: Config;
  deps: Deps;
  registry: Registry;
  dataSource: DataSource;
  log: ReturnType<typeof createLogger>;
  /** The queue client (null when opened without one: the sweep of a running bot catches up). */
  queue: Queue | null;
  close(): Promise<void>;
}

/** Where notices go in this deployment: chat ops channels when set, else the console and the log. */
export function noticeRoutes(config: Config): NoticeRoutes {
  const ops = [
    config.slack?.opsChannel ? `slack:${config.slack.opsChannel}` : null,
    config.discord?.opsChannel ? `discord:${config.discord.opsChannel}` : null,
  ].filter((d): d is string => d !== null);
  return { ops: ops.length ? ops : ['ops'], slack: !!config.slack, discord: !!config.discord };
}

/** How this machine reaches a server listening on `host`: the loopback address for the wildcard addresses. */
function localHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** A fresh invocation id for logs and user-visible error references. */
export function newInvocationId(): string {
  return randomUUID().slice(0, 8);
}

/**
 * For processes opened without a queue (import, requests): changes are still stored, and the
 * running bot's sweep schedules them within a minute.
 */
const deferredScheduler: Scheduler = {
  async syncRequest() {},
  kickOutbox() {},
};

export interface OpenOptions {
  logger?: Logger & ReturnType<typeof createLogger>;
  /** Connect to the queue so changes are scheduled at once (console, bot). */
  queue?: boolean;
  clock?: Clock;
  queueOptions?: QueueOptions;
}

/** Connects to the database, runs pending migrations, and wires the services. */
export async function openApp(config: Config, options: OpenOptions = {}): Promise<App> {
  const log = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
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
  let queue: Queue | null = null;
  try {
    const secretBox = await loadSecretBox({ secretsKey: config.secretsKey, dataDir: config.dataDir, log });
    // Under the schema lock: the PostgreSQL queue backend creates its table and trigger at connect.
    if (options.queue) queue = await withSchemaLock(dataSource, () => Queue.open(config, store, clock, log, options.queueOptions));
    const deps: Deps = {
      store,
      clock,
      log,
      settings: { supportEmail: config.supportEmail, runConcurrency: config.runs.concurrency, routes: noticeRoutes(config) },
      scheduler: queue?.scheduler ?? deferredScheduler,
      secretBox,
    };
    return {
      config,
      deps,
      registry,
      dataSource,
      log,
      queue,
      async close() {
        await queue?.close();
        await store.close();
      },
    };
  } catch (error) {
    await queue?.close().catch(() => {});
    await store.close();
    throw error;
  }
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
  /** Delivers the outbox (drain it in tests and the demo). */
  outbox: OutboxWorker;
  /** The port the SMTP intake listens on; null when it was not started. */
  smtpPort: number | null;
  engine: EngineDeps;
  stop(): Promise<void>;
}

/** What tests and the demo may replace; everything else comes from the configuration. */
export interface BotOptions {
  clock?: Clock;
  executor?: Executor;
  statusChecker?: StatusChecker;
  /** Sinks tried before the chat, e-mail, console and log sinks. */
  sinks?: OutboxSink[];
  /** Sends or spools the e-mail notices (default: SMTP_URL, else `.eml` files in DATA_DIR/outbox); the caller closes it. */
  mailer?: Mailer;
  /** Start the SMTP intake on SMTP_INTAKE_PORT (default true; the demo leaves it off). */
  smtpIntake?: boolean;
  /** SPF/DKIM/DMARC check of received mail (default mailauth with real DNS). */
  mailAuthenticator?: MailAuthenticator;
  /** Where the console sink prints the messages (default stdout). */
  output?: Writable;
  queueOptions?: QueueOptions;
  outboxPollMs?: number;
  /** Skip loading the demo records into an empty database. */
  noDemoRecords?: boolean;
  /** Least time between two Slack messages to one channel (default 1000 ms; tests shorten it). */
  slackMinIntervalMs?: number;
  /** Slack commands acknowledged and waiting to run before the bot answers "busy" (default 10,000; tests lower it). */
  slackMaxPendingCommands?: number;
  /** Discord commands deferred and waiting to run before the bot answers "busy" (default 10,000; tests lower it). */
  discordMaxPendingCommands?: number;
  /** Least time between two Discord messages to one channel (default 1000 ms; tests shorten it). */
  discordMinIntervalMs?: number;
  /** Web form submissions allowed per address (tests lower it). */
  formRateLimit?: { perAddress: number; windowMs: number };
  /** Staff sign-in e-mails allowed per address (tests lower it). */
  signInRateLimit?: { perAddress: number; windowMs: number };
}

/**
 * Starts the bot: the database, the queue (processing jobs with the configured executor), Slack
 * when configured (`/slack/events` on PORT, or Socket Mode), Discord when configured (the gateway),
 * the e-mail intake (SMTP, and IMAP when set), the outbox worker (Slack, Discord, e-mail, console
 * and log sinks) and the web server on PORT: the pages (request form, status pages, ops dashboard,
 * approval links), the JSON API, `/healthz` and `/readyz`.
 */
export async function startBot(config: Config, options: BotOptions = {}): Promise<RunningBot> {
  const started = Date.now();
  const app = await openApp(config, { queue: true, clock: options.clock, queueOptions: options.queueOptions });
  const queue = app.queue!;
  const log = app.log;
  let outbox: OutboxWorker | null = null;
  let slack: SlackAdapter | null = null;
  // Discord's gateway is held by one process at a time (a lease in the database); the others stand by.
  let discord: DiscordAdapter | null = null;
  let gateway: GatewayLease | null = null;
  let smtpIntake: SmtpIntake | null = null;
  let imap: ImapPoller | null = null;
  // Links in e-mails: PUBLIC_URL, or this server's own address once it listens (PORT=0 in tests).
  let listeningUrl: string | null = null;
  const publicBase = () => (listeningUrl && /:0$/.test(config.publicUrl) ? listeningUrl : config.publicUrl).replace(/\/+$/, '');
  // E-mail notices: SMTP when SMTP_URL is set, else spooled as .eml files (nothing connects before the first send).
  const mailer = options.mailer ?? createMailer({ smtpUrl: config.mail.smtpUrl, spoolDir: path.join(config.dataDir, 'outbox') });
  const ownMailer = options.mailer ? null : mailer;
  try {
    if (!options.noDemoRecords) await seedDemoIfEmpty(app);
    const engine: EngineDeps = {
      ...app.deps,
      executor: options.executor ?? createExecutor(config, { log }),
      statusChecker:
        options.statusChecker ??
        new HttpStatusChecker({ timeoutMs: config.runs.statusCheck.timeoutMs, retries: config.runs.statusCheck.retries }),
      engine: { ...DEFAULT_ENGINE_SETTINGS, concurrency: config.runs.concurrency },
    };
    if (config.slack) {
      slack = await startSlackAdapter({
        settings: config.slack,
        registry: app.registry,
        deps: app.deps,
        log,
        newId: newInvocationId,
        maxPendingCommands: options.slackMaxPendingCommands,
      });
    }
    if (config.discord) {
      const settings = config.discord;
      const { startDiscordAdapter } = await loadDiscord();
      gateway = new GatewayLease({
        leases: app.deps.store.leases,
        name: DISCORD_GATEWAY_LEASE,
        holder: processHolderId(),
        ttlMs: config.queueLockLifetimeMs,
        what: 'Discord gateway',
        log,
        onAcquired: async () => {
          discord = await startDiscordAdapter({
            settings,
            registry: app.registry,
            deps: app.deps,
            log,
            newId: newInvocationId,
            maxPendingCommands: options.discordMaxPendingCommands,
          });
        },
        onLost: async () => {
          const adapter = discord;
          discord = null;
          await adapter?.stop();
        },
      });
      // Alone, or first: connects now (a refused token stops the start). Otherwise takes over when the holder is gone.
      await gateway.start();
    }
    // The signed link to a request's status page, put in every notice about it (chat and e-mail).
    // A request's reference is its id, formatted: no lookup per delivery.
    const statusUrl = async (requestId: number): Promise<string | null> => `${publicBase()}${statusLinkPath(app.deps.secretBox, formatRef(requestId))}`;
    const chatSinks: OutboxSink[] = [];
    if (slack) {
      chatSinks.push(new SlackSink({ client: slack.sinkClient, opsChannel: config.slack?.opsChannel, log, minIntervalMs: options.slackMinIntervalMs, statusUrl }));
    }
    if (config.discord) {
      // Every process delivers Discord notices over REST, whether or not it holds the gateway.
      const { DiscordSink, createDiscordSinkRest } = await loadDiscord();
      chatSinks.push(
        new DiscordSink({ rest: createDiscordSinkRest(config.discord), opsChannel: config.discord.opsChannel, log, minIntervalMs: options.discordMinIntervalMs, statusUrl }),
      );
    }
    outbox = new OutboxWorker({
      outbox: app.deps.store.outbox,
      sinks: [
        ...(options.sinks ?? []),
        ...chatSinks,
        // email:<address> and person:<id>; each mail is also noted as one "── to …" line on the console.
        new MailSink({
          mailer,
          store: app.deps.store,
          from: config.mail.from,
          log,
          echo: options.output ?? process.stdout,
          statusUrl,
          approvalPage: async (message, recipient) => {
            if (message.requestId === null) return null;
            const store = app.deps.store;
            const person = recipient.personId !== null ? await store.people.byId(recipient.personId) : await store.people.byEmail(recipient.address);
            const request = await store.requests.byId(message.requestId);
            if (!person || !request) return null;
            const token = await issueApprovalLink(app.deps, request, person, app.deps.clock.now());
            return token ? `${publicBase()}${APPROVAL_PATH}${token}` : null;
          },
        }),
        new ConsoleSink(options.output ?? process.stdout),
        new LogSink(log),
      ],
      log,
      clock: app.deps.clock,
      pollIntervalMs: options.outboxPollMs,
      // A notice claimed by a process that crashed is delivered by another as soon as a job would be.
      leaseMs: config.queueLockLifetimeMs,
    });
    const intake: MailIntakeDeps = {
      registry: app.registry,
      deps: app.deps,
      ownAddresses: [bareAddress(config.mail.intakeAddress), bareAddress(config.mail.from)],
      authenticate: options.mailAuthenticator ?? mailauthAuthenticator(),
      newId: newInvocationId,
    };
    if (config.mail.imapUrl) imap = await (await loadImapPoller()).startImapPoller({ url: config.mail.imapUrl, intake, log });
    if (options.smtpIntake !== false) {
      smtpIntake = await startSmtpIntake({
        intake,
        log,
        port: config.mail.intakePort,
        host: config.mail.intakeHost,
        address: config.mail.intakeAddress,
      }).catch((error: Error & { code?: string }) => {
        throw new Error(
          error.code === 'EADDRINUSE'
            ? `The SMTP intake cannot listen on ${config.mail.intakeHost}:${config.mail.intakePort}: the port is in use (another Upgrade Desk?). Set SMTP_INTAKE_PORT to a free port.`
            : `The SMTP intake could not start: ${error.message}`,
        );
      });
    }
    const worker = outbox;
    queue.scheduler.onKickOutbox = () => worker.kick();
    worker.start();
    await queue.work(engine);
    const slackListener = slack?.requestListener ?? null;
    const approvalPage = approvalPageHandler(app.deps, newInvocationId);
    const web = express();
    web.disable('x-powered-by');
    // Raw request listeners first: they read their own bodies (Slack checks the signature of the exact bytes).
    if (slackListener) web.all(SLACK_EVENTS_PATH, (req, res) => slackListener(req, res));
    web.all(`${APPROVAL_PATH}:token`, (req, res) => {
      approvalPage(req, res).catch((error: unknown) => {
        log.error({ err: error }, 'approval page failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Something went wrong on our side; nothing was decided. Please try again in a moment.\n');
      });
    });
    const databaseUp = () =>
      app.dataSource.query('SELECT 1').then(
        () => true,
        (error: unknown) => {
          log.error({ err: error }, 'health check: the database does not answer');
          return false;
        },
      );
    web.get('/healthz', async (_req, res) => {
      if (await databaseUp()) res.json({ status: 'ok' });
      else res.status(503).json({ status: 'unavailable', reason: 'database' });
    });
    web.get('/readyz', async (_req, res) => {
      const database = await databaseUp();
      const queueUp = await queue.scheduler.ping().then(
        () => true,
        () => false,
      );
      res.status(database && queueUp ? 200 : 503).json({ status: database && queueUp ? 'ready' : 'not_ready', database, queue: queueUp });
    });
    web.use('/api', apiRouter({ deps: app.deps, registry: app.registry, token: config.apiToken, newId: newInvocationId }));
    mountPages(
      web,
      webContext({
        deps: app.deps,
        registry: app.registry,
        log,
        newId: newInvocationId,
        publicBase,
        mailer,
        mailFrom: config.mail.from,
        agenda: queue.agenda,
        secureCookies: config.publicUrl.startsWith('https:'),
        formRateLimit: options.formRateLimit,
        signInRateLimit: options.signInRateLimit,
      }),
    );
    web.use((_req, res) => {
      res
        .status(404)
        .type('text/plain')
        .send('Upgrade Desk: nothing here. The request form is at /requests/new, staff sign in at /ops, the JSON API is under /api (see /api/openapi.json).\n');
    });
    // Slack's events skip Express: they are the requests with a deadline (3 s to acknowledge), and
    // Bolt reads the body itself. Anything else on that path (a GET) still goes through Express.
    const server = createServer((req, res) => {
      if (slackListener && req.method === 'POST' && (req.url ?? '').split('?', 1)[0] === SLACK_EVENTS_PATH) slackListener(req, res);
      else web(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const address = server.address();
    const url = `http://${localHost(config.host)}:${typeof address === 'object' && address ? address.port : config.port}`;
    listeningUrl = url;
    log.info(
      {
        database: config.database.kind === 'postgres' ? 'postgres' : config.database.path,
        queue: config.agendaBackend,
        executor: config.executor,
        url,
        slack: slack ? slack.mode : false,
        discord: config.discord ? { ops: config.discord.opsChannel ?? null, gateway: gateway?.holding ? 'this process' : 'another process (standing by)' } : false,
        ms: Date.now() - started,
      },
      'Upgrade Desk started',
    );
    let stopping: Promise<void> | null = null;
    return {
      app,
      server,
      url,
      outbox: worker,
      smtpPort: smtpIntake?.port ?? null,
      engine,
      stop() {
        stopping ??= (async () => {
          await new Promise<void>((resolve) => server.close(() => resolve()));
          await slack?.stop();
          await gateway?.stop();
          await smtpIntake?.close();
          await imap?.stop();
          await worker.stop({ timeoutMs: 5000 });
          await ownMailer?.close();
          await app.close();
          log.info({}, 'Upgrade Desk stopped');
        })();
        return stopping;
      },
    };
  } catch (error) {
    await outbox?.stop({ timeoutMs: 1000 }).catch(() => {});
    await slack?.stop().catch(() => {});
    await gateway?.stop().catch(() => {});
    await smtpIntake?.close().catch(() => {});
    await imap?.stop().catch(() => {});
    await ownMailer?.close().catch(() => {});
    await app.close().catch(() => {});
    throw error;
  }
}
