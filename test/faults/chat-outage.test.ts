/**
 * Fault: the chat platforms fail for a while, then recover. The running bot (Slack over HTTP and
 * Discord, both faked at the wire on 127.0.0.1) files, approves and runs requests while Slack
 * answers 500 and Discord 429 (Retry-After), then Slack 429 and Discord 500. Once the platforms
 * are back, every notice the outbox stored is delivered: each row is exactly one message in its
 * channel, the channel's messages are in the order the rows were stored, and messages edited in
 * place (progress, consent cards) show their last revision. Bounded: fixed outages, bounded waits.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { dispatch } from '../../src/core/dispatch.js';
import { toPlainText } from '../../src/core/reply.js';
import type { Reply } from '../../src/core/reply.js';
import { startBot } from '../../src/main.js';
import type { RunningBot } from '../../src/main.js';
import { renderReply } from '../../src/adapters/slack/render.js';
import { renderDiscordMessage } from '../../src/adapters/discord/render.js';
import { SimulateExecutor } from '../../src/infra/executors/simulate-executor.js';
import { startSimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import type { SimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import { HttpStatusChecker } from '../../src/infra/status-check.js';
import type { OutboxMessage } from '../../src/ports.js';
import { FakeDiscord } from '../fakes/fake-discord.js';
import { FakeSlack } from '../fakes/fake-slack.js';
import { startedPerBlock } from '../fakes/per-block.js';

const SLACK_OPS = 'C0OPS';
const DISCORD_OPS = '1900';
const TERMINAL = ['completed', 'completed_with_issues', 'failed', 'aborted'];
const EDGE_01 = 'device=edge-01 version=7.1.0 mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001';
const GX_TENANT_1 = 'device=gx-tenant-1 version=8.1.0 mac=00:1A:2B:3C:5E:01 ip=198.51.100.20 serial=SN-2001';

const quiet = new Writable({ write: (_c, _e, cb) => cb() });

/** Chat message writes on Discord: posts and edits in channels and DMs (not the gateway, not interactions). */
const discordMessageWrite = (method: string, route: string) => /^\/channels\/\d+\/messages(\/\d+)?$/.test(route) && (method === 'POST' || method === 'PATCH');

interface Harness {
  slack: FakeSlack;
  discord: FakeDiscord;
  bot: RunningBot;
  device: SimulatedDevice;
  run(email: string, text: string): Promise<string>;
  close(): Promise<void>;
}

async function startHarness(): Promise<Harness> {
  const slack = await FakeSlack.start();
  const discord = await FakeDiscord.start({
    guilds: [{ id: '1000', name: 'Support', channels: ['1100', '1200', DISCORD_OPS].map((id) => ({ id, name: `c${id}` })) }],
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-chat-outage-'));
  const device = await startSimulatedDevice({ version: '5.2.0' });
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: '0',
    SMTP_INTAKE_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    EXECUTOR: 'simulate',
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_SIGNING_SECRET: '8f742231b10e8888abcd99yyyzzz85a5',
    SLACK_API_URL: slack.apiUrl,
    SLACK_OPS_CHANNEL: SLACK_OPS,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_OPS_CHANNEL: DISCORD_OPS,
  });
  const bot = await startBot(config, {
    output: quiet,
    executor: new SimulateExecutor({ stepMs: 60, onFinish: (_d, version) => device.setVersion(version) }),
    statusChecker: new HttpStatusChecker({ timeoutMs: 2000, retries: 1, backoffMs: 100 }),
    queueOptions: { lockLifetimeMs: 3000 },
    outboxPollMs: 50,
    slackMinIntervalMs: 20,
    discordMinIntervalMs: 20,
  });
  await bot.app.dataSource.query(`UPDATE devices SET "statusUrl" = ? WHERE name = 'edge-01'`, [device.statusUrl]);
  let seq = 0;
  return {
    slack,
    discord,
    bot,
    device,
    async run(email, text) {
      const answer = await dispatch(bot.app.registry, bot.app.deps, {
        id: `outage-${++seq}`,
        via: 'console',
        identity: { kind: 'email', address: email },
        text,
      });
      return toPlainText(answer);
    },
    async close() {
      await bot.stop();
      await slack.close();
      await discord.close();
      await device.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
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

function refIn(text: string): string {
  const ref = /UPG-\d{6}/.exec(text)?.[0];
  if (!ref) throw new Error(`no request reference in: ${text.slice(0, 300)}`);
  return ref;
}

/** Every outbox row, oldest first. */
async function allRows(bot: RunningBot): Promise<OutboxMessage[]> {
  const rows: OutboxMessage[] = [];
  for (const request of await bot.app.deps.store.requests.list({ limit: 1000 })) rows.push(...(await bot.app.deps.store.outbox.forRequest(request.id)));
  return rows.sort((a, b) => a.id - b.id);
}

/** Per chat channel (as posted to: a DM's channel for a person), the outbox rows delivered there, in id order. */
function rowsByChannel(rows: OutboxMessage[], prefix: 'slack:' | 'discord'): Map<string, OutboxMessage[]> {
  const out = new Map<string, OutboxMessage[]>();
  for (const row of rows) {
    if (!row.destination.startsWith(prefix)) continue;
    const channel = row.externalId?.split('/')[0];
    if (!channel) throw new Error(`row ${row.id} (${row.dedupeKey}) is ${row.status} without a posted message`);
    out.set(channel, [...(out.get(channel) ?? []), row]);
  }
  return out;
}

describe('chat platforms down for a while, then back', () => {
  let h: Harness;
  startedPerBlock(startHarness, (started) => (h = started), 40_000);

  it('delivers every notice exactly once and in order per channel after 500s and 429s from Slack and Discord', async () => {
    const started = Date.now();
    // Phase 1: Slack answers 500, Discord 429 (Retry-After 1 s), for 4 s.
    h.slack.failFor('chat.postMessage', 4000, { status: 500 });
    h.slack.failFor('chat.update', 4000, { status: 500 });
    h.discord.failFor(4000, { status: 429, retryAfterSeconds: 1 }, discordMessageWrite);

    const acme = refIn(await h.run('bob@acme.example', `/upgrade request ${EDGE_01} when=now`));
    const globex = refIn(await h.run('greta@globex.example', `/upgrade request ${GX_TENANT_1} when=window`));
    expect(await h.run('jane@acme.example', `/upgrade approve ${acme}`)).toMatch(/approved/);
    expect(await h.run('greta@globex.example', `/upgrade approve ${globex}`)).toMatch(/approved/);
    for (let i = 1; i <= 4; i++) expect(await h.run('jane@acme.example', `/upgrade problem ${acme} report ${i} during the outage`)).toMatch(/Problem/i);

    // Phase 2, right after: Slack answers 429 (Retry-After 1 s), Discord 500, for 3 s.
    await sleep(Math.max(0, started + 4000 - Date.now()));
    h.slack.failFor('chat.postMessage', 3000, { status: 429, retryAfterSeconds: 1 });
    h.slack.failFor('chat.update', 3000, { status: 429, retryAfterSeconds: 1 });
    h.discord.failFor(3000, { status: 500 }, discordMessageWrite);
    for (let i = 5; i <= 8; i++) expect(await h.run('jane@acme.example', `/upgrade problem ${acme} report ${i} during the outage`)).toMatch(/Problem/i);

    const store = h.bot.app.deps.store;
    await waitFor('the Acme run to finish', async () => TERMINAL.includes((await store.requests.byRef(acme))?.status ?? ''), 60_000);
    // Every notice stored is delivered once the platforms are back (or given up, which must not happen).
    const rows = await waitFor(
      'every stored notice to be delivered',
      async () => {
        const all = await allRows(h.bot);
        return all.every((r) => r.status !== 'pending') ? all : null;
      },
      90_000,
    );

    // The outages were real: both platforms answered both kinds of faults, and notices were retried.
    const slackFaults = h.slack.calls.filter((c) => c.fault).map((c) => ('status' in c.fault! ? c.fault.status : 0));
    expect(slackFaults).toContain(500);
    expect(slackFaults).toContain(429);
    expect(h.discord.faults.rateLimited).toBeGreaterThan(0);
    expect(h.discord.faults.serverErrors).toBeGreaterThan(0);
    const chatRows = rows.filter((r) => r.destination.startsWith('slack:') || r.destination.startsWith('discord'));
    expect(chatRows.filter((r) => r.attempts > 1).length).toBeGreaterThan(0);

    // None lost: nothing given up.
    expect(rows.filter((r) => r.status === 'failed').map((r) => `${r.dedupeKey}: ${r.lastError}`)).toEqual([]);

    // Slack: each channel holds exactly the rows' messages, in the order the rows were stored, each
    // showing the row's latest revision (edits landed in place, no message posted twice).
    for (const [channel, expected] of rowsByChannel(rows, 'slack:')) {
      const posted = h.slack.messages(channel);
      expect({ channel, ts: posted.map((m) => m.ts) }).toEqual({ channel, ts: expected.map((r) => r.externalId!.split('/')[1]) });
      for (const [i, row] of expected.entries()) {
        const target = row.destination.slice('slack:'.length);
        const shown = renderReply(row.payload as Reply, { adminActions: target === SLACK_OPS }).text;
        expect({ key: row.dedupeKey, text: posted[i]!.text }).toEqual({ key: row.dedupeKey, text: shown });
      }
    }
    // Discord: the same, with embeds.
    for (const [channel, expected] of rowsByChannel(rows, 'discord')) {
      const posted = h.discord.messagesIn(channel);
      expect({ channel, ids: posted.map((m) => m.id) }).toEqual({ channel, ids: expected.map((r) => r.externalId!.split('/')[1]) });
      for (const [i, row] of expected.entries()) {
        const title = renderDiscordMessage(row.payload as Reply).embeds[0]?.title;
        expect({ key: row.dedupeKey, title: (posted[i]!.embeds[0] as { title?: string } | undefined)?.title }).toEqual({ key: row.dedupeKey, title });
      }
    }
    // No successful post beyond one per row: a write that failed was never also applied.
    const slackPosts = h.slack.callsTo('chat.postMessage').filter((c) => !c.fault).length;
    expect(slackPosts).toBe(chatRows.filter((r) => r.destination.startsWith('slack:')).length);
    const discordPosts = h.discord.requestsTo('POST', /^\/channels\/\d+\/messages$/).filter((r) => r.status === 200).length;
    expect(discordPosts).toBe(chatRows.filter((r) => r.destination.startsWith('discord')).length);

    // The ops channels got the eight problem reports in the order they were made.
    for (const text of [h.slack.messages(SLACK_OPS).map((m) => m.text), h.discord.messagesIn(DISCORD_OPS).map((m) => JSON.stringify(m.embeds))]) {
      const reports = text.join('\n').match(/report \d during the outage/g) ?? [];
      expect(reports).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => `report ${i} during the outage`));
    }
  }, 150_000);

  it('keeps waiting through a rate limit longer than the attempts allowed for failures, then delivers in order', async () => {
    const acme = (await h.bot.app.deps.store.requests.list({ limit: 10 })).find((r) => r.items.some((i) => i.deviceName === 'edge-01'))!;
    const before = h.slack.messages(SLACK_OPS).length;
    // Slack keeps answering 429 "retry after 1 s" for 12 s: more refusals than the eight attempts a failing message gets.
    h.slack.failFor('chat.postMessage', 12_000, { status: 429, retryAfterSeconds: 1 });
    for (let i = 1; i <= 3; i++) expect(await h.run('jane@acme.example', `/upgrade problem ${acme.ref} rate limited ${i}`)).toMatch(/Problem/i);
    const rows = await waitFor(
      'the three reports to be delivered',
      async () => {
        const all = (await allRows(h.bot)).filter((r) => r.destination === `slack:${SLACK_OPS}` && r.kind === 'problem_reported').slice(-3);
        return all.every((r) => r.status !== 'pending') ? all : null;
      },
      60_000,
    );
    expect(rows.map((r) => ({ status: r.status, error: r.status === 'failed' ? r.lastError : null }))).toEqual(rows.map(() => ({ status: 'sent', error: null })));
    // More refusals than a failing message is allowed attempts, none of them counted as a failure.
    const refused = h.slack.callsTo('chat.postMessage').filter((c) => c.fault && c.body.channel === SLACK_OPS && String(c.body.text).includes('rate limited 1'));
    expect(refused.length).toBeGreaterThan(8);
    expect(rows.map((r) => r.attempts)).toEqual([1, 1, 1]);
    const posted = h.slack.messages(SLACK_OPS).slice(before).map((m) => /rate limited \d/.exec(m.text)?.[0]);
    expect(posted).toEqual(['rate limited 1', 'rate limited 2', 'rate limited 3']);
  }, 90_000);
});
