import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import type { BlockAction, ButtonAction, SlashCommand } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { ErrorCode, WebClient } from '@slack/web-api';
import { FakeSlack } from '../fakes/fake-slack.js';
import { blockActionsPayload, interactionBody, postSigned, slashCommandBody, slashCommandPayload, viewSubmissionPayload } from '../fakes/slack-signing.js';

const BOT_TOKEN = 'xoxb-test';
const SIGNING_SECRET = 'signing-secret-for-tests';

/** A WebClient as the bot would build it, pointed at the fake, failing fast instead of retrying. */
const webClient = (fake: FakeSlack, token = BOT_TOKEN): WebClient =>
  new WebClient(token, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logLevel: LogLevel.ERROR });

describe('FakeSlack with the real WebClient', () => {
  let fake: FakeSlack;

  beforeEach(async () => {
    fake = await FakeSlack.start({ knownChannels: ['C0TEST', 'C0OTHER'] });
  });

  afterEach(async () => {
    await fake.close();
  });

  it('posts a message and edits it in place, and the model shows the edit', async () => {
    const client = webClient(fake);
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*queued*' } }];
    const posted = await client.chat.postMessage({ channel: 'C0TEST', text: 'queued', blocks });
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(posted.channel).toBe('C0TEST');

    const edited = [{ type: 'section', text: { type: 'mrkdwn', text: '*running*' } }];
    await client.chat.update({ channel: 'C0TEST', ts: posted.ts as string, text: 'running', blocks: edited });

    expect(fake.messages('C0TEST')).toEqual([{ ts: posted.ts, text: 'running', blocks: edited, updates: 1 }]);
    expect(fake.callsTo('chat.postMessage')[0]).toMatchObject({ token: BOT_TOKEN, body: { channel: 'C0TEST', text: 'queued', blocks } });
  });

  it('gives every post a unique, increasing ts', async () => {
    const client = webClient(fake);
    const tss: string[] = [];
    for (let i = 0; i < 5; i++) tss.push((await client.chat.postMessage({ channel: 'C0TEST', text: `n${i}` })).ts as string);
    expect(new Set(tss).size).toBe(5);
    expect([...tss].sort((a, b) => Number(a) - Number(b))).toEqual(tss);
  });

  it('answers a post to a user id as the DM channel D plus the rest of the id', async () => {
    const posted = await webClient(fake).chat.postMessage({ channel: 'U0ALICE', text: 'your upgrade is scheduled' });
    expect(posted.channel).toBe('D0ALICE');
    expect(fake.messages('D0ALICE').map((m) => m.text)).toEqual(['your upgrade is scheduled']);
  });

  it('raises the rate-limited error carrying retryAfter when a 429 is injected, then serves normally', async () => {
    const client = webClient(fake);
    fake.failNext('chat.postMessage', 1, { status: 429, retryAfterSeconds: 7 });
    await expect(client.chat.postMessage({ channel: 'C0TEST', text: 'x' })).rejects.toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
    await expect(client.chat.postMessage({ channel: 'C0TEST', text: 'x' })).resolves.toMatchObject({ ok: true });
    expect(fake.faultsServed).toBe(1);
    expect(fake.callsTo('chat.postMessage').map((c) => c.fault)).toEqual([{ status: 429, retryAfterSeconds: 7 }, undefined]);
    expect(fake.messages('C0TEST')).toHaveLength(1);
  });

  it('raises an HTTP error for an injected 500 and a platform error for an injected ok:false', async () => {
    const client = webClient(fake);
    fake.failNext('chat.update', 1, { status: 500 });
    fake.failNext('chat.update', 1, { error: 'edit_window_closed' });
    const { ts } = await client.chat.postMessage({ channel: 'C0TEST', text: 'x' });
    await expect(client.chat.update({ channel: 'C0TEST', ts: ts as string, text: 'y' })).rejects.toMatchObject({ code: ErrorCode.HTTPError, statusCode: 500 });
    await expect(client.chat.update({ channel: 'C0TEST', ts: ts as string, text: 'y' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { ok: false, error: 'edit_window_closed' },
    });
    expect(fake.faultsServed).toBe(2);
    expect(fake.messages('C0TEST')[0]).toMatchObject({ text: 'x', updates: 0 });
  });

  it('answers channel_not_found for an unknown channel and message_not_found for a ts never posted', async () => {
    const client = webClient(fake);
    await expect(client.chat.postMessage({ channel: 'C0NOWHERE', text: 'x' })).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
    await expect(client.chat.update({ channel: 'C0TEST', ts: '1.000001', text: 'x' })).rejects.toMatchObject({ data: { error: 'message_not_found' } });
    expect(fake.messages('C0NOWHERE')).toEqual([]);
  });

  it('enforces the per-channel rate limit with Retry-After in whole seconds, per channel', async () => {
    const limited = await FakeSlack.start({ rateLimitPerChannelMs: 1500 });
    try {
      const client = webClient(limited);
      await client.chat.postMessage({ channel: 'C0TEST', text: 'first' });
      await expect(client.chat.postMessage({ channel: 'C0TEST', text: 'too soon' })).rejects.toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 2 });
      await expect(client.chat.postMessage({ channel: 'C0OTHER', text: 'other channel' })).resolves.toMatchObject({ ok: true });
      expect(limited.rateLimited).toBe(1);
      expect(limited.messages('C0TEST').map((m) => m.text)).toEqual(['first']);
    } finally {
      await limited.close();
    }
  });

  it('refuses an app-level token for chat methods, a bot token for apps.connections.open, and unknown methods', async () => {
    await expect(webClient(fake, 'xapp-1-test').chat.postMessage({ channel: 'C0TEST', text: 'x' })).rejects.toMatchObject({
      data: { error: 'not_allowed_token_type' },
    });
    await expect(webClient(fake).apps.connections.open({})).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    await expect(webClient(fake).apiCall('emoji.list')).rejects.toMatchObject({ data: { error: 'unknown_method' } });
  });

  it('opens views and DMs with ids in Slack shape, and records ephemerals', async () => {
    const client = webClient(fake);
    const opened = await client.views.open({ trigger_id: 't1', view: { type: 'modal', callback_id: 'upgrade_modal', title: { type: 'plain_text', text: 'Upgrade' }, blocks: [] } });
    expect(opened.view).toMatchObject({ id: expect.stringMatching(/^V/), callback_id: 'upgrade_modal', type: 'modal' });
    const dm = await client.conversations.open({ users: 'U0BOB' });
    expect(dm.channel?.id).toBe('D0BOB');
    const eph = await client.chat.postEphemeral({ channel: 'C0TEST', user: 'U0BOB', text: 'only you' });
    expect(fake.ephemerals).toEqual([expect.objectContaining({ channel: 'C0TEST', user: 'U0BOB', text: 'only you', messageTs: eph.message_ts })]);
  });

  it('answers a response URL with 200 ok, or with the fault injected for respond', async () => {
    const post = (id: string): Promise<Response> =>
      fetch(fake.responseUrl(id), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: id }) });
    fake.failNext('respond', 1, { status: 500 });
    expect((await post('first')).status).toBe(500);
    expect((await post('second')).status).toBe(200);
    expect(fake.responses).toEqual([expect.objectContaining({ id: 'first', body: { text: 'first' } }), expect.objectContaining({ id: 'second', body: { text: 'second' } })]);
  });

  it('says what it saw when waitFor gives up', async () => {
    await webClient(fake).chat.postMessage({ channel: 'C0TEST', text: 'x' });
    await expect(fake.waitFor(() => false, 50)).rejects.toThrow(/within 50 ms.*chat\.postMessage/);
  });
});

describe('FakeSlack with the real SocketModeClient', () => {
  let fake: FakeSlack;

  beforeEach(async () => {
    fake = await FakeSlack.start();
  });

  afterEach(async () => {
    await fake.close();
  });

  it('connects, stays connected through its pings, and hands back the ack of a slash command envelope', async () => {
    // A short ping timeout makes the client ping every 100 ms and give up after ~4 unanswered pings.
    const client = new SocketModeClient({
      appToken: 'xapp-1-test',
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
      clientPingTimeout: 300,
      logLevel: LogLevel.ERROR,
    });
    const received: unknown[] = [];
    client.on('slash_commands', async ({ ack, body }: { ack: (response?: object) => Promise<void>; body: unknown }) => {
      received.push(body);
      await ack({ text: 'on it' });
    });
    try {
      await client.start();
      await fake.socketConnected();
      expect(fake.callsTo('apps.connections.open')[0]?.token).toBe('xapp-1-test');

      const command = { command: '/upgrade', text: 'status', user_id: 'U0TEST', channel_id: 'C0TEST' };
      const ack = await fake.sendEnvelope('slash_commands', command);
      expect(ack).toEqual({ envelope_id: expect.any(String), payload: { text: 'on it' } });
      expect(received).toEqual([command]);

      await fake.waitFor(() => fake.socketPings >= 8, 3000);
      expect(fake.callsTo('apps.connections.open')).toHaveLength(1);
      expect(fake.socketClients).toBe(1);
    } finally {
      await client.disconnect();
    }
  });

  it('rejects sendEnvelope when no client is connected', async () => {
    await expect(fake.sendEnvelope('interactive', {})).rejects.toThrow(/no Socket Mode client/);
  });
});

describe('Bolt over HTTP, reached with signed requests', () => {
  let fake: FakeSlack;
  let app: App;
  let url: string;
  const commands: Array<{ command: SlashCommand; retryNum?: number; retryReason?: string }> = [];
  const clicks: Array<{ actionId: string; value?: string }> = [];
  const submissions: Array<{ metadata: string; values: unknown }> = [];

  beforeAll(async () => {
    fake = await FakeSlack.start({ botUserId: 'U0BOLT' });
    app = new App({
      signingSecret: SIGNING_SECRET,
      token: BOT_TOKEN,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
      logLevel: LogLevel.ERROR,
    });
    app.command('/upgrade', async ({ command, ack, respond, client, context }) => {
      await ack({ response_type: 'ephemeral', text: `received ${command.text}` });
      commands.push({ command, retryNum: context.retryNum, retryReason: context.retryReason });
      await respond({ text: 'working on it' });
      await client.chat.postMessage({ channel: command.channel_id, text: `upgrade ${command.text}` });
    });
    app.action<BlockAction<ButtonAction>>(/^approve:/, async ({ ack, action }) => {
      clicks.push({ actionId: action.action_id, value: action.value });
      await ack();
    });
    app.view('upgrade_modal', async ({ ack, view }) => {
      submissions.push({ metadata: view.private_metadata, values: view.state.values });
      await ack();
    });
    const server = await app.start({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  });

  afterAll(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('routes a signed slash command to app.command, and its respond() and client calls reach the fake', async () => {
    const body = slashCommandBody({ text: 'SN-1001', response_url: fake.responseUrl('cmd-1') });
    const res = await postSigned(url, SIGNING_SECRET, body, { retryNum: 1, retryReason: 'http_timeout' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response_type: 'ephemeral', text: 'received SN-1001' });

    const response = await fake.waitFor(() => fake.responses.find((r) => r.id === 'cmd-1'));
    expect(response.body).toEqual({ text: 'working on it' });
    const post = await fake.waitFor(() => fake.callsTo('chat.postMessage')[0]);
    expect(post).toMatchObject({ token: BOT_TOKEN, body: { channel: 'C0TEST', text: 'upgrade SN-1001' } });
    expect(commands.at(-1)).toMatchObject({ command: { command: '/upgrade', user_id: 'U0TEST' }, retryNum: 1, retryReason: 'http_timeout' });
    expect(fake.callsTo('auth.test')[0]?.token).toBe(BOT_TOKEN);
  });

  it('routes a block_actions payload to app.action by action_id', async () => {
    const payload = blockActionsPayload({ actionId: 'approve:REQ-7', value: 'REQ-7', responseUrl: fake.responseUrl() });
    const res = await postSigned(url, SIGNING_SECRET, interactionBody(payload));
    expect(res.status).toBe(200);
    expect(clicks).toEqual([{ actionId: 'approve:REQ-7', value: 'REQ-7' }]);
  });

  it('routes a view_submission payload to app.view by callback_id', async () => {
    const values = { window: { pick: { type: 'plain_text_input', value: 'tonight' } } };
    const payload = viewSubmissionPayload({ callbackId: 'upgrade_modal', privateMetadata: '{"request":7}', values });
    const res = await postSigned(url, SIGNING_SECRET, interactionBody(payload));
    expect(res.status).toBe(200);
    expect(submissions).toEqual([{ metadata: '{"request":7}', values }]);
  });

  it('answers 401 to a bad signature and to a timestamp older than five minutes, without running the handler', async () => {
    const before = commands.length;
    const badSignature = await postSigned(url, SIGNING_SECRET, slashCommandBody(), { badSignature: true });
    const stale = await postSigned(url, SIGNING_SECRET, slashCommandBody(), { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect([badSignature.status, stale.status]).toEqual([401, 401]);
    expect(commands).toHaveLength(before);
  });

  it('answers 400 when the content type carries a charset suffix', async () => {
    const res = await postSigned(url, SIGNING_SECRET, slashCommandBody(), { contentType: 'application/x-www-form-urlencoded; charset=utf-8' });
    expect(res.status).toBe(400);
  });
});

describe('Bolt in Socket Mode, reached through envelopes', () => {
  let fake: FakeSlack;
  let app: App | undefined;

  beforeEach(async () => {
    fake = await FakeSlack.start();
  });

  afterEach(async () => {
    await app?.stop();
    app = undefined;
    await fake.close();
  });

  it('connects through installerOptions.clientOptions (Bolt does not give clientOptions to Socket Mode) and acks commands and clicks', async () => {
    const slackApi = { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } };
    // Bolt hands the Socket Mode client installerOptions.clientOptions, not clientOptions.
    app = new App({ socketMode: true, appToken: 'xapp-1-test', token: BOT_TOKEN, clientOptions: slackApi, installerOptions: { clientOptions: slackApi }, logLevel: LogLevel.ERROR });
    app.command('/upgrade', async ({ command, ack }) => {
      await ack({ text: `queued ${command.text}` });
    });
    app.action('approve', async ({ ack }) => {
      await ack();
    });
    await app.start();
    await fake.socketConnected();

    const commandAck = await fake.sendEnvelope('slash_commands', slashCommandPayload({ text: 'SN-1001' }));
    expect(commandAck.payload).toEqual({ text: 'queued SN-1001' });
    const clickAck = await fake.sendEnvelope('interactive', blockActionsPayload({ actionId: 'approve', value: 'REQ-7' }));
    expect(clickAck.payload).toEqual({});
    expect(fake.callsTo('apps.connections.open').map((c) => c.token)).toEqual(['xapp-1-test']);
  });
});
