/**
 * Discord faked at the wire: an HTTP server on 127.0.0.1 that answers the REST API v10 routes
 * Upgrade Desk uses well enough for @discordjs/rest (and so for a discord.js `Client`), plus a
 * JSON, uncompressed gateway over a WebSocket on the same port (HELLO, IDENTIFY → READY and one
 * GUILD_CREATE per guild, heartbeat ACKs, RESUME). It keeps a model of channel messages, interaction
 * replies and follow-ups, DM channels and application commands, records every request, pushes
 * interactions to the connected client, and misbehaves on demand (429 with Retry-After, 500, 404,
 * a per-channel message rate limit). Errors are shaped like Discord's: HTTP status plus
 * `{code, message}` JSON.
 *
 * Facts this relies on (checked in node_modules, discord.js 14.28 / @discordjs/rest 2.6 / @discordjs/ws 1.2):
 * - @discordjs/rest honours a 429 only through `Retry-After` (seconds; it waits `Retry-After × 1000 +
 *   offset` ms, offset 50 by default, then retries without counting a retry). No `X-RateLimit-*`
 *   header is needed: without them a bucket is unlimited. A 429 without Retry-After is retried at once.
 *   With `rejectOnRateLimit`, it throws `RateLimitError` whose `retryAfter` is in milliseconds.
 * - A body is parsed as JSON only when `Content-Type` starts with application/json, so a 204 must not
 *   carry that header (parsing the empty body would throw).
 * - Interaction callbacks and interaction webhooks (follow-ups, @original) are sent without
 *   `Authorization` (`auth: false`); callbacks always carry `?with_response=true|false`.
 * - Ids shorter than 17 digits (the default guild and channels) are fine for discord.js; @discordjs/rest
 *   keeps them literally in its bucket route ('/channels/1100/messages', also RateLimitError.route)
 *   instead of ':id', since its id regex wants 17–19 digits. Message ids here are real snowflakes.
 * - discord.js escapes '@original' as '%40original' in interaction webhook paths; paths are decoded
 *   before routing and recording.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';

/** Free-form Discord JSON as received or sent (payloads pass through without a schema). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DiscordJson = any;

/** Options of {@link FakeDiscord.start}. */
export interface FakeDiscordOptions {
  /** Default '900000000000000001'. */
  applicationId?: string;
  /** Default '900000000000000002'. */
  botUserId?: string;
  /** The accepted bot token (REST `Authorization: Bot <token>`, gateway IDENTIFY); default 'test-discord-token'. */
  token?: string;
  /** Default: guild '1000' with channels '1100' (acme), '1200' (globex), '1900' (ops), '1300' (general). */
  guilds?: Array<{ id: string; name?: string; channels: Array<{ id: string; name?: string }> }>;
  /** Refuse with 429 a second message (post or edit) to one channel within this many ms (like Discord's per-channel limit); null = no enforcement. */
  rateLimitPerChannelMs?: number | null;
  /** HELLO's heartbeat_interval; default 41250 like Discord. Tests that want to see heartbeats use a few hundred ms. */
  heartbeatIntervalMs?: number;
  /** When set, an interaction callback later than this after the INTERACTION_CREATE is refused with 404 code 10062 (Discord's 3 s limit); default null. */
  interactionAckDeadlineMs?: number | null;
}

/** A message as it stands now (channel message, interaction reply or follow-up). */
export interface FakeDiscordMessage {
  id: string;
  channelId: string;
  content: string;
  embeds: DiscordJson[];
  components: DiscordJson[];
  allowedMentions: unknown;
  flags: number;
  authorId: string;
  /** Number of edits after creation (PATCH, or an UPDATE_MESSAGE callback); `history` holds every version's request body, oldest first. */
  edits: number;
  history: DiscordJson[];
  /** Files uploaded with it (multipart), in Discord's attachment shape. */
  attachments: DiscordJson[];
  createdAt: number;
  editedAt: number | null;
  /** Set on interaction replies and follow-ups: the interaction token they belong to. */
  interactionToken?: string;
}

/** One accepted interaction callback (POST /interactions/:id/:token/callback). */
export interface InteractionCallback {
  interactionId: string;
  token: string;
  type: number;
  data: DiscordJson;
  at: number;
}

/** A file part of a multipart request. */
export interface UploadedFile {
  field: string;
  filename: string;
  contentType: string | undefined;
  size: number;
  data: Buffer;
}

/** One REST request as received, with the status it was answered with. */
export interface RecordedRequest {
  method: string;
  /** The route without `/api/v10` and without the query, e.g. '/channels/1100/messages' (what discord.js's `Routes` build). */
  path: string;
  /** The query string without '?', e.g. 'with_response=false'. */
  query: string;
  /** JSON body, or a multipart request's `payload_json`; null when there was none. */
  body: DiscordJson;
  headers: Record<string, string | string[] | undefined>;
  /** Answered status; 0 while being answered. */
  status: number;
  files: UploadedFile[];
  at: number;
}

/** A misbehaviour for `failNext`. */
export type DiscordFault = { status: 429; retryAfterSeconds: number } | { status: 500 } | { status: 404; code?: number; message?: string };

/** What a builder returns: an INTERACTION_CREATE `d` payload. */
export interface InteractionPayload {
  id: string;
  token: string;
  type: number;
  [key: string]: unknown;
}

/** A command option for the payload builders; `focused` marks the option being typed (autocomplete). */
export interface CommandOptionInput {
  name: string;
  type: number;
  value: string | number | boolean;
  focused?: boolean;
}

/** Who acts and where, common to every builder. */
interface InteractionWho {
  userId: string;
  channelId: string;
  /** The guild; default the guild holding `channelId`, else the first guild. Ignored with `dm`. */
  guildId?: string;
  /** A direct message with the bot: `user` instead of `member`, and `channelId` becomes the user's DM channel. */
  dm?: boolean;
  username?: string;
  /** The member's permissions bitfield as a decimal string; default everything but Administrator. */
  memberPermissions?: string;
  roles?: string[];
}

/** Input of {@link FakeDiscord.slashCommand} and {@link FakeDiscord.autocomplete}. */
export interface SlashCommandInput extends InteractionWho {
  name: string;
  subcommand?: string;
  group?: string;
  options?: CommandOptionInput[];
}

type JsonObject = Record<string, unknown>;

interface Answer {
  status: number;
  /** undefined: no body and no content type. */
  body?: unknown;
  headers?: Record<string, string>;
}

interface RouteContext {
  method: string;
  params: string[];
  query: URLSearchParams;
  body: JsonObject;
  files: UploadedFile[];
}

interface Route {
  method: string;
  pattern: RegExp;
  /** Needs `Authorization: Bot <token>`. */
  auth: boolean;
  handle: (ctx: RouteContext) => Answer;
}

interface ChannelModel {
  id: string;
  name: string;
  guildId: string | null;
  position: number;
  /** For a DM channel: the other user. */
  recipientId?: string;
}

interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  channelId: string;
  guildId: string | null;
  createdAt: number;
  /** The callback type it was answered with, null until then. */
  responseType: number | null;
  /** Flags of a deferred reply (type 5), applied when the first PATCH @original creates it. */
  deferredFlags: number;
  /** For component interactions (and modal submits from one): the message the component is on. */
  componentMessage?: FakeDiscordMessage;
}

interface GatewaySession {
  socket: WebSocket;
  sessionId: string | null;
  seq: number;
  ready: boolean;
}

const DEFAULT_GUILDS: NonNullable<FakeDiscordOptions['guilds']> = [
  {
    id: '1000',
    name: 'Upgrade Desk Test',
    channels: [
      { id: '1100', name: 'acme' },
      { id: '1200', name: 'globex' },
      { id: '1900', name: 'ops' },
      { id: '1300', name: 'general' },
    ],
  },
];

const API_VERSION = 10;
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const MAX_MULTIPART_PARTS = 20;
const DISCORD_EPOCH = 1420070400000n;
const GUILD_OWNER_ID = '900000000000000003';
const JOINED_AT = '2025-01-01T00:00:00.000000+00:00';
const FLAG_EPHEMERAL = 1 << 6;
const FLAG_LOADING = 1 << 7;
/** View, send, embed, attach, history, reactions, external emoji, application commands… everything but Administrator. */
const ALL_BUT_ADMIN = String((1n << 50n) - 1n - 8n);
const INTERACTION_CALLBACK_PATH = /^\/interactions\/[^/]+\/[^/]+\/callback$/;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const json = (status: number, body: unknown, headers: Record<string, string> = {}): Answer => ({ status, body, headers });
const noContent = (): Answer => ({ status: 204 });
const discordError = (status: number, code: number, message: string, extra: JsonObject = {}): Answer => json(status, { message, code, ...extra });
const unknownChannel = (): Answer => discordError(404, 10003, 'Unknown Channel');
const unknownMessage = (): Answer => discordError(404, 10008, 'Unknown Message');
const unknownWebhook = (): Answer => discordError(404, 10015, 'Unknown Webhook');
const unknownInteraction = (): Answer => discordError(404, 10062, 'Unknown interaction');
const invalidForm = (field: string, code: string, message: string): Answer =>
  discordError(400, 50035, 'Invalid Form Body', { errors: { [field]: { _errors: [{ code, message }] } } });

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Reads a request body of at most MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Splits a multipart/form-data body into its parts (at most MAX_MULTIPART_PARTS). */
function parseMultipart(raw: Buffer, boundary: string): Array<{ name: string; filename?: string; contentType?: string; data: Buffer }> {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Array<{ name: string; filename?: string; contentType?: string; data: Buffer }> = [];
  let start = raw.indexOf(delimiter);
  for (let i = 0; i < MAX_MULTIPART_PARTS && start !== -1; i++) {
    const afterDelimiter = start + delimiter.length;
    if (raw.subarray(afterDelimiter, afterDelimiter + 2).toString('latin1') === '--') break;
    const next = raw.indexOf(delimiter, afterDelimiter);
    if (next === -1) break;
    const part = raw.subarray(afterDelimiter + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const headerText = part.subarray(0, headerEnd).toString('utf8');
      const disposition = /content-disposition:([^\r\n]*)/i.exec(headerText)?.[1] ?? '';
      const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
      const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
      const contentType = /content-type:\s*([^\r\n]*)/i.exec(headerText)?.[1]?.trim();
      if (name !== undefined) parts.push({ name, filename, contentType, data: part.subarray(headerEnd + 4) });
    }
    start = next;
  }
  return parts;
}

/** Decodes a JSON or multipart body; null when it cannot be read. */
function decodeBody(contentType: string | undefined, raw: Buffer): { body: DiscordJson; files: UploadedFile[] } | null {
  if (raw.length === 0) return { body: null, files: [] };
  const type = (contentType ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) {
    const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
    const mark = boundary?.[1] ?? boundary?.[2];
    if (!mark) return null;
    const files: UploadedFile[] = [];
    let body: DiscordJson = null;
    const fields: JsonObject = {};
    for (const part of parseMultipart(raw, mark)) {
      if (part.filename !== undefined) {
        files.push({ field: part.name, filename: part.filename, contentType: part.contentType, size: part.data.length, data: part.data });
      } else if (part.name === 'payload_json') {
        try {
          body = JSON.parse(part.data.toString('utf8'));
        } catch {
          return null;
        }
      } else {
        fields[part.name] = part.data.toString('utf8');
      }
    }
    return { body: body ?? fields, files };
  }
  try {
    return { body: JSON.parse(raw.toString('utf8')), files: [] };
  } catch {
    return null;
  }
}

function send(res: ServerResponse, answer: Answer): void {
  if (answer.body === undefined) {
    res.writeHead(answer.status, answer.headers ?? {});
    res.end();
    return;
  }
  res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  res.end(JSON.stringify(answer.body));
}

/** Checks a message body against Discord's limits; null when acceptable. */
function invalidMessage(body: JsonObject, files: UploadedFile[], creating: boolean): Answer | null {
  const content = body.content;
  if (content !== undefined && content !== null && typeof content !== 'string') return invalidForm('content', 'STRING_TYPE_CONVERT', 'Could not interpret as string.');
  if (typeof content === 'string' && content.length > 2000) return invalidForm('content', 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
  const embeds = body.embeds;
  if (embeds !== undefined && embeds !== null && !Array.isArray(embeds)) return invalidForm('embeds', 'LIST_TYPE_CONVERT', 'Could not interpret as a list.');
  if (Array.isArray(embeds)) {
    if (embeds.length > 10) return invalidForm('embeds', 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
    for (const embed of embeds) {
      if (!isObject(embed)) return invalidForm('embeds', 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      if (typeof embed.title === 'string' && embed.title.length > 256) return invalidForm('embeds', 'BASE_TYPE_MAX_LENGTH', 'title: Must be 256 or fewer in length.');
      if (typeof embed.description === 'string' && embed.description.length > 4096) return invalidForm('embeds', 'BASE_TYPE_MAX_LENGTH', 'description: Must be 4096 or fewer in length.');
      if (Array.isArray(embed.fields) && embed.fields.length > 25) return invalidForm('embeds', 'BASE_TYPE_MAX_LENGTH', 'fields: Must be 25 or fewer in length.');
    }
  }
  const components = body.components;
  if (components !== undefined && components !== null && !Array.isArray(components)) return invalidForm('components', 'LIST_TYPE_CONVERT', 'Could not interpret as a list.');
  const componentsV2 = typeof body.flags === 'number' && (body.flags & (1 << 15)) !== 0;
  if (Array.isArray(components) && !componentsV2) {
    if (components.length > 5) return invalidForm('components', 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
    for (const row of components) {
      if (!isObject(row) || row.type !== 1 || !Array.isArray(row.components)) return invalidForm('components', 'COMPONENT_LAYOUT_INVALID', 'Top-level components must be action rows.');
      if (row.components.length > 5) return invalidForm('components', 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
    }
  }
  if (creating) {
    const empty =
      !(typeof content === 'string' && content.length > 0) &&
      !(Array.isArray(embeds) && embeds.length > 0) &&
      !(Array.isArray(components) && components.length > 0) &&
      !(Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0) &&
      body.poll === undefined &&
      files.length === 0;
    if (empty) return discordError(400, 50006, 'Cannot send an empty message');
  }
  return null;
}

/** A fake Discord (REST API v10 and JSON gateway) on 127.0.0.1 that records everything it is asked. */
export class FakeDiscord {
  readonly applicationId: string;
  readonly botUserId: string;
  readonly token: string;
  /** Every REST call, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Messages in channels and DMs (POST /channels/:id/messages), as they stand now; DELETE removes them. */
  readonly channelMessages: FakeDiscordMessage[] = [];
  /** Accepted interaction callbacks, in arrival order. */
  readonly callbacks: InteractionCallback[] = [];
  /** User id → DM channel id. */
  readonly dmChannels = new Map<string, string>();
  /** Registered application commands, as answered (ids added). */
  readonly commands: { global: DiscordJson[]; guilds: Map<string, DiscordJson[]> } = { global: [], guilds: new Map() };
  /** 429s and 5xx answered so far (injected or from the per-channel limit). */
  readonly faults = { rateLimited: 0, serverErrors: 0 };
  /** Every gateway payload a client sent, parsed (heartbeats included). */
  readonly gatewayPayloads: unknown[] = [];
  /** The `d` of every accepted IDENTIFY (token, intents, properties, shard…), oldest first. */
  readonly identifyPayloads: unknown[] = [];

  private identifyCount = 0;
  private heartbeatCount = 0;
  private readonly guilds: Array<{ id: string; name: string; channelIds: string[] }>;
  private readonly channels = new Map<string, ChannelModel>();
  private readonly interactions = new Map<string, InteractionRecord>();
  private readonly interactionsByToken = new Map<string, InteractionRecord>();
  private readonly originals = new Map<string, FakeDiscordMessage>();
  private readonly followUpMessages = new Map<string, FakeDiscordMessage[]>();
  private readonly pendingComponentMessages = new Map<string, FakeDiscordMessage>();
  private readonly lastWrite = new Map<string, number>();
  private readonly pendingFaults: Array<{ fault: DiscordFault; match: (method: string, path: string) => boolean }> = [];
  /** Outages set by `failFor`: matching calls answer `fault` until `until` (ms). */
  private readonly outages: Array<{ fault: DiscordFault; until: number; match: (method: string, path: string) => boolean }> = [];
  private readonly sessions = new Set<GatewaySession>();
  private readonly resumable = new Map<string, GatewaySession>();
  private snowflakeMs = 0;
  private snowflakeSeq = 0;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    private readonly port: number,
    private readonly options: FakeDiscordOptions,
  ) {
    this.applicationId = options.applicationId ?? '900000000000000001';
    this.botUserId = options.botUserId ?? '900000000000000002';
    this.token = options.token ?? 'test-discord-token';
    this.guilds = (options.guilds ?? DEFAULT_GUILDS).map((guild) => ({
      id: guild.id,
      name: guild.name ?? `guild-${guild.id}`,
      channelIds: guild.channels.map((c) => c.id),
    }));
    for (const guild of options.guilds ?? DEFAULT_GUILDS) {
      guild.channels.forEach((channel, position) => {
        this.channels.set(channel.id, { id: channel.id, name: channel.name ?? `channel-${channel.id}`, guildId: guild.id, position });
      });
    }
  }

  /** Starts the fake on a random port of 127.0.0.1; resolves once it accepts connections. */
  static async start(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const server = createServer();
    // No path: the gateway URL is the bare origin and the client adds `/?v=10&encoding=json`.
    const wss = new WebSocketServer({ server, autoPong: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const fake = new FakeDiscord(server, wss, (server.address() as AddressInfo).port, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => fake.handle(req, res));
    wss.on('connection', (socket: WebSocket) => fake.onSocket(socket));
    return fake;
  }

  /** The REST base, without version: `new REST({ api: fake.apiUrl })`, DISCORD_API_URL. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  /** The gateway URL GET /gateway/bot answers. */
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** IDENTIFY payloads accepted so far. */
  get identifies(): number {
    return this.identifyCount;
  }

  /** Heartbeats (op 1) received and acknowledged. */
  get heartbeats(): number {
    return this.heartbeatCount;
  }

  /** Gateway connections that have identified (or resumed) and are open. */
  get gatewayClients(): number {
    return this.readySessions().length;
  }

  /**
   * The @original message of an interaction: created by a type 4 callback or by the first PATCH
   * @original after a deferred reply (type 5). For a component interaction answered with a deferred
   * update or an update (type 6 or 7), it is the message the component is on, as on Discord.
   * Undefined before any of these.
   */
  original(token: string): FakeDiscordMessage | undefined {
    const created = this.originals.get(token);
    if (created) return created;
    const interaction = this.interactionsByToken.get(token);
    return interaction?.responseType === 6 || interaction?.responseType === 7 ? interaction.componentMessage : undefined;
  }

  /** The follow-ups of an interaction (POST /webhooks/:app/:token), oldest first. */
  followUps(token: string): FakeDiscordMessage[] {
    return [...(this.followUpMessages.get(token) ?? [])];
  }

  /** Messages of one channel (or DM channel) in post order. */
  messagesIn(channelId: string): FakeDiscordMessage[] {
    return this.channelMessages.filter((m) => m.channelId === channelId);
  }

  /** Requests to one route, e.g. `requestsTo('POST', '/channels/1100/messages')`. */
  requestsTo(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  /** Resolves when a client has identified and READY + GUILD_CREATEs were sent; rejects after `timeoutMs`. */
  async ready(timeoutMs = 5000): Promise<void> {
    await this.waitFor(() => this.readySessions().length > 0, timeoutMs, 'a gateway client to identify');
  }

  /**
   * Sends an INTERACTION_CREATE to the most recently identified client and returns its id and token.
   * Build the payload with {@link slashCommand}, {@link autocomplete}, {@link button} or {@link modalSubmit}.
   */
  sendInteraction(payload: object): { id: string; token: string } {
    const p = payload as JsonObject;
    const id = str(p.id) ?? this.snowflake();
    const token = str(p.token) ?? this.newToken();
    const channelId = str(p.channel_id) ?? (isObject(p.channel) ? str(p.channel.id) : undefined) ?? '';
    const known = this.interactions.get(id);
    // The same payload sent again (as Discord may redeliver after a reconnect) stays one interaction, acknowledged at most once.
    if (!known || known.token !== token) {
      const record: InteractionRecord = {
        id,
        token,
        type: typeof p.type === 'number' ? p.type : 0,
        channelId,
        guildId: str(p.guild_id) ?? null,
        createdAt: Date.now(),
        responseType: null,
        deferredFlags: 0,
      };
      const componentMessage = this.pendingComponentMessages.get(id);
      this.pendingComponentMessages.delete(id);
      if (componentMessage) record.componentMessage = componentMessage;
      this.interactions.set(id, record);
      this.interactionsByToken.set(token, record);
    }
    if (!this.dispatch('INTERACTION_CREATE', { ...p, id, token })) {
      throw new Error(`FakeDiscord.sendInteraction: no gateway client has identified; ${this.describe()}`);
    }
    return { id, token };
  }

  /** Sends a dispatch (op 0) to the most recently identified client; false when none is connected. */
  dispatch(event: string, data: unknown): boolean {
    const session = this.readySessions().at(-1);
    if (!session) return false;
    this.sendDispatch(session, event, data);
    return true;
  }

  /** A chat input command (type 2) payload. */
  slashCommand(o: SlashCommandInput): InteractionPayload {
    const options = (o.options ?? []).map(({ name, type, value }) => ({ name, type, value }));
    return this.commandPayload(2, o, options);
  }

  /** An autocomplete (type 4) payload; the option marked `focused` (else the last one) is the one being typed. */
  autocomplete(o: SlashCommandInput): InteractionPayload {
    const given = o.options ?? [];
    const focusedIndex = given.some((option) => option.focused) ? given.findIndex((option) => option.focused) : given.length - 1;
    const options = given.map(({ name, type, value }, index) => ({ name, type, value, ...(index === focusedIndex ? { focused: true } : {}) }));
    return this.commandPayload(4, o, options);
  }

  /** A button click (type 3, component_type 2) on `message`. */
  button(o: InteractionWho & { message: FakeDiscordMessage; customId: string }): InteractionPayload {
    const payload = this.basePayload(3, o);
    this.pendingComponentMessages.set(payload.id, o.message);
    return { ...payload, message: this.toApiMessage(o.message), data: { custom_id: o.customId, component_type: 2 } };
  }

  /** A modal submit (type 5) with one text input per field, each in its own action row. */
  modalSubmit(o: InteractionWho & { customId: string; fields: Record<string, string>; message?: FakeDiscordMessage }): InteractionPayload {
    const payload = this.basePayload(5, o);
    if (o.message) this.pendingComponentMessages.set(payload.id, o.message);
    const components = Object.entries(o.fields).map(([customId, value], index) => ({
      type: 1,
      id: index * 2 + 1,
      components: [{ type: 4, id: index * 2 + 2, custom_id: customId, value }],
    }));
    return { ...payload, ...(o.message ? { message: this.toApiMessage(o.message) } : {}), data: { custom_id: o.customId, components } };
  }

  /** Polls `check` every 20 ms until it returns something truthy (returned); throws after `timeoutMs` saying what was awaited and what was seen. */
  async waitFor<T>(check: () => T | undefined | null | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    const maxPolls = Math.ceil(timeoutMs / 20) + 1;
    for (let poll = 0; poll < maxPolls && Date.now() < deadline; poll++) {
      const value = check();
      if (value) return value;
      await sleep(20);
    }
    const value = check();
    if (value) return value;
    throw new Error(`FakeDiscord.waitFor: ${what} not met within ${timeoutMs} ms; ${this.describe()}`);
  }

  /**
   * The next `count` REST calls matching `match` (default: any call except interaction callbacks;
   * `path` as in {@link RecordedRequest.path}) answer with `failure` instead, queued after faults already pending.
   */
  failNext(count: number, failure: DiscordFault, match: (method: string, path: string) => boolean = (_method, path) => !INTERACTION_CALLBACK_PATH.test(path)): void {
    for (let i = 0; i < count; i++) this.pendingFaults.push({ fault: failure, match });
  }

  /**
   * An outage for a while: every REST call matching `match` (default as for `failNext`) is answered
   * with `failure` for the next `ms` milliseconds, after which the API recovers by itself. Faults
   * queued with `failNext` are answered first; the outage's answers count in `faults` like theirs.
   */
  failFor(ms: number, failure: DiscordFault, match: (method: string, path: string) => boolean = (_method, path) => !INTERACTION_CALLBACK_PATH.test(path)): void {
    this.outages.push({ fault: failure, until: Date.now() + ms, match });
  }

  /** Forgets requests, messages, callbacks, interactions, commands, pending faults and counters; gateway clients stay connected. */
  reset(): void {
    this.requests.length = 0;
    this.channelMessages.length = 0;
    this.callbacks.length = 0;
    this.gatewayPayloads.length = 0;
    this.identifyPayloads.length = 0;
    this.commands.global.length = 0;
    this.commands.guilds.clear();
    this.interactions.clear();
    this.interactionsByToken.clear();
    this.originals.clear();
    this.followUpMessages.clear();
    this.pendingComponentMessages.clear();
    this.lastWrite.clear();
    this.pendingFaults.length = 0;
    this.outages.length = 0;
    this.faults.rateLimited = 0;
    this.faults.serverErrors = 0;
  }

  /**
   * Cuts every gateway connection as a network failure would (no close frame), so clients reconnect
   * and RESUME; resolves once they are gone from the server's side.
   */
  async dropGateway(): Promise<void> {
    for (const session of this.sessions) session.socket.terminate();
    await this.waitFor(() => this.sessions.size === 0, 1000, 'gateway sockets to drop').catch(() => undefined);
  }

  /**
   * Stops the server: closes every gateway WebSocket (handshake, then cut after 1 s) and HTTP
   * connection. Destroy discord.js clients first, or they try to reconnect.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const session of this.sessions) {
      if (session.socket.readyState === session.socket.OPEN) session.socket.close(1001, 'fake discord closing');
    }
    await this.waitFor(() => this.sessions.size === 0, 1000, 'gateway sockets to close').catch(() => undefined);
    for (const session of this.sessions) session.socket.terminate();
    this.sessions.clear();
    this.resumable.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  // ---- HTTP ----

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const tooLarge = error instanceof Error && error.message === 'request body too large';
      send(res, tooLarge ? discordError(413, 40005, 'Request entity too large') : json(500, { message: `fake discord failed: ${error instanceof Error ? error.message : String(error)}`, code: 0 }));
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    const api = /^\/api(?:\/v\d+)?(\/.*)?$/.exec(url.pathname);
    // Segments decoded, so '@original' matches whether or not the client escaped the '@'.
    const path = (api ? (api[1] ?? '/') : url.pathname).split('/').map(decodeSegment).join('/');
    const decoded = decodeBody(req.headers['content-type'], raw);
    const record: RecordedRequest = {
      method,
      path,
      query: url.search.replace(/^\?/, ''),
      body: decoded?.body ?? (raw.length > 0 ? raw.toString('utf8') : null),
      headers: { ...req.headers },
      status: 0,
      files: decoded?.files ?? [],
      at: Date.now(),
    };
    this.requests.push(record);
    const answer = this.answer(method, path, url.searchParams, req.headers.authorization, api !== null, decoded);
    record.status = answer.status;
    if (answer.status === 429) this.faults.rateLimited++;
    if (answer.status >= 500) this.faults.serverErrors++;
    send(res, answer);
  }

  private answer(
    method: string,
    path: string,
    query: URLSearchParams,
    authorization: string | undefined,
    isApi: boolean,
    decoded: { body: DiscordJson; files: UploadedFile[] } | null,
  ): Answer {
    const faultIndex = this.pendingFaults.findIndex((pending) => pending.match(method, path));
    if (faultIndex !== -1) {
      const [pending] = this.pendingFaults.splice(faultIndex, 1);
      if (pending) return this.faultAnswer(pending.fault);
    }
    const now = Date.now();
    const outage = this.outages.find((o) => o.until > now && o.match(method, path));
    if (outage) return this.faultAnswer(outage.fault);
    if (!isApi) return discordError(404, 0, '404: Not Found');
    const route = this.routes.find((r) => r.method === method && r.pattern.test(path));
    if (!route) {
      const otherMethod = this.routes.some((r) => r.pattern.test(path));
      return otherMethod ? discordError(405, 0, '405: Method Not Allowed') : discordError(404, 0, '404: Not Found');
    }
    if (route.auth && authorization !== `Bot ${this.token}`) return discordError(401, 0, '401: Unauthorized');
    if (decoded === null) return discordError(400, 50109, 'The request body contains invalid JSON.');
    if (decoded.body !== null && !isObject(decoded.body) && !Array.isArray(decoded.body)) return discordError(400, 50109, 'The request body contains invalid JSON.');
    const params = (route.pattern.exec(path) ?? []).slice(1).map((p) => p ?? '');
    const body = (decoded.body ?? {}) as JsonObject;
    return route.handle({ method, params, query, body, files: decoded.files });
  }

  private faultAnswer(fault: DiscordFault): Answer {
    if (fault.status === 429) {
      return json(
        429,
        { message: 'You are being rate limited.', retry_after: fault.retryAfterSeconds, global: false },
        { 'retry-after': String(fault.retryAfterSeconds), 'x-ratelimit-scope': 'user' },
      );
    }
    if (fault.status === 500) return discordError(500, 0, '500: Internal Server Error');
    return discordError(404, fault.code ?? 0, fault.message ?? '404: Not Found');
  }

  private readonly routes: Route[] = [
    { method: 'GET', pattern: /^\/gateway$/, auth: false, handle: () => json(200, { url: this.gatewayUrl }) },
    {
      method: 'GET',
      pattern: /^\/gateway\/bot$/,
      auth: true,
      handle: () => json(200, { url: this.gatewayUrl, shards: 1, session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 } }),
    },
    { method: 'GET', pattern: /^\/users\/@me$/, auth: true, handle: () => json(200, this.botUser()) },
    { method: 'GET', pattern: /^\/users\/(\d+)$/, auth: true, handle: ({ params }) => json(200, params[0] === this.botUserId ? this.botUser() : this.user(params[0] ?? '')) },
    { method: 'POST', pattern: /^\/users\/@me\/channels$/, auth: true, handle: ({ body }) => this.openDm(body) },
    { method: 'GET', pattern: /^\/applications\/@me$/, auth: true, handle: () => json(200, this.application()) },
    { method: 'GET', pattern: /^\/guilds\/(\d+)$/, auth: true, handle: ({ params }) => this.getGuild(params[0] ?? '') },
    { method: 'GET', pattern: /^\/guilds\/(\d+)\/channels$/, auth: true, handle: ({ params }) => this.getGuildChannels(params[0] ?? '') },
    { method: 'GET', pattern: /^\/guilds\/(\d+)\/members\/(\d+)$/, auth: true, handle: ({ params }) => this.getMember(params[0] ?? '', params[1] ?? '') },
    { method: 'GET', pattern: /^\/channels\/(\d+)$/, auth: true, handle: ({ params }) => this.getChannel(params[0] ?? '') },
    { method: 'GET', pattern: /^\/channels\/(\d+)\/messages$/, auth: true, handle: ({ params, query }) => this.listMessages(params[0] ?? '', query) },
    { method: 'POST', pattern: /^\/channels\/(\d+)\/messages$/, auth: true, handle: (ctx) => this.postChannelMessage(ctx) },
    { method: 'GET', pattern: /^\/channels\/(\d+)\/messages\/(\d+)$/, auth: true, handle: ({ params }) => this.getChannelMessage(params[0] ?? '', params[1] ?? '') },
    { method: 'PATCH', pattern: /^\/channels\/(\d+)\/messages\/(\d+)$/, auth: true, handle: (ctx) => this.editChannelMessage(ctx) },
    { method: 'DELETE', pattern: /^\/channels\/(\d+)\/messages\/(\d+)$/, auth: true, handle: ({ params }) => this.deleteChannelMessage(params[0] ?? '', params[1] ?? '') },
    { method: 'POST', pattern: /^\/channels\/(\d+)\/typing$/, auth: true, handle: ({ params }) => (this.channels.has(params[0] ?? '') ? noContent() : unknownChannel()) },
    { method: 'POST', pattern: /^\/interactions\/(\d+)\/([^/]+)\/callback$/, auth: false, handle: (ctx) => this.interactionCallback(ctx) },
    { method: 'POST', pattern: /^\/webhooks\/(\d+)\/([^/]+)$/, auth: false, handle: (ctx) => this.webhookPost(ctx) },
    { method: 'GET', pattern: /^\/webhooks\/(\d+)\/([^/]+)\/messages\/(@original|\d+)$/, auth: false, handle: (ctx) => this.webhookMessage(ctx) },
    { method: 'PATCH', pattern: /^\/webhooks\/(\d+)\/([^/]+)\/messages\/(@original|\d+)$/, auth: false, handle: (ctx) => this.webhookMessage(ctx) },
    { method: 'DELETE', pattern: /^\/webhooks\/(\d+)\/([^/]+)\/messages\/(@original|\d+)$/, auth: false, handle: (ctx) => this.webhookMessage(ctx) },
    ...(['GET', 'PUT', 'POST'] as const).map(
      (method): Route => ({ method, pattern: /^\/applications\/(\d+)\/commands$/, auth: true, handle: (ctx) => this.commandList(ctx, null) }),
    ),
    ...(['GET', 'PATCH', 'DELETE'] as const).map(
      (method): Route => ({ method, pattern: /^\/applications\/(\d+)\/commands\/(\d+)$/, auth: true, handle: (ctx) => this.commandOne(ctx, null) }),
    ),
    ...(['GET', 'PUT', 'POST'] as const).map(
      (method): Route => ({
        method,
        pattern: /^\/applications\/(\d+)\/guilds\/(\d+)\/commands$/,
        auth: true,
        handle: (ctx) => this.commandList({ ...ctx, params: [ctx.params[0] ?? ''] }, ctx.params[1] ?? ''),
      }),
    ),
    ...(['GET', 'PATCH', 'DELETE'] as const).map(
      (method): Route => ({
        method,
        pattern: /^\/applications\/(\d+)\/guilds\/(\d+)\/commands\/(\d+)$/,
        auth: true,
        handle: (ctx) => this.commandOne({ ...ctx, params: [ctx.params[0] ?? '', ctx.params[2] ?? ''] }, ctx.params[1] ?? ''),
      }),
    ),
  ];

  // ---- Channels and messages ----

  private getChannel(id: string): Answer {
    const channel = this.channels.get(id);
    return channel ? json(200, this.toApiChannel(channel)) : unknownChannel();
  }

  private listMessages(channelId: string, query: URLSearchParams): Answer {
    if (!this.channels.has(channelId)) return unknownChannel();
    const limit = Math.min(100, Math.max(1, Number(query.get('limit') ?? 50) || 50));
    const newestFirst = this.messagesIn(channelId).reverse().slice(0, limit);
    return json(200, newestFirst.map((m) => this.toApiMessage(m)));
  }

  private getChannelMessage(channelId: string, messageId: string): Answer {
    if (!this.channels.has(channelId)) return unknownChannel();
    const message = this.channelMessages.find((m) => m.channelId === channelId && m.id === messageId);
    return message ? json(200, this.toApiMessage(message)) : unknownMessage();
  }

  private postChannelMessage({ params, body, files }: RouteContext): Answer {
    const channelId = params[0] ?? '';
    if (!this.channels.has(channelId)) return unknownChannel();
    const invalid = invalidMessage(body, files, true);
    if (invalid) return invalid;
    const limited = this.rateLimit(channelId);
    if (limited) return limited;
    const message = this.newMessage(channelId, body, files);
    message.flags &= ~FLAG_EPHEMERAL;
    this.channelMessages.push(message);
    this.lastWrite.set(channelId, Date.now());
    return json(200, this.toApiMessage(message));
  }

  private editChannelMessage({ params, body, files }: RouteContext): Answer {
    const [channelId = '', messageId = ''] = params;
    if (!this.channels.has(channelId)) return unknownChannel();
    const message = this.channelMessages.find((m) => m.channelId === channelId && m.id === messageId);
    if (!message) return unknownMessage();
    if (message.authorId !== this.botUserId) return discordError(403, 50005, 'Cannot edit a message authored by another user');
    const invalid = invalidMessage(body, files, false);
    if (invalid) return invalid;
    const limited = this.rateLimit(channelId);
    if (limited) return limited;
    this.applyEdit(message, body, files);
    this.lastWrite.set(channelId, Date.now());
    return json(200, this.toApiMessage(message));
  }

  private deleteChannelMessage(channelId: string, messageId: string): Answer {
    if (!this.channels.has(channelId)) return unknownChannel();
    const index = this.channelMessages.findIndex((m) => m.channelId === channelId && m.id === messageId);
    if (index === -1) return unknownMessage();
    this.channelMessages.splice(index, 1);
    return noContent();
  }

  private openDm(body: JsonObject): Answer {
    const recipient = str(body.recipient_id);
    if (!recipient || !/^\d+$/.test(recipient)) return invalidForm('recipient_id', 'NUMBER_TYPE_COERCE', 'Value is not snowflake.');
    return json(200, this.toApiChannel(this.dmChannelFor(recipient)));
  }

  private dmChannelFor(userId: string, preferredId?: string): ChannelModel {
    const known = this.dmChannels.get(userId);
    if (known) {
      const channel = this.channels.get(known);
      if (channel) return channel;
    }
    const id = preferredId ?? this.snowflake();
    const channel: ChannelModel = { id, name: '', guildId: null, position: 0, recipientId: userId };
    this.channels.set(id, channel);
    this.dmChannels.set(userId, id);
    return channel;
  }

  /** 429 when the channel had a message (post or edit) less than rateLimitPerChannelMs ago. */
  private rateLimit(channelId: string): Answer | null {
    const limit = this.options.rateLimitPerChannelMs;
    const last = this.lastWrite.get(channelId);
    if (limit === undefined || limit === null || last === undefined) return null;
    const waitMs = last + limit - Date.now();
    if (waitMs <= 0) return null;
    return json(
      429,
      { message: 'You are being rate limited.', retry_after: Math.round(waitMs) / 1000, global: false },
      { 'retry-after': String(Math.ceil(waitMs / 1000)), 'x-ratelimit-scope': 'shared' },
    );
  }

  // ---- Interactions ----

  private interactionCallback({ params, query, body, files }: RouteContext): Answer {
    const [interactionId = '', token = ''] = params;
    const interaction = this.interactions.get(interactionId);
    if (!interaction || interaction.token !== token) return unknownInteraction();
    const deadline = this.options.interactionAckDeadlineMs;
    if (deadline !== undefined && deadline !== null && Date.now() - interaction.createdAt > deadline) return unknownInteraction();
    if (interaction.responseType !== null) return discordError(400, 40060, 'Interaction has already been acknowledged.');
    const type = typeof body.type === 'number' ? body.type : NaN;
    const data: JsonObject = isObject(body.data) ? body.data : {};
    const refusal = this.refuseCallback(interaction, type, data, files);
    if (refusal) return refusal;

    interaction.responseType = type;
    this.callbacks.push({ interactionId, token, type, data: body.data ?? null, at: Date.now() });
    let message: FakeDiscordMessage | undefined;
    if (type === 4) {
      message = this.newMessage(interaction.channelId, data, files, token);
      this.originals.set(token, message);
    } else if (type === 5) {
      interaction.deferredFlags = (typeof data.flags === 'number' ? data.flags : 0) & FLAG_EPHEMERAL;
    } else if (type === 7 && interaction.componentMessage) {
      message = interaction.componentMessage;
      this.applyEdit(message, data, files);
    }

    if (query.get('with_response') !== 'true') return noContent();
    const responseMessage = message ? this.toApiMessage(message) : type === 5 ? this.toApiMessage(this.loadingMessage(interaction)) : undefined;
    return json(200, {
      interaction: {
        id: interaction.id,
        type: interaction.type,
        response_message_id: responseMessage?.id,
        response_message_loading: type === 5,
        response_message_ephemeral: responseMessage ? (responseMessage.flags & FLAG_EPHEMERAL) !== 0 : false,
      },
      resource: { type, ...(responseMessage ? { message: responseMessage } : {}) },
    });
  }

  /** Why Discord would refuse this callback type for this interaction, or null. */
  private refuseCallback(interaction: InteractionRecord, type: number, data: JsonObject, files: UploadedFile[]): Answer | null {
    const autocomplete = interaction.type === 4;
    const component = interaction.type === 3 || (interaction.type === 5 && interaction.componentMessage !== undefined);
    if (![4, 5, 6, 7, 8, 9].includes(type)) return invalidForm('type', 'BASE_TYPE_CHOICES', `Value must be one of {1, 4, 5, 6, 7, 8, 9, 10, 12}.`);
    if (autocomplete !== (type === 8)) return discordError(400, 50035, 'Invalid Form Body', { errors: { type: { _errors: [{ code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: `Callback type ${type} is not valid for interaction type ${interaction.type}.` }] } } });
    if ((type === 6 || type === 7) && !component) return invalidForm('type', 'INTERACTION_RESPONSE_TYPE_INVALID', 'Only component interactions can update their message.');
    if (type === 9 && interaction.type === 5) return invalidForm('type', 'INTERACTION_RESPONSE_TYPE_INVALID', 'A modal submit cannot open a modal.');
    if (type === 4) return invalidMessage(data, files, true);
    if (type === 7) return invalidMessage(data, files, false);
    if (type === 8) {
      const choices = data.choices;
      if (!Array.isArray(choices)) return invalidForm('data.choices', 'BASE_TYPE_REQUIRED', 'This field is required');
      if (choices.length > 25) return invalidForm('data.choices', 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    }
    if (type === 9) {
      if (typeof data.custom_id !== 'string' || data.custom_id === '') return invalidForm('data.custom_id', 'BASE_TYPE_REQUIRED', 'This field is required');
      if (typeof data.title !== 'string' || data.title === '') return invalidForm('data.title', 'BASE_TYPE_REQUIRED', 'This field is required');
      if (data.title.length > 45) return invalidForm('data.title', 'BASE_TYPE_MAX_LENGTH', 'Must be 45 or fewer in length.');
      if (!Array.isArray(data.components) || data.components.length < 1 || data.components.length > 5) return invalidForm('data.components', 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
    }
    return null;
  }

  /** The interaction behind a webhook URL, when acknowledged; else an error answer. */
  private webhookInteraction(applicationId: string, token: string): InteractionRecord | Answer {
    const interaction = this.interactionsByToken.get(token);
    if (applicationId !== this.applicationId || !interaction || interaction.responseType === null) return unknownWebhook();
    return interaction;
  }

  private webhookPost({ params, query, body, files }: RouteContext): Answer {
    const [applicationId = '', token = ''] = params;
    const interaction = this.webhookInteraction(applicationId, token);
    if ('status' in interaction) return interaction;
    const invalid = invalidMessage(body, files, true);
    if (invalid) return invalid;
    const message = this.newMessage(interaction.channelId, body, files, token);
    const list = this.followUpMessages.get(token) ?? [];
    list.push(message);
    this.followUpMessages.set(token, list);
    return query.get('wait') === 'true' ? json(200, this.toApiMessage(message)) : noContent();
  }

  private webhookMessage({ method, params, body, files }: RouteContext): Answer {
    const [applicationId = '', token = '', which = ''] = params;
    const interaction = this.webhookInteraction(applicationId, token);
    if ('status' in interaction) return interaction;
    const followUps = this.followUpMessages.get(token) ?? [];
    const original = this.original(token);
    const message = which === '@original' ? original : (followUps.find((m) => m.id === which) ?? (original?.id === which ? original : undefined));
    const deferred = which === '@original' && !message && interaction.responseType === 5;

    if (method === 'GET') {
      if (message) return json(200, this.toApiMessage(message));
      return deferred ? json(200, this.toApiMessage(this.loadingMessage(interaction))) : unknownMessage();
    }
    if (method === 'DELETE') {
      if (!message) return unknownMessage();
      if (message === original) this.originals.delete(token);
      else followUps.splice(followUps.indexOf(message), 1);
      if (message === interaction.componentMessage) {
        interaction.componentMessage = undefined;
        const index = this.channelMessages.indexOf(message);
        if (index !== -1) this.channelMessages.splice(index, 1);
      }
      return noContent();
    }
    const invalid = invalidMessage(body, files, deferred);
    if (invalid) return invalid;
    if (deferred) {
      const created = this.newMessage(interaction.channelId, body, files, token);
      created.flags = (created.flags & ~FLAG_EPHEMERAL) | interaction.deferredFlags;
      this.originals.set(token, created);
      return json(200, this.toApiMessage(created));
    }
    if (!message) return unknownMessage();
    this.applyEdit(message, body, files);
    return json(200, this.toApiMessage(message));
  }

  /** What GET @original shows between a deferred reply and its first edit ("… is thinking"). */
  private loadingMessage(interaction: InteractionRecord): FakeDiscordMessage {
    const message = this.newMessage(interaction.channelId, {}, [], interaction.token);
    message.id = interaction.id;
    message.flags = FLAG_LOADING | interaction.deferredFlags;
    return message;
  }

  // ---- Application commands ----

  private commandStore(guildId: string | null): DiscordJson[] {
    if (guildId === null) return this.commands.global;
    const list = this.commands.guilds.get(guildId) ?? [];
    this.commands.guilds.set(guildId, list);
    return list;
  }

  private commandList({ method, params, body }: RouteContext, guildId: string | null): Answer {
    if (params[0] !== this.applicationId) return discordError(403, 50001, 'Missing Access');
    if (guildId !== null && !this.guilds.some((g) => g.id === guildId)) return discordError(403, 50001, 'Missing Access');
    const store = this.commandStore(guildId);
    if (method === 'GET') return json(200, store);
    if (method === 'POST') {
      if (!isObject(body) || typeof body.name !== 'string') return invalidForm('name', 'BASE_TYPE_REQUIRED', 'This field is required');
      const existing = store.findIndex((c: JsonObject) => c.name === body.name && (c.type ?? 1) === (body.type ?? 1));
      const command = this.toCommand(body, guildId, existing === -1 ? undefined : store[existing]);
      if (existing === -1) store.push(command);
      else store[existing] = command;
      return json(existing === -1 ? 201 : 200, command);
    }
    // PUT: the list replaces every command; discord.js sends a JSON array.
    const given: unknown = body;
    if (!Array.isArray(given)) return discordError(400, 50035, 'Invalid Form Body');
    if (given.length > 100) return invalidForm('_', 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
    const commands: DiscordJson[] = [];
    for (const [index, raw] of given.entries()) {
      if (!isObject(raw) || typeof raw.name !== 'string') return invalidForm(String(index), 'BASE_TYPE_REQUIRED', 'name: This field is required');
      commands.push(this.toCommand(raw, guildId, store.find((c: JsonObject) => c.name === raw.name && (c.type ?? 1) === (raw.type ?? 1))));
    }
    store.splice(0, store.length, ...commands);
    return json(200, commands);
  }

  private commandOne({ method, params, body }: RouteContext, guildId: string | null): Answer {
    if (params[0] !== this.applicationId) return discordError(403, 50001, 'Missing Access');
    const store = this.commandStore(guildId);
    const index = store.findIndex((c: JsonObject) => c.id === params[1]);
    if (index === -1) return discordError(404, 10063, 'Unknown application command');
    if (method === 'GET') return json(200, store[index]);
    if (method === 'DELETE') {
      store.splice(index, 1);
      return noContent();
    }
    store[index] = this.toCommand({ ...store[index], ...body }, guildId, store[index]);
    return json(200, store[index]);
  }

  private toCommand(given: JsonObject, guildId: string | null, previous: JsonObject | undefined): DiscordJson {
    return {
      type: 1,
      description: '',
      options: [],
      default_member_permissions: null,
      dm_permission: true,
      nsfw: false,
      contexts: null,
      integration_types: [0],
      name_localizations: null,
      description_localizations: null,
      ...given,
      id: str(previous?.id) ?? this.snowflake(),
      application_id: this.applicationId,
      ...(guildId !== null ? { guild_id: guildId } : {}),
      version: this.snowflake(),
    };
  }

  private commandIdFor(name: string, guildId: string | null): string {
    const byName = (c: JsonObject): boolean => c.name === name && (c.type ?? 1) === 1;
    const found = (guildId !== null ? this.commands.guilds.get(guildId)?.find(byName) : undefined) ?? this.commands.global.find(byName);
    return str(found?.id) ?? this.snowflake();
  }

  // ---- Guilds and users ----

  private getGuild(id: string): Answer {
    const guild = this.guilds.find((g) => g.id === id);
    if (!guild) return discordError(404, 10004, 'Unknown Guild');
    const { channels: _channels, threads: _threads, members: _members, voice_states: _voice, presences: _presences, ...rest } = this.guildCreate(guild);
    return json(200, rest);
  }

  private getGuildChannels(id: string): Answer {
    const guild = this.guilds.find((g) => g.id === id);
    if (!guild) return discordError(404, 10004, 'Unknown Guild');
    return json(200, guild.channelIds.map((c) => this.channels.get(c)).filter((c): c is ChannelModel => c !== undefined).map((c) => this.toApiChannel(c)));
  }

  private getMember(guildId: string, userId: string): Answer {
    if (!this.guilds.some((g) => g.id === guildId)) return discordError(404, 10004, 'Unknown Guild');
    return json(200, this.member(userId === this.botUserId ? this.botUser() : this.user(userId)));
  }

  private botUser(): JsonObject {
    return { id: this.botUserId, username: 'upgrade-desk', discriminator: '0', global_name: null, avatar: null, bot: true, verified: true, mfa_enabled: false, flags: 0, public_flags: 0 };
  }

  private user(id: string, username?: string): JsonObject {
    return { id, username: username ?? `user${id}`, discriminator: '0', global_name: null, avatar: null, public_flags: 0 };
  }

  private member(user: JsonObject, roles: string[] = [], permissions?: string): JsonObject {
    return {
      user,
      nick: null,
      avatar: null,
      banner: null,
      roles,
      joined_at: JOINED_AT,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
      ...(permissions !== undefined ? { permissions } : {}),
    };
  }

  private application(): JsonObject {
    return {
      id: this.applicationId,
      name: 'Upgrade Desk',
      icon: null,
      description: '',
      bot_public: false,
      bot_require_code_grant: false,
      verify_key: '0'.repeat(64),
      flags: 0,
      team: null,
      owner: this.user(GUILD_OWNER_ID, 'owner'),
      bot: this.botUser(),
    };
  }

  private toApiChannel(channel: ChannelModel): JsonObject {
    const lastMessageId = this.messagesIn(channel.id).at(-1)?.id ?? null;
    if (channel.recipientId !== undefined) {
      return { id: channel.id, type: 1, last_message_id: lastMessageId, flags: 0, recipients: [this.user(channel.recipientId)] };
    }
    return {
      id: channel.id,
      type: 0,
      guild_id: channel.guildId,
      name: channel.name,
      position: channel.position,
      permission_overwrites: [],
      topic: null,
      nsfw: false,
      last_message_id: lastMessageId,
      rate_limit_per_user: 0,
      parent_id: null,
      flags: 0,
    };
  }

  private guildCreate(guild: { id: string; name: string; channelIds: string[] }): JsonObject {
    const channels = guild.channelIds.map((id) => this.channels.get(id)).filter((c): c is ChannelModel => c !== undefined);
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: GUILD_OWNER_ID,
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [
        {
          id: guild.id,
          name: '@everyone',
          color: 0,
          colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
          hoist: false,
          icon: null,
          unicode_emoji: null,
          position: 0,
          permissions: ALL_BUT_ADMIN,
          managed: false,
          mentionable: false,
          flags: 0,
        },
      ],
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      max_presences: null,
      max_members: 500000,
      vanity_url_code: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      premium_progress_bar_enabled: false,
      preferred_locale: 'en-US',
      max_video_channel_users: 25,
      max_stage_video_channel_users: 50,
      nsfw_level: 0,
      nsfw: false,
      incidents_data: null,
      // GUILD_CREATE-only fields
      joined_at: JOINED_AT,
      large: false,
      unavailable: false,
      member_count: 2,
      voice_states: [],
      members: [this.member(this.botUser())],
      channels: channels.map((c) => this.toApiChannel(c)),
      threads: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  // ---- Messages ----

  private newMessage(channelId: string, body: JsonObject, files: UploadedFile[], interactionToken?: string): FakeDiscordMessage {
    const now = Date.now();
    return {
      id: this.snowflake(),
      channelId,
      content: str(body.content) ?? '',
      embeds: Array.isArray(body.embeds) ? body.embeds : [],
      components: Array.isArray(body.components) ? body.components : [],
      allowedMentions: body.allowed_mentions ?? null,
      flags: (typeof body.flags === 'number' ? body.flags : 0) & ~FLAG_LOADING,
      authorId: this.botUserId,
      edits: 0,
      history: [body],
      attachments: files.map((file) => this.toAttachment(channelId, file)),
      createdAt: now,
      editedAt: null,
      ...(interactionToken !== undefined ? { interactionToken } : {}),
    };
  }

  /** Applies a PATCH (or UPDATE_MESSAGE) body: only the fields present change; the ephemeral flag stays. */
  private applyEdit(message: FakeDiscordMessage, body: JsonObject, files: UploadedFile[]): void {
    if ('content' in body) message.content = str(body.content) ?? '';
    if ('embeds' in body) message.embeds = Array.isArray(body.embeds) ? body.embeds : [];
    if ('components' in body) message.components = Array.isArray(body.components) ? body.components : [];
    if ('allowed_mentions' in body) message.allowedMentions = body.allowed_mentions ?? null;
    if (typeof body.flags === 'number') message.flags = (message.flags & FLAG_EPHEMERAL) | (body.flags & ~FLAG_EPHEMERAL & ~FLAG_LOADING);
    if (Array.isArray(body.attachments)) {
      const keep = new Set(body.attachments.filter(isObject).map((a) => String(a.id)));
      message.attachments = message.attachments.filter((a: JsonObject) => keep.has(String(a.id)));
    }
    message.attachments.push(...files.map((file) => this.toAttachment(message.channelId, file)));
    message.edits += 1;
    message.history.push(body);
    message.editedAt = Date.now();
  }

  private toAttachment(channelId: string, file: UploadedFile): JsonObject {
    const id = this.snowflake();
    const url = `http://127.0.0.1:${this.port}/attachments/${channelId}/${id}/${encodeURIComponent(file.filename)}`;
    return { id, filename: file.filename, size: file.size, url, proxy_url: url, content_type: file.contentType ?? 'application/octet-stream' };
  }

  /** A message as Discord's REST API shows it. */
  private toApiMessage(message: FakeDiscordMessage): DiscordJson {
    const channel = this.channels.get(message.channelId);
    const fromInteraction = message.interactionToken !== undefined;
    return {
      id: message.id,
      channel_id: message.channelId,
      ...(channel?.guildId ? { guild_id: channel.guildId } : {}),
      author: { id: message.authorId, username: 'upgrade-desk', discriminator: '0', global_name: null, avatar: null, bot: true, public_flags: 0 },
      content: message.content,
      timestamp: new Date(message.createdAt).toISOString(),
      edited_timestamp: message.editedAt === null ? null : new Date(message.editedAt).toISOString(),
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: message.attachments,
      embeds: message.embeds,
      components: message.components,
      pinned: false,
      type: fromInteraction ? 20 : 0,
      flags: message.flags,
      ...(fromInteraction ? { webhook_id: this.applicationId, application_id: this.applicationId } : {}),
    };
  }

  // ---- Interaction payloads ----

  private basePayload(type: number, o: InteractionWho): InteractionPayload {
    const id = this.snowflake();
    const user = this.user(o.userId, o.username);
    const common = {
      id,
      application_id: this.applicationId,
      type,
      token: this.newToken(),
      version: 1,
      entitlements: [],
      app_permissions: ALL_BUT_ADMIN,
      locale: 'en-US',
      attachment_size_limit: 10 * 1024 * 1024,
    };
    if (o.dm) {
      const channel = this.dmChannelFor(o.userId, o.channelId);
      return {
        ...common,
        channel_id: channel.id,
        channel: { id: channel.id, type: 1, last_message_id: null, flags: 0, recipients: [user] },
        user,
        authorizing_integration_owners: {},
        context: 1,
      };
    }
    const guildId = o.guildId ?? this.channels.get(o.channelId)?.guildId ?? this.guilds[0]?.id ?? '0';
    const known = this.channels.get(o.channelId);
    const channel = known ? this.toApiChannel(known) : { id: o.channelId, type: 0, guild_id: guildId, name: `channel-${o.channelId}`, position: 0, permission_overwrites: [], flags: 0 };
    return {
      ...common,
      guild_id: guildId,
      guild_locale: 'en-US',
      guild: { id: guildId, locale: 'en-US', features: [] },
      channel_id: o.channelId,
      channel,
      member: this.member(user, o.roles ?? [], o.memberPermissions ?? ALL_BUT_ADMIN),
      authorizing_integration_owners: { '0': guildId },
      context: 0,
    };
  }

  private commandPayload(type: number, o: SlashCommandInput, options: JsonObject[]): InteractionPayload {
    const payload = this.basePayload(type, o);
    const guildId = o.dm ? null : str(payload.guild_id) ?? null;
    let nested: JsonObject[] = options;
    if (o.subcommand) nested = [{ type: 1, name: o.subcommand, options: nested }];
    if (o.group) nested = [{ type: 2, name: o.group, options: nested }];
    const commandGuild = guildId !== null && this.commands.guilds.get(guildId)?.some((c: JsonObject) => c.name === o.name) ? guildId : null;
    return {
      ...payload,
      data: {
        id: this.commandIdFor(o.name, guildId),
        name: o.name,
        type: 1,
        options: nested,
        ...(commandGuild !== null ? { guild_id: commandGuild } : {}),
      },
    };
  }

  // ---- Gateway ----

  private readySessions(): GatewaySession[] {
    return [...this.sessions].filter((s) => s.ready && s.socket.readyState === s.socket.OPEN);
  }

  private onSocket(socket: WebSocket): void {
    if (this.closed) {
      socket.terminate();
      return;
    }
    const session: GatewaySession = { socket, sessionId: null, seq: 0, ready: false };
    this.sessions.add(session);
    socket.on('error', () => undefined);
    socket.on('message', (data: RawData, isBinary: boolean) => this.onGatewayMessage(session, data, isBinary));
    socket.on('close', () => {
      session.ready = false;
      this.sessions.delete(session);
    });
    this.sendPayload(session, { op: 10, d: { heartbeat_interval: this.options.heartbeatIntervalMs ?? 41250, _trace: ['fake-discord'] } });
  }

  private onGatewayMessage(session: GatewaySession, data: RawData, isBinary: boolean): void {
    let payload: unknown;
    try {
      payload = JSON.parse(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString());
    } catch {
      session.socket.close(4002, 'Error while decoding payload.');
      return;
    }
    this.gatewayPayloads.push(payload);
    if (!isObject(payload)) {
      session.socket.close(4002, 'Error while decoding payload.');
      return;
    }
    const d = isObject(payload.d) ? payload.d : {};
    switch (payload.op) {
      case 1:
        this.heartbeatCount++;
        this.sendPayload(session, { op: 11 });
        return;
      case 2:
        this.identify(session, d);
        return;
      case 6:
        this.resume(session, d);
        return;
      case 3:
      case 4:
      case 8:
        if (!session.ready) session.socket.close(4003, 'Not authenticated.');
        return;
      default:
        session.socket.close(4001, 'Unknown opcode.');
    }
  }

  private identify(session: GatewaySession, d: JsonObject): void {
    if (session.ready) {
      session.socket.close(4005, 'Already authenticated.');
      return;
    }
    if (d.token !== this.token) {
      session.socket.close(4004, 'Authentication failed.');
      return;
    }
    this.identifyCount++;
    this.identifyPayloads.push(d);
    session.sessionId = randomUUID().replace(/-/g, '');
    session.ready = true;
    this.resumable.set(session.sessionId, session);
    this.sendDispatch(session, 'READY', {
      v: API_VERSION,
      user: this.botUser(),
      guilds: this.guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.sessionId,
      resume_gateway_url: this.gatewayUrl,
      shard: [0, 1],
      application: { id: this.applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
      auth: {},
      _trace: ['fake-discord'],
    });
    for (const guild of this.guilds) this.sendDispatch(session, 'GUILD_CREATE', this.guildCreate(guild));
  }

  private resume(session: GatewaySession, d: JsonObject): void {
    const previous = typeof d.session_id === 'string' ? this.resumable.get(d.session_id) : undefined;
    if (d.token !== this.token || !previous) {
      this.sendPayload(session, { op: 9, d: false });
      return;
    }
    this.resumable.set(previous.sessionId ?? '', session);
    session.sessionId = previous.sessionId;
    session.seq = Math.max(previous.seq, typeof d.seq === 'number' ? d.seq : 0);
    session.ready = true;
    this.sendDispatch(session, 'RESUMED', { _trace: ['fake-discord'] });
  }

  private sendDispatch(session: GatewaySession, event: string, data: unknown): void {
    session.seq += 1;
    this.sendPayload(session, { op: 0, t: event, s: session.seq, d: data });
  }

  private sendPayload(session: GatewaySession, payload: JsonObject): void {
    if (session.socket.readyState !== session.socket.OPEN) return;
    session.socket.send(JSON.stringify({ t: null, s: null, ...payload }));
  }

  // ---- Ids ----

  /** A snowflake for now, unique and increasing within this fake. */
  private snowflake(): string {
    const now = Date.now();
    if (now > this.snowflakeMs) {
      this.snowflakeMs = now;
      this.snowflakeSeq = 0;
    } else if (++this.snowflakeSeq > 0xfff) {
      this.snowflakeMs += 1;
      this.snowflakeSeq = 0;
    }
    return ((BigInt(this.snowflakeMs) - DISCORD_EPOCH) << 22n | BigInt(this.snowflakeSeq)).toString();
  }

  private newToken(): string {
    return `aW50ZXJhY3Rpb24.${randomBytes(24).toString('base64url')}`;
  }

  private describe(): string {
    const last = this.requests.slice(-10).map((r) => `${r.method} ${r.path} ${r.status}`);
    return (
      `last requests (of ${this.requests.length}): [${last.join(', ')}]; callbacks: ${this.callbacks.length}; ` +
      `channel messages: ${this.channelMessages.length}; gateway sockets: ${this.sessions.size} (identified: ${this.readySessions().length}); ` +
      `identifies: ${this.identifyCount}; heartbeats: ${this.heartbeatCount}`
    );
  }
}
