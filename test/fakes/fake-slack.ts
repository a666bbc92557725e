/**
 * Slack faked at the wire: an HTTP server on 127.0.0.1 that answers the Web API methods Upgrade
 * Desk uses well enough for @slack/web-api's WebClient (and so for Bolt), keeps a model of the
 * messages it was asked to post and edit, records every call, takes `respond()` posts on response
 * URLs, serves Socket Mode over a WebSocket, and misbehaves on demand (429 with Retry-After, 500,
 * `ok:false` errors, per-channel rate limits). Like real Slack, API errors are HTTP 200 `ok:false`.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';

/** A misbehaviour for `failNext`: HTTP 429 with Retry-After, HTTP 500, or HTTP 200 `{ok:false, error}`. */
export type SlackFault = { status: 429; retryAfterSeconds: number } | { status: 500 } | { error: string };

/** One request to the Web API, as received (form fields holding JSON are decoded). */
export interface SlackCall {
  method: string;
  body: Record<string, unknown>;
  /** From `Authorization: Bearer …`, else the `token` field; null when neither was sent. */
  token: string | null;
  at: number;
  /** Set when the call was answered with a fault (injected, or the per-channel rate limit). */
  fault?: SlackFault;
}

/** A message as it stands now in a channel of the model. */
export interface FakeMessage {
  ts: string;
  text: string;
  blocks: unknown[];
  /** How many times chat.update changed it. */
  updates: number;
  threadTs?: string;
}

/** A chat.postEphemeral that was accepted. */
export interface FakeEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks: unknown[];
  messageTs: string;
  at: number;
}

/** A POST to a response URL (what Bolt's `respond()` sends). */
export interface FakeResponse {
  id: string;
  body: unknown;
  at: number;
}

/** What a Socket Mode client sent back for an envelope: `{envelope_id, payload?}`. */
export interface SocketAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

/** Socket Mode envelope types the bot receives. */
export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

/** Options of {@link FakeSlack.start}. */
export interface FakeSlackOptions {
  /** When given, only these channels (and every DM) exist; others answer channel_not_found. */
  knownChannels?: string[];
  /** When set, a post/update to a channel sooner than this after the last one is answered 429. */
  rateLimitPerChannelMs?: number | null;
  /** The bot's user id in auth.test and in posted messages; default UBOT. */
  botUserId?: string;
}

type Answer = { kind: 'json'; body: Record<string, unknown> } | { kind: 'fault'; fault: SlackFault };

interface PendingEnvelope {
  resolve: (ack: SocketAck) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const MAX_BODY_BYTES = 1024 * 1024;
const SERVER_PING_INTERVAL_MS = 10_000;
const TS_BASE_SECONDS = 1763700000;

const ok = (body: Record<string, unknown> = {}): Answer => ({ kind: 'json', body: { ok: true, ...body } });
const fail = (error: string): Answer => ({ kind: 'json', body: { ok: false, error } });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const list = (value: unknown): unknown[] | undefined => (Array.isArray(value) ? value : undefined);

/** Reads a request body of at most MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<string> {
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
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Decodes a Web API body. The WebClient sends form fields and JSON-encodes every non-scalar
 * argument (blocks, view, attachments, metadata…), so form values that hold a JSON object or
 * array are decoded, except `text`, which stays as typed.
 */
function decodeBody(contentType: string | undefined, raw: string): Record<string, unknown> | null {
  if (raw === '') return {};
  if ((contentType ?? '').startsWith('application/json')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
  const body: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    body[key] = key !== 'text' && /^\s*[[{]/.test(value) ? parseJsonOr(value) : value;
  }
  return body;
}

function parseJsonOr(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** A fake Slack (Web API, response URLs, Socket Mode) on 127.0.0.1 that records everything it is asked. */
export class FakeSlack {
  /** Every Web API call, in arrival order. */
  readonly calls: SlackCall[] = [];
  /** Every accepted chat.postEphemeral, in arrival order. */
  readonly ephemerals: FakeEphemeral[] = [];
  /** Every POST to a response URL, in arrival order. */
  readonly responses: FakeResponse[] = [];
  /** Every message a Socket Mode client sent (acks included), parsed. */
  readonly socketMessages: unknown[] = [];
  /** Faults answered because of `failNext`. */
  faultsServed = 0;
  /** Calls answered 429 by the per-channel rate limit. */
  rateLimited = 0;
  /** Pings received from Socket Mode clients (each answered with a pong). */
  socketPings = 0;

  private readonly channels = new Map<string, FakeMessage[]>();
  private readonly faults = new Map<string, SlackFault[]>();
  /** Outages set by `failFor`: calls to `method` ('*': any Web API method) answer `fault` until `until` (ms). */
  private readonly outages: Array<{ method: string; until: number; fault: SlackFault }> = [];
  private readonly lastWrite = new Map<string, number>();
  private readonly sockets = new Set<WebSocket>();
  private readonly pinger = new Map<WebSocket, NodeJS.Timeout>();
  private readonly pending = new Map<string, PendingEnvelope>();
  private readonly known: Set<string> | null;
  private tsSeq = 0;
  private viewSeq = 0;
  private responseSeq = 0;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    private readonly port: number,
    private readonly options: FakeSlackOptions,
  ) {
    this.known = options.knownChannels ? new Set(options.knownChannels) : null;
  }

  /** Starts the fake on a random port of 127.0.0.1; resolves once it accepts connections. */
  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const server = createServer();
    // autoPong: the Socket Mode client pings every clientPingTimeout/3 and reconnects after ~4 pings without a pong.
    const wss = new WebSocketServer({ server, path: '/socket', autoPong: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const fake = new FakeSlack(server, wss, (server.address() as AddressInfo).port, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => fake.handle(req, res));
    wss.on('connection', (socket: WebSocket) => fake.onSocket(socket));
    return fake;
  }

  /** The Web API base URL, with trailing slash (Bolt's `clientOptions.slackApiUrl`). */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /** A response URL served by this fake; POSTs to it land in `responses` under `id`. */
  responseUrl(id?: string): string {
    return `http://127.0.0.1:${this.port}/respond/${encodeURIComponent(id ?? `r${++this.responseSeq}`)}`;
  }

  /** The calls to one Web API method, in arrival order. */
  callsTo(method: string): SlackCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** The messages of a channel in post order (a user id means that user's DM); live objects, so later edits show. */
  messages(channel: string): FakeMessage[] {
    return [...(this.channels.get(this.conversationOf(channel)) ?? [])];
  }

  /**
   * Answers the next `count` calls to `method` with `fault` (queued after faults already pending).
   * `method` 'respond' applies to response URLs: 429/500 as given, `{error}` as HTTP 404 with that text.
   */
  failNext(method: string, count: number, fault: SlackFault): void {
    const queue = this.faults.get(method) ?? [];
    for (let i = 0; i < count; i++) queue.push(fault);
    this.faults.set(method, queue);
  }

  /**
   * An outage for a while: every call to `method` ('*': every Web API method) is answered with
   * `fault` for the next `ms` milliseconds, after which the method recovers by itself. Faults
   * queued with `failNext` are answered first. The outage's calls are recorded and counted in
   * `faultsServed` like any injected fault.
   */
  failFor(method: string, ms: number, fault: SlackFault): void {
    this.outages.push({ method, until: Date.now() + ms, fault });
  }

  /** Forgets calls, messages, responses, pending faults and counters; sockets stay connected. */
  reset(): void {
    this.calls.length = 0;
    this.ephemerals.length = 0;
    this.responses.length = 0;
    this.socketMessages.length = 0;
    this.channels.clear();
    this.faults.clear();
    this.outages.length = 0;
    this.lastWrite.clear();
    this.faultsServed = 0;
    this.rateLimited = 0;
    this.socketPings = 0;
  }

  /** Polls `probe` every ~10 ms until it returns something truthy; rejects after `timeoutMs` saying what was seen. */
  async waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    const maxPolls = Math.ceil(timeoutMs / 10) + 1;
    for (let poll = 0; poll < maxPolls && Date.now() < deadline; poll++) {
      const value = probe();
      if (value) return value;
      await sleep(10);
    }
    const value = probe();
    if (value) return value;
    throw new Error(`FakeSlack.waitFor: condition not met within ${timeoutMs} ms; ${this.describe()}`);
  }

  /** Number of Socket Mode clients with an open connection. */
  get socketClients(): number {
    return this.openSockets().length;
  }

  /** Resolves once a Socket Mode client is connected; rejects after `timeoutMs`. */
  async socketConnected(timeoutMs = 5000): Promise<void> {
    await this.waitFor(() => this.socketClients > 0, timeoutMs);
  }

  /**
   * Sends an envelope to the most recently connected Socket Mode client and resolves with its ack;
   * rejects when no client is connected or no ack comes within `timeoutMs`.
   */
  sendEnvelope(type: EnvelopeType, payload: object, timeoutMs = 5000): Promise<SocketAck> {
    const socket = this.openSockets().at(-1);
    if (!socket) return Promise.reject(new Error(`FakeSlack.sendEnvelope(${type}): no Socket Mode client is connected`));
    const envelopeId = randomUUID();
    return new Promise<SocketAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelopeId);
        reject(new Error(`FakeSlack.sendEnvelope(${type}): no ack for envelope ${envelopeId} within ${timeoutMs} ms; ${this.describe()}`));
      }, timeoutMs);
      this.pending.set(envelopeId, { resolve, reject, timer });
      const envelope = { envelope_id: envelopeId, type, payload, accepts_response_payload: true, retry_attempt: 0, retry_reason: '' };
      socket.send(JSON.stringify(envelope), (error) => {
        if (!error) return;
        clearTimeout(timer);
        this.pending.delete(envelopeId);
        reject(error);
      });
    });
  }

  /**
   * Stops the server: closes every WebSocket (handshake, then cut after 1 s) and HTTP connection, and
   * rejects envelopes still awaiting an ack. Stop Socket Mode clients first, or they try to reconnect.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`FakeSlack closed before envelope ${id} was acked`));
    }
    this.pending.clear();
    for (const timer of this.pinger.values()) clearInterval(timer);
    this.pinger.clear();
    // A close handshake rather than a cut: the Socket Mode client leaks a 30 s timer when its own
    // close handshake is cut short (and Bolt's app.stop() does not wait for that handshake).
    for (const socket of this.openSockets()) socket.close(1001, 'fake slack closing');
    await this.waitFor(() => this.sockets.size === 0, 1000).catch(() => undefined);
    for (const socket of this.sockets) socket.terminate();
    this.sockets.clear();
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
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`fake slack failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' });
      res.end();
      return;
    }
    const raw = await readBody(req);
    if (pathname.startsWith('/api/')) {
      this.api(pathname.slice('/api/'.length), req, raw, res);
    } else if (pathname.startsWith('/respond/')) {
      this.respondUrl(decodeURIComponent(pathname.slice('/respond/'.length)), req, raw, res);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  }

  private api(method: string, req: IncomingMessage, raw: string, res: ServerResponse): void {
    const body = decodeBody(req.headers['content-type'], raw);
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? str(body?.token) ?? null;
    const call: SlackCall = { method, body: body ?? { raw }, token, at: Date.now() };
    this.calls.push(call);
    const injected = this.takeFault(method) ?? this.outageFault(method);
    const answer: Answer = injected
      ? { kind: 'fault', fault: injected }
      : body === null
        ? fail('invalid_json')
        : this.answer(method, body, token);
    if (injected) this.faultsServed++;
    if (answer.kind === 'json') {
      sendJson(res, 200, answer.body);
      return;
    }
    call.fault = answer.fault;
    const { fault } = answer;
    if ('error' in fault) sendJson(res, 200, { ok: false, error: fault.error });
    else if (fault.status === 429) sendJson(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfterSeconds) });
    else {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('fake internal error');
    }
  }

  private respondUrl(id: string, req: IncomingMessage, raw: string, res: ServerResponse): void {
    const body = (req.headers['content-type'] ?? '').startsWith('application/json') ? parseJsonOr(raw) : raw;
    this.responses.push({ id, body, at: Date.now() });
    const fault = this.takeFault('respond');
    if (!fault) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('ok');
      return;
    }
    this.faultsServed++;
    const status = 'error' in fault ? 404 : fault.status;
    res.writeHead(status, { 'content-type': 'text/plain', ...('retryAfterSeconds' in fault ? { 'retry-after': String(fault.retryAfterSeconds) } : {}) });
    res.end('error' in fault ? fault.error : 'fault');
  }

  private takeFault(method: string): SlackFault | undefined {
    const queue = this.faults.get(method);
    const fault = queue?.shift();
    if (queue && queue.length === 0) this.faults.delete(method);
    return fault;
  }

  /** The fault of an outage of `method` still going on, if any. */
  private outageFault(method: string): SlackFault | undefined {
    const now = Date.now();
    return this.outages.find((o) => o.until > now && (o.method === '*' || o.method === method))?.fault;
  }

  // ---- Web API methods ----

  private answer(method: string, body: Record<string, unknown>, token: string | null): Answer {
    const handler = this.methods[method];
    if (!handler) return fail('unknown_method');
    if (!token) return fail('not_authed');
    const appToken = token.startsWith('xapp-');
    if (method === 'apps.connections.open') return appToken ? ok({ url: `ws://127.0.0.1:${this.port}/socket` }) : fail('invalid_auth');
    if (appToken) return fail('not_allowed_token_type');
    return handler(body);
  }

  private readonly methods: Record<string, (body: Record<string, unknown>) => Answer> = {
    'auth.test': () =>
      ok({
        url: 'https://test.slack.com/',
        team: 'Test',
        team_id: 'T0TEST',
        user: 'upgrade-desk',
        user_id: this.botUserId,
        bot_id: 'BBOT',
        is_enterprise_install: false,
      }),
    'apps.connections.open': () => fail('invalid_auth'),
    'chat.postMessage': (body) => this.postMessage(body),
    'chat.update': (body) => this.update(body),
    'chat.postEphemeral': (body) => this.postEphemeral(body),
    'views.open': (body) => this.view(body, str(body.trigger_id) ?? str(body.interactivity_pointer)),
    'views.push': (body) => this.view(body, str(body.trigger_id) ?? str(body.interactivity_pointer)),
    'views.update': (body) => this.view(body, str(body.view_id) ?? str(body.external_id)),
    'conversations.open': (body) => {
      const first = (str(body.users) ?? '').split(',')[0]?.trim();
      const channel = str(body.channel) ?? (first ? this.conversationOf(first) : undefined);
      return channel ? ok({ channel: { id: channel } }) : fail('users_list_not_supplied');
    },
  };

  private get botUserId(): string {
    return this.options.botUserId ?? 'UBOT';
  }

  /** A user id (U…/W…) posted to is that user's DM with the bot, D + the rest. */
  private conversationOf(channel: string): string {
    return /^[UW][A-Z0-9]+$/.test(channel) ? `D${channel.slice(1)}` : channel;
  }

  private exists(channel: string): boolean {
    return this.known === null || channel.startsWith('D') || this.known.has(channel);
  }

  private nextTs(): string {
    this.tsSeq += 1;
    const micros = this.tsSeq * 100;
    return `${TS_BASE_SECONDS + Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }

  private rateLimit(channel: string): Answer | null {
    const limit = this.options.rateLimitPerChannelMs;
    const last = this.lastWrite.get(channel);
    if (limit === undefined || limit === null || last === undefined) return null;
    const waitMs = last + limit - Date.now();
    if (waitMs <= 0) return null;
    this.rateLimited++;
    return { kind: 'fault', fault: { status: 429, retryAfterSeconds: Math.ceil(waitMs / 1000) } };
  }

  private postMessage(body: Record<string, unknown>): Answer {
    const given = str(body.channel);
    if (!given) return fail('channel_not_found');
    const channel = this.conversationOf(given);
    if (!this.exists(channel)) return fail('channel_not_found');
    const text = str(body.text);
    const blocks = list(body.blocks);
    if (text === undefined && blocks === undefined && body.attachments === undefined) return fail('no_text');
    const limited = this.rateLimit(channel);
    if (limited) return limited;
    const ts = this.nextTs();
    const threadTs = str(body.thread_ts);
    const message: FakeMessage = { ts, text: text ?? '', blocks: blocks ?? [], updates: 0, ...(threadTs ? { threadTs } : {}) };
    const messages = this.channels.get(channel) ?? [];
    messages.push(message);
    this.channels.set(channel, messages);
    this.lastWrite.set(channel, Date.now());
    return ok({
      channel,
      ts,
      message: { type: 'message', text: message.text, blocks: message.blocks, user: this.botUserId, bot_id: 'BBOT', ts, ...(threadTs ? { thread_ts: threadTs } : {}) },
    });
  }

  private update(body: Record<string, unknown>): Answer {
    const given = str(body.channel);
    if (!given) return fail('channel_not_found');
    const channel = this.conversationOf(given);
    if (!this.exists(channel)) return fail('channel_not_found');
    const ts = str(body.ts);
    const message = this.channels.get(channel)?.find((m) => m.ts === ts);
    if (!ts || !message) return fail('message_not_found');
    const text = str(body.text);
    const blocks = list(body.blocks);
    if (text === undefined && blocks === undefined && body.attachments === undefined) return fail('no_text');
    const limited = this.rateLimit(channel);
    if (limited) return limited;
    if (text !== undefined) message.text = text;
    if (blocks !== undefined) message.blocks = blocks;
    message.updates += 1;
    this.lastWrite.set(channel, Date.now());
    return ok({ channel, ts, text: message.text, message: { type: 'message', text: message.text, blocks: message.blocks, user: this.botUserId, bot_id: 'BBOT' } });
  }

  private postEphemeral(body: Record<string, unknown>): Answer {
    const given = str(body.channel);
    const user = str(body.user);
    if (!given) return fail('channel_not_found');
    if (!user) return fail('user_not_found');
    const channel = this.conversationOf(given);
    if (!this.exists(channel)) return fail('channel_not_found');
    const text = str(body.text);
    const blocks = list(body.blocks);
    if (text === undefined && blocks === undefined && body.attachments === undefined) return fail('no_text');
    const messageTs = this.nextTs();
    this.ephemerals.push({ channel, user, text: text ?? '', blocks: blocks ?? [], messageTs, at: Date.now() });
    return ok({ message_ts: messageTs });
  }

  private view(body: Record<string, unknown>, required: string | undefined): Answer {
    const view = body.view;
    if (typeof view !== 'object' || view === null || !required) return fail('invalid_arguments');
    const id = str(body.view_id) ?? `V${String(++this.viewSeq).padStart(8, '0')}`;
    return ok({
      view: {
        team_id: 'T0TEST',
        app_id: 'A0TEST',
        bot_id: 'BBOT',
        callback_id: '',
        private_metadata: '',
        state: { values: {} },
        root_view_id: id,
        previous_view_id: null,
        ...view,
        id,
        hash: `${Date.now()}.${id}`,
      },
    });
  }

  // ---- Socket Mode ----

  private openSockets(): WebSocket[] {
    return [...this.sockets].filter((socket) => socket.readyState === socket.OPEN);
  }

  private onSocket(socket: WebSocket): void {
    if (this.closed) {
      socket.terminate();
      return;
    }
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('ping', () => {
      this.socketPings++;
    });
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) this.onSocketMessage(data.toString());
    });
    socket.on('close', () => {
      clearInterval(this.pinger.get(socket));
      this.pinger.delete(socket);
      this.sockets.delete(socket);
    });
    // Real Slack pings every few seconds; the client drops a connection whose pings stop for 30 s.
    const timer = setInterval(() => socket.ping('fake'), SERVER_PING_INTERVAL_MS);
    timer.unref();
    this.pinger.set(socket, timer);
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        debug_info: { host: 'fake', approximate_connection_time: 18060 },
        connection_info: { app_id: 'A0TEST' },
      }),
    );
  }

  private onSocketMessage(text: string): void {
    const message = parseJsonOr(text);
    this.socketMessages.push(message);
    if (typeof message !== 'object' || message === null) return;
    const id = str((message as Record<string, unknown>).envelope_id);
    const pending = id ? this.pending.get(id) : undefined;
    if (!id || !pending) return;
    clearTimeout(pending.timer);
    this.pending.delete(id);
    pending.resolve(message as SocketAck);
  }

  private describe(): string {
    const last = this.calls.slice(-10).map((call) => `${call.method}${call.fault ? '!' : ''}`);
    return (
      `last calls (of ${this.calls.length}): [${last.join(', ')}]; ` +
      `responses: ${this.responses.length}; ephemerals: ${this.ephemerals.length}; ` +
      `socket clients: ${this.socketClients}; socket messages: ${this.socketMessages.length}; awaiting acks: ${this.pending.size}`
    );
  }
}
