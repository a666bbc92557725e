/**
 * The IMAP poller against a real Dovecot on 127.0.0.1 (started by ./dovecot.ts, skipped with a
 * reason where Dovecot is not installed): messages appended to INBOX become requests through the
 * mail intake and move to Processed, a repeated Message-ID files once, new mail is picked up
 * through IDLE (or by polling where the server has no IDLE), mail that cannot be read goes to
 * Failed, a failure on our side leaves the message to be tried again, a bad password stops the
 * start with a clear error, a dropped connection is reopened, and two pollers can share a mailbox.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { registry } from '../../commands/index.js';
import { isReply } from '../../src/core/reply.js';
import type { Reply } from '../../src/core/reply.js';
import { MAX_MAIL_BYTES, noAuthentication } from '../../src/adapters/email/mail-intake.js';
import type { MailIntakeDeps } from '../../src/adapters/email/mail-intake.js';
import { startImapPoller } from '../../src/adapters/email/imap-poller.js';
import type { ImapPoller, ImapPollerOptions } from '../../src/adapters/email/imap-poller.js';
import { harness } from '../commands/harness.js';
import type { Harness } from '../commands/harness.js';
import { MemoryLogger } from '../fakes/memory-logger.js';
import { dovecotAvailability, startDovecot } from './dovecot.js';
import type { Dovecot } from './dovecot.js';
import { acmeForm } from '../fakes/acme-form.js';

const INTAKE = 'upgrades@localhost';

const availability = dovecotAvailability();
if (!availability.ok) {
  console.log(`Skipping the IMAP poller tests: ${availability.reason}`);
}
const describeImap = availability.ok ? describe : describe.skip;

const FORM = acmeForm;

const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

/** An RFC 5322 message as a mail client would write it. */
async function message(o: { from: string; subject: string; text: string; messageId: string }): Promise<Buffer> {
  const info = await composer.sendMail({ to: INTAKE, ...o });
  return info.message as Buffer;
}

/** Waits (bounded) until `check` holds; fails with `what` otherwise. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  for (let i = 0; i < 200; i++) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

describeImap('the IMAP poller (throwaway Dovecot on 127.0.0.1)', () => {
  let dovecot: Dovecot;
  let h: Harness;
  let mail: ImapFlow | undefined;
  let seq = 0;
  const pollers: ImapPoller[] = [];

  const intakeDeps = (over: Partial<MailIntakeDeps> = {}): MailIntakeDeps => ({
    registry,
    deps: h.deps,
    ownAddresses: [INTAKE],
    authenticate: noAuthentication,
    newId: () => `imap-${++seq}`,
    ...over,
  });

  /** Starts a poller (stopped after each test, or in afterAll at the latest). */
  async function poller(over: Partial<ImapPollerOptions> = {}): Promise<ImapPoller> {
    const p = await startImapPoller({ url: dovecot.url, intake: intakeDeps(), log: h.log, reconnectMs: { min: 20, max: 200 }, ...over });
    pollers.push(p);
    return p;
  }

  /** The test's own IMAP session as the same user (opened again when `doveadm kick` ended it). */
  async function box(): Promise<ImapFlow> {
    if (mail?.usable) return mail;
    const c = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false, disableAutoIdle: true });
    c.on('error', () => {});
    await c.connect();
    mail = c;
    return c;
  }

  /** Appends a message to INBOX. */
  const deliver = async (raw: Buffer): Promise<void> => {
    await (await box()).append('INBOX', raw);
  };

  /** Messages in a folder (STATUS, asked of the server: no folder stays selected). */
  const count = async (folder: string): Promise<number> => (await (await box()).status(folder, { messages: true })).messages ?? 0;

  /** The Message-IDs of a folder's messages. */
  async function messageIds(folder: string): Promise<string[]> {
    const c = await box();
    const opened = await c.mailboxOpen(folder, { readOnly: true });
    try {
      if (opened.exists === 0) return [];
      return (await c.fetchAll('1:*', { envelope: true })).map((m) => m.envelope?.messageId ?? '');
    } finally {
      await c.mailboxClose();
    }
  }

  /** The answers stored for an address. */
  async function answersTo(address: string): Promise<Array<Reply & { inReplyTo?: string }>> {
    const rows = (await h.store.outbox.pending(1000)).filter((m) => m.destination === `email:${address}`);
    return rows.map((m) => {
      if (!isReply(m.payload)) throw new Error('not a reply');
      return m.payload as Reply & { inReplyTo?: string };
    });
  }

  beforeAll(async () => {
    dovecot = await startDovecot();
    h = await harness();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(pollers.map((p) => p.stop()));
    const c = mail;
    if (c?.usable) await c.logout().catch(() => c.close());
    await dovecot?.stop();
  }, 60_000);

  /** Stops the pollers a test started, so the next test starts with none. */
  async function stopAll(): Promise<void> {
    await Promise.all(pollers.splice(0).map((p) => p.stop()));
  }

  it('files a form e-mail found in INBOX, answers through the outbox and moves it to Processed', async () => {
    await deliver(await message({ from: 'Jane Doe <jane@acme.example>', subject: 'Upgrade request', text: FORM(), messageId: '<imap-form-1@mail.acme.example>' }));
    const p = await poller();
    expect(p.connected).toBe(true);
    await p.drained();
    const stored = await h.store.inboundMail.byMessageId('<imap-form-1@mail.acme.example>');
    expect(stored).toMatchObject({ outcome: 'filed' });
    expect(await h.store.requests.byRef(stored!.requestRef!)).toMatchObject({ via: 'email', status: 'awaiting_consent', note: 'Call Bob first' });
    const answers = await answersTo('jane@acme.example');
    expect(answers.filter((a) => a.inReplyTo === '<imap-form-1@mail.acme.example>')).toHaveLength(1);
    expect(await count('INBOX')).toBe(0);
    expect(await messageIds('Processed')).toContain('<imap-form-1@mail.acme.example>');
    expect(await count('Failed')).toBe(0);
    await stopAll();
  });

  it('files a message appended twice with the same Message-ID once, and moves both copies to Processed', async () => {
    const raw = await message({
      from: 'jane@acme.example',
      subject: 'Upgrade request',
      text: FORM({ device: 'core-db', serial: 'SN-1003', mac: '00:1A:2B:3C:4D:60', ip: '203.0.113.12', version: '8.0.0' }),
      messageId: '<imap-twice@mail.acme.example>',
    });
    await deliver(raw);
    await deliver(raw);
    const before = (await h.store.requests.list({ limit: 500 })).length;
    const processedBefore = await count('Processed');
    const p = await poller();
    await p.drained();
    expect(await h.store.inboundMail.byMessageId('<imap-twice@mail.acme.example>')).toMatchObject({ outcome: 'filed' });
    expect((await h.store.requests.list({ limit: 500 })).length).toBe(before + 1);
    expect((await answersTo('jane@acme.example')).filter((a) => a.inReplyTo === '<imap-twice@mail.acme.example>')).toHaveLength(1);
    expect(await count('INBOX')).toBe(0);
    expect(await count('Processed')).toBe(processedBefore + 2);
    await stopAll();
  });

  it('picks up a message appended while it waits in IDLE, without waiting for the polling interval', async () => {
    const p = await poller({ pollIntervalMs: 60_000 });
    await p.drained();
    await deliver(await message({ from: 'bob@acme.example', subject: 'help', text: 'help', messageId: '<imap-idle@acme.example>' }));
    const took = await eventually('the message appended during IDLE is answered and moved', async () => {
      const stored = await h.store.inboundMail.byMessageId('<imap-idle@acme.example>');
      return stored?.outcome === 'help' && (await count('INBOX')) === 0;
    });
    expect(took).toBeLessThan(10_000);
    expect(await answersTo('bob@acme.example')).toHaveLength(1);
    await stopAll();
  });

  it('moves a message over the size limit to Failed without reading it', async () => {
    const body = `${'x'.repeat(998)}\r\n`.repeat(Math.ceil(MAX_MAIL_BYTES / 1000) + 10);
    const raw = Buffer.from(`From: jane@acme.example\r\nTo: ${INTAKE}\r\nSubject: huge\r\nMessage-ID: <imap-huge@acme.example>\r\n\r\n${body}`);
    expect(raw.length).toBeGreaterThan(MAX_MAIL_BYTES);
    await deliver(raw);
    const log = new MemoryLogger();
    const p = await poller({ log });
    await p.drained();
    expect(await messageIds('Failed')).toContain('<imap-huge@acme.example>');
    expect(await count('INBOX')).toBe(0);
    expect(await h.store.inboundMail.byMessageId('<imap-huge@acme.example>')).toBeNull();
    expect(log.entries.some((e) => e.level === 'warn' && /size limit/.test(e.msg ?? ''))).toBe(true);
    await stopAll();
  });

  it('moves a message the server cannot read to Failed after a few attempts, reconnecting each time Dovecot drops the connection', async () => {
    await deliver(await message({ from: 'jane@acme.example', subject: 'help', text: 'help', messageId: '<imap-unreadable@acme.example>' }));
    await deliver(await message({ from: 'pat@upgradedesk.example', subject: 'help', text: 'help', messageId: '<imap-after-unreadable@upgradedesk.example>' }));
    // Take the first message's file away from Dovecot's mail process: FETCH of its body fails and Dovecot disconnects.
    const files = ['cur', 'new'].flatMap((d) => readdirSync(path.join(dovecot.maildir, d)).map((f) => path.join(dovecot.maildir, d, f)));
    const file = files.find((f) => readFileSync(f, 'utf8').includes('<imap-unreadable@acme.example>'));
    expect(file).toBeDefined();
    chmodSync(file!, 0);
    const inode = statSync(file!).ino;
    const log = new MemoryLogger();
    const p = await poller({ log });
    await p.drained(20_000);
    // Dovecot moves by hard link: the same file is now in Failed. Make it readable again to look inside.
    const failedFiles = ['cur', 'new'].flatMap((d) => readdirSync(path.join(dovecot.maildir, '.Failed', d)).map((f) => path.join(dovecot.maildir, '.Failed', d, f)));
    const moved = failedFiles.find((f) => statSync(f).ino === inode);
    expect(moved).toBeDefined();
    chmodSync(moved!, 0o600);
    expect(await messageIds('Failed')).toContain('<imap-unreadable@acme.example>');
    expect(await h.store.inboundMail.byMessageId('<imap-unreadable@acme.example>')).toBeNull();
    expect(await h.store.inboundMail.byMessageId('<imap-after-unreadable@upgradedesk.example>')).toMatchObject({ outcome: 'help' });
    expect(await count('INBOX')).toBe(0);
    expect(log.entries.filter((e) => e.msg === 'IMAP poller reconnected').length).toBeGreaterThanOrEqual(3);
    expect(log.entries.some((e) => e.msg === 'e-mail that could not be fetched after several tries moved unread')).toBe(true);
    expect(dovecot.log()).toMatch(/Permission denied/);
    await stopAll();
  }, 30_000);

  it('leaves a message whose handling failed on our side in INBOX and handles it on a later pass', async () => {
    let failing = true;
    const log = new MemoryLogger();
    const intake = intakeDeps({
      newId: () => {
        if (failing) throw new Error('database unavailable');
        return `imap-${++seq}`;
      },
    });
    await deliver(await message({
      from: 'jane@acme.example',
      subject: 'Upgrade request',
      text: FORM({ device: 'core-app', serial: 'SN-1004', mac: '00:1A:2B:3C:4D:61', ip: '203.0.113.13', version: '8.0.0' }),
      messageId: '<imap-retry@mail.acme.example>',
    }));
    const p = await poller({ intake, log });
    await p.drained();
    expect(await count('INBOX')).toBe(1);
    expect(await h.store.inboundMail.byMessageId('<imap-retry@mail.acme.example>')).toMatchObject({ outcome: 'failed' });
    expect(log.entries.some((e) => e.level === 'error' && /stays in the mailbox/.test(e.msg ?? ''))).toBe(true);
    failing = false;
    await p.drained();
    expect(await count('INBOX')).toBe(0);
    expect(await h.store.inboundMail.byMessageId('<imap-retry@mail.acme.example>')).toMatchObject({ outcome: expect.stringMatching(/^(filed|rejected)$/) });
    expect(await messageIds('Processed')).toContain('<imap-retry@mail.acme.example>');
    await stopAll();
  });

  it('never logs the password, and logs the URL with it masked', async () => {
    const p = await poller();
    await p.drained();
    await stopAll();
    const logged = JSON.stringify(h.log.entries);
    expect(logged).not.toContain(dovecot.password);
    expect(logged).not.toContain(encodeURIComponent(dovecot.password));
    expect(logged).toContain('imap://tester:***@127.0.0.1');
  });

  it('reconnects after the server drops the connection and goes on handling mail', async () => {
    const log = new MemoryLogger();
    const p = await poller({ log });
    await p.drained();
    await dovecot.kick();
    await eventually('the poller notices the dropped connection', async () => !p.connected, 5_000);
    await deliver(await message({ from: 'greta@globex.example', subject: 'help', text: 'help', messageId: '<imap-reconnect@globex.example>' }));
    await p.drained(15_000);
    expect(p.connected).toBe(true);
    expect(await h.store.inboundMail.byMessageId('<imap-reconnect@globex.example>')).toMatchObject({ outcome: 'help' });
    expect(await count('INBOX')).toBe(0);
    expect(log.entries.some((e) => e.msg === 'IMAP connection lost; reconnecting')).toBe(true);
    expect(log.entries.some((e) => e.msg === 'IMAP poller reconnected')).toBe(true);
    await stopAll();
  });

  it('lets two pollers share a mailbox: every message is answered once and moved once, without errors', async () => {
    const senders = ['jane@acme.example', 'bob@acme.example', 'greta@globex.example', 'alex@upgradedesk.example', 'pat@upgradedesk.example'];
    const ids = Array.from({ length: 12 }, (_, i) => `<imap-shared-${i}@example.test>`);
    for (const [i, id] of ids.entries()) {
      await deliver(await message({ from: senders[i % senders.length]!, subject: 'help', text: 'help', messageId: id }));
    }
    const processedBefore = await count('Processed');
    const outboxBefore = (await h.store.outbox.pending(1000)).length;
    const logs = [new MemoryLogger(), new MemoryLogger()];
    const [a, b] = await Promise.all(logs.map((log) => poller({ log })));
    await Promise.all([a!.drained(), b!.drained()]);
    expect(await count('INBOX')).toBe(0);
    // Dovecot's MOVE is a copy and an expunge: when both pollers move one message at the same
    // moment, both copies can land in Processed. Nothing is lost and nothing is handled twice.
    const processed = await messageIds('Processed');
    for (const id of ids) expect(processed).toContain(id);
    expect(processed.length).toBeGreaterThanOrEqual(processedBefore + ids.length);
    for (const id of ids) expect(await h.store.inboundMail.byMessageId(id)).toMatchObject({ outcome: 'help' });
    expect((await h.store.outbox.pending(1000)).length).toBe(outboxBefore + ids.length);
    expect(logs.flatMap((l) => l.entries).filter((e) => e.level !== 'info')).toEqual([]);
    await stopAll();
  });

  it('stops promptly while waiting in IDLE, and drained() then rejects', async () => {
    const p = await poller();
    await p.drained();
    const started = Date.now();
    await p.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(p.connected).toBe(false);
    await expect(p.drained()).rejects.toThrow(/stopped/);
    await stopAll();
  });

  it('refuses to start with a clear error when the URL is not IMAP or no server answers', async () => {
    const log = new MemoryLogger();
    await expect(startImapPoller({ url: 'pop3://tester:secret@127.0.0.1:110', intake: intakeDeps(), log })).rejects.toThrow(/must start with imap:\/\/ or imaps:\/\/$/);
    // A port nobody listens on: the listener is closed right after the OS hands it out.
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const port = (server.address() as { port: number }).port;
        server.close(() => resolve(port));
      });
    });
    const error = await startImapPoller({ url: `imap://tester:secret@127.0.0.1:${closed}`, intake: intakeDeps(), log }).catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(new RegExp(`could not connect to the IMAP server imap://tester:\\*\\*\\*@127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED`));
    expect((error as Error).message).not.toContain('secret');
  });

  // Last: after a failed login Dovecot slows down further logins from the same address for a while.
  it('refuses to start with a wrong password, saying so without showing the password', async () => {
    const log = new MemoryLogger();
    const wrong = dovecot.url.replace(/:[^:@/]+@/, ':not-the-password@');
    const started = Date.now();
    const error = await startImapPoller({ url: wrong, intake: intakeDeps(), log }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toMatch(/IMAP login to imap:\/\/tester:\*\*\*@127\.0\.0\.1:\d+ failed: the server refused the user name or password/);
    expect(error!.message).not.toContain('not-the-password');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describeImap('the IMAP poller on a server without IDLE or MOVE', () => {
  let dovecot: Dovecot;
  let h: Harness;

  beforeAll(async () => {
    // Dovecot still understands IDLE and MOVE, but the client only uses what is advertised.
    dovecot = await startDovecot({ extraConfig: 'imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE UIDPLUS NAMESPACE CHILDREN' });
    h = await harness();
  }, 60_000);

  afterAll(async () => {
    await dovecot?.stop();
  }, 60_000);

  it('polls every pollIntervalMs and moves by copy and delete', async () => {
    const log = new MemoryLogger();
    const p = await startImapPoller({
      url: dovecot.url,
      intake: { registry, deps: h.deps, ownAddresses: [INTAKE], authenticate: noAuthentication, newId: () => 'imap-noidle' },
      log,
      pollIntervalMs: 300,
    });
    const mail = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false, disableAutoIdle: true });
    mail.on('error', () => {});
    try {
      expect(log.entries.find((e) => e.msg === 'IMAP poller started')?.obj).toMatchObject({ idle: false });
      await p.drained();
      await mail.connect();
      await mail.append('INBOX', await message({ from: 'bob@acme.example', subject: 'help', text: 'help', messageId: '<imap-poll@acme.example>' }));
      await eventually('the polled message is answered and moved', async () => (await h.store.inboundMail.byMessageId('<imap-poll@acme.example>'))?.outcome === 'help' && (await mail.status('INBOX', { messages: true })).messages === 0);
      expect((await mail.status('Processed', { messages: true })).messages).toBe(1);
    } finally {
      await p.stop();
      await mail.logout().catch(() => mail.close());
    }
  });
});
