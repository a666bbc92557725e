/**
 * The environment, parsed once (zod) into a typed Config. Every bad variable is reported at once,
 * by name, with what was expected; nothing starts on a half-valid configuration.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseFailureSpec } from './infra/executors/simulate-failures.js';
import { bareAddress } from './infra/mail-address.js';
import type { SimulatedFailure } from './infra/executors/simulate-failures.js';

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const url = (protocols: string[], example: string) =>
  optionalText.refine(
    (v) => {
      if (v === undefined) return true;
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a ${protocols.join(' or ')} URL, e.g. ${example}` },
  );

const port = (fallback: number) =>
  optionalText
    .transform((v) => (v === undefined ? fallback : Number(v)))
    .refine((v) => Number.isInteger(v) && v >= 0 && v <= 65535, { message: 'expected a port number 0-65535' });

/** A whole number in [min, max] written in decimal digits; `fallback` when unset. */
const integer = (fallback: number, min: number, max: number, unit = '') =>
  optionalText
    .transform((v) => (v === undefined ? fallback : /^\d+$/.test(v) ? Number(v) : Number.NaN))
    .refine((v) => Number.isInteger(v) && v >= min && v <= max, { message: `expected a whole number ${min}-${max}${unit}` });

const prefixed = (prefix: string, what: string) =>
  optionalText.refine((v) => v === undefined || v.startsWith(prefix), {
    message: `expected ${what} starting with "${prefix}"`,
  });

const email = optionalText.refine((v) => v === undefined || /^[^\s@<>]+@[^\s@<>]+$/.test(bareAddress(v)), {
  message: 'expected an e-mail address, e.g. upgrades@example.com or "Upgrade Desk <upgrades@example.com>"',
});

const schema = z
  .object({
    DATABASE_URL: optionalText.refine(
      (v) => v === undefined || /^postgres(ql)?:\/\//.test(v) || /^sqlite:/.test(v),
      { message: 'expected postgres://user:pass@host:5432/db, or sqlite:<file> (unset: data/upgrade-desk.sqlite)' },
    ),
    AGENDA_BACKEND: z.enum(['sqlite', 'mongodb', 'postgres']).default('sqlite'),
    MONGODB_URL: url(['mongodb:', 'mongodb+srv:'], 'mongodb://127.0.0.1:27017/upgrade-desk'),
    SLACK_BOT_TOKEN: prefixed('xoxb-', 'a Slack bot token'),
    SLACK_SIGNING_SECRET: optionalText.refine((v) => v === undefined || /^[A-Za-z0-9]{16,}$/.test(v), {
      message: "expected the app's signing secret (Basic Information → App Credentials; 32 hex characters)",
    }),
    SLACK_APP_TOKEN: prefixed('xapp-', 'a Slack app-level token'),
    SLACK_API_URL: url(['http:', 'https:'], 'https://slack.com/api/'),
    SLACK_OPS_CHANNEL: optionalText.refine((v) => v === undefined || /^[CGD][A-Z0-9]{2,}$/.test(v), {
      message: 'expected a Slack channel id such as C0123ABCD (channel details → About, at the bottom), not its #name',
    }),
    DISCORD_TOKEN: optionalText,
    DISCORD_APPLICATION_ID: optionalText.refine((v) => v === undefined || /^\d{5,25}$/.test(v), {
      message: 'expected the numeric application id (a snowflake)',
    }),
    DISCORD_API_URL: url(['http:', 'https:'], 'https://discord.com/api'),
    DISCORD_OPS_CHANNEL: optionalText.refine((v) => v === undefined || /^\d{1,25}$/.test(v), {
      message: 'expected the numeric channel id (User Settings → Advanced → Developer Mode, then right-click the channel → Copy Channel ID), not its #name',
    }),
    EXECUTOR: z.enum(['manual', 'script', 'simulate']).default('manual'),
    SCRIPT_COMMAND: optionalText,
    SCRIPT_TIMEOUT_MS: integer(600_000, 100, 86_400_000, ' (milliseconds)'),
    SIMULATE_STEP_MS: integer(1500, 0, 3_600_000, ' (milliseconds)'),
    SIMULATE_FAIL: optionalText.superRefine((v, ctx) => {
      const parsed = v === undefined ? null : parseFailureSpec(v);
      if (parsed && !parsed.ok) {
        ctx.addIssue({ code: 'custom', message: `${parsed.error}; expected e.g. "merge:1" or "split:broken,commit:busy"` });
      }
    }),
    RUN_CONCURRENCY: integer(4, 1, 100),
    QUEUE_LOCK_LIFETIME_MS: integer(30_000, 1000, 3_600_000, ' (milliseconds)'),
    STATUS_CHECK_TIMEOUT_MS: integer(5000, 100, 600_000, ' (milliseconds)'),
    STATUS_CHECK_RETRIES: integer(3, 0, 20),
    SMTP_URL: url(['smtp:', 'smtps:'], 'smtp://user:pass@mail.example.com:587'),
    MAIL_FROM: email.default('Upgrade Desk <upgrades@localhost>'),
    SMTP_INTAKE_PORT: port(2525),
    SMTP_INTAKE_HOST: optionalText.refine((v) => v === undefined || /^[0-9a-fA-F:.]+$|^localhost$/.test(v), {
      message: 'expected an address to listen on, e.g. 127.0.0.1 (default) or 0.0.0.0',
    }),
    INTAKE_ADDRESS: email.default('upgrades@localhost'),
    IMAP_URL: url(['imap:', 'imaps:'], 'imaps://user:pass@mail.example.com:993'),
    PORT: port(3000),
    HOST: optionalText.refine((v) => v === undefined || /^[0-9a-fA-F:.]+$|^localhost$/.test(v), {
      message: 'expected an address to listen on, e.g. 127.0.0.1 (default) or 0.0.0.0 (in a container, behind a proxy or load balancer)',
    }),
    PUBLIC_URL: url(['http:', 'https:'], 'https://upgrades.example.com'),
    SECRETS_KEY: optionalText.refine((v) => v === undefined || decodeKey(v) !== null, {
      message: 'expected 32 bytes as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)',
    }),
    API_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 16, { message: 'expected at least 16 characters' }),
    SUPPORT_EMAIL: email,
    DATA_DIR: optionalText,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.AGENDA_BACKEND === 'mongodb' && !env.MONGODB_URL) {
      ctx.addIssue({ code: 'custom', path: ['MONGODB_URL'], message: 'required when AGENDA_BACKEND=mongodb' });
    }
    if (env.AGENDA_BACKEND === 'postgres' && !(env.DATABASE_URL ?? '').startsWith('postgres')) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'must be a postgres:// URL when AGENDA_BACKEND=postgres' });
    }
    if (env.EXECUTOR === 'script' && !env.SCRIPT_COMMAND) {
      ctx.addIssue({ code: 'custom', path: ['SCRIPT_COMMAND'], message: 'required when EXECUTOR=script' });
    }
    const slackExtras = (['SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'SLACK_OPS_CHANNEL'] as const).filter((k) => env[k]);
    if (!env.SLACK_BOT_TOKEN && slackExtras.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_BOT_TOKEN'],
        message: `required when ${slackExtras.join(', ')} ${slackExtras.length > 1 ? 'are' : 'is'} set (the bot token, xoxb-…, from OAuth & Permissions)`,
      });
    }
    if (env.SLACK_BOT_TOKEN && !env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_SIGNING_SECRET'],
        message: 'required with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN for Socket Mode)',
      });
    }
    if (env.DISCORD_OPS_CHANNEL && !env.DISCORD_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['DISCORD_TOKEN'],
        message: "required when DISCORD_OPS_CHANNEL is set (the bot's token from the Developer Portal → Bot)",
      });
    }
    if (!!env.DISCORD_TOKEN !== !!env.DISCORD_APPLICATION_ID) {
      ctx.addIssue({
        code: 'custom',
        path: [env.DISCORD_TOKEN ? 'DISCORD_APPLICATION_ID' : 'DISCORD_TOKEN'],
        message: 'DISCORD_TOKEN and DISCORD_APPLICATION_ID go together',
      });
    }
  });

/** 32 bytes from hex or base64, or null. */
export function decodeKey(value: string): Buffer | null {
  const v = value.trim();
  const buf = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
  return buf.length === 32 ? buf : null;
}

/** The typed configuration the composition root uses. */
export interface Config {
  dataDir: string;
  database: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  agendaBackend: 'sqlite' | 'mongodb' | 'postgres';
  mongodbUrl?: string;
  slack?: { botToken: string; signingSecret?: string; appToken?: string; apiUrl?: string; opsChannel?: string };
  discord?: { token: string; applicationId: string; apiUrl?: string; opsChannel?: string };
  executor: 'manual' | 'script' | 'simulate';
  /** How upgrade runs are performed and checked (SPEC §5). */
  /** After this long without renewal, a job locked by a dead process is run by another. */
  queueLockLifetimeMs: number;
  runs: {
    /** Devices of one bulk request upgraded at once. */
    concurrency: number;
    /** The script executor's command (present when SCRIPT_COMMAND is set; required for EXECUTOR=script). */
    script?: { command: string; timeoutMs: number };
    /** The simulate executor: step duration and injected failures (SIMULATE_FAIL). */
    simulate: { stepMs: number; failures: SimulatedFailure[] };
    /** The post-upgrade status URL check: per-attempt timeout and retries after the first attempt. */
    statusCheck: { timeoutMs: number; retries: number };
  };
  mail: { smtpUrl?: string; from: string; intakePort: number; intakeHost: string; intakeAddress: string; imapUrl?: string };
  port: number;
  /** The address the web server listens on (HOST; default 127.0.0.1). */
  host: string;
  publicUrl: string;
  secretsKey?: Buffer;
  apiToken?: string;
  supportEmail: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Raised by `loadConfig` with one line per bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee .env.example for every variable.`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      const value = env[name];
      const shown = value === undefined ? '' : ` (got "${/TOKEN|SECRET|KEY|PASS/.test(name) ? '…' : value}")`;
      return `${name}: ${i.message}${shown}`;
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const dataDir = path.resolve(cwd, e.DATA_DIR ?? 'data');
  const database: Config['database'] = e.DATABASE_URL?.startsWith('postgres')
    ? { kind: 'postgres', url: e.DATABASE_URL }
    : { kind: 'sqlite', path: e.DATABASE_URL ? path.resolve(cwd, e.DATABASE_URL.replace(/^sqlite:(\/\/)?/, '')) : path.join(dataDir, 'upgrade-desk.sqlite') };
  const from = e.MAIL_FROM;
  return {
    dataDir,
    database,
    agendaBackend: e.AGENDA_BACKEND,
    mongodbUrl: e.MONGODB_URL,
    slack: e.SLACK_BOT_TOKEN
      ? {
          botToken: e.SLACK_BOT_TOKEN,
          signingSecret: e.SLACK_SIGNING_SECRET,
          appToken: e.SLACK_APP_TOKEN,
          apiUrl: e.SLACK_API_URL,
          opsChannel: e.SLACK_OPS_CHANNEL,
        }
      : undefined,
    discord:
      e.DISCORD_TOKEN && e.DISCORD_APPLICATION_ID
        ? { token: e.DISCORD_TOKEN, applicationId: e.DISCORD_APPLICATION_ID, apiUrl: e.DISCORD_API_URL, opsChannel: e.DISCORD_OPS_CHANNEL }
        : undefined,
    executor: e.EXECUTOR,
    queueLockLifetimeMs: e.QUEUE_LOCK_LIFETIME_MS,
    runs: {
      concurrency: e.RUN_CONCURRENCY,
      script: e.SCRIPT_COMMAND ? { command: e.SCRIPT_COMMAND, timeoutMs: e.SCRIPT_TIMEOUT_MS } : undefined,
      simulate: { stepMs: e.SIMULATE_STEP_MS, failures: simulateFailures(e.SIMULATE_FAIL) },
      statusCheck: { timeoutMs: e.STATUS_CHECK_TIMEOUT_MS, retries: e.STATUS_CHECK_RETRIES },
    },
    mail: {
      smtpUrl: e.SMTP_URL,
      from,
      intakePort: e.SMTP_INTAKE_PORT,
      intakeHost: e.SMTP_INTAKE_HOST ?? '127.0.0.1',
      intakeAddress: e.INTAKE_ADDRESS,
      imapUrl: e.IMAP_URL,
    },
    port: e.PORT,
    host: e.HOST ?? '127.0.0.1',
    publicUrl: e.PUBLIC_URL ?? `http://127.0.0.1:${e.PORT}`,
    secretsKey: e.SECRETS_KEY ? (decodeKey(e.SECRETS_KEY) ?? undefined) : undefined,
    apiToken: e.API_TOKEN,
    supportEmail: e.SUPPORT_EMAIL ?? bareAddress(from),
    logLevel: e.LOG_LEVEL,
  };
}

/** The failures of a SIMULATE_FAIL spec already validated by the schema (none when unset). */
function simulateFailures(spec: string | undefined): SimulatedFailure[] {
  const parsed = spec === undefined ? null : parseFailureSpec(spec);
  return parsed?.ok ? parsed.value : [];
}

/** Loads `.env` from the working directory into process.env when present (real variables win). */
export function loadDotEnv(cwd = process.cwd()): void {
  const file = path.join(cwd, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}
