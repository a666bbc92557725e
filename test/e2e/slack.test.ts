/**
 * The running bot driven through Slack as a user would: requests signed like Slack's to
 * `/slack/events`, a fake Slack Web API on 127.0.0.1 that records every call (and answers 429 or
 * 500 on demand), and Socket Mode against a local WebSocket server.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { ViewStateValue } from '@slack/bolt';
import { loadConfig } from '../../src/config.js';
import { startBot } from '../../src/main.js';
import type { RunningBot } from '../../src/main.js';
import { SimulateExecutor } from '../../src/infra/executors/simulate-executor.js';
import { startSimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import type { SimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import { HttpStatusChecker } from '../../src/infra/status-check.js';
import { FakeSlack } from '../fakes/fake-slack.js';
import type { FakeMessage } from '../fakes/fake-slack.js';
import {
  blockActionsPayload,
  interactionBody,
  nextTriggerId,
  postSigned,
  slashCommandBody,
  viewSubmissionPayload,
} from '../fakes/slack-signing.js';
import { startedPerBlock } from '../fakes/per-block.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const OPS = 'C0OPS';
const ACME = 'C0ACME';
const JANE = 'U0JANE';
const BOB = 'U0BOB';
const GRETA = 'U0GRETA';
const ALEX = 'U0ALEX';
const PAT = 'U0PAT';
const GOOD_HARDWARE = 'mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001';
const TERMINAL = ['completed', 'completed_with_issues', 'failed', 'aborted'];

const quiet = new Writable({ write: (_c, _e, cb) => cb() });

interface Harness {
  fake: FakeSlack;
  bot: RunningBot;
  device: SimulatedDevice;
  dir: string;
  events: string;
  close(): Promise<void>;
}

/** Starts a fake Slack and the bot on a fresh database with the demo records. */
async function startHarness(
  options: { socket?: boolean; rateLimitPerChannelMs?: number; minIntervalMs?: number; maxPendingCommands?: number } = {},
): Promise<Harness> {
  const fake = await FakeSlack.start({ rateLimitPerChannelMs: options.rateLimitPerChannelMs ?? null });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-slack-'));
  const device = await startSimulatedDevice({ version: '5.2.0' });
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: '0',
    SMTP_INTAKE_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    EXECUTOR: 'simulate',
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: fake.apiUrl,
    SLACK_OPS_CHANNEL: OPS,
    ...(options.socket ? { SLACK_APP_TOKEN: 'xapp-1-test' } : {}),
  });
  const bot = await startBot(config, {
    output: quiet,
    executor: new SimulateExecutor({ stepMs: 30, onFinish: (_d, version) => device.setVersion(version) }),
    statusChecker: new HttpStatusChecker({ timeoutMs: 2000, retries: 1, backoffMs: 100 }),
    queueOptions: { lockLifetimeMs: 3000 },
    outboxPollMs: 50,
    slackMinIntervalMs: options.minIntervalMs ?? 20,
    slackMaxPendingCommands: options.maxPendingCommands,
  });
  await bot.app.dataSource.query(`UPDATE devices SET "statusUrl" = ? WHERE name = 'edge-01'`, [device.statusUrl]);
  return {
    fake,
    bot,
    device,
    dir,
    events: `${bot.url}/slack/events`,
    async close() {
      await bot.stop();
      await fake.close();
      await device.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a harness before the tests of the enclosing block and closes it after them. */
function withHarness(use: (h: Harness) => void, options?: Parameters<typeof startHarness>[0]): void {
  startedPerBlock(() => startHarness(options), use, 30_000);
}

let responseSeq = 0;

/** Sends a signed slash command and waits for the answer posted to its response_url. */
async function slash(h: Harness, userId: string, text: string, command = '/upgrade', channel = 'C0TEST'): Promise<string> {
  const id = `r${++responseSeq}`;
  const res = await postSigned(
    h.events,
    SECRET,
    slashCommandBody({ user_id: userId, text, command, channel_id: channel, response_url: h.fake.responseUrl(id) }),
  );
  expect(res.status).toBe(200);
  const answer = await h.fake.waitFor(() => h.fake.responses.find((r) => r.id === id), 10_000);
  return JSON.stringify(answer.body);
}

/** Clicks a button of a posted message as `userId`; waits for the ephemeral answer. */
async function click(h: Harness, userId: string, channel: string, message: FakeMessage, label: string): Promise<string> {
  const button = buttonsOf(message).find((b) => b.text.text === label);
  if (!button) throw new Error(`no button "${label}" on the message: ${message.text}`);
  const id = `r${++responseSeq}`;
  const payload = blockActionsPayload({
    userId,
    channelId: channel,
    messageTs: message.ts,
    actionId: button.action_id,
    value: button.value,
    responseUrl: h.fake.responseUrl(id),
  });
  const res = await postSigned(h.events, SECRET, interactionBody(payload));
  expect(res.status).toBe(200);
  const answer = await h.fake.waitFor(() => h.fake.responses.find((r) => r.id === id), 10_000);
  return JSON.stringify(answer.body);
}

interface Button {
  action_id: string;
  value: string;
  text: { text: string };
}

function buttonsOf(message: { blocks: unknown[] }): Button[] {
  return (message.blocks as Array<{ type: string; elements?: Button[] }>)
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? []);
}

/** The status-page URL in a message's context line `<url|Status page for REF>`, or undefined. */
function statusLinkIn(message: { blocks: unknown[] }, ref: string): string | undefined {
  const texts = (message.blocks as Array<{ type: string; elements?: Array<{ text?: string }> }>)
    .filter((b) => b.type === 'context')
    .flatMap((b) => (b.elements ?? []).map((e) => e.text ?? ''));
  const pattern = new RegExp(`<(http://127\\.0\\.0\\.1:\\d+/requests/${ref}\\?key=[A-Za-z0-9_-]+)\\|Status page for ${ref}>`);
  return texts.map((t) => pattern.exec(t)?.[1]).find((url) => url !== undefined);
}

/** Everything the bot sent to Slack, as one string (to look for what must never be there). */
function everythingSent(h: Harness): string {
  return JSON.stringify([h.fake.calls.map((c) => c.body), h.fake.responses.map((r) => r.body)]);
}

function refIn(text: string): string {
  const ref = /UPG-\d{6}/.exec(text)?.[0];
  if (!ref) throw new Error(`no request reference in ${text.slice(0, 300)}`);
  return ref;
}

async function waitForStatus(h: Harness, ref: string, statuses: string[], timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const request = await h.bot.app.deps.store.requests.byRef(ref);
    if (request && statuses.includes(request.status)) return request.status;
    if (Date.now() > deadline) {
      const runs = request ? request.items.map((i) => i.run) : [];
      const events = await Promise.all(runs.map((r) => (r ? h.bot.app.deps.store.runs.events(r.id) : [])));
      const jobs = await h.bot.app.dataSource.query('SELECT id, name, next_run_at, locked_at, last_run_at, last_finished_at, fail_reason, data FROM agenda_jobs');
      throw new Error(`${ref} is ${request?.status}, expected ${statuses.join('|')}; now ${Date.now()} runs ${JSON.stringify(runs)} events ${JSON.stringify(events).slice(0, 1500)} jobs ${JSON.stringify(jobs)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The message in a channel whose text mentions `needle` (the latest one). */
function messageWith(h: Harness, channel: string, needle: string): FakeMessage | undefined {
  return [...h.fake.messages(channel)].reverse().find((m) => m.text.includes(needle));
}

describe('Slack over HTTP', () => {
  let h: Harness;
  withHarness((started) => (h = started));

  it('refuses requests with a bad signature or an old timestamp, and reads only the exact form content type', async () => {
    const body = slashCommandBody({ user_id: JANE, text: 'help' });
    expect((await postSigned(h.events, SECRET, body, { badSignature: true })).status).toBe(401);
    expect((await postSigned(h.events, SECRET, body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 })).status).toBe(401);
    expect((await postSigned(h.events, SECRET, body, { contentType: 'application/x-www-form-urlencoded; charset=utf-8' })).status).toBe(400);
    expect(h.fake.responses).toHaveLength(0);
  });

  it('answers /upgrade help privately through the response URL', async () => {
    const answer = await slash(h, JANE, 'help');
    expect(answer).toContain('"response_type":"ephemeral"');
    expect(answer).toContain('/upgrade request');
  });

  it('tells a Slack user who is not in the records to ask their representative, and creates nothing', async () => {
    const answer = await slash(h, 'U0NOBODY', `request device=edge-01 version=7.1.0 when=now ${GOOD_HARDWARE}`);
    expect(answer).toContain('unknown_requester');
    expect(answer).toContain('authorized representative');
    expect(await h.bot.app.deps.store.requests.list()).toHaveLength(0);
  });

  it('serves every /upgrade and /upgrade-admin subcommand', async () => {
    const filed = await slash(h, BOB, `request device=core-app version=7.3.0 when=window mac=00:1A:2B:3C:4D:61 ip=203.0.113.13 serial=SN-1004`);
    const ref = refIn(filed);
    const cases: Array<[string, string, string, RegExp]> = [
      [BOB, '/upgrade', `status ${ref}`, /awaiting consent/],
      [BOB, '/upgrade', 'status', new RegExp(ref)],
      [BOB, '/upgrade', 'list open', new RegExp(ref)],
      [BOB, '/upgrade', 'list all', new RegExp(ref)],
      [BOB, '/upgrade', 'releases SysMaster', /7\.3\.0/],
      [BOB, '/upgrade', 'windows', /maintenance|window/i],
      [BOB, '/upgrade', `problem ${ref} the fan is loud`, /problem/i],
      [BOB, '/upgrade', `password ${ref} S3cret-Pa55`, /password/i],
      [BOB, '/upgrade', `rate ${ref} 5`, /rat/i],
      [BOB, '/upgrade', `approve ${ref}`, /not_authorized/],
      [PAT, '/upgrade-admin', `assign ${ref} alex@upgradedesk.example`, /Alex|alex/],
      [ALEX, '/upgrade-admin', `run ${ref} next`, /no_active_run|not in progress|invalid/i],
      [ALEX, '/upgrade-admin', `password ${ref}`, /channel_not_private/],
      [JANE, '/upgrade', `decline ${ref} not this week`, /declined/],
      [JANE, '/upgrade', `cancel ${ref}`, /cancel/i],
      [JANE, '/upgrade', `bulk devices=edge-02,core-db version=8.0.0 when=window`, /UPG-\d{6}/],
      [PAT, '/upgrade-admin', 'maintenance add 2027-03-01T00:00Z 2027-03-01T04:00Z "Core switch swap"', /Core switch swap/],
      [PAT, '/upgrade-admin', 'maintenance list', /Core switch swap/],
      [PAT, '/upgrade-admin', 'maintenance remove 999', /999/],
      [BOB, '/upgrade-admin', 'maintenance list', /not_authorized/],
      [JANE, '/upgrade', 'frobnicate', /unknown_command/],
    ];
    for (const [user, command, text, expected] of cases) {
      const answer = await slash(h, user, text, command);
      expect({ text, answer }).toEqual({ text, answer: expect.stringMatching(expected) });
      expect(answer).not.toContain('internal_error');
    }
    // The password went into the bot; it never came back out through Slack.
    expect(everythingSent(h)).not.toContain('S3cret-Pa55');
  }, 60_000);

  it('opens the request modal, shows findings inline, and files the corrected request as if typed', async () => {
    const trigger = nextTriggerId();
    const res = await postSigned(
      h.events,
      SECRET,
      slashCommandBody({ user_id: JANE, text: 'request', trigger_id: trigger, channel_id: ACME, response_url: h.fake.responseUrl('modal') }),
    );
    expect(res.status).toBe(200);
    const opened = await h.fake.waitFor(() => h.fake.callsTo('views.open').find((c) => c.body.trigger_id === trigger));
    const view = opened.body.view as { callback_id: string; private_metadata: string; blocks: Array<{ block_id: string; element?: { options?: Array<{ value: string }>; option_groups?: Array<{ options: Array<{ value: string }> }> } }> };
    expect(view.callback_id).toBe('upgrade_request');
    const optionsOf = (block: string) => {
      const el = view.blocks.find((b) => b.block_id === block)?.element;
      return [...(el?.options ?? []), ...(el?.option_groups ?? []).flatMap((g) => g.options)].map((o) => o.value);
    };
    // Only Acme's devices are offered to Jane.
    expect(optionsOf('device')).toContain('SN-1001');
    expect(optionsOf('device')).not.toContain('SN-2001');
    const version = optionsOf('version').find((v) => v.endsWith('7.1.0'))!;
    const values = (mac: string): Record<string, Record<string, ViewStateValue>> => ({
      device: { device: { type: 'static_select', selected_option: { value: 'SN-1001', text: { type: 'plain_text', text: 'edge-01' } } } },
      version: { version: { type: 'static_select', selected_option: { value: version, text: { type: 'plain_text', text: '7.1.0' } } } },
      when: { when: { type: 'radio_buttons', selected_option: { value: 'now', text: { type: 'plain_text', text: 'Now' } } } },
      when_at: { when_at: { type: 'datetimepicker', selected_date_time: null } as unknown as ViewStateValue },
      mac: { mac: { type: 'plain_text_input', value: mac } },
      ip: { ip: { type: 'plain_text_input', value: '203.0.113.10' } },
      serial: { serial: { type: 'plain_text_input', value: 'SN-1001' } },
      options: { options: { type: 'checkboxes', selected_options: [] } },
      note: { note: { type: 'plain_text_input', value: 'Ping <!channel> and <@U0BOB>, see <http://evil.example|the docs> & more' } },
    });
    const before = (await h.bot.app.deps.store.requests.list({ limit: 500 })).length;
    const submit = async (mac: string) =>
      postSigned(
        h.events,
        SECRET,
        interactionBody(viewSubmissionPayload({ userId: JANE, callbackId: 'upgrade_request', privateMetadata: view.private_metadata, values: values(mac) })),
      );
    const wrong = await submit('00:1A:2B:3C:4D:FF');
    expect(wrong.status).toBe(200);
    const errors = (await wrong.json()) as { response_action: string; errors: Record<string, string> };
    expect(errors.response_action).toBe('errors');
    expect(Object.keys(errors.errors)).toEqual(['mac']);
    expect((await h.bot.app.deps.store.requests.list({ limit: 500 })).length).toBe(before);

    const right = await submit('00-1a-2b-3c-4d-5e');
    expect(right.status).toBe(200);
    expect(await right.text()).toBe('');
    const answer = await h.fake.waitFor(() => h.fake.responses.find((r) => r.id === 'modal'), 10_000);
    const ref = refIn(JSON.stringify(answer.body));
    expect(JSON.stringify(answer.body)).toContain('awaiting consent');
    const stored = await h.bot.app.deps.store.requests.byRef(ref);
    expect(stored).toMatchObject({ via: 'slack', status: 'awaiting_consent' });
    expect(stored?.note).toContain('<!channel>');

    // The consent card reaches Acme's channel with the buttons, and the note cannot ping anyone.
    const card = await h.fake.waitFor(() => messageWith(h, ACME, `Consent needed: ${ref}`), 10_000);
    expect(buttonsOf(card).map((b) => b.text.text)).toEqual(['Approve', 'Decline']);
    const sent = everythingSent(h);
    expect(sent).not.toMatch(/<!channel>|<@U0BOB>|<http:\/\/evil/);
    expect(sent).toContain('&lt;!channel&gt;');
  }, 30_000);
});

describe('Slack consent, run and notices', () => {
  let h: Harness;
  withHarness((started) => (h = started));

  it('takes a request from slash command to completion feedback, with consent checked per click', async () => {
    const filed = await slash(h, BOB, `request device=edge-01 version=7.1.0 when=now ${GOOD_HARDWARE}`);
    const ref = refIn(filed);
    const card = await h.fake.waitFor(() => messageWith(h, ACME, `Consent needed: ${ref}`), 10_000);
    // The card links to the request's status page, and the link opens it.
    const link = statusLinkIn(card, ref);
    expect(link).toBeDefined();
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`${ref} · Acme Corp`);
    // The ops channel hears about it too.
    await h.fake.waitFor(() => messageWith(h, OPS, ref), 10_000);
    // The agent needs the manager password [003]; it goes in through Slack and never comes out.
    expect(await slash(h, BOB, `password ${ref} Tr0ub4dor&3`)).not.toContain('Tr0ub4dor');

    // Bob may file but not consent; Greta represents another customer.
    for (const outsider of [BOB, GRETA]) {
      const refused = await click(h, outsider, ACME, card, 'Approve');
      expect(refused).toMatch(/not_authorized|unknown_request/);
      expect(refused).toContain('"response_type":"ephemeral"');
    }
    const refusals = await h.bot.app.deps.store.audit.list({ action: 'refused' });
    expect(refusals.map((e) => e.actor)).toEqual(expect.arrayContaining(['bob@acme.example', 'greta@globex.example']));
    expect(await h.bot.app.deps.store.requests.byRef(ref)).toMatchObject({ status: 'awaiting_consent' });

    const approved = await click(h, JANE, ACME, card, 'Approve');
    expect(approved).toMatch(/approved|scheduled/i);
    // The card is edited in place: who decided, and no buttons left.
    const decided = await h.fake.waitFor(() => {
      const m = h.fake.messages(ACME).find((x) => x.ts === card.ts);
      return m && m.updates > 0 && buttonsOf(m).length === 0 ? m : undefined;
    }, 10_000);
    expect(decided.text).toContain('approved by Jane Doe');
    // The edit keeps the link.
    expect(statusLinkIn(decided, ref)).toBe(link);

    expect(await waitForStatus(h, ref, TERMINAL, 30_000)).toBe('completed');
    // Completion feedback in the customer's channel, with the password reminder [003].
    const done = await h.fake.waitFor(() => messageWith(h, ACME, `${ref} completed`), 10_000);
    expect(done.text.toLowerCase()).toContain('manager password');
    // The progress message was posted once per channel and kept current (edited in place; on a
    // slow machine its first post may already carry the final state): it ends at 100%.
    const progress = h.fake.messages(ACME).filter((m) => m.text.includes(`${ref} · upgrade progress`));
    expect(progress).toHaveLength(1);
    await h.fake.waitFor(() => (JSON.stringify(progress[0]!.blocks).includes('100%') ? true : undefined), 10_000);
    expect(statusLinkIn(h.fake.messages(ACME).find((m) => m.ts === progress[0]!.ts)!, ref)).toBe(link);
    // Agents' buttons only in the ops channel.
    const sentTo = (channel: string) => JSON.stringify(h.fake.callsTo('chat.postMessage').concat(h.fake.callsTo('chat.update')).filter((c) => c.body.channel === channel).map((c) => c.body));
    expect(sentTo(ACME)).not.toContain('/upgrade-admin');
    // Times are shown in each reader's own timezone, with a fallback.
    expect(sentTo(ACME)).toMatch(/<!date\^\d+\^[^|]+\|[^>]+>/);
    // Nothing was posted twice: every message in the channel is different.
    const texts = h.fake.messages(ACME).map((m) => m.text);
    expect(new Set(texts).size).toBe(texts.length);
    expect(everythingSent(h)).not.toContain('Tr0ub4dor');
  }, 60_000);

  it('ignores a slash command and a click that Slack delivers again', async () => {
    const before = (await h.bot.app.deps.store.requests.list({ limit: 500 })).length;
    const trigger = nextTriggerId();
    const body = slashCommandBody({
      user_id: BOB,
      text: `request device=core-db version=8.0.0 when=window mac=00:1A:2B:3C:4D:60 ip=203.0.113.12 serial=SN-1003`,
      trigger_id: trigger,
      response_url: h.fake.responseUrl('dup'),
    });
    expect((await postSigned(h.events, SECRET, body)).status).toBe(200);
    expect((await postSigned(h.events, SECRET, body, { retryNum: 1, retryReason: 'http_timeout' })).status).toBe(200);
    await h.fake.waitFor(() => h.fake.responses.find((r) => r.id === 'dup'), 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.fake.responses.filter((r) => r.id === 'dup')).toHaveLength(1);
    const after = await h.bot.app.deps.store.requests.list({ limit: 500 });
    expect(after.length).toBe(before + 1);

    const ref = after.map((r) => r.ref).sort().at(-1)!;
    const card = await h.fake.waitFor(() => messageWith(h, ACME, `Consent needed: ${ref}`), 10_000);
    const button = buttonsOf(card).find((b) => b.text.text === 'Decline')!;
    const payload = blockActionsPayload({ userId: JANE, channelId: ACME, messageTs: card.ts, actionId: button.action_id, value: button.value, responseUrl: h.fake.responseUrl('dup-click') });
    for (let i = 0; i < 2; i++) expect((await postSigned(h.events, SECRET, interactionBody(payload))).status).toBe(200);
    await h.fake.waitFor(() => h.fake.responses.find((r) => r.id === 'dup-click'), 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.fake.responses.filter((r) => r.id === 'dup-click')).toHaveLength(1);
    const request = await h.bot.app.deps.store.requests.byRef(ref);
    expect(request?.approvals).toHaveLength(1);
  }, 30_000);
});

describe('Slack delivery under rate limits and errors', () => {
  let h: Harness;
  // The fake allows a message per 100 ms per channel and the bot keeps 250 ms apart: the margin
  // absorbs timer jitter on a loaded machine, so the only 429 is the injected one.
  withHarness((started) => (h = started), { rateLimitPerChannelMs: 100, minIntervalMs: 250 });

  it('keeps to the per-channel pace, waits out 429s, retries 500s, and delivers each notice once', async () => {
    h.fake.failNext('chat.postMessage', 1, { status: 429, retryAfterSeconds: 1 });
    h.fake.failNext('chat.postMessage', 1, { status: 500 });
    const filed = await slash(h, BOB, `request device=edge-01 version=7.1.0 when=window ${GOOD_HARDWARE}`);
    const ref = refIn(filed);
    const card = await h.fake.waitFor(() => messageWith(h, ACME, `Consent needed: ${ref}`), 15_000);
    await click(h, JANE, ACME, card, 'Approve');
    await h.fake.waitFor(() => messageWith(h, ACME, `${ref} scheduled`), 15_000);
    await h.fake.waitFor(() => messageWith(h, OPS, `${ref} scheduled`), 15_000);
    const stored = await h.bot.app.deps.store.outbox.forRequest((await h.bot.app.deps.store.requests.byRef(ref))!.id);
    await h.fake.waitFor(() => (stored.length > 0 ? true : undefined));
    // Both faults were served and retried; our own pace never ran into the channel limit.
    expect(h.fake.calls.filter((c) => c.fault && 'status' in c.fault).length).toBeGreaterThanOrEqual(2);
    const paced = h.fake.calls.filter((c) => c.fault && 'status' in c.fault && c.fault.status === 429);
    expect(paced).toHaveLength(1);
    for (const channel of [ACME, OPS]) {
      const texts = h.fake.messages(channel).map((m) => m.text);
      expect(new Set(texts).size).toBe(texts.length);
    }
  }, 40_000);
});

describe('Slack answers on the response URL', () => {
  let h: Harness;
  withHarness((started) => (h = started));

  it('posts an answer again when the response URL answered 500 or 429, and never after it was taken or refused', async () => {
    h.fake.failNext('respond', 1, { status: 500 });
    h.fake.failNext('respond', 1, { status: 429, retryAfterSeconds: 1 });
    const answer = await slash(h, JANE, 'help');
    expect(answer).toContain('/upgrade request');
    const id = h.fake.responses.at(-1)!.id;
    await h.fake.waitFor(() => (h.fake.responses.filter((r) => r.id === id).length >= 3 ? true : undefined), 10_000);
    // The third post was taken (200); a 404 (the URL expired) is not retried either.
    h.fake.failNext('respond', 1, { error: 'expired_url' });
    const expired = `r${++responseSeq}`;
    const res = await postSigned(h.events, SECRET, slashCommandBody({ user_id: JANE, text: 'help', response_url: h.fake.responseUrl(expired) }));
    expect(res.status).toBe(200);
    await h.fake.waitFor(() => h.fake.responses.find((r) => r.id === expired), 10_000);
    // Longer than both retry waits together: nothing more may arrive for either command.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(h.fake.responses.filter((r) => r.id === id)).toHaveLength(3);
    expect(h.fake.responses.filter((r) => r.id === expired)).toHaveLength(1);
  }, 30_000);
});

describe('Slack when the bot cannot take more commands', () => {
  let h: Harness;
  // No room at all: every command is answered "busy" in its acknowledgement.
  withHarness((started) => (h = started), { maxPendingCommands: 0 });

  it('says so in the acknowledgement, runs nothing and posts nothing later', async () => {
    const body = slashCommandBody({ user_id: BOB, text: `request device=edge-01 version=7.1.0 when=window ${GOOD_HARDWARE}`, response_url: h.fake.responseUrl('busy') });
    const res = await postSigned(h.events, SECRET, body);
    expect(res.status).toBe(200);
    const ack = (await res.json()) as { response_type?: string; text?: string };
    expect(ack.response_type).toBe('ephemeral');
    expect(ack.text).toContain('was not run');
    expect(ack.text).toContain('Nothing was changed');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.fake.responses).toHaveLength(0);
    expect(await h.bot.app.deps.store.requests.list({})).toHaveLength(0);
  }, 30_000);
});

describe('Slack in Socket Mode', () => {
  let h: Harness;
  withHarness((started) => (h = started), { socket: true });

  it('connects through apps.connections.open and answers a slash command envelope', async () => {
    await h.fake.socketConnected(10_000);
    expect(h.fake.callsTo('apps.connections.open')[0]?.token).toBe('xapp-1-test');
    const ack = await h.fake.sendEnvelope('slash_commands', {
      ...Object.fromEntries(new URLSearchParams(slashCommandBody({ user_id: JANE, text: 'status', response_url: h.fake.responseUrl('socket') }))),
    });
    expect(ack.envelope_id).toBeTruthy();
    const answer = await h.fake.waitFor(() => h.fake.responses.find((r) => r.id === 'socket'), 10_000);
    expect(JSON.stringify(answer.body)).toContain('ephemeral');
    // No HTTP endpoint in Socket Mode.
    const res = await postSigned(h.events, SECRET, slashCommandBody({ user_id: JANE, text: 'help' }));
    expect(res.status).toBe(404);
  }, 30_000);
});

describe('Slack at start-up', () => {
  it('stops the start with a clear error when Slack refuses the bot token', async () => {
    const fake = await FakeSlack.start();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-slack-auth-'));
    try {
      fake.failNext('auth.test', 1, { error: 'invalid_auth' });
      const config = loadConfig({ DATA_DIR: dir, PORT: '0',
    SMTP_INTAKE_PORT: '0', LOG_LEVEL: 'silent', SLACK_BOT_TOKEN: 'xoxb-revoked', SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: fake.apiUrl });
      await expect(startBot(config, { output: quiet, noDemoRecords: true, queueOptions: { lockLifetimeMs: 2000 } })).rejects.toThrow(
        /Slack refused the bot token \(SLACK_BOT_TOKEN\).*invalid_auth/,
      );
    } finally {
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
