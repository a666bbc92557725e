/**
 * The outbox's e-mail sink against a real SMTP server on 127.0.0.1 (smtp-server) and against the
 * `.eml` spool, with requests filed, approved and cancelled through the real dispatcher on the
 * in-memory store: what arrives (parsed with mailparser), threading, the calendar invite and its
 * cancellation, edits not mailed again, `person:<id>` resolution, and the retry decision for each
 * kind of failure.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import type { ParsedMail } from 'mailparser';
import { MailSink, noticeMessageId, threadRoot } from '../../src/adapters/email/mail-sink.js';
import { checkedAddress } from '../../src/infra/mail-address.js';
import { actions, reply, text } from '../../src/core/reply.js';
import { classifyMailError, createMailer } from '../../src/infra/mailer.js';
import type { Mailer } from '../../src/infra/mailer.js';
import { OutboxWorker, PermanentDeliveryError, RetryableDeliveryError } from '../../src/infra/outbox/outbox-worker.js';
import type { OutboxSink } from '../../src/infra/outbox/outbox-worker.js';
import type { OutboxMessage, Repositories } from '../../src/ports.js';
import { BOB, JANE, harness, refOf } from '../commands/harness.js';
import type { Harness } from '../commands/harness.js';
import { MemoryLogger } from '../fakes/memory-logger.js';
import { storedMessage } from '../fakes/outbox-message.js';

const FROM = 'Upgrade Desk <upgrades@desk.example>';
const DOMAIN = 'desk.example';
/** Sunday 6 December 2026, 01:00 in New York (Acme's low-traffic window). */
const START = '2026-12-06T06:00:00Z';

interface Received {
  envelope: { from: string; to: string[] };
  raw: Buffer;
  mail: ParsedMail;
}

let server: SMTPServer;
let port: number;
const received: Received[] = [];
let dir: string;
let smtp: Mailer;

function startSmtp(): Promise<void> {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const status = address.address.startsWith('unknown@') ? 550 : address.address.startsWith('busy@') ? 451 : 0;
      if (!status) return callback();
      const error = new Error(status === 550 ? '5.1.1 No such user here' : '4.2.1 Mailbox busy, try later') as Error & { responseCode: number };
      error.responseCode = status;
      return callback(error);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const envelope = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        simpleParser(raw).then(
          (mail) => {
            received.push({ envelope, raw, mail });
            callback();
          },
          (e: Error) => callback(e),
        );
      });
    },
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      port = (server.server.address() as AddressInfo).port;
      resolve();
    });
  });
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const free = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return free;
}

/** Takes every message no other sink wants, so the worker can drain the whole outbox. */
class SwallowSink implements OutboxSink {
  readonly name = 'swallow';
  accepts(): boolean {
    return true;
  }
  async deliver(message: OutboxMessage): Promise<{ externalId: string | null }> {
    return { externalId: `swallowed-${message.id}` };
  }
}

/** Echo lines written by the sink. */
class Lines {
  readonly lines: string[] = [];
  write(s: string): void {
    this.lines.push(...s.split('\n').filter(Boolean));
  }
}

function sinkFor(h: Harness, mailer: Mailer, echo?: Lines, store: Repositories = h.store): MailSink {
  return new MailSink({ mailer, store, from: FROM, log: new MemoryLogger(), echo });
}

/** Delivers the whole outbox through the mail sink (everything else is swallowed), as the bot's worker does. */
async function drain(h: Harness, sink: MailSink): Promise<void> {
  const worker = new OutboxWorker({ outbox: h.store.outbox, sinks: [sink, new SwallowSink()], log: new MemoryLogger(), clock: h.clock, maxAttempts: 1 });
  const result = await worker.drain({ timeoutMs: 10_000 });
  expect(result.timedOut).toBe(false);
}

/** Files edge-01 for START as Bob (with the customer e-mail option) and lets Jane approve it: a scheduled request. */
async function scheduledRequest(h: Harness): Promise<{ ref: string; id: number }> {
  const filed = await h.as(BOB).run(
    `/upgrade request device=edge-01 version=7.1.0 when=${START.slice(0, 16)}Z mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001 notify_customer`,
  );
  const ref = refOf(filed);
  const approved = await h.as(JANE).text(`/upgrade approve ${ref}`);
  expect(approved).toMatch(/scheduled|approved/i);
  const request = (await h.store.requests.byRef(ref))!;
  expect(request.status).toBe('scheduled');
  expect(request.schedule.at?.toISOString()).toBe(new Date(START).toISOString());
  return { ref, id: request.id };
}

function since(count: number): Received[] {
  return received.slice(count);
}

function mailTo(list: Received[], address: string, kindPattern: RegExp): Received {
  const found = list.find((r) => r.envelope.to.includes(address) && kindPattern.test(r.mail.subject ?? ''));
  if (!found) throw new Error(`no mail to ${address} matching ${kindPattern}; got: ${list.map((r) => `${r.envelope.to.join(',')} ${r.mail.subject}`).join(' | ')}`);
  return found;
}

/** The calendar part of a mail (nodemailer sends it as a text/calendar alternative and an application/ics attachment). */
function calendarOf(r: Received): string | null {
  const part = r.mail.attachments.find((a) => a.contentType === 'application/ics') ?? r.mail.attachments.find((a) => a.contentType === 'text/calendar');
  return part ? part.content.toString('utf8') : null;
}

/** Unfolded iCalendar property lines. */
function icsLines(ics: string): string[] {
  return ics.replace(/\r\n[ \t]/g, '').split('\r\n').filter(Boolean);
}

function icsValue(ics: string, name: string): string | undefined {
  return icsLines(ics)
    .find((l) => l.startsWith(`${name}:`) || l.startsWith(`${name};`))
    ?.replace(/^[^:]*:/, '');
}

function addressesOf(field: ParsedMail['to']): string[] {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((a) => a.value.map((v) => v.address ?? ''));
}

function referencesOf(mail: ParsedMail): string[] {
  const refs = mail.references;
  return Array.isArray(refs) ? refs : refs ? [refs] : [];
}

function message(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  return storedMessage({
    kind: 'maintenance_added',
    destination: 'email:ops@acme.example',
    payload: reply('Maintenance on 1 December', text('Platform maintenance 00:00–06:00 UTC.')),
    ...overrides,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-mail-'));
  await startSmtp();
  smtp = createMailer({ smtpUrl: `smtp://127.0.0.1:${port}` });
});

afterAll(async () => {
  await smtp?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('the mail sink over SMTP', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });

  it('takes email:<address> and person:<id> destinations only', () => {
    const sink = sinkFor(h, smtp);
    for (const d of ['email:jane@acme.example', 'person:1', 'person:42']) expect(sink.accepts(d)).toBe(true);
    for (const d of ['email:', 'person:', 'person:x', 'slack:C0ACME', 'discord:1100', 'ops']) expect(sink.accepts(d)).toBe(false);
    expect(smtp.describe).toBe(`SMTP smtp://127.0.0.1:${port}`);
  });

  it('mails the notices of a scheduled request, threaded, with from/to/subject/text/html and a calendar invite', async () => {
    const before = received.length;
    const echo = new Lines();
    const { ref, id } = await scheduledRequest(h);
    await drain(h, sinkFor(h, smtp, echo));
    const mails = since(before);
    const bob = (await h.store.people.byEmail(BOB))!;

    // person:<id> resolves to the person's address; notify_customer adds the customer's contact.
    const approved = mailTo(mails, BOB, /approved by Jane Doe/);
    const scheduled = mailTo(mails, BOB, /scheduled:/);
    mailTo(mails, 'it@acme.example', /scheduled:/);
    expect(addressesOf(scheduled.mail.to)).toEqual([BOB]);
    expect(scheduled.mail.to && !Array.isArray(scheduled.mail.to) ? scheduled.mail.to.value[0]?.name : '').toBe('Bob Stone');
    expect(addressesOf(scheduled.mail.from)).toEqual(['upgrades@desk.example']);
    expect(scheduled.envelope.from).toBe('upgrades@desk.example');
    expect(scheduled.mail.subject).toBe(`[${ref}] scheduled: Sun 6 Dec 2026 01:00 EST (UTC-05:00) · 06:00 UTC`);
    expect(scheduled.mail.text).toContain('Sun 6 Dec 2026 01:00 EST (UTC-05:00) · 06:00 UTC');
    expect(scheduled.mail.text).toContain(`Upgrade Desk · reference ${ref}`);
    expect(scheduled.mail.html).toContain('<html lang="en"');
    expect(scheduled.mail.html).toContain(`reference ${ref}`);
    expect(scheduled.mail.headers.get('auto-submitted')).toBe('auto-generated');

    // One thread per request: stable root, one Message-ID per outbox row and revision.
    const root = threadRoot(id, DOMAIN);
    expect(root).toBe('<upg-000001@desk.example>'.replace('000001', ref.slice(4)));
    for (const m of [approved, scheduled]) {
      expect(m.mail.inReplyTo).toBe(root);
      expect(referencesOf(m.mail)).toEqual([root]);
      expect(m.mail.messageId).toMatch(new RegExp(`^<upg-${ref.slice(4)}\\.\\d+\\.0@desk\\.example>$`));
    }
    expect(approved.mail.messageId).not.toBe(scheduled.mail.messageId);

    // The invite: only on the scheduled notice; UID per request, UTC times, downtime 60 minutes.
    expect(calendarOf(approved)).toBeNull();
    const ics = calendarOf(scheduled)!;
    expect(ics).not.toBeNull();
    expect(icsValue(ics, 'METHOD')).toBe('REQUEST');
    expect(icsValue(ics, 'UID')).toBe(`upg-${ref.slice(4)}@desk.example`);
    expect(icsValue(ics, 'DTSTART')).toBe('20261206T060000Z');
    expect(icsValue(ics, 'DTEND')).toBe('20261206T070000Z');
    expect(icsValue(ics, 'STATUS')).toBe('CONFIRMED');
    expect(icsValue(ics, 'SUMMARY')).toBe(`Upgrade of edge-01 to 7.1.0 (${ref})`);
    expect(icsValue(ics, 'DESCRIPTION')).toContain('Expected downtime: 30–60 minutes');
    expect(icsValue(ics, 'DESCRIPTION')).toContain('Sun 6 Dec 2026 01:00 EST (UTC-05:00) · 06:00 UTC');
    expect(icsValue(ics, 'ORGANIZER')).toBe('mailto:upgrades@desk.example');
    expect(icsValue(ics, 'ATTENDEE')).toBe(`mailto:${BOB}`);
    expect(Number(icsValue(ics, 'SEQUENCE'))).toBeGreaterThan(0);
    expect(ics.split('\r\n').every((l) => Buffer.byteLength(l, 'utf8') <= 75)).toBe(true);
    expect(scheduled.raw.toString('utf8')).toMatch(/Content-Type: text\/calendar; charset=utf-8; method=REQUEST/i);

    // The echo names each mailed notice like the console does.
    expect(echo.lines).toContain(
      `── to person:${bob.id} · scheduled · ${ref} · ${BOB} + invite (REQUEST), mailed via SMTP smtp://127.0.0.1:${port}`,
    );

    // Cancelling sends the cancellation of the same event, in the same thread, to whoever got the invite.
    const count = received.length;
    expect(await h.as(JANE).text(`/upgrade cancel ${ref}`)).toMatch(/cancelled/i);
    await drain(h, sinkFor(h, smtp));
    const cancelled = mailTo(since(count), BOB, /cancelled/);
    const cancel = calendarOf(cancelled)!;
    expect(cancel).not.toBeNull();
    expect(icsValue(cancel, 'METHOD')).toBe('CANCEL');
    expect(icsValue(cancel, 'UID')).toBe(icsValue(ics, 'UID'));
    expect(icsValue(cancel, 'STATUS')).toBe('CANCELLED');
    expect(icsValue(cancel, 'DTSTART')).toBe('20261206T060000Z');
    expect(Number(icsValue(cancel, 'SEQUENCE'))).toBeGreaterThan(Number(icsValue(ics, 'SEQUENCE')));
    expect(referencesOf(cancelled.mail)).toEqual([root]);
    expect(mailTo(since(count), 'it@acme.example', /cancelled/)).toBeDefined();
  });

  it('sends no invite for a request without a planned start, and no cancellation to whoever never had the invite', async () => {
    // A request for the next window has no start until it is approved: its notices carry no invite.
    const windowed = refOf(await h.as(BOB).run('/upgrade request device=edge-01 version=7.1.0 when=window mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001'));
    const request = (await h.store.requests.byRef(windowed))!;
    expect(request.schedule.at).toBeNull();
    let count = received.length;
    await sinkFor(h, smtp).deliver(message({ requestId: request.id, kind: 'scheduled', destination: `email:${BOB}`, payload: reply(`${windowed} scheduled`) }));
    expect(calendarOf(since(count)[0]!)).toBeNull();
    expect(await h.as(JANE).text(`/upgrade cancel ${windowed}`)).toMatch(/cancelled/i);

    // A request with a custom time, cancelled before consent: it was never scheduled, so no cancellation.
    const timed = refOf(
      await h.as(BOB).run(`/upgrade request device=edge-01 version=7.1.0 when=${START.slice(0, 16)}Z mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001`),
    );
    expect((await h.store.requests.byRef(timed))!.schedule.at).not.toBeNull();
    expect(await h.as(JANE).text(`/upgrade cancel ${timed}`)).toMatch(/cancelled/i);
    count = received.length;
    await drain(h, sinkFor(h, smtp));
    const cancelled = mailTo(since(count), BOB, new RegExp(`${timed}.*cancelled|cancelled.*${timed}`));
    expect(calendarOf(cancelled)).toBeNull();
  });

  it('ends every mail about a request with the link to its status page, in the text and the HTML part', async () => {
    const statusUrl = async (requestId: number) => `https://desk.example/requests/UPG-${String(requestId).padStart(6, '0')}?key=s1gned`;
    const sink = new MailSink({ mailer: smtp, store: h.store, from: FROM, log: new MemoryLogger(), statusUrl });
    const before = received.length;
    const { ref } = await scheduledRequest(h);
    await drain(h, sink);
    const mails = since(before);
    expect(mails.length).toBeGreaterThanOrEqual(3);
    const url = `https://desk.example/requests/${ref}?key=s1gned`;
    for (const m of mails) {
      expect(m.mail.text).toContain(`\n\nFollow this request: ${url}\n\n-- \nUpgrade Desk · reference ${ref}`);
      expect(m.mail.html).toContain(`Follow this request: <a href="${url}">the status page of ${ref}</a>`);
    }
    // A notice without a request has no status page.
    const count = received.length;
    await sink.deliver(message());
    const plain = since(count)[0]!;
    expect(plain.mail.text).not.toContain('Follow this request');
    expect(String(plain.mail.html)).not.toContain('/requests/');
  });

  it('does not mail edits again (e-mail cannot be edited) and never mails a decided consent card', async () => {
    const sink = sinkFor(h, smtp, new Lines());
    const before = received.length;
    const progress = message({ kind: 'progress', requestId: 1, destination: `email:${BOB}`, payload: reply('Progress 10%') });
    const first = await sink.deliver(progress);
    expect(first.externalId).toBe(noticeMessageId(progress, DOMAIN));
    expect(first.externalId).toBe(`<upg-000001.${progress.id}.0@desk.example>`);
    expect(received.length).toBe(before + 1);

    const edited = await sink.deliver(
      message({ kind: 'progress', requestId: 1, destination: `email:${BOB}`, payload: reply('Progress 50%'), externalId: first.externalId, revision: 3 }),
    );
    expect(edited.externalId).toBe(first.externalId);
    const closed = await sink.deliver(
      message({ kind: 'consent_needed', requestId: 1, destination: `email:${JANE}`, payload: reply('UPG-000001 approved by Jane Doe', text('decided')), externalId: 'earlier', revision: 1 }),
    );
    expect(closed.externalId).toBe('earlier');
    const closedBeforeMailed = await sink.deliver(
      message({ kind: 'consent_needed', requestId: 1, destination: `email:${JANE}`, payload: reply('UPG-000001 approved by Jane Doe'), revision: 1 }),
    );
    expect(closedBeforeMailed.externalId).toBeNull();
    expect(received.length).toBe(before + 1);

    // An open consent card is mailed, with its buttons as commands to type (agents' buttons left out).
    await sink.deliver(
      message({
        kind: 'consent_needed',
        requestId: 1,
        destination: `email:${JANE}`,
        payload: reply(
          'Consent needed: UPG-000001 for Acme Corp',
          actions({ label: 'Approve', command: '/upgrade approve UPG-000001', style: 'primary' }, { label: 'Next', command: '/upgrade-admin run UPG-000001 next' }),
        ),
      }),
    );
    const card = since(before + 1)[0]!;
    expect(card.mail.text).toContain('Approve — to do this, type in chat: /upgrade approve UPG-000001');
    expect(card.mail.text).not.toContain('upgrade-admin');
  });

  it('gives up on an unknown person and on addresses that could inject headers, without connecting', async () => {
    const sink = sinkFor(h, smtp);
    await expect(sink.deliver(message({ destination: 'person:99999' }))).rejects.toBeInstanceOf(PermanentDeliveryError);
    for (const bad of ['jane@acme.example\r\nBcc: victim@example.com', 'jane@acme.example\nX: y', 'a@b.example, c@d.example', 'Jane <jane@acme.example>', 'no-at-sign', 'jane@acme.example ']) {
      expect(checkedAddress(bad)).toBe(bad === 'jane@acme.example ' ? 'jane@acme.example' : null);
      if (bad.endsWith(' ')) continue;
      await expect(sink.deliver(message({ destination: `email:${bad}` }))).rejects.toBeInstanceOf(PermanentDeliveryError);
    }
    await expect(sink.deliver(message({ payload: { not: 'a reply' } }))).rejects.toBeInstanceOf(PermanentDeliveryError);
  });

  it('strips line breaks from a stored title before it becomes the Subject header', async () => {
    const before = received.length;
    await sinkFor(h, smtp).deliver(message({ payload: reply('Hello\r\nBcc: victim@example.com\r\n\r\nbody'), destination: 'email:ops@acme.example' }));
    const got = since(before)[0]!;
    expect(got.envelope.to).toEqual(['ops@acme.example']);
    expect(got.mail.subject).toBe('Hello Bcc: victim@example.com body');
    expect(got.mail.bcc).toBeUndefined();
    expect(got.mail.headers.has('bcc')).toBe(false);
    // A notice without a request has a Message-ID but no thread headers.
    expect(got.mail.messageId).toMatch(/^<notice\.\d+\.0@desk\.example>$/);
    expect(got.mail.inReplyTo).toBeUndefined();
    expect(got.mail.references).toBeUndefined();
  });

  it('never reads secrets: mailing works on a store whose secrets cannot be touched', async () => {
    const guarded = new Proxy(h.store, {
      get(target, key, receiver) {
        if (key === 'secrets') throw new Error('the mail sink read the secrets repository');
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const { ref } = await scheduledRequest(h);
    expect(await h.as(BOB).text(`/upgrade password ${ref} Tr0ub4dor&3`)).not.toContain('Tr0ub4dor&3');
    const before = received.length;
    await drain(h, sinkFor(h, smtp, undefined, guarded));
    const mails = since(before);
    expect(mails.length).toBeGreaterThan(0);
    for (const m of mails) expect(m.raw.toString('utf8')).not.toContain('Tr0ub4dor');
  });

  it('gives up on SMTP 550 (unknown user) and retries on 4xx and when the server is down', async () => {
    const sink = sinkFor(h, smtp);
    const unknown = sink.deliver(message({ destination: 'email:unknown@acme.example' }));
    await expect(unknown).rejects.toBeInstanceOf(PermanentDeliveryError);
    await expect(unknown).rejects.toThrow(/550/);
    await expect(sink.deliver(message({ destination: 'email:busy@acme.example' }))).rejects.toBeInstanceOf(RetryableDeliveryError);

    const down = createMailer({ smtpUrl: `smtp://127.0.0.1:${await closedPort()}`, timeouts: { connectionMs: 2000, greetingMs: 2000, socketMs: 2000 } });
    try {
      await expect(sinkFor(h, down).deliver(message())).rejects.toBeInstanceOf(RetryableDeliveryError);
    } finally {
      await down.close();
    }
  });

  it('classifies failures: 4xx, connection problems and setup problems retried; 5xx and bad envelopes given up', () => {
    const err = (fields: Record<string, unknown>) => Object.assign(new Error('x'), fields);
    expect(classifyMailError(err({ code: 'EENVELOPE', responseCode: 550 }))).toBeInstanceOf(PermanentDeliveryError);
    expect(classifyMailError(err({ code: 'EMESSAGE', responseCode: 552 }))).toBeInstanceOf(PermanentDeliveryError);
    expect(classifyMailError(err({ code: 'EENVELOPE' }))).toBeInstanceOf(PermanentDeliveryError);
    expect(classifyMailError(err({ code: 'EENVELOPE', responseCode: 452 }))).toBeInstanceOf(RetryableDeliveryError);
    expect(classifyMailError(err({ code: 'EAUTH', responseCode: 535 }))).toBeInstanceOf(RetryableDeliveryError);
    for (const code of ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED']) {
      expect(classifyMailError(err({ code }))).toBeInstanceOf(RetryableDeliveryError);
    }
    expect(classifyMailError(new Error('something odd'))).toBeInstanceOf(RetryableDeliveryError);
  });
});

describe('the mail sink on the spool', () => {
  it('writes one .eml per message that mailparser reads back, and a re-delivery replaces it', async () => {
    const h = await harness();
    const spoolDir = path.join(dir, 'data', 'outbox');
    const spool = createMailer({ spoolDir });
    expect(spool.describe).toBe(`spool ${spoolDir}`);
    const echo = new Lines();
    const sink = sinkFor(h, spool, echo);
    const { ref, id } = await scheduledRequest(h);
    await drain(h, sink);

    const files = readdirSync(spoolDir);
    expect(files.length).toBeGreaterThanOrEqual(4);
    expect(files.every((f) => /^\d{8}T\d{6}-[A-Za-z0-9._@+-]+\.eml$/.test(f))).toBe(true);
    expect(statSync(spoolDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(spoolDir, files[0]!)).mode & 0o777).toBe(0o600);

    const scheduled = (await h.store.outbox.forRequest(id)).find((m) => m.kind === 'scheduled' && m.destination.startsWith('person:'))!;
    expect(scheduled.status).toBe('sent');
    const file = files.find((f) => f.includes(`upg-${ref.slice(4)}.${scheduled.id}.0@desk.example`))!;
    expect(file.startsWith('20261121T120000-')).toBe(true);
    const raw = readFileSync(path.join(spoolDir, file));
    expect(raw.includes('\r\n')).toBe(false);
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toMatch(new RegExp(`^\\[${ref}\\] scheduled: `));
    expect(addressesOf(parsed.to)).toEqual([BOB]);
    expect(parsed.messageId).toBe(scheduled.externalId);
    expect(parsed.inReplyTo).toBe(threadRoot(id, DOMAIN));
    expect(parsed.text).toContain(`reference ${ref}`);
    const ics = parsed.attachments.find((a) => a.contentType === 'application/ics')!.content.toString('utf8');
    expect(icsValue(ics, 'METHOD')).toBe('REQUEST');
    expect(icsValue(ics, 'DTSTART')).toBe('20261206T060000Z');
    expect(echo.lines.some((l) => l.startsWith(`── to ${scheduled.destination} · scheduled · ${ref} · ${BOB} + invite (REQUEST), spooled to `) && l.endsWith(file))).toBe(true);

    // At least once: the same message delivered again overwrites its file.
    const again = await sink.deliver({ ...scheduled, externalId: null, status: 'pending' });
    expect(again.externalId).toBe(scheduled.externalId);
    expect(readdirSync(spoolDir).sort()).toEqual([...files].sort());
    expect(readdirSync(spoolDir).some((f) => f.endsWith('.tmp'))).toBe(false);
    await spool.close();
  });
});
