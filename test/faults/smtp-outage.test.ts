/**
 * Fault: the outbound SMTP server is down, then up. The running bot mails its notices through a
 * real SMTP server on 127.0.0.1 (smtp-server) that is first not there at all (connection refused),
 * then there but refusing every session (421, as a server does while it starts or sheds load),
 * then back; later it is stopped and started again on the same port. Every e-mail notice the
 * outbox stored arrives exactly once (by Message-ID), each destination's mail in the order the
 * notices were stored, and none is given up.
 *
 * A server stopped in the middle of a session, after it accepted a message but before the bot
 * read its "250 OK", makes the bot send that message again: SMTP is at least once, and this test
 * stops the server only when no session is open so that every duplicate it could see is a bug.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import { loadConfig } from '../../src/config.js';
import { dispatch } from '../../src/core/dispatch.js';
import { toPlainText } from '../../src/core/reply.js';
import { startBot } from '../../src/main.js';
import type { RunningBot } from '../../src/main.js';
import { SimulateExecutor } from '../../src/infra/executors/simulate-executor.js';
import { startSimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import type { SimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import { HttpStatusChecker } from '../../src/infra/status-check.js';
import type { OutboxMessage } from '../../src/ports.js';
import { freePort } from '../fakes/free-port.js';

const TERMINAL = ['completed', 'completed_with_issues', 'failed', 'aborted'];
const EDGE_01 = 'device=edge-01 version=7.1.0 mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001';
const EDGE_02 = 'device=edge-02 version=7.3.0 mac=00:1A:2B:3C:4D:5F ip=203.0.113.11 serial=SN-1002';

interface Mail {
  messageId: string;
  to: string[];
  subject: string;
}

/** An SMTP server on a fixed port of 127.0.0.1 that can be stopped and started again, or made to refuse sessions. */
class SmtpOnPort {
  readonly received: Mail[] = [];
  /** Sessions refused with 421 while `refusing`. */
  refused = 0;
  /** Sessions open right now. */
  open = 0;
  private server: SMTPServer | null = null;

  constructor(readonly port: number) {}

  /** Listens on the port; `refusing` answers every new session 421. */
  async start(refusing = false): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onConnect: (_session, callback) => {
        if (!refusing) {
          this.open += 1;
          return callback();
        }
        this.refused += 1;
        const error = new Error('Service not available, try again later') as Error & { responseCode: number };
        error.responseCode = 421;
        return callback(error);
      },
      onClose: () => {
        if (!refusing) this.open -= 1;
      },
      onData: (stream, session, callback) => {
        simpleParser(stream).then(
          (mail) => {
            this.received.push({ messageId: mail.messageId ?? '', to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), subject: mail.subject ?? '' });
            callback();
          },
          (e: Error) => callback(e),
        );
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    this.server = server;
  }

  /** Stops listening once no session is open (at most `timeoutMs`), so no accepted message loses its answer. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const deadline = Date.now() + timeoutMs;
    while (this.open > 0 && Date.now() < deadline) await sleep(20);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) break;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

let smtp: SmtpOnPort;
let bot: RunningBot;
let device: SimulatedDevice;
let dir: string;
let seq = 0;

async function run(email: string, text: string): Promise<string> {
  return toPlainText(await dispatch(bot.app.registry, bot.app.deps, { id: `smtp-${++seq}`, via: 'console', identity: { kind: 'email', address: email }, text }));
}

/** The e-mail rows of the outbox (email:… and person:…), oldest first. */
async function mailRows(): Promise<OutboxMessage[]> {
  const rows: OutboxMessage[] = [];
  for (const request of await bot.app.deps.store.requests.list({ limit: 100 })) rows.push(...(await bot.app.deps.store.outbox.forRequest(request.id)));
  return rows.filter((r) => r.destination.startsWith('email:') || r.destination.startsWith('person:')).sort((a, b) => a.id - b.id);
}

/** Waits until no e-mail row is pending, and returns them. */
function settled(timeoutMs: number): Promise<OutboxMessage[]> {
  return waitFor('every e-mail notice to be delivered', async () => {
    const rows = await mailRows();
    return rows.length > 0 && rows.every((r) => r.status !== 'pending') ? rows : null;
  }, timeoutMs);
}

/**
 * Every row was delivered (none given up), each mailed row arrived exactly once, nothing else
 * arrived, and each destination's mail arrived in row order.
 */
async function expectEachMailedOnce(rows: OutboxMessage[]): Promise<void> {
  expect(rows.filter((r) => r.status !== 'sent').map((r) => `${r.dedupeKey}: ${r.status} ${r.lastError}`)).toEqual([]);
  // A mailed row keeps the Message-ID it was sent with; a row not mailed (an edit, a decided consent card) has none.
  const mailed = rows.filter((r) => r.externalId !== null);
  expect(mailed.length).toBeGreaterThan(0);
  const counts = new Map<string, number>();
  for (const mail of smtp.received) counts.set(mail.messageId, (counts.get(mail.messageId) ?? 0) + 1);
  expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(mailed.map((r) => [r.externalId!, 1])));
  // Order is kept per destination (the outbox's queue): `person:2` and `email:bob@…` are two queues
  // even though both reach Bob's mailbox, where the mails' Date headers (the notices' times) order them.
  const arrival = new Map(smtp.received.map((m, i) => [m.messageId, i]));
  for (const destination of new Set(mailed.map((r) => r.destination))) {
    const ids = mailed.filter((r) => r.destination === destination).map((r) => r.externalId!);
    const arrived = [...ids].sort((a, b) => arrival.get(a)! - arrival.get(b)!);
    expect({ destination, arrived }).toEqual({ destination, arrived: ids });
  }
}

beforeAll(async () => {
  smtp = new SmtpOnPort(await freePort());
  dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-smtp-outage-'));
  device = await startSimulatedDevice({ version: '5.2.0' });
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: '0',
    SMTP_INTAKE_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    EXECUTOR: 'simulate',
    SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    MAIL_FROM: 'Upgrade Desk <upgrades@desk.example>',
  });
  bot = await startBot(config, {
    output: new Writable({ write: (_c, _e, cb) => cb() }),
    executor: new SimulateExecutor({ stepMs: 60, onFinish: (_d, version) => device.setVersion(version) }),
    statusChecker: new HttpStatusChecker({ timeoutMs: 2000, retries: 1, backoffMs: 100 }),
    queueOptions: { lockLifetimeMs: 3000 },
    outboxPollMs: 50,
  });
  await bot.app.dataSource.query(`UPDATE devices SET "statusUrl" = ? WHERE name IN ('edge-01', 'edge-02')`, [device.statusUrl]);
}, 40_000);

afterAll(async () => {
  await bot?.stop();
  await smtp?.stop();
  await device?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the outbound SMTP server down, then up', () => {
  it('mails every notice exactly once, in order per destination, after connections were refused and then sessions answered 421', async () => {
    // Nothing listens on the SMTP port while a request is filed, approved and run.
    const ref = /UPG-\d{6}/.exec(await run('bob@acme.example', `/upgrade request ${EDGE_01} when=now notify_customer`))![0];
    expect(await run('jane@acme.example', `/upgrade approve ${ref}`)).toMatch(/approved/);
    await waitFor('the first mail to be refused', async () => (await mailRows()).some((r) => r.attempts > 0 && r.lastError !== null), 15_000);
    expect((await mailRows()).find((r) => r.lastError !== null)?.lastError).toMatch(/ECONNREFUSED|unreachable/);
    await sleep(2000);
    // The server is there but sheds every session for a while…
    await smtp.start(true);
    await waitFor('a session to be refused with 421', async () => smtp.refused > 0, 15_000);
    await sleep(2000);
    // …then accepts mail again.
    await smtp.stop();
    await smtp.start(false);
    await waitFor('the run to finish', async () => TERMINAL.includes((await bot.app.deps.store.requests.byRef(ref))?.status ?? ''), 60_000);
    const rows = await settled(60_000);
    expect(rows.some((r) => r.attempts > 1)).toBe(true);
    expect(rows.some((r) => /421/.test(r.lastError ?? '') || r.attempts > 2)).toBe(true);
    await expectEachMailedOnce(rows);
    // The mails that matter all came: scheduled, the downtime notices, the feedback.
    const kinds = new Set(rows.filter((r) => r.externalId !== null).map((r) => r.kind));
    for (const kind of ['approved', 'scheduled', 'downtime', 'completed']) expect(kinds).toContain(kind);
  }, 120_000);

  it('mails what was stored while the server was stopped once it is started again on the same port', async () => {
    const before = (await mailRows()).length;
    await smtp.stop();
    const ref = /UPG-\d{6}/.exec(await run('jane@acme.example', `/upgrade request ${EDGE_02} when=window notify_customer`))![0];
    expect(await run('jane@acme.example', `/upgrade approve ${ref}`)).toMatch(/approved/);
    expect(await run('jane@acme.example', `/upgrade cancel ${ref} plans changed`)).toMatch(/cancelled/);
    await waitFor('a mail to fail while the server is stopped', async () => (await mailRows()).slice(before).some((r) => r.attempts > 0), 15_000);
    await smtp.start(false);
    const rows = await settled(60_000);
    expect(rows.length).toBeGreaterThan(before);
    await expectEachMailedOnce(rows);
    // The cancellation followed the invitation, for everyone who was invited.
    const fresh = rows.slice(before).filter((r) => r.externalId !== null);
    for (const to of new Set(fresh.map((r) => r.destination))) {
      const kinds = fresh.filter((r) => r.destination === to).map((r) => r.kind);
      if (kinds.includes('scheduled') && kinds.includes('cancelled')) expect(kinds.indexOf('scheduled')).toBeLessThan(kinds.indexOf('cancelled'));
    }
  }, 90_000);
});
