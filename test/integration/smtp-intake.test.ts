/**
 * The SMTP intake over real SMTP on 127.0.0.1: form e-mails sent with nodemailer (and swaks, where
 * Debian's swaks is installed) become requests through the same dispatcher as chat, every answer
 * is stored in the outbox once, a repeated delivery creates nothing, and bad mail gets a clear
 * answer or an SMTP refusal, never a crash.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { registry } from '../../commands/index.js';
import { isReply, toPlainText } from '../../src/core/reply.js';
import type { Reply } from '../../src/core/reply.js';
import { handleInboundMail, noAuthentication } from '../../src/adapters/email/mail-intake.js';
import type { MailIntakeDeps } from '../../src/adapters/email/mail-intake.js';
import { mailauthAuthenticator, startSmtpIntake } from '../../src/adapters/email/smtp-intake.js';
import type { SmtpIntake } from '../../src/adapters/email/smtp-intake.js';
import { harness } from '../commands/harness.js';
import type { Harness } from '../commands/harness.js';
import { acmeForm } from '../fakes/acme-form.js';

const INTAKE = 'upgrades@localhost';
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/mail');

const FORM = acmeForm;

let h: Harness;
let smtp: SmtpIntake;
let seq = 0;

function intakeDeps(): MailIntakeDeps {
  return { registry, deps: h.deps, ownAddresses: [INTAKE, 'upgrades@upgradedesk.example'], authenticate: noAuthentication, newId: () => `mail-${++seq}` };
}

function transport() {
  return nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, secure: false, ignoreTLS: true, tls: { rejectUnauthorized: false } });
}

/** The answers stored for an address, as plain text, oldest first. */
async function answersTo(address: string): Promise<Array<{ text: string; payload: Reply & { inReplyTo?: string } }>> {
  const rows = (await h.store.outbox.pending(1000)).filter((m) => m.destination === `email:${address}`);
  return rows.map((m) => {
    if (!isReply(m.payload)) throw new Error('not a reply');
    return { text: toPlainText(m.payload), payload: m.payload as Reply & { inReplyTo?: string } };
  });
}

beforeAll(async () => {
  h = await harness();
  smtp = await startSmtpIntake({ intake: intakeDeps(), log: h.log, port: 0, address: INTAKE, maxBytes: 512 * 1024 });
});

afterAll(async () => {
  await smtp.close();
});

describe('the SMTP intake', () => {
  it('files a form e-mail from a representative as a request through the dispatcher and answers once', async () => {
    const sent = await transport().sendMail({
      from: 'Jane Doe <jane@acme.example>',
      to: INTAKE,
      subject: 'Upgrade request',
      text: FORM(),
      messageId: '<form-1@mail.acme.example>',
    });
    expect(sent.accepted).toEqual([INTAKE]);
    const answers = await answersTo('jane@acme.example');
    expect(answers).toHaveLength(1);
    const ref = /UPG-\d{6}/.exec(answers[0]!.text)?.[0];
    expect(ref).toBeDefined();
    expect(answers[0]!.payload.inReplyTo).toBe('<form-1@mail.acme.example>');
    const request = await h.store.requests.byRef(ref!);
    expect(request).toMatchObject({ via: 'email', status: 'awaiting_consent', note: 'Call Bob first' });
    // Consent stays a click: the answer carries no approve button to press by e-mail.
    expect(answers[0]!.payload.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(await h.store.inboundMail.byMessageId('<form-1@mail.acme.example>')).toMatchObject({ outcome: 'filed', requestRef: ref, authentication: { spf: 'none' } });
  });

  it('creates nothing for the same message delivered again', async () => {
    const before = (await h.store.requests.list({ limit: 500 })).length;
    await transport().sendMail({ from: 'jane@acme.example', to: INTAKE, subject: 'Upgrade request', text: FORM(), messageId: '<form-1@mail.acme.example>' });
    expect((await h.store.requests.list({ limit: 500 })).length).toBe(before);
    expect(await answersTo('jane@acme.example')).toHaveLength(1);
  });

  it('rejects a form whose details do not match the records, listing every problem with the form filled back in', async () => {
    await transport().sendMail({
      from: 'bob@acme.example',
      to: INTAKE,
      subject: 'Upgrade please',
      text: FORM({ email: 'bob@acme.example', phone: '+1 555 9999', device: 'edge-02', serial: 'SN-1002', mac: '00:1A:2B:3C:4D:FF', ip: '203.0.113.11', version: '7.3.0' }),
      messageId: '<form-2@mail.acme.example>',
    });
    const [answer] = await answersTo('bob@acme.example');
    expect(answer!.text).toContain('customer_mismatch');
    expect(answer!.text).toContain('hardware_mismatch');
    expect(answer!.text).toContain('Phone: +1 555 9999');
    expect(answer!.text).toContain('MAC address: 00:1A:2B:3C:4D:FF');
  });

  it('lists the missing fields of an incomplete form', async () => {
    await transport().sendMail({ from: 'greta@globex.example', to: INTAKE, subject: 'Upgrade', text: 'Company: Globex GmbH\nDevice: gx-tenant-1\nTarget version: 7.1.0\nPreferred time: now', messageId: '<form-3@globex.example>' });
    const [answer] = await answersTo('greta@globex.example');
    expect(answer!.text).toMatch(/missing some details; nothing was filed/);
    expect(answer!.text).toMatch(/MAC address/);
    expect(answer!.text).toContain('Device: gx-tenant-1');
  });

  it('sends the form to anyone on record who writes "help"', async () => {
    await transport().sendMail({ from: 'alex@upgradedesk.example', to: INTAKE, subject: 'help', text: '', messageId: '<help-1@upgradedesk.example>' });
    const [answer] = await answersTo('alex@upgradedesk.example');
    expect(answer!.text).toContain('UPGRADE REQUEST FORM');
    expect(answer!.text).toContain('Serial number:');
  });

  it('tells an unknown sender so, with the form, and files nothing', async () => {
    const before = (await h.store.requests.list({ limit: 500 })).length;
    await transport().sendMail({ from: 'mallory@evil.example', to: INTAKE, subject: 'Upgrade', text: FORM({ email: 'mallory@evil.example' }), messageId: '<m-1@evil.example>' });
    const [answer] = await answersTo('mallory@evil.example');
    expect(answer!.text).toContain('We could not find the address mallory@evil.example');
    expect((await h.store.requests.list({ limit: 500 })).length).toBe(before);
  });

  it('never answers automatic mail: bounces and auto-replies', async () => {
    await transport().sendMail({ from: 'mailer-daemon@acme.example', to: INTAKE, subject: 'Undeliverable', text: FORM(), messageId: '<bounce@acme.example>' });
    await transport().sendMail({ from: 'bob@acme.example', to: INTAKE, subject: 'Out of office', text: 'I am away', headers: { 'Auto-Submitted': 'auto-replied' }, messageId: '<ooo@acme.example>' });
    expect(await answersTo('mailer-daemon@acme.example')).toHaveLength(0);
    expect((await h.store.inboundMail.byMessageId('<ooo@acme.example>'))?.outcome).toBe('dropped');
  });

  it('refuses mail for another address and mail over the size limit at the SMTP level', async () => {
    await expect(transport().sendMail({ from: 'jane@acme.example', to: 'root@localhost', subject: 'x', text: 'x' })).rejects.toThrow(/550/);
    await expect(transport().sendMail({ from: 'jane@acme.example', to: INTAKE, subject: 'big', text: 'x'.repeat(600 * 1024) })).rejects.toThrow(/552/);
  });

  it('reads every e-mail of the corpus without a crash, answering each sender on record', async () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.eml'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const raw = readFileSync(path.join(FIXTURES, file));
      const result = await handleInboundMail(intakeDeps(), { raw });
      expect({ file, outcome: result.outcome }).toEqual({ file, outcome: expect.stringMatching(/^(filed|rejected|not_a_form|unknown_sender|help|dropped|duplicate)$/) });
    }
  });

  it('accepts a form sent by swaks, the command-line SMTP client', async () => {
    if (spawnSync('swaks', ['--version']).status !== 0) {
      console.log('swaks is not installed (Debian package swaks; .ci/run installs it): the swaks case is skipped');
      return;
    }
    // Asynchronously: the SMTP server answering swaks runs in this very process.
    await promisify(execFile)('swaks', [
      '--server', `127.0.0.1:${smtp.port}`, '--to', INTAKE, '--from', 'jane@acme.example',
      '--header', 'Subject: Upgrade request', '--header', 'Message-Id: <swaks-1@acme.example>',
      '--body', FORM({ device: 'core-db', serial: 'SN-1003', mac: '00:1A:2B:3C:4D:60', ip: '203.0.113.12', version: '8.0.0' }),
    ], { timeout: 20_000 });
    expect(await h.store.inboundMail.byMessageId('<swaks-1@acme.example>')).toMatchObject({ outcome: expect.stringMatching(/filed|rejected/) });
  });
});

describe('mail authentication', () => {
  it('reports SPF, DKIM and DMARC verdicts, and "temperror" rather than a hang where DNS cannot answer', async () => {
    const failing = mailauthAuthenticator({ resolver: async () => Promise.reject(Object.assign(new Error('no DNS'), { code: 'ENOTFOUND' })) });
    const raw = Buffer.from(`From: jane@acme.example\r\nTo: ${INTAKE}\r\nSubject: x\r\nMessage-ID: <auth@acme.example>\r\n\r\nhello\r\n`);
    const result = await failing({ raw, remoteAddress: '127.0.0.1', helo: 'localhost', mailFrom: 'jane@acme.example' });
    expect(Object.keys(result).sort()).toEqual(['dkim', 'dmarc', 'spf']);
    expect(result.dkim).toBe('none');
    expect(typeof result.spf).toBe('string');
  });
});
