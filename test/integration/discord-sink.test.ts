/**
 * The outbox's Discord sink against the fake Discord REST API on 127.0.0.1, through the real
 * @discordjs/rest client configured as the bot configures it (no retries, 429s rejected): posts,
 * edits in place, direct messages, and the retry decision for each kind of failure.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { REST } from '@discordjs/rest';
import { actions, reply, text } from '../../src/core/reply.js';
import { DiscordSink } from '../../src/adapters/discord/discord-sink.js';
import { PermanentDeliveryError, RetryableDeliveryError } from '../../src/infra/outbox/outbox-worker.js';
import type { OutboxMessage } from '../../src/ports.js';
import { FakeDiscord } from '../fakes/fake-discord.js';
import { MemoryLogger } from '../fakes/memory-logger.js';
import { storedMessage } from '../fakes/outbox-message.js';

const CHANNEL = '1100';
const OPS = '1900';

let fake: FakeDiscord;
let sink: DiscordSink;

function message(destination: string, title: string, overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  return storedMessage({
    kind: 'progress',
    requestId: 1,
    destination,
    payload: { ...reply(title, text('@everyone look'), actions({ label: 'Next', command: '/upgrade-admin run UPG-000001 next' })), visibility: 'channel' },
    ...overrides,
  });
}

beforeAll(async () => {
  fake = await FakeDiscord.start();
  const rest = new REST({ api: fake.apiUrl, retries: 0, rejectOnRateLimit: () => true }).setToken(fake.token);
  sink = new DiscordSink({ rest, opsChannel: OPS, log: new MemoryLogger(), minIntervalMs: 0 });
});

afterAll(async () => {
  await fake.close();
});

describe('the Discord sink', () => {
  it('takes discord:<channel> and discord-dm:<user> destinations only', () => {
    expect(sink.accepts('discord:1100')).toBe(true);
    expect(sink.accepts('discord-dm:2200')).toBe(true);
    for (const other of ['discord:', 'discord:#general', 'slack:C0ACME', 'email:x@y.example', 'ops']) expect(sink.accepts(other)).toBe(false);
  });

  it('posts with mentions switched off, shows agent buttons only in the ops channel, and edits the posted message in place', async () => {
    const posted = await sink.deliver(message(`discord:${CHANNEL}`, 'Progress 10%'));
    const [channel, id] = posted.externalId!.split('/');
    expect(channel).toBe(CHANNEL);
    const stored = fake.messagesIn(CHANNEL).find((m) => m.id === id)!;
    expect(stored.allowedMentions).toEqual({ parse: [] });
    expect(stored.components).toEqual([]);
    const edited = await sink.deliver(message(`discord:${CHANNEL}`, 'Progress 50%', { externalId: posted.externalId, revision: 1 }));
    expect(edited.externalId).toBe(posted.externalId);
    expect(fake.messagesIn(CHANNEL).filter((m) => m.id === id)[0]).toMatchObject({ edits: 1 });
    expect(JSON.stringify(fake.messagesIn(CHANNEL).find((m) => m.id === id)!.embeds)).toContain('Progress 50%');

    const ops = await sink.deliver(message(`discord:${OPS}`, 'Progress 10%'));
    const opsMessage = fake.messagesIn(OPS).find((m) => m.id === ops.externalId!.split('/')[1])!;
    expect(JSON.stringify(opsMessage.components)).toContain('cmd:/upgrade-admin run UPG-000001 next');
  });

  it('posts a fresh message when the one to edit was deleted', async () => {
    const posted = await sink.deliver(message(`discord:${CHANNEL}`, 'Card'));
    const id = posted.externalId!.split('/')[1]!;
    const res = await fetch(`${fake.apiUrl}/v10/channels/${CHANNEL}/messages/${id}`, { method: 'DELETE', headers: { authorization: `Bot ${fake.token}` } });
    expect(res.status).toBeLessThan(300);
    const again = await sink.deliver(message(`discord:${CHANNEL}`, 'Card, decided', { externalId: posted.externalId, revision: 1 }));
    expect(again.externalId).not.toBe(posted.externalId);
    expect(JSON.stringify(fake.messagesIn(CHANNEL).at(-1)!.embeds)).toContain('Card, decided');
  });

  it('opens a direct-message channel once per person and posts there', async () => {
    const first = await sink.deliver(message('discord-dm:2200', 'Consent needed'));
    const second = await sink.deliver(message('discord-dm:2200', 'Scheduled'));
    const dm = fake.dmChannels.get('2200');
    expect(first.externalId?.startsWith(`${dm}/`)).toBe(true);
    expect(second.externalId?.startsWith(`${dm}/`)).toBe(true);
    expect(fake.requestsTo('POST', '/users/@me/channels')).toHaveLength(1);
  });

  it('gives up on a channel Discord does not know', async () => {
    await expect(sink.deliver(message('discord:424242', 'Lost'))).rejects.toBeInstanceOf(PermanentDeliveryError);
  });

  it('asks the outbox to retry after a 429 for as long as Retry-After says, and after a 500', async () => {
    fake.failNext(1, { status: 429, retryAfterSeconds: 2 }, (method, p) => method === 'POST' && p === `/channels/${CHANNEL}/messages`);
    const limited = await sink.deliver(message(`discord:${CHANNEL}`, 'Limited')).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RetryableDeliveryError);
    expect((limited as RetryableDeliveryError).retryAfterMs).toBeGreaterThanOrEqual(2000);
    fake.failNext(1, { status: 500 }, (method, p) => method === 'POST' && p === '/channels/1200/messages');
    await expect(sink.deliver(message('discord:1200', 'Broken'))).rejects.toBeInstanceOf(RetryableDeliveryError);
    // The refused message was not posted; the next delivery to the channel is.
    expect(fake.messagesIn(CHANNEL).some((m) => JSON.stringify(m.embeds).includes('Limited'))).toBe(false);
  });

  it('adds a link button to the status page of the message’s request, on the post and on every edit', async () => {
    const asked: number[] = [];
    const log = new MemoryLogger();
    const rest = new REST({ api: fake.apiUrl, retries: 0, rejectOnRateLimit: () => true }).setToken(fake.token);
    const linking = new DiscordSink({
      rest,
      opsChannel: OPS,
      log,
      minIntervalMs: 0,
      statusUrl: async (requestId) => {
        asked.push(requestId);
        if (requestId === 666) throw new Error('database unavailable');
        return requestId === 404 ? null : `https://desk.example/requests/UPG-${String(requestId).padStart(6, '0')}?key=k3y`;
      },
    });
    const link = { type: 2, style: 5, label: 'Status page for UPG-000007', url: 'https://desk.example/requests/UPG-000007?key=k3y' };
    const linksIn = (externalId: string | null) => {
      const [channel, id] = externalId!.split('/');
      const stored = fake.messagesIn(channel!).find((m) => m.id === id)!;
      return (stored.components as Array<{ components: Array<{ url?: string }> }>).flatMap((row) => row.components).filter((b) => b.url !== undefined);
    };
    const posted = await linking.deliver(message(`discord:${CHANNEL}`, 'Progress 10%', { requestId: 7 }));
    expect(linksIn(posted.externalId)).toEqual([link]);
    const edited = await linking.deliver(message(`discord:${CHANNEL}`, 'Progress 60%', { requestId: 7, externalId: posted.externalId, revision: 1 }));
    expect(edited.externalId).toBe(posted.externalId);
    expect(linksIn(edited.externalId)).toEqual([link]);
    // In the ops channel the link comes after the agents' buttons.
    const ops = await linking.deliver(message(`discord:${OPS}`, 'Progress 10%', { requestId: 7 }));
    const [opsChannel, opsId] = ops.externalId!.split('/');
    const rows = fake.messagesIn(opsChannel!).find((m) => m.id === opsId)!.components as Array<{ components: Array<{ custom_id?: string; url?: string }> }>;
    expect(rows.map((row) => row.components.map((b) => b.custom_id ?? b.url))).toEqual([['cmd:/upgrade-admin run UPG-000001 next'], [link.url]]);
    // No request, no link; no link to be had, or it cannot be made now: the message goes out without it.
    for (const requestId of [null, 404, 666]) {
      const plain = await linking.deliver(message(`discord:${CHANNEL}`, `No link ${requestId}`, { requestId }));
      expect(linksIn(plain.externalId)).toEqual([]);
    }
    expect(asked).toEqual([7, 7, 7, 404, 666]);
    expect(log.entries.filter((e) => e.level === 'warn').map((e) => e.msg)).toEqual(['status link unavailable; the notice goes out without it']);
  });

  it('refuses a payload that is not a reply', async () => {
    await expect(sink.deliver(message(`discord:${CHANNEL}`, 'x', { payload: 'hello' }))).rejects.toBeInstanceOf(PermanentDeliveryError);
  });
});
