import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DiscordAPIError, HTTPError, REST, RateLimitError } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import type { Interaction, TextChannel } from 'discord.js';
import { WebSocket } from 'ws';
import { FakeDiscord } from '../fakes/fake-discord.js';

const USER = '400000000000000001';

/** A REST client as the outbox sink builds it: no retries, rate limits thrown rather than waited out. */
const strictRest = (fake: FakeDiscord, token = fake.token): REST =>
  new REST({ api: fake.apiUrl, retries: 0, rejectOnRateLimit: () => true }).setToken(token);

/** Resolves with whatever `error` the promise rejects with (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('FakeDiscord with the real discord.js Client', () => {
  let fake: FakeDiscord;
  let client: Client;

  /** Runs `handler` on the next interaction the client emits; resolves with its result. */
  function handleNext<T>(handler: (interaction: Interaction) => Promise<T>, timeoutMs = 5000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const listener = (interaction: Interaction): void => {
        clearTimeout(timer);
        client.off(Events.InteractionCreate, listener);
        handler(interaction).then(resolve, reject);
      };
      const timer = setTimeout(() => {
        client.off(Events.InteractionCreate, listener);
        reject(new Error(`no interaction reached the client within ${timeoutMs} ms`));
      }, timeoutMs);
      client.on(Events.InteractionCreate, listener);
    });
  }

  beforeAll(async () => {
    fake = await FakeDiscord.start({ heartbeatIntervalMs: 200 });
    client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(fake.token);
    await ready;
  });

  afterAll(async () => {
    await client?.destroy();
    await fake?.close();
  });

  it('logs the client in, reaches ready, and caches the guild channels sent in GUILD_CREATE', async () => {
    await fake.ready();
    expect(client.isReady()).toBe(true);
    expect(client.user?.id).toBe(fake.botUserId);
    expect(client.application?.id).toBe(fake.applicationId);
    expect(fake.identifies).toBe(1);
    expect(fake.identifyPayloads[0]).toMatchObject({ token: fake.token, intents: GatewayIntentBits.Guilds, compress: false, shard: [0, 1] });
    expect(fake.requestsTo('GET', '/gateway/bot')[0]).toMatchObject({ status: 200, headers: { authorization: `Bot ${fake.token}` } });
    expect(client.guilds.cache.get('1000')?.available).toBe(true);
    expect([...client.channels.cache.keys()].sort()).toEqual(['1100', '1200', '1300', '1900']);
    const acme = client.channels.cache.get('1100') as TextChannel;
    expect(acme.type).toBe(ChannelType.GuildText);
    expect(acme.name).toBe('acme');
    expect(acme.guild.members.me?.id).toBe(fake.botUserId);
  });

  it('acknowledges every heartbeat, so the client measures a ping', async () => {
    await fake.waitFor(() => fake.heartbeats >= 2 && client.ws.ping >= 0, 3000, 'two acknowledged heartbeats');
    expect(fake.gatewayPayloads.filter((p) => (p as { op: number }).op === 1).length).toBe(fake.heartbeats);
  });

  it('delivers a chat input command, records the ephemeral deferral, the edited reply and a follow-up', async () => {
    const handled = handleNext(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error(`unexpected interaction type ${interaction.type}`);
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      const edited = await interaction.editReply({ content: 'Upgrade UPG-1 filed', embeds: [{ title: 'UPG-1' }] });
      const followUp = await interaction.followUp({ content: 'Anything else?', flags: MessageFlags.Ephemeral });
      return {
        name: interaction.commandName,
        group: interaction.options.getSubcommandGroup(false),
        subcommand: interaction.options.getSubcommand(),
        device: interaction.options.getString('device'),
        count: interaction.options.getInteger('count'),
        channel: interaction.channel?.id,
        guild: interaction.guildId,
        user: interaction.user.id,
        member: interaction.member?.user.id,
        canSend: interaction.memberPermissions?.has('SendMessages'),
        editedId: edited.id,
        followUpContent: followUp.content,
      };
    });
    const { token } = fake.sendInteraction(
      fake.slashCommand({
        userId: USER,
        channelId: '1100',
        name: 'upgrade',
        group: 'device',
        subcommand: 'request',
        options: [
          { name: 'device', type: ApplicationCommandOptionType.String, value: 'edge-7' },
          { name: 'count', type: ApplicationCommandOptionType.Integer, value: 2 },
        ],
      }),
    );
    const seen = await handled;

    expect(seen).toMatchObject({ name: 'upgrade', group: 'device', subcommand: 'request', device: 'edge-7', count: 2, channel: '1100', guild: '1000', user: USER, member: USER, canSend: true });
    expect(seen.followUpContent).toBe('Anything else?');
    expect(fake.callbacks.filter((c) => c.token === token).map((c) => [c.type, c.data])).toEqual([[5, { flags: MessageFlags.Ephemeral }]]);
    expect(fake.original(token)).toMatchObject({ id: seen.editedId, channelId: '1100', content: 'Upgrade UPG-1 filed', embeds: [{ title: 'UPG-1' }], flags: MessageFlags.Ephemeral, edits: 0 });
    expect(fake.followUps(token)).toEqual([expect.objectContaining({ content: 'Anything else?', flags: MessageFlags.Ephemeral })]);
    const callback = fake.requests.find((r) => r.path.endsWith('/callback') && r.path.includes(token));
    expect(callback).toMatchObject({ status: 204, query: 'with_response=false' });
    expect(callback?.headers.authorization).toBeUndefined();
  });

  it('records showModal as callback type 9 with the modal', async () => {
    const handled = handleNext(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      const input = new TextInputBuilder().setCustomId('device').setLabel('Device').setStyle(TextInputStyle.Short);
      await interaction.showModal(new ModalBuilder().setCustomId('upgrade_modal').setTitle('Request an upgrade').addComponents(new ActionRowBuilder<TextInputBuilder>().addComponents(input)));
    });
    const { token } = fake.sendInteraction(fake.slashCommand({ userId: USER, channelId: '1100', name: 'upgrade' }));
    await handled;
    const [callback] = fake.callbacks.filter((c) => c.token === token);
    expect(callback).toMatchObject({ type: 9, data: { custom_id: 'upgrade_modal', title: 'Request an upgrade' } });
    expect(callback?.data.components[0].components[0]).toMatchObject({ type: 4, custom_id: 'device', label: 'Device' });
  });

  it('lets a modal submit be read with fields.getTextInputValue and answered with a reply', async () => {
    const handled = handleNext(async (interaction) => {
      if (!interaction.isModalSubmit()) throw new Error('expected a modal submit');
      const values = { customId: interaction.customId, device: interaction.fields.getTextInputValue('device'), when: interaction.fields.getTextInputValue('when') };
      await interaction.reply({ content: `Filed for ${values.device}` });
      return values;
    });
    const { token } = fake.sendInteraction(fake.modalSubmit({ userId: USER, channelId: '1200', customId: 'upgrade_modal', fields: { device: 'edge-7', when: 'tomorrow 02:00' } }));
    expect(await handled).toEqual({ customId: 'upgrade_modal', device: 'edge-7', when: 'tomorrow 02:00' });
    expect(fake.callbacks.filter((c) => c.token === token).map((c) => c.type)).toEqual([4]);
    expect(fake.original(token)).toMatchObject({ channelId: '1200', content: 'Filed for edge-7', flags: 0, edits: 0 });
  });

  it('records an autocomplete respond as callback type 8 with the choices', async () => {
    const handled = handleNext(async (interaction) => {
      if (!interaction.isAutocomplete()) throw new Error('expected autocomplete');
      const focused = interaction.options.getFocused(true);
      await interaction.respond([{ name: 'edge-7 (Acme)', value: 'edge-7' }]);
      return focused;
    });
    const { token } = fake.sendInteraction(
      fake.autocomplete({
        userId: USER,
        channelId: '1100',
        name: 'upgrade',
        subcommand: 'request',
        options: [
          { name: 'tenant', type: ApplicationCommandOptionType.String, value: 'acme' },
          { name: 'device', type: ApplicationCommandOptionType.String, value: 'ed', focused: true },
        ],
      }),
    );
    expect(await handled).toMatchObject({ name: 'device', value: 'ed' });
    expect(fake.callbacks.filter((c) => c.token === token)).toEqual([expect.objectContaining({ type: 8, data: { choices: [{ name: 'edge-7 (Acme)', value: 'edge-7' }] } })]);
  });

  it('delivers button clicks on a posted message: customId, deferUpdate + editReply, and update edit that message', async () => {
    const channel = client.channels.cache.get('1200') as TextChannel;
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId('approve:UPG-1').setLabel('Approve').setStyle(ButtonStyle.Success));
    const sent = await channel.send({ content: 'Approve UPG-1?', components: [row] });
    const posted = fake.channelMessages.find((m) => m.id === sent.id);
    expect(posted).toMatchObject({ channelId: '1200', content: 'Approve UPG-1?', authorId: fake.botUserId, edits: 0 });
    if (!posted) return;

    const first = handleNext(async (interaction) => {
      if (!interaction.isButton()) throw new Error('expected a button');
      await interaction.deferUpdate();
      await interaction.editReply({ content: 'Approving…', components: [] });
      return { customId: interaction.customId, messageId: interaction.message.id };
    });
    const click = fake.sendInteraction(fake.button({ userId: USER, channelId: '1200', message: posted, customId: 'approve:UPG-1' }));
    expect(await first).toEqual({ customId: 'approve:UPG-1', messageId: sent.id });
    expect(fake.callbacks.filter((c) => c.token === click.token).map((c) => c.type)).toEqual([6]);
    expect(posted).toMatchObject({ content: 'Approving…', components: [], edits: 1 });
    expect(fake.original(click.token)).toBe(posted);

    const second = handleNext(async (interaction) => {
      if (!interaction.isButton()) throw new Error('expected a button');
      await interaction.update({ content: 'Approved by <@' + interaction.user.id + '>' });
    });
    const again = fake.sendInteraction(fake.button({ userId: USER, channelId: '1200', message: posted, customId: 'approve:UPG-1' }));
    await second;
    expect(fake.callbacks.filter((c) => c.token === again.token).map((c) => c.type)).toEqual([7]);
    expect(posted).toMatchObject({ content: `Approved by <@${USER}>`, edits: 2 });
    expect(posted.history.map((body) => body.content)).toEqual(['Approve UPG-1?', 'Approving…', `Approved by <@${USER}>`]);

    const third = handleNext(async (interaction) => {
      if (!interaction.isButton()) throw new Error('expected a button');
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      await interaction.editReply({ content: 'Already approved' });
    });
    const late = fake.sendInteraction(fake.button({ userId: USER, channelId: '1200', message: posted, customId: 'approve:UPG-1' }));
    expect(fake.original(late.token)).toBeUndefined();
    await third;
    expect(fake.original(late.token)).toMatchObject({ content: 'Already approved', flags: MessageFlags.Ephemeral });
    expect(fake.original(late.token)).not.toBe(posted);
    expect(posted.edits).toBe(2);
  });

  it('stores application commands put by the client, globally and per guild, with ids that interactions then carry', async () => {
    const global = await client.application!.commands.set([
      { name: 'upgrade', description: 'File an upgrade request', options: [{ type: ApplicationCommandOptionType.String, name: 'device', description: 'Device', required: true }] },
    ]);
    const guild = await client.application!.commands.set([{ name: 'upgrade-admin', description: 'Admin' }], '1000');
    expect(fake.commands.global).toEqual([expect.objectContaining({ id: global.first()?.id, name: 'upgrade', application_id: fake.applicationId })]);
    expect(fake.commands.guilds.get('1000')).toEqual([expect.objectContaining({ id: guild.first()?.id, name: 'upgrade-admin', guild_id: '1000' })]);
    expect(fake.requestsTo('PUT', `/applications/${fake.applicationId}/commands`)).toHaveLength(1);

    const again = await client.application!.commands.set([{ name: 'upgrade', description: 'File an upgrade request (v2)' }]);
    expect(again.first()?.id).toBe(global.first()?.id);
    expect(fake.commands.global).toHaveLength(1);

    const handled = handleNext(async (interaction) => (interaction.isChatInputCommand() ? interaction.commandId : null));
    fake.sendInteraction(fake.slashCommand({ userId: USER, channelId: '1100', name: 'upgrade' }));
    expect(await handled).toBe(global.first()?.id);
  });

  it('opens a DM channel, posts into it, and delivers a DM command with user instead of member', async () => {
    const dm = await client.users.createDM(USER);
    expect(dm.id).toBe(fake.dmChannels.get(USER));
    await dm.send('Your upgrade is scheduled');
    expect(fake.messagesIn(dm.id).map((m) => m.content)).toEqual(['Your upgrade is scheduled']);
    expect((await strictRest(fake).post(Routes.userChannels(), { body: { recipient_id: USER } })) as { id: string }).toMatchObject({ id: dm.id, type: 1 });

    const handled = handleNext(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      await interaction.reply({ content: 'Here are your requests' });
      return { inGuild: interaction.inGuild(), user: interaction.user.id, channel: interaction.channelId, member: interaction.member };
    });
    const { token } = fake.sendInteraction(fake.slashCommand({ userId: USER, channelId: dm.id, name: 'upgrade', dm: true }));
    expect(await handled).toEqual({ inGuild: false, user: USER, channel: dm.id, member: null });
    expect(fake.original(token)).toMatchObject({ channelId: dm.id, content: 'Here are your requests' });
  });

  it('takes multipart posts: payload_json becomes the body and files become attachments', async () => {
    const channel = client.channels.cache.get('1300') as TextChannel;
    const sent = await channel.send({ content: 'Run report', files: [{ attachment: Buffer.from('line 1\nline 2\n'), name: 'report.txt' }] });
    expect(sent.attachments.first()).toMatchObject({ name: 'report.txt', size: 14 });
    const request = fake.requestsTo('POST', '/channels/1300/messages').at(-1);
    expect(request?.headers['content-type']).toMatch(/^multipart\/form-data/);
    expect(request?.body).toMatchObject({ content: 'Run report' });
    expect(request?.files.map((f) => [f.filename, f.data.toString()])).toEqual([['report.txt', 'line 1\nline 2\n']]);
    expect(fake.messagesIn('1300').at(-1)?.attachments).toEqual([expect.objectContaining({ filename: 'report.txt', size: 14 })]);
  });

  it('refuses a second callback for one interaction with code 40060', async () => {
    const { id, token } = fake.sendInteraction(fake.slashCommand({ userId: USER, channelId: '1100', name: 'nobody-answers' }));
    const rest = strictRest(fake);
    await rest.post(Routes.interactionCallback(id, token), { auth: false, body: { type: 4, data: { content: 'first' } } });
    expect(await rejection(rest.post(Routes.interactionCallback(id, token), { auth: false, body: { type: 4, data: { content: 'second' } } }))).toMatchObject({ status: 400, code: 40060 });
    expect(await rejection(rest.post(Routes.interactionCallback(id, 'not-the-token'), { auth: false, body: { type: 5 } }))).toMatchObject({ status: 404, code: 10062 });
    expect(fake.original(token)?.content).toBe('first');
  });

  it('keeps a redelivered interaction one interaction: the second reply is refused with 40060', async () => {
    const outcomes: unknown[] = [];
    const listener = (interaction: Interaction): void => {
      if (!interaction.isChatInputCommand()) return;
      interaction.reply({ content: 'once' }).then(
        () => outcomes.push('replied'),
        (error: unknown) => outcomes.push(error),
      );
    };
    client.on(Events.InteractionCreate, listener);
    try {
      const payload = fake.slashCommand({ userId: USER, channelId: '1100', name: 'upgrade', subcommand: 'windows' });
      fake.sendInteraction(payload);
      fake.sendInteraction(payload);
      await fake.waitFor(() => outcomes.length === 2, 3000, 'both deliveries answered');
    } finally {
      client.off(Events.InteractionCreate, listener);
    }
    expect(outcomes).toEqual(['replied', expect.objectContaining({ status: 400, code: 40060 })]);
  });
});

describe('FakeDiscord REST with @discordjs/rest', () => {
  let fake: FakeDiscord;

  beforeAll(async () => {
    fake = await FakeDiscord.start();
  });

  afterAll(async () => {
    await fake?.close();
  });

  it('posts and edits a channel message in Discord message shape', async () => {
    const rest = strictRest(fake);
    const posted = (await rest.post(Routes.channelMessages('1900'), { body: { content: 'queued', allowed_mentions: { parse: [] } } })) as Record<string, unknown>;
    expect(posted).toMatchObject({
      channel_id: '1900',
      content: 'queued',
      type: 0,
      author: { id: fake.botUserId, bot: true },
      embeds: [],
      components: [],
      mentions: [],
      attachments: [],
      edited_timestamp: null,
      tts: false,
      pinned: false,
      mention_everyone: false,
    });
    const edited = (await rest.patch(Routes.channelMessage('1900', posted.id as string), { body: { content: 'running' } })) as Record<string, unknown>;
    expect(edited).toMatchObject({ id: posted.id, content: 'running', edited_timestamp: expect.any(String) });
    expect(fake.messagesIn('1900')).toEqual([expect.objectContaining({ content: 'running', edits: 1, allowedMentions: { parse: [] }, history: [expect.anything(), { content: 'running' }] })]);
    await rest.delete(Routes.channelMessage('1900', posted.id as string));
    expect(fake.messagesIn('1900')).toEqual([]);
  });

  it('throws RateLimitError whose retryAfter is Retry-After in ms plus the 50 ms offset when a 429 is injected, then serves normally', async () => {
    const rest = strictRest(fake);
    fake.failNext(1, { status: 429, retryAfterSeconds: 3 });
    const error = await rejection(rest.post(Routes.channelMessages('1100'), { body: { content: 'x' } }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ retryAfter: 3050, global: false, method: 'POST' });
    await expect(rest.post(Routes.channelMessages('1100'), { body: { content: 'x' } })).resolves.toMatchObject({ content: 'x' });
    expect(fake.faults.rateLimited).toBe(1);
    const answered = fake.requestsTo('POST', '/channels/1100/messages').map((r) => r.status);
    expect(answered.slice(-2)).toEqual([429, 200]);
  });

  it('sees an injected 500 as HTTPError 500, and a REST client with retries gets through', async () => {
    fake.failNext(1, { status: 500 });
    const error = await rejection(strictRest(fake).post(Routes.channelMessages('1100'), { body: { content: 'x' } }));
    expect(error).toBeInstanceOf(HTTPError);
    expect(error).toMatchObject({ status: 500, method: 'POST' });

    fake.failNext(1, { status: 500 });
    const patient = new REST({ api: fake.apiUrl, retries: 1 }).setToken(fake.token);
    await expect(patient.post(Routes.channelMessages('1100'), { body: { content: 'y' } })).resolves.toMatchObject({ content: 'y' });
    expect(fake.faults.serverErrors).toBe(2);
  });

  it('answers unknown channels, unknown messages, injected 404s and unmatched routes with Discord error codes', async () => {
    const rest = strictRest(fake);
    expect(await rejection(rest.post(Routes.channelMessages('5555'), { body: { content: 'x' } }))).toMatchObject({ status: 404, code: 10003 });
    expect(await rejection(rest.get(Routes.channel('5555')))).toMatchObject({ status: 404, code: 10003 });
    await expect(rest.get(Routes.channel('1100'))).resolves.toMatchObject({ id: '1100', type: 0, guild_id: '1000', name: 'acme', permission_overwrites: [] });
    expect(await rejection(rest.patch(Routes.channelMessage('1100', '123456'), { body: { content: 'x' } }))).toMatchObject({ status: 404, code: 10008 });
    fake.failNext(1, { status: 404, code: 10008, message: 'Unknown Message' }, (method) => method === 'PATCH');
    const posted = (await rest.post(Routes.channelMessages('1100'), { body: { content: 'x' } })) as { id: string };
    const injected = await rejection(rest.patch(Routes.channelMessage('1100', posted.id), { body: { content: 'y' } }));
    expect(injected).toBeInstanceOf(DiscordAPIError);
    expect(injected).toMatchObject({ status: 404, code: 10008 });
    expect(await rejection(rest.get('/nothing/here' as `/${string}`))).toMatchObject({ status: 404 });
    expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: '/nothing/here', status: 404 });
    expect(await rejection(rest.post(Routes.channelMessages('1100'), { body: {} }))).toMatchObject({ status: 400, code: 50006 });
    expect(await rejection(rest.post(Routes.channelMessages('1100'), { body: { content: 'x'.repeat(2001) } }))).toMatchObject({ status: 400, code: 50035 });
  });

  it('enforces the per-channel limit with Retry-After in whole seconds, per channel, and @discordjs/rest waits it out', async () => {
    const limited = await FakeDiscord.start({ rateLimitPerChannelMs: 400 });
    try {
      const rest = strictRest(limited);
      await rest.post(Routes.channelMessages('1100'), { body: { content: 'first' } });
      expect(await rejection(rest.post(Routes.channelMessages('1100'), { body: { content: 'too soon' } }))).toMatchObject({ retryAfter: 1050 });
      await expect(rest.post(Routes.channelMessages('1200'), { body: { content: 'other channel' } })).resolves.toMatchObject({ content: 'other channel' });

      const patient = new REST({ api: limited.apiUrl, retries: 0 }).setToken(limited.token);
      const started = Date.now();
      await expect(patient.post(Routes.channelMessages('1200'), { body: { content: 'waits' } })).resolves.toMatchObject({ content: 'waits' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(limited.faults.rateLimited).toBe(2);
      expect(limited.messagesIn('1100').map((m) => m.content)).toEqual(['first']);
      expect(limited.messagesIn('1200').map((m) => m.content)).toEqual(['other channel', 'waits']);
    } finally {
      await limited.close();
    }
  });

  it('answers 401 to a wrong token, and the Client refuses to log in with it', async () => {
    const error = await rejection(strictRest(fake, 'wrong-token').get(Routes.gatewayBot()));
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect(error).toMatchObject({ status: 401 });
    expect(fake.requests.at(-1)).toMatchObject({ path: '/gateway/bot', status: 401, headers: { authorization: 'Bot wrong-token' } });

    const refused = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
    try {
      expect(await rejection(refused.login('wrong-token'))).toMatchObject({ code: 'TokenInvalid' });
    } finally {
      await refused.destroy();
    }
    expect(fake.identifies).toBe(0);
  });

  it('speaks the gateway protocol to a bare WebSocket: HELLO, READY then GUILD_CREATE, heartbeat ACK, RESUME', async () => {
    const frames: Array<{ op: number; t: string | null; s: number | null; d: Record<string, unknown> }> = [];
    const open = (url: string): WebSocket => {
      const socket = new WebSocket(url);
      socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as (typeof frames)[number]));
      return socket;
    };
    const first = open(`${fake.gatewayUrl}/?v=10&encoding=json`);
    try {
      await fake.waitFor(() => frames.some((f) => f.op === 10), 2000, 'HELLO');
      first.send(JSON.stringify({ op: 2, d: { token: fake.token, intents: 1, properties: {} } }));
      first.send(JSON.stringify({ op: 1, d: null }));
      await fake.waitFor(() => frames.some((f) => f.t === 'GUILD_CREATE') && frames.some((f) => f.op === 11), 2000, 'GUILD_CREATE and an ACK');
      const dispatches = frames.filter((f) => f.op === 0);
      expect(dispatches.map((f) => [f.t, f.s])).toEqual([['READY', 1], ['GUILD_CREATE', 2]]);
      const ready = dispatches[0]!.d;
      expect(ready).toMatchObject({ v: 10, user: { id: fake.botUserId, bot: true }, guilds: [{ id: '1000', unavailable: true }], application: { id: fake.applicationId, flags: 0 } });
      expect(dispatches[1]!.d).toMatchObject({ id: '1000', unavailable: false, channels: expect.arrayContaining([expect.objectContaining({ id: '1100', type: 0, name: 'acme' })]) });
      await fake.ready();
      first.close(4000);
      await fake.waitFor(() => fake.gatewayClients === 0, 2000, 'the first socket to close');

      frames.length = 0;
      const second = open(ready.resume_gateway_url as string);
      try {
        await fake.waitFor(() => frames.some((f) => f.op === 10), 2000, 'HELLO again');
        second.send(JSON.stringify({ op: 6, d: { token: fake.token, session_id: ready.session_id, seq: 2 } }));
        await fake.waitFor(() => frames.some((f) => f.t === 'RESUMED'), 2000, 'RESUMED');
        expect(frames.find((f) => f.t === 'RESUMED')?.s).toBe(3);
        expect(fake.identifies).toBe(1);
      } finally {
        second.terminate();
      }
    } finally {
      first.terminate();
    }
  });

  it('refuses a callback after interactionAckDeadlineMs with 10062, like Discord after 3 s', async () => {
    const strict = await FakeDiscord.start({ interactionAckDeadlineMs: 50 });
    const socket = new WebSocket(`${strict.gatewayUrl}/?v=10&encoding=json`);
    try {
      socket.on('open', () => socket.send(JSON.stringify({ op: 2, d: { token: strict.token, intents: 1, properties: {} } })));
      await strict.ready();
      const rest = strictRest(strict);
      const early = strict.sendInteraction(strict.slashCommand({ userId: USER, channelId: '1100', name: 'upgrade' }));
      await rest.post(Routes.interactionCallback(early.id, early.token), { auth: false, body: { type: 5 } });
      const late = strict.sendInteraction(strict.slashCommand({ userId: USER, channelId: '1100', name: 'upgrade' }));
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(await rejection(rest.post(Routes.interactionCallback(late.id, late.token), { auth: false, body: { type: 5 } }))).toMatchObject({ status: 404, code: 10062 });
      expect(strict.callbacks.map((c) => c.token)).toEqual([early.token]);
    } finally {
      socket.terminate();
      await strict.close();
    }
  });

  it('closes the gateway with 4004 when IDENTIFY carries a wrong token', async () => {
    const socket = new WebSocket(`${fake.gatewayUrl}/?v=10&encoding=json`);
    const frames: Array<{ op: number; d: unknown }> = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as { op: number; d: unknown }));
    try {
      await fake.waitFor(() => frames.length > 0, 2000, 'HELLO');
      expect(frames[0]).toMatchObject({ op: 10, d: { heartbeat_interval: 41250 } });
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      socket.send(JSON.stringify({ op: 2, d: { token: 'wrong-token', intents: 1, properties: {} } }));
      expect(await closed).toBe(4004);
    } finally {
      socket.terminate();
    }
  });
});
