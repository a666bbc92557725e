/**
 * The running bot driven through Discord as a user would: a fake Discord gateway and REST API on
 * 127.0.0.1 (test/fakes/fake-discord.ts) that the real discord.js client connects to, sends
 * interactions through the gateway exactly as Discord does, and records every reply, message and
 * edit (and answers 429 or 500 on demand).
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { ApplicationCommandOptionType } from 'discord-api-types/v10';
import { registry } from '../../commands/index.js';
import { loadConfig } from '../../src/config.js';
import { startBot } from '../../src/main.js';
import type { RunningBot } from '../../src/main.js';
import { registerCommands } from '../../src/adapters/discord/register.js';
import { SimulateExecutor } from '../../src/infra/executors/simulate-executor.js';
import { startSimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import type { SimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import { HttpStatusChecker } from '../../src/infra/status-check.js';
import { FakeDiscord } from '../fakes/fake-discord.js';
import type { FakeDiscordMessage } from '../fakes/fake-discord.js';
import { startedPerBlock } from '../fakes/per-block.js';

const GUILD = '1000';
const ACME = '1100';
const GLOBEX = '1200';
const GENERAL = '1300';
const OPS = '1900';
const JANE = '2200';
const BOB = '2201';
const GRETA = '2300';
const ALEX = '2400';
const PAT = '2401';
const NOBODY = '2999';
const HARDWARE = { mac: '00:1A:2B:3C:4D:5E', ip: '203.0.113.10', serial: 'SN-1001' };
const TERMINAL = ['completed', 'completed_with_issues', 'failed', 'aborted'];
const EPHEMERAL = 64;

const quiet = new Writable({ write: (_c, _e, cb) => cb() });

interface Harness {
  fake: FakeDiscord;
  bot: RunningBot;
  device: SimulatedDevice;
  dir: string;
  close(): Promise<void>;
}

/** Starts a fake Discord and the bot on a fresh database with the demo records. */
async function startHarness(
  options: { rateLimitPerChannelMs?: number; minIntervalMs?: number; manual?: boolean; maxPendingCommands?: number } = {},
): Promise<Harness> {
  const fake = await FakeDiscord.start({
    guilds: [{ id: GUILD, name: 'Support', channels: [ACME, GLOBEX, GENERAL, OPS].map((id) => ({ id, name: `c${id}` })) }],
    rateLimitPerChannelMs: options.rateLimitPerChannelMs ?? null,
    // Discord's own limit: an interaction not answered within 3 s is gone.
    interactionAckDeadlineMs: 3000,
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-discord-'));
  const device = await startSimulatedDevice({ version: '5.2.0' });
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: '0',
    SMTP_INTAKE_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    EXECUTOR: options.manual ? 'manual' : 'simulate',
    DISCORD_TOKEN: fake.token,
    DISCORD_APPLICATION_ID: fake.applicationId,
    DISCORD_API_URL: fake.apiUrl,
    DISCORD_OPS_CHANNEL: OPS,
  });
  const bot = await startBot(config, {
    output: quiet,
    ...(options.manual ? {} : { executor: new SimulateExecutor({ stepMs: 30, onFinish: (_d, version) => device.setVersion(version) }) }),
    statusChecker: new HttpStatusChecker({ timeoutMs: 2000, retries: 1, backoffMs: 100 }),
    queueOptions: { lockLifetimeMs: 3000 },
    outboxPollMs: 50,
    discordMinIntervalMs: options.minIntervalMs ?? 20,
    discordMaxPendingCommands: options.maxPendingCommands,
  });
  await bot.app.dataSource.query(`UPDATE devices SET "statusUrl" = ? WHERE name = 'edge-01'`, [device.statusUrl]);
  return {
    fake,
    bot,
    device,
    dir,
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
  startedPerBlock(() => startHarness(options), use, 40_000);
}

/** What a reader sees of Discord markdown that only escapes: backslash-escaped punctuation shown as itself, zero-width spaces gone. */
function shown(value: string): string {
  return value.replace(/\\([!-/:-@[-`{-~])/g, '$1').replace(/\u200b/g, '');
}

/** A message's visible text: content, embed titles, descriptions, fields and footers, and button labels. */
function textOf(m: { content?: string; embeds?: unknown[]; components?: unknown[] } | undefined): string {
  if (!m) return '';
  const embeds = (m.embeds ?? []) as Array<{ title?: string; description?: string; fields?: Array<{ name: string; value: string }>; footer?: { text: string } }>;
  const parts = [m.content ?? ''];
  for (const e of embeds) {
    parts.push(e.title ?? '', e.description ?? '', ...(e.fields ?? []).flatMap((f) => [f.name, f.value]), e.footer?.text ?? '');
  }
  parts.push(...buttonsOf(m).map((b) => b.label));
  return shown(parts.join('\n'));
}

interface Button {
  custom_id: string;
  label: string;
  style: number;
}

/** The command buttons of a message (the status-page link button is not one: see linksOf). */
function buttonsOf(m: { components?: unknown[] }): Button[] {
  return ((m.components ?? []) as Array<{ components?: Button[] }>).flatMap((row) => row.components ?? []).filter((b) => typeof b.custom_id === 'string');
}

interface LinkButton {
  type: number;
  label: string;
  url: string;
  style: number;
}

/** The link buttons of a message (style 5, a URL and no custom_id). */
function linksOf(m: { components?: unknown[] }): LinkButton[] {
  return ((m.components ?? []) as Array<{ components?: Array<Omit<LinkButton, 'url'> & { url?: string }> }>)
    .flatMap((row) => row.components ?? [])
    .filter((b): b is LinkButton => typeof b.url === 'string');
}

/** The link button to a request's status page, as every notice about it carries. */
function statusLinkOf(ref: string): LinkButton {
  return { type: 2, label: `Status page for ${ref}`, style: 5, url: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/requests/${ref}\\?key=[A-Za-z0-9_-]+$`)) as unknown as string };
}

type OptionValue = string | boolean;

/** Slash-command options as Discord sends them: strings and booleans. */
function toOptions(values: Record<string, OptionValue>) {
  return Object.entries(values).map(([name, value]) => ({
    name,
    type: typeof value === 'boolean' ? ApplicationCommandOptionType.Boolean : ApplicationCommandOptionType.String,
    value,
  }));
}

/** Waits for the edited answer to an interaction (after the deferral) and returns its visible text. */
async function answerTo(h: Harness, token: string): Promise<{ text: string; message: FakeDiscordMessage }> {
  const message = await h.fake.waitFor(
    () => {
      const m = h.fake.original(token);
      return m && (m.embeds.length > 0 || m.content !== '') ? m : undefined;
    },
    15_000,
    `the answer to interaction ${token}`,
  );
  return { text: textOf(message), message };
}

/** Runs `/group [subcommand group] subcommand` with options as `userId`; returns the answer's text. */
async function slash(
  h: Harness,
  userId: string,
  command: string,
  values: Record<string, OptionValue> = {},
  channelId = GENERAL,
): Promise<{ text: string; message: FakeDiscordMessage; token: string }> {
  const [name, ...words] = command.split(' ');
  const sub = words.length === 2 ? { group: words[0], subcommand: words[1] } : { subcommand: words[0] };
  const { token } = h.fake.sendInteraction(h.fake.slashCommand({ userId, channelId, name: name as string, ...sub, options: toOptions(values) }));
  return { ...(await answerTo(h, token)), token };
}

/** Runs a slash command that should open a form; returns the form Discord was asked to show. */
async function slashForm(h: Harness, userId: string, command: string, values: Record<string, OptionValue> = {}) {
  const [name, subcommand] = command.split(' ');
  const { token } = h.fake.sendInteraction(h.fake.slashCommand({ userId, channelId: ACME, name: name as string, subcommand, options: toOptions(values) }));
  return h.fake.waitFor(() => h.fake.callbacks.find((c) => c.token === token && c.type === 9), 10_000, 'a form').then((c) => c.data as Modal);
}

interface Modal {
  custom_id: string;
  title: string;
  components: Array<{ components: Array<{ custom_id: string; label: string; value?: string }> }>;
}

function formValues(modal: Modal): Record<string, string> {
  return Object.fromEntries(modal.components.map((row) => [row.components[0]!.custom_id, row.components[0]!.value ?? '']));
}

/** Clicks the button labelled `label` on a message as `userId`; returns the ephemeral answer. */
async function click(h: Harness, userId: string, channelId: string, message: FakeDiscordMessage, label: string) {
  const button = buttonsOf(message).find((b) => b.label === label);
  if (!button) throw new Error(`no button "${label}" on the message: ${textOf(message)}`);
  const { token } = h.fake.sendInteraction(h.fake.button({ userId, channelId, message, customId: button.custom_id }));
  return { ...(await answerTo(h, token)), token };
}

/** Submits a form as `userId`; returns the answer. */
async function submit(h: Harness, userId: string, customId: string, fields: Record<string, string>) {
  const { token } = h.fake.sendInteraction(h.fake.modalSubmit({ userId, channelId: ACME, customId, fields }));
  return { ...(await answerTo(h, token)), token };
}

/** The latest message in a channel whose visible text contains `needle`. */
function messageWith(h: Harness, channel: string, needle: string): FakeDiscordMessage | undefined {
  return [...h.fake.channelMessages].reverse().find((m) => m.channelId === channel && textOf(m).includes(needle));
}

function messagesIn(h: Harness, channel: string): FakeDiscordMessage[] {
  return h.fake.channelMessages.filter((m) => m.channelId === channel);
}

/** Everything the bot sent to Discord, as one string (to look for what must never be there). */
function everythingSent(h: Harness): string {
  return JSON.stringify([h.fake.requests.map((r) => r.body), h.fake.callbacks.map((c) => c.data)]);
}

function refIn(value: string): string {
  const ref = /UPG-\d{6}/.exec(value)?.[0];
  if (!ref) throw new Error(`no request reference in ${value.slice(0, 400)}`);
  return ref;
}

async function waitForStatus(h: Harness, ref: string, statuses: string[], timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const request = await h.bot.app.deps.store.requests.byRef(ref);
    if (request && statuses.includes(request.status)) return request.status;
    if (Date.now() > deadline) throw new Error(`${ref} is ${request?.status}, expected ${statuses.join('|')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Discord commands', () => {
  let h: Harness;
  withHarness((started) => (h = started));

  it('connects to the gateway with the Guilds intent only', async () => {
    await h.fake.ready();
    expect(h.fake.identifies).toBe(1);
    const identify = h.fake.identifyPayloads[0] as { intents: number };
    expect(identify.intents).toBe(1);
  });

  it('defers at once, privately, and then edits the answer to /upgrade help', async () => {
    const { text, token } = await slash(h, JANE, 'upgrade help');
    const callbacks = h.fake.callbacks.filter((c) => c.token === token);
    expect(callbacks.map((c) => c.type)).toEqual([5]);
    expect((callbacks[0]!.data as { flags: number }).flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(text).toContain('/upgrade request');
    expect(text).toContain('/upgrade status');
  });

  it('tells a Discord user who is not in the records to ask their representative, and creates nothing', async () => {
    const { text } = await slash(h, NOBODY, 'upgrade request', { device: 'edge-01', version: '7.1.0', when: 'now', ...HARDWARE });
    expect(text).toContain('unknown_requester');
    expect(text).toContain('authorized representative');
    expect(await h.bot.app.deps.store.requests.list()).toHaveLength(0);
  });

  it('serves every /upgrade and /upgrade-admin subcommand', async () => {
    const filed = await slash(h, BOB, 'upgrade request', {
      device: 'core-app',
      version: '7.3.0',
      when: 'window',
      mac: '00:1A:2B:3C:4D:61',
      ip: '203.0.113.13',
      serial: 'SN-1004',
    });
    const ref = refIn(filed.text);
    const cases: Array<[string, string, Record<string, OptionValue>, RegExp]> = [
      [BOB, 'upgrade status', { ref }, /awaiting consent/],
      [BOB, 'upgrade status', {}, new RegExp(ref)],
      [BOB, 'upgrade list', { scope: 'open' }, new RegExp(ref)],
      [BOB, 'upgrade list', { scope: 'all' }, new RegExp(ref)],
      [BOB, 'upgrade releases', { product: 'SysMaster' }, /7\.3\.0/],
      [BOB, 'upgrade windows', {}, /maintenance|window/i],
      [BOB, 'upgrade problem', { ref, text: 'the fan is loud' }, /problem/i],
      [BOB, 'upgrade rate', { ref, score: '5' }, /rat/i],
      [BOB, 'upgrade approve', { ref }, /not_authorized/],
      [BOB, 'upgrade help', { command: 'request' }, /mac=/],
      [PAT, 'upgrade-admin assign', { ref, agent: 'alex@upgradedesk.example' }, /Alex/],
      [ALEX, 'upgrade-admin run', { ref, event: 'next' }, /no_active_run|not in progress|invalid/i],
      [ALEX, 'upgrade-admin password', { ref }, /channel_not_private/],
      [JANE, 'upgrade decline', { ref, reason: 'not this week' }, /declined/],
      [JANE, 'upgrade cancel', { ref }, /cancel/i],
      [JANE, 'upgrade bulk', { devices: 'edge-02,core-db', version: '8.0.0', when: 'window', notify_partner: true }, /UPG-\d{6}/],
      [PAT, 'upgrade-admin maintenance add', { start: '2027-03-01T00:00Z', end: '2027-03-01T04:00Z', reason: 'Core switch swap' }, /Core switch swap/],
      [PAT, 'upgrade-admin maintenance list', { all: true }, /Core switch swap/],
      [PAT, 'upgrade-admin maintenance remove', { id: '999' }, /999/],
      [BOB, 'upgrade-admin maintenance list', {}, /not_authorized/],
      [PAT, 'upgrade-admin help', {}, /maintenance add/],
    ];
    for (const [user, command, values, expected] of cases) {
      const { text } = await slash(h, user, command, values);
      expect({ command, values, text }).toEqual({ command, values, text: expect.stringMatching(expected) });
      expect(text).not.toContain('internal_error');
    }
  }, 90_000);

  it('suggests the devices and versions of the person’s own company while they type', async () => {
    const ask = async (userId: string, focused: string, values: Record<string, string>) => {
      const options = Object.entries(values).map(([name, value]) => ({
        name,
        type: ApplicationCommandOptionType.String,
        value,
        ...(name === focused ? { focused: true } : {}),
      }));
      const { token } = h.fake.sendInteraction(h.fake.autocomplete({ userId, channelId: GENERAL, name: 'upgrade', subcommand: 'request', options }));
      const answer = await h.fake.waitFor(() => h.fake.callbacks.find((c) => c.token === token && c.type === 8), 10_000, 'autocomplete');
      return (answer.data as { choices: Array<{ name: string; value: string }> }).choices;
    };
    const devices = (await ask(BOB, 'device', { device: 'e' })).map((c) => c.value);
    expect(devices).toEqual(expect.arrayContaining(['edge-01', 'edge-02']));
    expect(devices).not.toContain('gx-tenant-1');
    const versions = (await ask(BOB, 'version', { device: 'edge-01', version: '7' })).map((c) => c.value);
    expect(versions.length).toBeGreaterThan(0);
    expect(versions.every((v) => v.startsWith('7.'))).toBe(true);
    expect(await ask(NOBODY, 'device', { device: '' })).toEqual([]);
  });

  it('opens the request form, lists what to correct with a button that reopens it filled in, and files the corrected form as if typed', async () => {
    const before = (await h.bot.app.deps.store.requests.list({ limit: 500 })).length;
    const form = await slashForm(h, JANE, 'upgrade request');
    expect(form.custom_id).toBe('upgrade_request');
    expect(form.components).toHaveLength(5);
    // Some options given but not all the form needs: the form opens with them filled in.
    const partial = await slashForm(h, JANE, 'upgrade request', { device: 'edge-01', mac: '00:1A:2B:3C:4D:5E' });
    expect(formValues(partial)).toMatchObject({ device: 'edge-01', version: '', hardware: 'MAC: 00:1A:2B:3C:4D:5E\nIP: \nSerial: ' });
    const fields = (mac: string) => ({
      device: 'edge-01',
      version: '7.1.0',
      when: 'now',
      hardware: `MAC: ${mac}\nIP: 203.0.113.10\nSerial: SN-1001`,
      note: 'Ping @everyone and <@2201>, see [the docs](http://evil.example)',
    });
    const wrong = await submit(h, JANE, form.custom_id, fields('00:1A:2B:3C:4D:FF'));
    expect(wrong.text).toContain('hardware_mismatch');
    expect(wrong.text).toContain('nothing was filed');
    expect((await h.bot.app.deps.store.requests.list({ limit: 500 })).length).toBe(before);

    // "Edit the form" reopens it with what Jane typed.
    const { token } = h.fake.sendInteraction(
      h.fake.button({ userId: JANE, channelId: ACME, message: wrong.message, customId: buttonsOf(wrong.message).find((b) => b.label === 'Edit the form')!.custom_id }),
    );
    const reopened = await h.fake.waitFor(() => h.fake.callbacks.find((c) => c.token === token && c.type === 9), 10_000, 'the form again');
    const again = formValues(reopened.data as Modal);
    expect(again).toMatchObject({ device: 'edge-01', version: '7.1.0', when: 'now' });
    expect(again.hardware).toContain('00:1A:2B:3C:4D:FF');

    const right = await submit(h, JANE, form.custom_id, fields('00-1a-2b-3c-4d-5e'));
    const ref = refIn(right.text);
    expect(right.text).toContain('awaiting consent');
    const stored = await h.bot.app.deps.store.requests.byRef(ref);
    expect(stored).toMatchObject({ via: 'discord', status: 'awaiting_consent' });
    expect(stored?.note).toContain('@everyone');

    // The consent card reaches Acme's channel; the note pings nobody and links nowhere.
    const card = await h.fake.waitFor(() => messageWith(h, ACME, `Consent needed: ${ref}`), 10_000, 'the consent card');
    expect(buttonsOf(card).map((b) => b.label)).toEqual(['Approve', 'Decline']);
    expect(linksOf(card)).toEqual([statusLinkOf(ref)]);
    // The link opens the request's status page.
    const page = await fetch(linksOf(card)[0]!.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`${ref} · Acme Corp`);
    for (const m of h.fake.channelMessages) expect(m.allowedMentions).toEqual({ parse: [] });
    const raw = JSON.stringify(h.fake.channelMessages.map((m) => [m.content, m.embeds]));
    expect(raw).not.toMatch(/(?<!\\)@everyone|(?<!\\)<@2201>|(?<!\\)\[the docs(?<!\\)\]\(http/);
    expect(textOf(card)).toContain('@everyone and <@2201>, see [the docs](http://evil.example)');
    await slash(h, JANE, 'upgrade cancel', { ref });
  }, 40_000);

  it('takes the manager password through a form and never shows it in Discord', async () => {
    const filed = await slash(h, BOB, 'upgrade request', { device: 'core-app', version: '7.3.0', when: 'window', mac: '00:1A:2B:3C:4D:61', ip: '203.0.113.13', serial: 'SN-1004' });
    const ref = refIn(filed.text);
    expect(filed.text).toContain('awaiting consent');
    const form = await slashForm(h, BOB, 'upgrade password', { ref });
    expect(form.custom_id).toBe(`upgrade_password:${ref}`);
    const answer = await submit(h, BOB, form.custom_id, { password: 'Tr0ub4dor&3 "x"' });
    expect(answer.text).toMatch(/Manager password for UPG-\d{6} stored/);
    const request = await h.bot.app.deps.store.requests.byRef(ref);
    expect(request?.findings.some((f) => f.code === 'missing_manager_password')).toBe(false);
    expect(everythingSent(h)).not.toContain('Tr0ub4dor');
  });

  it('asks before a red button runs: Decline declines only after "Yes, decline"', async () => {
    const open = (await h.bot.app.deps.store.requests.list({ limit: 500 })).filter((r) => r.status === 'awaiting_consent');
    const ref = open.at(-1)!.ref;
    const card = await h.fake.waitFor(() => messageWith(h, ACME, `Consent needed: ${ref}`), 10_000, 'the consent card');
    const asked = await click(h, JANE, ACME, card, 'Decline');
    expect(h.fake.callbacks.find((c) => c.token === asked.token)).toMatchObject({ type: 4, data: { flags: EPHEMERAL } });
    expect(asked.text).toContain(`Decline ${ref}?`);
    expect(asked.text).toContain(`This runs: /upgrade decline ${ref}`);
    expect(buttonsOf(asked.message).map((b) => b.label)).toEqual(['Yes, decline']);
    expect((await h.bot.app.deps.store.requests.byRef(ref))?.status).toBe('awaiting_consent');
    const declined = await click(h, JANE, ACME, asked.message, 'Yes, decline');
    expect(declined.text).toMatch(/declined/i);
    expect((await h.bot.app.deps.store.requests.byRef(ref))?.status).toBe('cancelled');
  });

  it('ignores an interaction that the gateway delivers again', async () => {
    const payload = h.fake.slashCommand({ userId: JANE, channelId: GENERAL, name: 'upgrade', subcommand: 'windows', options: [] }) as { id: string; token: string };
    h.fake.sendInteraction(payload);
    h.fake.sendInteraction(payload);
    await answerTo(h, payload.token);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.fake.callbacks.filter((c) => c.token === payload.token)).toHaveLength(1);
  });

  it('reconnects when the gateway connection drops, resuming the session, and goes on answering', async () => {
    const identified = h.fake.identifies;
    await h.fake.dropGateway();
    await h.fake.ready(20_000);
    // The client resumed its session (op 6) rather than identifying again.
    expect(h.fake.gatewayPayloads.some((p) => (p as { op?: number }).op === 6)).toBe(true);
    expect(h.fake.identifies).toBe(identified);
    const { text } = await slash(h, JANE, 'upgrade windows');
    expect(text).toMatch(/maintenance|window/i);
  }, 30_000);

  it('registers the commands built from commands/ for one server, replacing the previous set', async () => {
    const first = await registerCommands({ token: h.fake.token, applicationId: h.fake.applicationId, apiUrl: h.fake.apiUrl, guildId: GUILD, registry });
    expect(first.scope).toBe('guild');
    expect(first.commands.map((c) => c.name)).toEqual(['upgrade', 'upgrade-admin']);
    await registerCommands({ token: h.fake.token, applicationId: h.fake.applicationId, apiUrl: h.fake.apiUrl, guildId: GUILD, registry });
    expect(h.fake.commands.guilds.get(GUILD)).toHaveLength(2);
    expect(h.fake.commands.global).toHaveLength(0);
    await expect(registerCommands({ token: 'wrong', applicationId: h.fake.applicationId, apiUrl: h.fake.apiUrl, registry })).rejects.toThrow(/refused the bot token/);
  });
});

describe('Discord consent, run and notices', () => {
  let h: Harness;
  withHarness((started) => (h = started));

  it('takes a request from slash command to completion feedback, with consent checked per click', async () => {
    const filed = await slash(h, BOB, 'upgrade request', { device: 'edge-01', version: '7.1.0', when: 'now', ...HARDWARE });
    const ref = refIn(filed.text);
    const card = await h.fake.waitFor(() => messageWith(h, ACME, `Consent needed: ${ref}`), 10_000, 'the consent card');
    await h.fake.waitFor(() => messageWith(h, OPS, ref), 10_000, 'the ops notice');

    // Bob may file but not consent; Greta represents another customer.
    for (const outsider of [BOB, GRETA]) {
      const refused = await click(h, outsider, ACME, card, 'Approve');
      expect(refused.text).toMatch(/not_authorized|unknown_request/);
      const deferral = h.fake.callbacks.find((c) => c.token === refused.token)!;
      expect((deferral.data as { flags: number }).flags & EPHEMERAL).toBe(EPHEMERAL);
    }
    const refusals = await h.bot.app.deps.store.audit.list({ action: 'refused' });
    expect(refusals.map((e) => e.actor)).toEqual(expect.arrayContaining(['bob@acme.example', 'greta@globex.example']));
    expect(await h.bot.app.deps.store.requests.byRef(ref)).toMatchObject({ status: 'awaiting_consent' });

    const approved = await click(h, JANE, ACME, card, 'Approve');
    expect(approved.text).toMatch(/approved|scheduled/i);
    expect((await h.bot.app.deps.store.requests.byRef(ref))?.approvals[0]).toMatchObject({ via: 'discord', decision: 'approved' });
    // The card is edited in place: who decided, and no command buttons left.
    const decided = await h.fake.waitFor(() => {
      const m = h.fake.channelMessages.find((x) => x.id === card.id);
      return m && m.edits > 0 && buttonsOf(m).length === 0 ? m : undefined;
    }, 10_000, 'the decided card');
    expect(textOf(decided)).toContain('approved by Jane Doe');
    // The edit keeps the link to the status page.
    expect(linksOf(decided)).toEqual([statusLinkOf(ref)]);

    expect(await waitForStatus(h, ref, TERMINAL, 30_000)).toBe('completed');
    const done = await h.fake.waitFor(() => messageWith(h, ACME, `${ref} completed`), 10_000, 'the completion feedback');
    expect(textOf(done).toLowerCase()).toContain('manager password');
    // The progress message was posted once per channel and kept current (edited in place; on a
    // slow machine its first post may already carry the final state): it ends at 100%.
    const progress = messagesIn(h, ACME).filter((m) => textOf(m).includes(`${ref} · upgrade progress`));
    expect(progress).toHaveLength(1);
    await h.fake.waitFor(() => (textOf(progress[0]!).includes('100%') ? true : undefined), 10_000, 'the progress message at 100%');
    // Agents' buttons only in the ops channel.
    expect(JSON.stringify(messagesIn(h, ACME).map((m) => m.history))).not.toContain('/upgrade-admin');
    // Times are Discord timestamps, which each reader sees in their own timezone.
    expect(JSON.stringify(messagesIn(h, ACME).map((m) => m.embeds))).toMatch(/<t:\d+:F>/);
    // Nothing was posted twice, and nothing could ping anyone.
    const texts = messagesIn(h, ACME).map((m) => textOf(m));
    expect(new Set(texts).size).toBe(texts.length);
    for (const m of h.fake.channelMessages) expect(m.allowedMentions).toEqual({ parse: [] });
  }, 60_000);
});

describe('Discord with the manual executor', () => {
  let h: Harness;
  withHarness((started) => (h = started), { manual: true });

  it('shows agents Next, Retry and Abort in the ops channel only, and a click there drives the run', async () => {
    const filed = await slash(h, JANE, 'upgrade request', { device: 'edge-01', version: '7.1.0', when: 'now', ...HARDWARE });
    const ref = refIn(filed.text);
    const card = await h.fake.waitFor(() => messageWith(h, ACME, `Consent needed: ${ref}`), 10_000, 'the consent card');
    await click(h, JANE, ACME, card, 'Approve');
    await waitForStatus(h, ref, ['in_progress'], 20_000);
    const progress = await h.fake.waitFor(
      () => [...messagesIn(h, OPS)].reverse().find((m) => textOf(m).includes(`${ref} · upgrade progress`) && buttonsOf(m).some((b) => b.label === 'Next')),
      15_000,
      'the ops progress message with buttons',
    );
    expect(buttonsOf(progress).map((b) => b.label)).toEqual(['Next', 'Retry', 'Abort']);
    // The customer's copy of the progress message has no agent buttons.
    const customerCopy = await h.fake.waitFor(() => messageWith(h, ACME, `${ref} · upgrade progress`), 10_000, 'the customer progress message');
    expect(buttonsOf(customerCopy)).toEqual([]);
    expect(linksOf(customerCopy)).toEqual([statusLinkOf(ref)]);

    const stateOf = async () => (await h.bot.app.deps.store.requests.byRef(ref))!.items[0]!.run!.state;
    const before = await stateOf();
    const refused = await click(h, BOB, OPS, progress, 'Next');
    expect(refused.text).toContain('not_authorized');
    expect(await stateOf()).toBe(before);
    const pressed = await click(h, ALEX, OPS, progress, 'Next');
    expect(pressed.text).not.toContain('Error');
    const deadline = Date.now() + 10_000;
    while ((await stateOf()) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await stateOf()).not.toBe(before);
  }, 40_000);
});

describe('Discord when the bot cannot take more commands', () => {
  let h: Harness;
  // No room at all: every deferred command is answered "busy" at once.
  withHarness((started) => (h = started), { maxPendingCommands: 0 });

  it('defers, then says so in the answer and runs nothing', async () => {
    const { text, token } = await slash(h, JANE, 'upgrade request', { device: 'edge-01', version: '7.1.0', when: 'now', ...HARDWARE });
    expect(h.fake.callbacks.filter((c) => c.token === token).map((c) => c.type)).toEqual([5]);
    expect(text).toContain('busy');
    expect(text).toContain('was not run');
    expect(await h.bot.app.deps.store.requests.list()).toHaveLength(0);
  }, 30_000);
});

describe('Discord delivery under rate limits and errors', () => {
  let h: Harness;
  // The fake allows a message per 100 ms per channel and the bot keeps 250 ms apart: the margin
  // absorbs timer jitter on a loaded machine, so the only 429 is the injected one.
  withHarness((started) => (h = started), { rateLimitPerChannelMs: 100, minIntervalMs: 250 });

  it('keeps to the per-channel pace, waits out 429s, retries 500s, and delivers each notice once', async () => {
    const posts = (method: string, p: string) => method === 'POST' && /\/channels\/\d+\/messages$/.test(p);
    h.fake.failNext(1, { status: 429, retryAfterSeconds: 1 }, posts);
    h.fake.failNext(1, { status: 500 }, posts);
    const filed = await slash(h, BOB, 'upgrade request', { device: 'edge-01', version: '7.1.0', when: 'window', ...HARDWARE });
    const ref = refIn(filed.text);
    const card = await h.fake.waitFor(() => messageWith(h, ACME, `Consent needed: ${ref}`), 20_000, 'the consent card');
    await click(h, JANE, ACME, card, 'Approve');
    await h.fake.waitFor(() => messageWith(h, ACME, `${ref} scheduled`), 20_000, 'the schedule notice');
    await h.fake.waitFor(() => messageWith(h, OPS, `${ref} scheduled`), 20_000, 'the schedule notice to ops');
    expect(h.fake.faults.rateLimited).toBe(1);
    expect(h.fake.faults.serverErrors).toBe(1);
    for (const channel of [ACME, OPS]) {
      const texts = messagesIn(h, channel).map((m) => textOf(m));
      expect(new Set(texts).size).toBe(texts.length);
    }
    const outbox = await h.bot.app.deps.store.outbox.forRequest((await h.bot.app.deps.store.requests.byRef(ref))!.id);
    expect(outbox.filter((m) => m.destination.startsWith('discord')).every((m) => m.status === 'sent' || m.status === 'pending')).toBe(true);
  }, 60_000);
});

describe('Discord at start-up', () => {
  it('stops the start with a clear error when Discord refuses the bot token', async () => {
    const fake = await FakeDiscord.start();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-discord-auth-'));
    try {
      const config = loadConfig({
        DATA_DIR: dir,
        PORT: '0',
    SMTP_INTAKE_PORT: '0',
        LOG_LEVEL: 'silent',
        DISCORD_TOKEN: 'revoked-token',
        DISCORD_APPLICATION_ID: fake.applicationId,
        DISCORD_API_URL: fake.apiUrl,
      });
      await expect(startBot(config, { output: quiet, noDemoRecords: true, queueOptions: { lockLifetimeMs: 2000 } })).rejects.toThrow(
        /Discord refused the bot token \(DISCORD_TOKEN\)/,
      );
    } finally {
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
