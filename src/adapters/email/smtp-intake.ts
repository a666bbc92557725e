/**
 * The SMTP intake: an SMTP server (smtp-server) started with the bot on SMTP_INTAKE_PORT that
 * accepts mail for INTAKE_ADDRESS only, up to MAX_MAIL_BYTES, and hands each message to the mail
 * intake. A message is acknowledged (250) only once it is remembered and answered in the
 * database; when handling fails on our side the sender gets a temporary error (451) and delivers
 * again. Also the SPF/DKIM/DMARC check with mailauth, with a DNS resolver that gives up quickly.
 */
import { promises as dns } from 'node:dns';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { Logger } from '../../core/command.js';
import type { MailAuthentication } from '../../ports.js';
import { bareAddress } from '../../infra/mail-address.js';
import { lazyImport } from '../../infra/lazy-import.js';
import { MAX_MAIL_BYTES, handleInboundMail } from './mail-intake.js';
import type { InboundEnvelope, MailAuthenticator, MailIntakeDeps } from './mail-intake.js';

export interface SmtpIntakeOptions {
  intake: MailIntakeDeps;
  log: Logger;
  port: number;
  /** Listen address; 127.0.0.1 unless configured (a public intake belongs behind the organisation's mail server). */
  host?: string;
  /** The address requests are sent to; other recipients are refused with 550. */
  address: string;
  maxBytes?: number;
}

/** A running SMTP intake. */
export interface SmtpIntake {
  port: number;
  close(): Promise<void>;
}

/**
 * mailauth, loaded with the first message checked (not at start-up: it is large). smtp-server
 * itself is small and imported statically: the intake starts with the bot by default, and loading
 * it later would only lengthen the start.
 */
const loadMailauth = lazyImport(() => import('mailauth'));

/** An SMTP reply with a code (smtp-server reads `responseCode`). */
function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

/** Starts the SMTP server; resolves once it listens. */
export async function startSmtpIntake(options: SmtpIntakeOptions): Promise<SmtpIntake> {
  const { intake, log } = options;
  const maxBytes = options.maxBytes ?? MAX_MAIL_BYTES;
  const wanted = bareAddress(options.address).toLowerCase();
  const server = new SMTPServer({
    name: 'upgrade-desk',
    banner: 'Upgrade Desk request intake',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: maxBytes,
    logger: false,
    maxClients: 20,
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    onRcptTo(address, _session, callback) {
      if (address.address.trim().toLowerCase() !== wanted) {
        callback(smtpError(550, `5.1.1 <${address.address}>: this server only takes mail for ${wanted}`));
        return;
      }
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= maxBytes) chunks.push(chunk);
      });
      stream.on('error', (error) => callback(error));
      stream.on('end', () => {
        if (stream.sizeExceeded || size > maxBytes) {
          log.warn({ size, remote: session.remoteAddress }, 'e-mail over the size limit refused');
          callback(smtpError(552, `5.3.4 Message too big: at most ${maxBytes} bytes`));
          return;
        }
        const envelope: InboundEnvelope = {
          raw: Buffer.concat(chunks),
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
          remoteAddress: session.remoteAddress,
          helo: session.hostNameAppearsAs,
        };
        handleInboundMail(intake, envelope).then(
          (result) => {
            log.info({ outcome: result.outcome, remote: session.remoteAddress }, 'e-mail received');
            callback(null, 'Message accepted');
          },
          (error: unknown) => {
            log.error({ err: error }, 'e-mail intake failed; asking the sender to try again');
            callback(smtpError(451, '4.3.0 Temporary failure, please try again later'));
          },
        );
      });
    },
  });
  server.on('error', (error) => log.error({ err: error }, 'SMTP intake error'));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.server.once('error', onError);
    server.listen(options.port, host, () => {
      server.server.off('error', onError);
      resolve();
    });
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log.info({ host, port, address: wanted }, 'SMTP intake listening');
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A DNS resolver for mailauth that gives up after `timeoutMs`, so a machine without DNS still answers mail. */
function quickResolver(timeoutMs: number) {
  return async (name: string, rrtype: string): Promise<unknown> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`DNS lookup of ${name} timed out`), { code: 'ETIMEOUT' })), timeoutMs);
    });
    try {
      return await Promise.race([dns.resolve(name, rrtype as 'TXT'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The verdict mailauth gives, as one word. */
function verdict(value: unknown): string {
  const result = (value as { status?: { result?: unknown } } | undefined)?.status?.result;
  return typeof result === 'string' ? result : 'none';
}

/** SPF, DKIM and DMARC of a message with mailauth (real DNS, short timeouts); never throws. */
export function mailauthAuthenticator(options: { mta?: string; timeoutMs?: number; resolver?: (name: string, rrtype: string) => Promise<unknown> } = {}): MailAuthenticator {
  const resolver = options.resolver ?? quickResolver(options.timeoutMs ?? 3000);
  return async (envelope): Promise<MailAuthentication> => {
    try {
      const { authenticate } = await loadMailauth();
      const result = await authenticate(envelope.raw, {
        ip: envelope.remoteAddress ?? undefined,
        helo: envelope.helo ?? undefined,
        sender: envelope.mailFrom ?? undefined,
        mta: options.mta ?? 'upgrade-desk',
        resolver: resolver as never,
        // Over IMAP there is no SMTP session: read the client from the last Received header.
        trustReceived: !envelope.remoteAddress,
      });
      const dkimResults = (result.dkim as { results?: unknown[] } | undefined)?.results ?? [];
      const dkim = dkimResults.length === 0 ? 'none' : dkimResults.some((r) => verdict(r) === 'pass') ? 'pass' : verdict(dkimResults[0]);
      return { spf: verdict(result.spf), dkim, dmarc: verdict(result.dmarc) };
    } catch {
      return { spf: 'temperror', dkim: 'temperror', dmarc: 'temperror' };
    }
  };
}
