/**
 * The running bot taking a request by e-mail as a customer would send it: a form e-mail over SMTP
 * to the intake on 127.0.0.1, and the acknowledgement the bot writes to data/outbox/ (no SMTP_URL),
 * in the same thread as the customer's mail.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import type { ParsedMail } from 'mailparser';
import { loadConfig } from '../../src/config.js';
import { startBot } from '../../src/main.js';
import type { RunningBot } from '../../src/main.js';
import { noAuthentication } from '../../src/adapters/email/mail-intake.js';
import { formTemplate } from '../../src/adapters/email/form.js';
import { dispatch } from '../../src/core/dispatch.js';
import { toPlainText } from '../../src/core/reply.js';
import { issueApprovalLink } from '../../src/services/approval-links.js';
import { ImapFlow } from 'imapflow';
import { dovecotAvailability, startDovecot } from '../integration/dovecot.js';
import type { Dovecot } from '../integration/dovecot.js';

const quiet = new Writable({ write: (_c, _e, cb) => cb() });
let dir: string;
let bot: RunningBot;

/** The spooled mails to an address, parsed, waiting up to `timeoutMs` for at least `count`. */
async function spooledTo(address: string, count = 1, timeoutMs = 15_000): Promise<ParsedMail[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outbox = path.join(dir, 'outbox');
    let files: string[] = [];
    try {
      files = readdirSync(outbox).filter((f) => f.endsWith('.eml'));
    } catch {
      files = [];
    }
    const mails = await Promise.all(files.map((f) => simpleParser(readFileSync(path.join(outbox, f)))));
    const mine = mails.filter((m) => m.to && !Array.isArray(m.to) && m.to.value.some((v) => v.address === address));
    if (mine.length >= count) return mine;
    if (Date.now() > deadline) throw new Error(`no ${count} mail(s) to ${address} in ${outbox}: ${files.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-email-'));
  const config = loadConfig({ DATA_DIR: dir, PORT: '0', SMTP_INTAKE_PORT: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
  bot = await startBot(config, { output: quiet, mailAuthenticator: noAuthentication, outboxPollMs: 50, queueOptions: { lockLifetimeMs: 3000 } });
}, 30_000);

afterAll(async () => {
  await bot?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a request by e-mail', () => {
  it('acknowledges a form e-mail in data/outbox/, in the thread of the customer’s mail, with the reference and findings', async () => {
    expect(bot.smtpPort).toEqual(expect.any(Number));
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: bot.smtpPort!, secure: false, ignoreTLS: true });
    await transport.sendMail({
      from: 'Jane Doe <jane@acme.example>',
      to: 'upgrades@localhost',
      subject: 'Upgrade of edge-01',
      messageId: '<jane-form@mail.acme.example>',
      text: formTemplate({
        company: 'Acme Corp',
        email: 'jane@acme.example',
        phone: '+1 555 0100',
        device: 'edge-01',
        serial: 'SN-1001',
        mac: '00-1a-2b-3c-4d-5e',
        ip: '203.0.113.10',
        version: '7.1.0',
        when: 'next window',
      }),
    });
    // The acknowledgement answers Jane's mail, in its thread.
    const ack = await waitForMail('jane@acme.example', (m) => m.inReplyTo === '<jane-form@mail.acme.example>');
    expect(ack!.subject).toMatch(/\[UPG-\d{6}\]/);
    expect(ack!.text).toContain('awaiting consent');
    const ref = /UPG-\d{6}/.exec(ack!.subject ?? '')![0];
    expect(await bot.app.deps.store.requests.byRef(ref)).toMatchObject({ via: 'email', status: 'awaiting_consent' });
  }, 30_000);

  it('asks the representatives by e-mail with a one-time link: opening it decides nothing, the button decides once', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: bot.smtpPort!, secure: false, ignoreTLS: true });
    await transport.sendMail({
      from: 'bob@acme.example',
      to: 'upgrades@localhost',
      subject: 'Upgrade of core-db',
      messageId: '<bob-form@mail.acme.example>',
      text: formTemplate({
        company: 'Acme Corp',
        email: 'bob@acme.example',
        phone: '+1 555 0100',
        device: 'core-db',
        serial: 'SN-1003',
        mac: '00:1A:2B:3C:4D:60',
        ip: '203.0.113.12',
        version: '8.0.0',
        when: 'window',
      }),
    });
    const [ack] = await spooledTo('bob@acme.example');
    const ref = /UPG-\d{6}/.exec(ack!.subject ?? '')![0];
    // Bob (a requester) is told it waits for consent; Jane, the representative, gets the card with her link.
    const card = await waitForMail('jane@acme.example', (m) => (m.subject ?? '').includes(`Consent needed: ${ref}`));
    const link = /http:\/\/127\.0\.0\.1:\d+\/approve\/[A-Za-z0-9_.-]+/.exec(String(card.html))?.[0];
    expect(link).toBeDefined();
    expect(card.text).not.toContain('/upgrade approve');

    // Opening the link (a mail scanner, a preview) changes nothing.
    const shown = await fetch(link!);
    expect(shown.status).toBe(200);
    const html = await shown.text();
    expect(html).toContain(`Consent for ${ref}`);
    expect(html).toContain('Jane Doe');
    expect(shown.headers.get('referrer-policy')).toBe('no-referrer');
    expect((await bot.app.deps.store.requests.byRef(ref))?.status).toBe('awaiting_consent');

    // A tampered token is not a link.
    const tampered = link!.slice(0, -2) + (link!.endsWith('AA') ? 'BB' : 'AA');
    expect((await fetch(tampered)).status).toBe(404);
    expect((await post(tampered, 'decision=approve')).status).toBe(404);

    // The button decides, once.
    const decided = await post(link!, 'decision=approve');
    expect(decided.status).toBe(200);
    expect(await decided.text()).toContain(`${ref} approved`);
    const request = await bot.app.deps.store.requests.byRef(ref);
    expect(request?.status).toMatch(/scheduled|approved/);
    expect(request?.approvals).toEqual([expect.objectContaining({ decision: 'approved', via: 'email' })]);
    const again = await post(link!, 'decision=decline');
    expect(again.status).toBe(409);
    expect((await bot.app.deps.store.requests.byRef(ref))?.approvals).toHaveLength(1);
  }, 30_000);

  it('refuses an expired link, and gives no link to anyone who may not decide', async () => {
    const store = bot.app.deps.store;
    const filed = await store.requests.list({ limit: 50 });
    const jane = (await store.people.byEmail('jane@acme.example'))!;
    const bob = (await store.people.byEmail('bob@acme.example'))!;
    const greta = (await store.people.byEmail('greta@globex.example'))!;
    // A fresh request awaiting consent, filed by typing as Jane.
    const typed = await dispatchAs('jane@acme.example', '/upgrade request device=edge-02 version=7.3.0 when=window mac=00:1A:2B:3C:4D:5F ip=203.0.113.11 serial=SN-1002');
    const ref = /UPG-\d{6}/.exec(typed)![0];
    const request = (await store.requests.byRef(ref))!;
    expect(request.status).toBe('awaiting_consent');
    expect(filed.length).toBeGreaterThan(0);
    expect(await issueApprovalLink(bot.app.deps, request, bob, new Date())).toBeNull();
    expect(await issueApprovalLink(bot.app.deps, request, greta, new Date())).toBeNull();
    const token = (await issueApprovalLink(bot.app.deps, request, jane, new Date(Date.now() - 73 * 3600_000)))!;
    const expired = await fetch(`${bot.url}/approve/${token}`);
    expect(expired.status).toBe(410);
    expect((await post(`${bot.url}/approve/${token}`, 'decision=approve')).status).toBe(410);
    expect((await store.requests.byRef(ref))?.status).toBe('awaiting_consent');

    // A link is no good in the hands of someone who is not (or no longer) a representative.
    const current = (await issueApprovalLink(bot.app.deps, request, jane, new Date()))!;
    await bot.app.dataSource.query(`UPDATE people SET roles = '["requester"]' WHERE email = 'jane@acme.example'`);
    expect((await fetch(`${bot.url}/approve/${current}`)).status).toBe(403);
    expect((await post(`${bot.url}/approve/${current}`, 'decision=approve')).status).toBe(403);
    expect((await store.requests.byRef(ref))?.status).toBe('awaiting_consent');
    expect((await store.approvalLinks.byId(current.split('.')[0]!))?.usedAt).toBeNull();
  });
});

async function post(url: string, body: string): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
}

async function waitForMail(address: string, match: (m: ParsedMail) => boolean, timeoutMs = 15_000): Promise<ParsedMail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await spooledTo(address, 1, timeoutMs)).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching mail to ${address}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function dispatchAs(address: string, command: string): Promise<string> {
  const r = await dispatch(bot.app.registry, bot.app.deps, { id: 'e2e', via: 'console', identity: { kind: 'email', address }, text: command });
  return toPlainText(r);
}

const dovecotReady = dovecotAvailability();
if (!dovecotReady.ok) console.log(`Skipping the IMAP_URL end-to-end test: ${dovecotReady.reason}`);
const describeImap = dovecotReady.ok ? describe : describe.skip;

describeImap('a request from a real mailbox (IMAP_URL, throwaway Dovecot)', () => {
  let dovecot: Dovecot;
  let imapBot: RunningBot;
  let imapDir: string;

  beforeAll(async () => {
    dovecot = await startDovecot();
    imapDir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-imap-'));
    const config = loadConfig({
      DATA_DIR: imapDir,
      PORT: '0',
      SMTP_INTAKE_PORT: '0',
      IMAP_URL: dovecot.url,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    });
    imapBot = await startBot(config, { output: quiet, mailAuthenticator: noAuthentication, outboxPollMs: 50, queueOptions: { lockLifetimeMs: 3000 } });
  }, 40_000);

  afterAll(async () => {
    await imapBot?.stop();
    await dovecot?.stop();
    if (imapDir) rmSync(imapDir, { recursive: true, force: true });
  });

  it('files a form found in the mailbox and moves it to Processed', async () => {
    const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
    const raw = (
      await composer.sendMail({
        from: 'jane@acme.example',
        to: 'upgrades@localhost',
        subject: 'Upgrade of edge-01',
        messageId: '<imap-e2e@mail.acme.example>',
        text: formTemplate({ company: 'Acme Corp', email: 'jane@acme.example', phone: '+1 555 0100', device: 'edge-01', serial: 'SN-1001', mac: '00:1A:2B:3C:4D:5E', ip: '203.0.113.10', version: '7.1.0', when: 'window' }),
      })
    ).message as Buffer;
    const box = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false, disableAutoIdle: true });
    box.on('error', () => {});
    await box.connect();
    try {
      await box.append('INBOX', raw);
      const deadline = Date.now() + 15_000;
      let mail = await imapBot.app.deps.store.inboundMail.byMessageId('<imap-e2e@mail.acme.example>');
      while (mail?.outcome !== 'filed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        mail = await imapBot.app.deps.store.inboundMail.byMessageId('<imap-e2e@mail.acme.example>');
      }
      expect(mail).toMatchObject({ outcome: 'filed', requestRef: expect.stringMatching(/^UPG-\d{6}$/) });
      let processed = 0;
      for (let i = 0; i < 100 && processed === 0; i++) {
        processed = (await box.status('Processed', { messages: true }).catch(() => ({ messages: 0 }))).messages ?? 0;
        if (processed === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(processed).toBe(1);
      expect((await box.status('INBOX', { messages: true })).messages).toBe(0);
    } finally {
      await box.logout().catch(() => {});
    }
  }, 30_000);
});
