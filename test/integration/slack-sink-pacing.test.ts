/**
 * The Slack sink's per-channel pace against the fake Slack Web API enforcing it (a second message,
 * post or edit, to a conversation sooner than the interval after the previous one arrived is
 * answered 429), through the real WebClient configured as the bot configures its sink client.
 * Between the two, a relay on 127.0.0.1 can hold a call back on its way in: the network being
 * slower for one message than for the next.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { reply, text } from '../../src/core/reply.js';
import { SlackSink } from '../../src/adapters/slack/slack-sink.js';
import { FakeSlack } from '../fakes/fake-slack.js';
import { MemoryLogger } from '../fakes/memory-logger.js';
import { storedMessage } from '../fakes/outbox-message.js';

/** The fake's window and the sink's interval (short, so the test is quick; the rule is the same as at 1 s). */
const INTERVAL_MS = 300;

let fake: FakeSlack;
let relay: Server;
/** Delays (ms) for the next calls through the relay, in order; calls beyond them go straight on. */
const holdBack: number[] = [];

beforeAll(async () => {
  fake = await FakeSlack.start({ rateLimitPerChannelMs: INTERVAL_MS });
  const target = new URL(fake.apiUrl);
  relay = createServer((req: IncomingMessage, res: ServerResponse) => {
    const delay = holdBack.shift() ?? 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      setTimeout(() => {
        const out = httpRequest(
          { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        out.on('error', () => res.destroy());
        out.end(Buffer.concat(chunks));
      }, delay);
    });
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
});

afterEach(() => {
  holdBack.length = 0;
  fake.reset();
});

afterAll(async () => {
  await new Promise((resolve) => relay.close(resolve));
  await fake.close();
});

function sink(): SlackSink {
  const port = (relay.address() as AddressInfo).port;
  const client = new WebClient('xoxb-test', {
    slackApiUrl: `http://127.0.0.1:${port}/api/`,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 15_000,
  });
  return new SlackSink({ client, log: new MemoryLogger(), minIntervalMs: INTERVAL_MS });
}

const notice = (destination: string, title: string, externalId: string | null = null) =>
  storedMessage({ destination, externalId, kind: 'progress', payload: { ...reply(title, text('…')), visibility: 'channel' } });

describe('the Slack sink pacing a channel', () => {
  it('sends the next message a full interval after Slack answered the previous one, so a slow first message brings no 429', async () => {
    const slack = sink();
    // The first post takes most of the interval on its way in; the next ones go straight through.
    holdBack.push(Math.round(INTERVAL_MS * 0.7));
    const first = await slack.deliver(notice('slack:C0ACME', 'one'));
    await slack.deliver(notice('slack:C0ACME', 'two'));
    await slack.deliver(notice('slack:C0ACME', 'one, edited', first.externalId));
    expect(fake.rateLimited).toBe(0);
    expect(fake.callsTo('chat.postMessage').filter((c) => !c.fault)).toHaveLength(2);
    expect(fake.callsTo('chat.update').filter((c) => !c.fault)).toHaveLength(1);
  });

  it('paces posts to a member id and edits in the direct-message channel Slack opened for it as one conversation', async () => {
    const slack = sink();
    const posted = await slack.deliver(notice('slack:U0JANE', 'consent needed'));
    expect(posted.externalId).toMatch(/^D0JANE\//);
    await slack.deliver(notice('slack:U0JANE', 'consent needed, decided', posted.externalId));
    await slack.deliver(notice('slack:U0JANE', 'approved'));
    expect(fake.rateLimited).toBe(0);
    expect(fake.messages('U0JANE').map((m) => m.updates)).toEqual([1, 0]);
  });

  it('holds the channel back for as long as a 429 says, then delivers', async () => {
    const slack = sink();
    await slack.deliver(notice('slack:C0OPS', 'one'));
    fake.failNext('chat.postMessage', 1, { status: 429, retryAfterSeconds: 1 });
    await expect(slack.deliver(notice('slack:C0OPS', 'two'))).rejects.toMatchObject({ name: 'RetryableDeliveryError', retryAfterMs: 1000 });
    await slack.deliver(notice('slack:C0OPS', 'two'));
    expect(fake.rateLimited).toBe(0);
    expect(fake.messages('C0OPS')).toHaveLength(2);
  });
});
