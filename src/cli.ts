/**
 * The `upgrade-desk` command line: start, migrate, import, console, requests. Every failure is a
 * one-paragraph message and a non-zero exit code, never a stack trace.
 */
import { parseArgs } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import { runConsole } from './adapters/console/console-adapter.js';
import { createProgressBar } from './adapters/console/progress.js';
import { ConfigError, loadConfig, loadDotEnv } from './config.js';
import type { Config } from './config.js';
import { newInvocationId, openApp, startBot } from './main.js';
import type { App } from './main.js';
import { formatImportProblems, formatImportSummary, importRecordsFiles } from './services/import-records.js';
import { allRequests } from './services/query-requests.js';
import { describeSchedule, toRequestJson } from './services/request-view.js';
import { formatTable } from './core/reply.js';
import { REQUEST_STATUSES } from './domain/types.js';
import type { RequestStatus } from './domain/types.js';

const HELP = `Usage: upgrade-desk <command> [options]

Commands:
  start                    run the bot (migrates, loads the demo records into an empty database)
  migrate                  apply pending database migrations and exit
  import FILE [FILE...]    import records: a JSON file, CSV files (customers.csv, people.csv,
                           devices.csv, releases.csv, windows.csv) or a directory of them
  console --as EMAIL       type commands as the person with that e-mail (a REPL on a terminal;
                           otherwise one command per line from stdin, replies on stdout)
  requests [--json]        print requests (--status S, --limit N; JSON as in the API)
  discord:register [--guild ID]
                           put the /upgrade and /upgrade-admin commands on Discord: in one
                           server (shows at once) or, without --guild, in every server
  demo [--keep]            the whole story in under a minute on a throwaway database, with the
                           simulate executor: request, consent, schedule, notices, progress,
                           completion feedback and rating, each message printed as posted

Options:
  -h, --help               show this help
  -v, --version            show the version

Configuration comes from the environment or a .env file; see .env.example.`;

type Out = { write(s: string): unknown };

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(
  argv: string[],
  io: { stdout: Out; stderr: Out; stdin: NodeJS.ReadableStream & { isTTY?: boolean } } = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
  },
): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    io.stdout.write(HELP + '\n');
    return command ? 0 : 2;
  }
  if (command === '-v' || command === '--version') {
    const { packageRoot } = await import('./infra/package-root.js');
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string };
    io.stdout.write(`upgrade-desk ${pkg.version}\n`);
    return 0;
  }
  let config: Config;
  try {
    loadDotEnv();
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(error.message + '\n');
      return 78;
    }
    throw error;
  }
  try {
    switch (command) {
      case 'start':
        return await start(config, io);
      case 'migrate':
        return await withApp(config, async (app) => {
          io.stdout.write(`Database is up to date (${describeDb(app.config)}).\n`);
          return 0;
        });
      case 'import':
        return await importCommand(config, rest, io);
      case 'console':
        return await consoleCommand(config, rest, io);
      case 'requests':
        return await requestsCommand(config, rest, io);
      case 'discord:register':
        return await discordRegisterCommand(config, rest, io);
      case 'demo': {
        const parsed = options(rest, { keep: { type: 'boolean' }, 'step-ms': { type: 'string' } }, false);
        const stepMs = parsed.values['step-ms'] === undefined ? undefined : Number(parsed.values['step-ms']);
        if (stepMs !== undefined && (!Number.isInteger(stepMs) || stepMs < 0 || stepMs > 60_000)) {
          io.stderr.write('upgrade-desk demo: --step-ms takes a whole number of milliseconds (0-60000).\n');
          return 2;
        }
        const { runDemo } = await import('./demo.js');
        return await runDemo({ out: io.stdout, keep: !!parsed.values.keep, stepMs });
      }
      default:
        io.stderr.write(`upgrade-desk: unknown command "${command}".\n\n${HELP}\n`);
        return 2;
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`upgrade-desk ${command}: ${message}\n`);
    return 1;
  }
}

async function discordRegisterCommand(config: Config, args: string[], io: { stdout: Out; stderr: Out }): Promise<number> {
  const parsed = options(args, { guild: { type: 'string' } }, false);
  const guild = parsed.values.guild;
  if (guild !== undefined && !/^\d{1,25}$/.test(guild)) {
    io.stderr.write('upgrade-desk discord:register: --guild takes a server id (digits; Developer Mode → right-click the server → Copy Server ID).\n');
    return 2;
  }
  if (!config.discord) {
    io.stderr.write(
      'upgrade-desk discord:register: set DISCORD_TOKEN and DISCORD_APPLICATION_ID first (see "Connect to Discord" in the README).\n',
    );
    return 78;
  }
  const { inviteUrl, registerCommands } = await import('./adapters/discord/register.js');
  const { registry } = await import('../commands/index.js');
  const done = await registerCommands({ ...config.discord, guildId: guild, registry });
  const names = done.commands.map((c) => `/${c.name} (${c.subcommands} subcommands)`).join(', ');
  io.stdout.write(
    `Registered ${names} ${done.scope === 'guild' ? `in server ${guild}: they show at once` : 'globally: Discord may take up to an hour to show changes'}.\n` +
      `Invite link, if the bot is not in the server yet: ${inviteUrl(config.discord.applicationId)}\n`,
  );
  return 0;
}

function describeDb(config: Config): string {
  return config.database.kind === 'postgres' ? 'PostgreSQL' : `SQLite ${config.database.path}`;
}

async function withApp(
  config: Config,
  optionsOrWork: { queue?: boolean } | ((app: App) => Promise<number>),
  maybeWork?: (app: App) => Promise<number>,
): Promise<number> {
  const work = typeof optionsOrWork === 'function' ? optionsOrWork : maybeWork!;
  const options = typeof optionsOrWork === 'function' ? {} : optionsOrWork;
  const app = await openApp({ ...config, logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel }, options);
  try {
    return await work(app);
  } finally {
    await app.close();
  }
}

function options<T extends Record<string, { type: 'string' | 'boolean'; short?: string }>>(
  args: string[],
  spec: T,
  allowPositionals: boolean,
): ReturnType<typeof parseArgs<{ options: T; allowPositionals: boolean; args: string[] }>> {
  return parseArgs({ args, options: spec, allowPositionals, strict: true });
}

async function start(config: Config, io: { stdout: Out }): Promise<number> {
  const bot = await startBot(config);
  io.stdout.write(
    `Upgrade Desk is running (${describeDb(config)}); health at ${bot.url}/healthz.\n` +
      'Try the console in another terminal: npx upgrade-desk console --as jane@acme.example\n' +
      'Stop with Ctrl-C.\n',
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void bot.stop().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

async function importCommand(config: Config, args: string[], io: { stdout: Out; stderr: Out }): Promise<number> {
  const parsed = options(args, {}, true);
  if (parsed.positionals.length === 0) {
    io.stderr.write('upgrade-desk import: name a records file (JSON), CSV files or a directory of CSV files.\n');
    return 2;
  }
  return withApp(config, async (app) => {
    const bar = createProgressBar(process.stderr, 'Importing');
    const result = await importRecordsFiles(app.deps.store, parsed.positionals, {
      onProgress: (done, total) => bar.update(done, total),
      actor: 'cli',
      invocationId: newInvocationId(),
    });
    bar.done();
    if (!result.ok) {
      io.stderr.write(
        `Nothing was imported: ${result.error.length} problem${result.error.length === 1 ? '' : 's'} found.\n` +
          formatImportProblems(result.error) +
          '\n',
      );
      return 1;
    }
    io.stdout.write(`Imported ${result.value.source} into ${describeDb(config)}:\n${formatImportSummary(result.value.summary)}\n`);
    return 0;
  });
}

async function consoleCommand(
  config: Config,
  args: string[],
  io: { stdout: Out; stderr: Out; stdin: NodeJS.ReadableStream & { isTTY?: boolean } },
): Promise<number> {
  const parsed = options(args, { as: { type: 'string' } }, false);
  const email = parsed.values.as;
  if (typeof email !== 'string' || !email.includes('@')) {
    io.stderr.write('upgrade-desk console: say who is typing with --as EMAIL (a person in the records).\n');
    return 2;
  }
  return withApp(config, { queue: true }, async (app) => {
    if ((await app.deps.store.customers.count()) === 0) {
      io.stderr.write(
        `The database (${describeDb(config)}) has no records yet: run "upgrade-desk start" once to load the demo records, or "upgrade-desk import FILE".\n`,
      );
      return 2;
    }
    const code = await runConsole({
      deps: app.deps,
      registry: app.registry,
      email,
      input: io.stdin as Readable,
      output: io.stdout as Writable,
      interactive: !!io.stdin.isTTY && !!(process.stdout as { isTTY?: boolean }).isTTY,
      newInvocationId,
    });
    return code;
  });
}

async function requestsCommand(config: Config, args: string[], io: { stdout: Out; stderr: Out }): Promise<number> {
  const parsed = options(args, { json: { type: 'boolean' }, limit: { type: 'string' }, status: { type: 'string' } }, false);
  const limit = parsed.values.limit === undefined ? 1000 : Number(parsed.values.limit);
  if (!Number.isInteger(limit) || limit <= 0) {
    io.stderr.write('upgrade-desk requests: --limit takes a positive whole number.\n');
    return 2;
  }
  const status = parsed.values.status;
  if (typeof status === 'string' && !(REQUEST_STATUSES as readonly string[]).includes(status)) {
    io.stderr.write(`upgrade-desk requests: --status takes one of ${REQUEST_STATUSES.join(', ')}.\n`);
    return 2;
  }
  return withApp(config, async (app) => {
    const rows = await allRequests(app.deps, limit, typeof status === 'string' ? [status as RequestStatus] : undefined);
    if (parsed.values.json) {
      io.stdout.write(JSON.stringify(rows.map((r) => toRequestJson(r.request, r.customer)), null, 2) + '\n');
      return 0;
    }
    io.stdout.write(
      formatTable(
        ['ref', 'status', 'customer', 'devices', 'target', 'schedule'],
        rows.map(({ request, customer }) => [
          request.ref,
          request.status,
          customer,
          String(request.items.length),
          request.targetVersion,
          describeSchedule(request, 'UTC'),
        ]),
      ) + '\n',
    );
    return 0;
  });
}
