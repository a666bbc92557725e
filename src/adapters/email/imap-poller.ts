/**
 * The IMAP poller: the SMTP intake's twin for a mailbox the organisation's mail server fills.
 * It logs in with imapflow, reads every message in the mailbox (oldest first) and hands each to
 * the mail intake; a message is moved to the processed folder only once the intake has remembered
 * and answered it in the database, so a message whose handling failed on our side stays and is
 * handled again on the next pass. A message too large to read goes to the failed folder unread,
 * as does one the server cannot deliver after a few tries. New mail is awaited with IDLE where the
 * server has it, else by polling; a lost connection is reopened with capped backoff. Two pollers
 * may share a mailbox: the intake's claim by Message-ID makes the handling once, and moving a
 * message the other one already moved is harmless.
 */
import { ImapFlow } from 'imapflow';
import type { Logger } from '../../core/command.js';
import { MAX_MAIL_BYTES, handleInboundMail } from './mail-intake.js';
import type { MailIntakeDeps } from './mail-intake.js';

export interface ImapPollerOptions {
  /** imap://user:pass@host:port (STARTTLS when offered) or imaps://… (TLS); user and password URL-encoded. */
  url: string;
  intake: MailIntakeDeps;
  log: Logger;
  /** The mailbox read (default INBOX). */
  mailbox?: string;
  /** Where handled messages go (default 'Processed'; created if missing). */
  processedFolder?: string;
  /** Where messages that could not be read at all go (default 'Failed'; created if missing). */
  failedFolder?: string;
  /** How often the mailbox is read again when the server has no IDLE, and how often failed messages are retried (default 60000). */
  pollIntervalMs?: number;
  /** Wait before reconnecting: `min` after the first failure, doubling up to `max` (default 1 s … 60 s). */
  reconnectMs?: { min: number; max: number };
}

/** A running poller. */
export interface ImapPoller {
  /** Ends the poller: finishes the message in hand, logs out, clears every timer; idempotent. */
  stop(): Promise<void>;
  /**
   * Resolves after the next complete pass over the mailbox (tests): asks for a pass now and
   * resolves when a pass that began after the call has ended; rejects after `timeoutMs`
   * (default 20 s) or when the poller stops first.
   */
  drained(timeoutMs?: number): Promise<void>;
  /** True while logged in with the mailbox open. */
  readonly connected: boolean;
}

/** Messages looked at in one pass; more are left to the pass that follows at once. */
const MAX_PER_PASS = 500;
/** UIDs whose sizes are fetched in one command. */
const META_BATCH = 100;
/** Messages, and bytes, whose sources are fetched in one command. */
const SOURCE_BATCH = 10;
const SOURCE_BATCH_BYTES = 2 * MAX_MAIL_BYTES;
/** Failed reads of one message, alone, after which it is moved to the failed folder unread. */
const READ_ATTEMPTS = 3;
/** Messages whose failed reads are remembered (the oldest are forgotten first). */
const MAX_REMEMBERED = 1000;
/** How long stop() lets the message in hand finish, and logout take, before closing the socket. */
const STOP_GRACE_MS = 5_000;
const LOGOUT_MS = 2_000;

interface ImapTarget {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  pass: string;
  /** The URL with the password masked, for logs and errors. */
  safeUrl: string;
}

/** Reads an imap:// or imaps:// URL; the error never repeats the password. */
function parseImapUrl(raw: string): ImapTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('IMAP URL is not a valid URL (expected imap://user:password@host:port or imaps://…)');
  }
  const secure = url.protocol === 'imaps:';
  const masked = `${url.protocol}//${url.username ? `${url.username}${url.password ? ':***' : ''}@` : ''}${url.host}`;
  if (url.protocol !== 'imap:' && url.protocol !== 'imaps:') throw new Error(`IMAP URL ${masked} must start with imap:// or imaps://`);
  if (!url.hostname) throw new Error(`IMAP URL ${masked} names no host`);
  if (!url.username) throw new Error(`IMAP URL ${masked} names no user`);
  let user: string;
  let pass: string;
  try {
    user = decodeURIComponent(url.username);
    pass = decodeURIComponent(url.password);
  } catch {
    throw new Error(`IMAP URL ${masked}: the user or password is not properly URL-encoded`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port ? Number(url.port) : secure ? 993 : 143, secure, user, pass, safeUrl: masked };
}

/** An imapflow error as a short text (never the whole object, which may hold the connection options). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const e = error as Error & { code?: string; responseText?: string; response?: string; serverResponseCode?: string };
  const detail = e.responseText ?? (typeof e.response === 'string' ? e.response : undefined);
  return [e.message, e.code && `(${e.code})`, detail ? `- ${detail}` : e.serverResponseCode && `[${e.serverResponseCode}]`].filter(Boolean).join(' ');
}

const isAuthFailure = (error: unknown): boolean => (error as { authenticationFailed?: boolean } | null)?.authenticationFailed === true;

/** Whether the session has an extension, counting those IMAP4rev2 folds into the base protocol (as imapflow does). */
function supports(c: ImapFlow, capability: 'IDLE' | 'MOVE'): boolean {
  if (c.capabilities.has(capability)) return true;
  return c.enabled.has('IMAP4REV2') || (c.capabilities.has('IMAP4rev2') && !c.capabilities.has('IMAP4rev1'));
}

/** Splits into runs of at most `count` items and `bytes` total size (a single larger item runs alone). */
function batches<T>(items: T[], count: number, bytes: number, size: (item: T) => number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let total = 0;
  for (const item of items) {
    if (current.length && (current.length >= count || total + size(item) > bytes)) {
      out.push(current);
      current = [];
      total = 0;
    }
    current.push(item);
    total += size(item);
  }
  if (current.length) out.push(current);
  return out;
}

/** Logs in, reads the mailbox once, then keeps reading new mail until stopped. Rejects when the first login fails. */
export async function startImapPoller(options: ImapPollerOptions): Promise<ImapPoller> {
  const { intake, log } = options;
  const target = parseImapUrl(options.url);
  const mailbox = options.mailbox ?? 'INBOX';
  const processedFolder = options.processedFolder ?? 'Processed';
  const failedFolder = options.failedFolder ?? 'Failed';
  const pollIntervalMs = Math.max(options.pollIntervalMs ?? 60_000, 50);
  const reconnectMin = Math.max(options.reconnectMs?.min ?? 1_000, 10);
  const reconnectMax = Math.max(options.reconnectMs?.max ?? 60_000, reconnectMin);
  const where = { url: target.safeUrl, mailbox };

  let stopped = false;
  /** The connection in use (or being opened), so stop() can close it. */
  let client: ImapFlow | null = null;
  let ready = false;
  /** A pass has been asked for (new mail, a drained() call, the retry timer). */
  let wake = false;
  /** Ends the wait between passes when polling without IDLE (new work, a closed connection, stop). */
  let interruptPoll: (() => void) | null = null;
  /** Ends the wait before a reconnect (stop only). */
  let interruptBackoff: (() => void) | null = null;
  let passesStarted = 0;
  const waiters = new Set<{ after: number; resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  /** Failed reads per message (`uidValidity:uid`); `0` marks one read in a batch that failed. */
  const readFailures = new Map<string, number>();

  const wakeUp = () => {
    wake = true;
    interruptPoll?.();
    // Breaking IDLE: imapflow sends DONE before any other command.
    if (client?.idling) client.noop().catch(() => {});
  };

  /** Waits `ms`; `onInterrupt` receives the function that ends the wait early. */
  const sleep = (ms: number, onInterrupt: (end: (() => void) | null) => void) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        onInterrupt(null);
        resolve();
      }
      onInterrupt(finish);
    });
  const pollSleep = (ms: number) => sleep(ms, (end) => (interruptPoll = end));
  const backoffSleep = (ms: number) => sleep(ms, (end) => (interruptBackoff = end));

  /** Connects, makes sure the folders exist and opens the mailbox; throws a clear Error. */
  async function openSession(): Promise<ImapFlow> {
    const c = new ImapFlow({
      host: target.host,
      port: target.port,
      secure: target.secure,
      auth: { user: target.user, pass: target.pass },
      logger: false,
      disableAutoIdle: true,
      connectionTimeout: 30_000,
      // Without IDLE nothing is said between two polls: keep the connection through one interval.
      socketTimeout: Math.max(5 * 60_000, pollIntervalMs + 60_000),
      clientInfo: { name: 'upgrade-desk' },
    });
    client = c;
    c.on('error', (error: unknown) => log.warn({ ...where, err: describe(error) }, 'IMAP connection error'));
    c.on('close', () => {
      if (client !== c) return;
      ready = false;
      interruptPoll?.();
    });
    c.on('exists', (data: { count: number; prevCount: number }) => {
      if (data.count > data.prevCount) wakeUp();
    });
    try {
      await c.connect();
    } catch (error) {
      c.close();
      if (isAuthFailure(error)) throw new Error(`IMAP login to ${target.safeUrl} failed: the server refused the user name or password (${describe(error)})`);
      throw new Error(`could not connect to the IMAP server ${target.safeUrl}: ${describe(error)}`);
    }
    try {
      const existing = new Set((await c.list()).map((m) => m.path));
      for (const folder of [processedFolder, failedFolder]) {
        if (existing.has(folder)) continue;
        // Another poller may create it at the same moment: an error is only an error if it is still missing.
        await c.mailboxCreate(folder).catch(async (error: unknown) => {
          if (!(await c.list()).some((m) => m.path === folder)) throw error;
        });
        log.info({ ...where, folder }, 'IMAP folder created');
      }
      await c.mailboxOpen(mailbox);
    } catch (error) {
      await c.logout().catch(() => c.close());
      throw new Error(`IMAP mailbox ${mailbox} or its folders ${processedFolder}, ${failedFolder} on ${target.safeUrl} could not be opened: ${describe(error)}`);
    }
    ready = true;
    return c;
  }

  /** Moves messages by UID; an already moved message is no error, a refused move is. */
  async function move(c: ImapFlow, uids: number[], folder: string): Promise<void> {
    if (!uids.length) return;
    if (supports(c, 'MOVE')) {
      if (!(await c.messageMove(uids, folder, { uid: true }))) throw new Error(`IMAP MOVE to ${folder} was refused`);
      return;
    }
    // Without MOVE: copy, and delete only what was copied (imapflow's fallback deletes even when the copy fails).
    if (!(await c.messageCopy(uids, folder, { uid: true }))) throw new Error(`IMAP COPY to ${folder} was refused`);
    if (!(await c.messageDelete(uids, { uid: true }))) throw new Error(`IMAP could not delete messages copied to ${folder}`);
  }

  const remember = (key: string, count: number) => {
    readFailures.delete(key);
    readFailures.set(key, count);
    while (readFailures.size > MAX_REMEMBERED) readFailures.delete(readFailures.keys().next().value as string);
  };

  /** One pass: every message in the mailbox, oldest first, up to MAX_PER_PASS. */
  async function pass(c: ImapFlow): Promise<void> {
    // A message flagged \Deleted is on its way out (another client's, or a copy-and-delete move in progress).
    const found = await c.search({ deleted: false }, { uid: true });
    if (found === false) throw new Error(`IMAP SEARCH in ${mailbox} failed`);
    const uids = [...found].sort((a, b) => a - b);
    if (uids.length > MAX_PER_PASS) wake = true;
    const validity = c.mailbox ? String(c.mailbox.uidValidity) : '';
    const keyOf = (uid: number) => `${validity}:${uid}`;
    for (let i = 0; i < Math.min(uids.length, MAX_PER_PASS) && !stopped; i += META_BATCH) {
      const chunk = uids.slice(i, Math.min(i + META_BATCH, MAX_PER_PASS));
      const meta = (await c.fetchAll(chunk, { uid: true, size: true }, { uid: true })).sort((a, b) => a.uid - b.uid);
      const unreadable = meta.filter((m) => (m.size ?? 0) > MAX_MAIL_BYTES || (readFailures.get(keyOf(m.uid)) ?? 0) >= READ_ATTEMPTS);
      if (unreadable.length) {
        await move(c, unreadable.map((m) => m.uid), failedFolder);
        for (const m of unreadable) {
          const tooLarge = (m.size ?? 0) > MAX_MAIL_BYTES;
          log.warn(
            { ...where, uid: m.uid, size: m.size, folder: failedFolder },
            tooLarge ? `e-mail over the size limit (${MAX_MAIL_BYTES} bytes) moved unread` : 'e-mail that could not be fetched after several tries moved unread',
          );
          readFailures.delete(keyOf(m.uid));
        }
      }
      const readable = meta.filter((m) => !unreadable.includes(m));
      // Messages of a batch whose read failed are read one by one, so a bad one is found.
      const alone = (m: { uid: number }) => readFailures.has(keyOf(m.uid));
      const groups = [
        ...batches(readable.filter((m) => !alone(m)), SOURCE_BATCH, SOURCE_BATCH_BYTES, (m) => m.size ?? 0),
        ...readable.filter(alone).map((m) => [m]),
      ].sort((a, b) => a[0]!.uid - b[0]!.uid);
      for (const group of groups) {
        if (stopped) break;
        let sources: Map<number, Buffer>;
        try {
          const fetched = await c.fetchAll(group.map((m) => m.uid), { uid: true, source: true }, { uid: true });
          sources = new Map(fetched.filter((m) => m.source).map((m) => [m.uid, m.source!]));
        } catch (error) {
          for (const m of group) {
            const key = keyOf(m.uid);
            remember(key, group.length === 1 ? (readFailures.get(key) ?? 0) + 1 : (readFailures.get(key) ?? 0));
          }
          log.warn({ ...where, uids: group.map((m) => m.uid), err: describe(error) }, 'e-mail could not be fetched; tried again on the next pass');
          if (!c.usable) throw error;
          continue;
        }
        const handled: number[] = [];
        for (const m of group) {
          const raw = sources.get(m.uid);
          if (!raw) continue; // gone meanwhile (another poller moved it)
          readFailures.delete(keyOf(m.uid));
          try {
            const result = await handleInboundMail(intake, { raw });
            log.info({ ...where, uid: m.uid, outcome: result.outcome }, 'e-mail received');
            handled.push(m.uid);
          } catch (error) {
            log.error({ ...where, uid: m.uid, err: error }, 'e-mail intake failed; the message stays in the mailbox and is handled again on the next pass');
          }
          if (stopped) break;
        }
        await move(c, handled, processedFolder);
      }
    }
  }

  /** Waits for new mail: IDLE (broken by `exists`, drained() or the retry timer) or a plain wait. */
  async function waitForMail(c: ImapFlow): Promise<void> {
    if (wake || stopped) return;
    if (supports(c, 'IDLE')) {
      // Messages left after a failure on our side are tried again at least this often.
      const retry = setTimeout(wakeUp, pollIntervalMs);
      try {
        await c.idle();
      } finally {
        clearTimeout(retry);
      }
    } else {
      await pollSleep(pollIntervalMs);
    }
  }

  const settleWaiters = (pass: number) => {
    for (const w of waiters) {
      if (pass > w.after) {
        waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve();
      }
    }
  };

  /** Passes and waits on one connection until it drops (throws) or the poller stops. */
  async function serve(c: ImapFlow, onPass: () => void): Promise<void> {
    while (!stopped) {
      if (!c.usable || !c.mailbox) throw new Error('IMAP connection closed');
      wake = false;
      const number = ++passesStarted;
      await pass(c);
      onPass();
      settleWaiters(number);
      await waitForMail(c);
    }
  }

  /** The supervisor: serve, and on a drop reconnect with doubling waits up to the cap. */
  async function supervise(first: ImapFlow): Promise<void> {
    let current: ImapFlow | null = first;
    let failures = 0;
    while (!stopped) {
      if (!current) {
        try {
          current = await openSession();
          log.info({ ...where, attempt: failures }, 'IMAP poller reconnected');
        } catch (error) {
          failures++;
          if (stopped) break;
          const delay = Math.min(reconnectMax, reconnectMin * 2 ** Math.min(failures - 1, 30));
          log.error({ ...where, err: (error as Error).message, retryInMs: delay }, 'IMAP reconnect failed; trying again');
          await backoffSleep(delay);
          continue;
        }
      }
      try {
        await serve(current, () => (failures = 0));
      } catch (error) {
        if (stopped) break;
        ready = false;
        failures++;
        const delay = Math.min(reconnectMax, reconnectMin * 2 ** Math.min(failures - 1, 30));
        log.warn({ ...where, err: describe(error), retryInMs: delay }, 'IMAP connection lost; reconnecting');
        current.close();
        current = null;
        await backoffSleep(delay);
      }
    }
  }

  const first = await openSession();
  log.info({ ...where, idle: supports(first, 'IDLE'), processedFolder, failedFolder }, 'IMAP poller started');
  const running = supervise(first).catch((error: unknown) => log.error({ ...where, err: error }, 'IMAP poller failed'));

  let stopping: Promise<void> | null = null;
  return {
    get connected() {
      return ready && !stopped && client?.usable === true;
    },
    drained(timeoutMs = 20_000) {
      if (stopped) return Promise.reject(new Error('IMAP poller stopped'));
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          after: passesStarted,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            reject(new Error(`IMAP poller: no complete pass over ${mailbox} within ${timeoutMs} ms`));
          }, timeoutMs),
        };
        waiters.add(waiter);
        wakeUp();
      });
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        wakeUp();
        interruptBackoff?.();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([running, new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))]);
        clearTimeout(timer);
        const c = client;
        ready = false;
        if (c?.usable) {
          await Promise.race([c.logout().catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, LOGOUT_MS)))]);
          clearTimeout(timer);
        }
        c?.close();
        for (const w of waiters) {
          clearTimeout(w.timer);
          w.reject(new Error('IMAP poller stopped'));
        }
        waiters.clear();
        log.info(where, 'IMAP poller stopped');
      })();
      return stopping;
    },
  };
}
