/**
 * The process logger (pino, JSON lines on stderr so stdout stays for replies). Secrets are
 * redacted by key wherever they appear in logged objects.
 */
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';

/** Keys whose values never reach a log line. */
export const REDACTED_KEYS = [
  'password',
  'managerPassword',
  'manager_password',
  'token',
  'secret',
  'authorization',
  'apiToken',
  'botToken',
  'signingSecret',
];

/** Creates the logger at `level`, writing to stderr. */
export function createLogger(level: string): PinoLogger {
  return pino(
    {
      level,
      base: { app: 'upgrade-desk' },
      redact: { paths: [...REDACTED_KEYS, ...REDACTED_KEYS.map((k) => `*.${k}`)], censor: '[redacted]' },
    },
    pino.destination(2),
  );
}
