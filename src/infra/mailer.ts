/**
 * Outbound e-mail: one `Mailer` over nodemailer, either an SMTP client (SMTP_URL set) or, on the
 * embedded defaults, a spool that writes each message as a complete RFC 5322 `.eml` file under
 * `data/outbox/`. Both build the message the same way (nodemailer's composer), so what lands in
 * the spool is exactly what an SMTP server would have received. `classifyMailError` turns
 * failures into the outbox's retry decisions.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type StreamTransport from 'nodemailer/lib/stream-transport/index.js';
import { PermanentDeliveryError, RetryableDeliveryError } from './outbox/outbox-worker.js';
import { lazyImport } from './lazy-import.js';

/** One message to send: nodemailer's fields, limited to what the bot uses. */
export interface MailToSend {
  from: string;
  /** One recipient: a bare address or a name and address (nodemailer encodes the name). */
  to: string | { name: string; address: string };
  subject: string;
  text: string;
  html: string;
  /** `<…@…>`; the spool names the file after it, so a re-sent message replaces its file. */
  messageId?: string;
  inReplyTo?: string;
  references?: string | string[];
  /** The Date header; also the spool file's time prefix (keep it stable across re-sends). */
  date?: Date;
  headers?: Record<string, string>;
  /** A calendar invite: sent as a text/calendar alternative and an `invite.ics` attachment. */
  icalEvent?: { method: 'REQUEST' | 'CANCEL'; content: string; filename?: string };
}

/** What a send came to: the Message-ID, and where a spooled message was written. */
export interface MailSent {
  messageId: string;
  /** The `.eml` file of a spooled message (spool mode only). */
  spooledTo?: string;
}

/** Sends e-mail (SMTP) or spools it (`.eml` files); `describe` names where mail goes, never credentials. */
export interface Mailer {
  send(mail: MailToSend): Promise<MailSent>;
  close(): Promise<void>;
  describe: string;
}

/** How the mailer is set up: SMTP when `smtpUrl` is given, else the spool directory. */
export interface MailerOptions {
  /** smtp:// or smtps:// URL (credentials inside it are used, never shown). */
  smtpUrl?: string;
  /** Where spooled messages go; default `data/outbox` under the working directory. Created on demand, mode 0700. */
  spoolDir?: string;
  /** SMTP timeouts in ms; defaults fit inside the outbox's 30-second delivery timeout. */
  timeouts?: { connectionMs?: number; greetingMs?: number; socketMs?: number };
}

/** Time, within one send, to open the TCP connection; default. */
const CONNECTION_TIMEOUT_MS = 10_000;
/** Time to wait for the server's greeting once connected; default. */
const GREETING_TIMEOUT_MS = 10_000;
/** Longest silence of the server during a session; default. */
const SOCKET_TIMEOUT_MS = 20_000;

/** nodemailer and its SMTP transport, loaded with the first message sent (not at start-up). */
const loadNodemailer = lazyImport(async () => {
  const nodemailer = await import('nodemailer');
  const smtp = await import('nodemailer/lib/smtp-transport/index.js');
  return { createTransport: nodemailer.default.createTransport, SMTPTransport: smtp.default };
});

/**
 * The transport of a mailer, made on the first send; `close()` closes it only if it was made.
 * A transport that could not be made is tried again on the next send.
 */
class LazyTransport<T> {
  private made: Promise<Transporter<T>> | null = null;

  constructor(private readonly make: () => Promise<Transporter<T>>) {}

  get(): Promise<Transporter<T>> {
    this.made ??= this.make().catch((error: unknown) => {
      this.made = null;
      throw error;
    });
    return this.made;
  }

  async close(): Promise<void> {
    const made = this.made;
    this.made = null;
    if (made) (await made.catch(() => null))?.close();
  }
}

/** Creates the mailer: SMTP with `smtpUrl`, else a spool of `.eml` files in `spoolDir`. */
export function createMailer(options: MailerOptions): Mailer {
  return options.smtpUrl ? new SmtpMailer(options.smtpUrl, options.timeouts) : new SpoolMailer(options.spoolDir ?? path.resolve('data', 'outbox'));
}

/** The nodemailer message of `mail`; file and URL access off, so no field can read a local file or fetch a URL. */
function nodemailerMessage(mail: MailToSend) {
  return {
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: mail.messageId,
    inReplyTo: mail.inReplyTo,
    references: mail.references,
    date: mail.date,
    headers: mail.headers,
    icalEvent: mail.icalEvent
      ? { method: mail.icalEvent.method, content: mail.icalEvent.content, filename: mail.icalEvent.filename ?? 'invite.ics' }
      : undefined,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** "smtp://mail.example.com:587" without user and password. */
function describeSmtpUrl(smtpUrl: string): string {
  try {
    const u = new URL(smtpUrl);
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}`;
  } catch {
    return 'smtp (unparsable URL)';
  }
}

/** One SMTP connection per message (no pool): nothing is held open between notices. */
class SmtpMailer implements Mailer {
  readonly describe: string;
  private readonly transport: LazyTransport<SMTPTransport.SentMessageInfo>;

  constructor(smtpUrl: string, timeouts: MailerOptions['timeouts'] = {}) {
    this.describe = `SMTP ${describeSmtpUrl(smtpUrl)}`;
    // SMTPTransport reads the URL itself (host, port, secure, auth, query options) and adds ours.
    this.transport = new LazyTransport(async () => {
      const { createTransport, SMTPTransport } = await loadNodemailer();
      return createTransport(
        new SMTPTransport({
          url: smtpUrl,
          connectionTimeout: timeouts.connectionMs ?? CONNECTION_TIMEOUT_MS,
          greetingTimeout: timeouts.greetingMs ?? GREETING_TIMEOUT_MS,
          socketTimeout: timeouts.socketMs ?? SOCKET_TIMEOUT_MS,
          disableFileAccess: true,
          disableUrlAccess: true,
        }),
      );
    });
  }

  async send(mail: MailToSend): Promise<MailSent> {
    const info = await (await this.transport.get()).sendMail(nodemailerMessage(mail));
    return { messageId: info.messageId };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** "20261121T120000" in UTC. */
function compactUtc(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, '');
}

/** A Message-ID as a file-name part: `<a.b@c>` → `a.b@c`, anything unusual → `_`, at most 150 characters. */
export function safeMessageIdPart(messageId: string): string {
  const bare = messageId.replace(/^<|>$/g, '');
  const safe = bare.replace(/[^A-Za-z0-9._@+-]/g, '_').replace(/^\.+/, '_');
  return safe.slice(0, 150) || 'message';
}

/**
 * Writes every message as `<YYYYMMDDTHHMMSS>-<message id>.eml` (the time is the message's Date,
 * in UTC) in the spool directory: the whole RFC 5322 message, LF line ends, written to a
 * temporary file and renamed, so a reader never sees half a message and a re-sent message (same
 * Message-ID and Date) replaces its file instead of adding one.
 */
class SpoolMailer implements Mailer {
  readonly describe: string;
  private readonly transport: LazyTransport<StreamTransport.SentMessageInfo>;

  constructor(private readonly dir: string) {
    this.describe = `spool ${dir}`;
    this.transport = new LazyTransport(async () =>
      (await loadNodemailer()).createTransport({ streamTransport: true, buffer: true, newline: 'unix' }),
    );
  }

  async send(mail: MailToSend): Promise<MailSent> {
    const date = mail.date ?? new Date();
    const info = await (await this.transport.get()).sendMail({ ...nodemailerMessage(mail), date });
    if (!Buffer.isBuffer(info.message)) throw new Error('the spool expected the message as a buffer');
    // Every time (cheap when it exists): the directory may have been removed since the last message.
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, `${compactUtc(date)}-${safeMessageIdPart(info.messageId)}.eml`);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, info.message, { mode: 0o600, flag: 'wx' });
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
    return { messageId: info.messageId, spooledTo: file };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** What nodemailer (and node:net, node:fs) attach to their errors. */
interface MailError {
  code?: string;
  responseCode?: number;
  command?: string;
  message?: string;
}

/** Connection-level failures: the server or the network may be back later. */
const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'ETLS',
  'EPROTOCOL',
]);

/**
 * Deployment-level failures (credentials, TLS setup, a full disk): they concern every message
 * alike, and giving messages up would lose them all, so they are retried until someone fixes the
 * setup. Only failures about this one message are permanent.
 */
const SETUP_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2', 'ECONFIG', 'EREQUIRETLS', 'ENOSPC', 'EACCES', 'EPERM', 'EROFS', 'EMFILE']);

/** Failures about the message itself (bad envelope, too large): sending it again cannot help. */
const MESSAGE_CODES = new Set(['EENVELOPE', 'EMESSAGE']);

/**
 * Maps a failed send to the outbox's decision: SMTP 4xx, connection failures and timeouts are
 * retried; SMTP 5xx (550 unknown user, 552 too large, …) gives the message up — except 5xx answers
 * to authentication, which are a setup problem and retried; envelope and message errors without a
 * server answer are permanent; anything else is retried.
 */
export function classifyMailError(e: unknown): RetryableDeliveryError | PermanentDeliveryError {
  if (e instanceof RetryableDeliveryError || e instanceof PermanentDeliveryError) return e;
  const err = (e ?? {}) as MailError;
  const text = (err.message ?? String(e)).replace(/[\r\n]+/g, ' ');
  const code = err.code ?? '';
  if (SETUP_CODES.has(code)) return new RetryableDeliveryError(`mail setup problem (${code}): ${text}`);
  const status = typeof err.responseCode === 'number' ? err.responseCode : null;
  if (status !== null && status >= 400 && status < 500) return new RetryableDeliveryError(`SMTP ${status}: ${text}`);
  if (status !== null && status >= 500 && status < 600) return new PermanentDeliveryError(`SMTP ${status}: ${text}`);
  if (TRANSIENT_CODES.has(code)) return new RetryableDeliveryError(`mail server unreachable (${code}): ${text}`);
  if (MESSAGE_CODES.has(code)) return new PermanentDeliveryError(`mail refused (${code}): ${text}`);
  return new RetryableDeliveryError(`mail failed: ${text}`);
}
