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
    const [ack] = await spooledTo('jane@acme.example');
    expect(ack!.subject).toMatch(/\[UPG-\d{6}\]/);
    expect(ack!.inReplyTo).toBe('<jane-form@mail.acme.example>');
    expect(ack!.text).toContain('awaiting consent');
    const ref = /UPG-\d{6}/.exec(ack!.subject ?? '')![0];
    expect(await bot.app.deps.store.requests.byRef(ref)).toMatchObject({ via: 'email', status: 'awaiting_consent' });
  }, 30_000);
});
