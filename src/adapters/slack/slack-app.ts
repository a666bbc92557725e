/**
 * The Slack adapter: a Bolt app that turns slash commands, button clicks and the request modal
 * into invocations of the one dispatcher, and renders the replies as Block Kit. It translates and
 * never decides: identity is the Slack member id the request was signed for, and every button is a
 * typed command. HTTP mode serves `/slack/events` on the bot's own web server; Socket Mode
 * (SLACK_APP_TOKEN) connects out instead.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import bolt from '@slack/bolt';
import type { App as BoltApp, Logger as BoltLogger, LogLevel as BoltLogLevel, RespondArguments } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { WebClientOptions } from '@slack/web-api';
import type { Deps, Invocation, Logger } from '../../core/command.js';
import { dispatch, identify, unknownPersonReply } from '../../core/dispatch.js';
import type { Registry } from '../../core/dispatch.js';
import { errorReply } from '../../core/reply.js';
import type { Reply } from '../../core/reply.js';
import { previewRequest } from '../../services/file-request.js';
import type { RequestInput } from '../../services/file-request.js';
import { RUN_COMMAND_ACTION_PREFIX, renderReply } from './render.js';
import {
  REQUEST_MODAL_BLOCKS,
  REQUEST_MODAL_CALLBACK_ID,
  findingErrors,
  readRequestModal,
  requestCommandText,
  requestModalView,
  whenText,
} from './request-modal.js';
import type { ModalValues } from './request-modal.js';
import { DeliveryDeduper, deliveryKey } from './dedupe.js';
import { ACKNOWLEDGEMENTS_FIRST, WorkQueue, busyReply, stoppedReply } from '../work-queue.js';

const { App, HTTPReceiver, SocketModeReceiver, LogLevel } = bolt;

/** The path Slack posts slash commands and interactions to (HTTP mode). */
export const SLACK_EVENTS_PATH = '/slack/events';

/** Slack settings as the configuration validated them. */
export interface SlackSettings {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  apiUrl?: string;
  opsChannel?: string;
}

export interface SlackAdapterOptions {
  settings: SlackSettings;
  registry: Registry;
  deps: Deps;
  log: Logger;
  /** A fresh invocation id per command. */
  newId: () => string;
  /** Skips `auth.test` at start (tests that know the bot's ids). */
  botIds?: { botId: string; botUserId: string };
  /** Acknowledged commands waiting to run before the bot answers "busy" instead (default 10,000). */
  maxPendingCommands?: number;
}

/** Commands run at once; the rest wait in arrival order (see WorkQueue). */
const COMMAND_CONCURRENCY = 4;
/** How long a stopping bot finishes acknowledged commands before telling their senders it could not. */
const STOP_GRACE_MS = 10_000;
/** Attempts to deliver one answer to a response URL, and the waits between them. */
const RESPONSE_URL_WAITS_MS = [500, 2000];

/** Connection failures where the request cannot have reached the other side. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A started Slack adapter. */
export interface SlackAdapter {
  /** Handles requests to SLACK_EVENTS_PATH in HTTP mode; null in Socket Mode. */
  requestListener: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  /** The Web API client for the outbox sink (no automatic retries: the outbox retries durably). */
  sinkClient: WebClient;
  mode: 'http' | 'socket';
  stop(): Promise<void>;
}

/** Bolt's logger on top of ours; Bolt's chatter stays at debug. */
function boltLogger(log: Logger): BoltLogger {
  let level: BoltLogLevel = LogLevel.INFO;
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  return {
    debug: () => {},
    info: () => {},
    warn: (...msg: unknown[]) => log.warn({ component: 'slack' }, text(msg)),
    error: (...msg: unknown[]) => log.error({ component: 'slack' }, text(msg)),
    setLevel: (l: BoltLogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

/** Slack sends typed text HTML-escaped; the dispatcher wants what was typed (curly quotes are tokenize's business). */
export function normalizeTypedText(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** What the modal's view carries from the slash command to its submission. */
interface ModalMetadata {
  channel: string;
  responseUrl: string | null;
}

function readMetadata(raw: string | undefined): ModalMetadata {
  try {
    const parsed = JSON.parse(raw ?? '{}') as Partial<ModalMetadata>;
    return { channel: String(parsed.channel ?? ''), responseUrl: typeof parsed.responseUrl === 'string' ? parsed.responseUrl : null };
  } catch {
    return { channel: '', responseUrl: null };
  }
}

/** The modal's values as the request service reads them (the same as the typed command). */
function modalInput(values: ModalValues): RequestInput {
  return {
    device: values.device,
    version: values.version,
    when: whenText(values.when),
    mac: values.mac,
    ip: values.ip,
    serial: values.serial,
    note: values.note ?? undefined,
    forced: values.forced,
    redeploy: values.redeploy,
    notifyPartner: values.notifyPartner,
    notifyCustomer: values.notifyCustomer,
    steps: false,
  };
}

/** Creates the Bolt app and starts it (Socket Mode connects; HTTP mode waits for the web server). */
export async function startSlackAdapter(options: SlackAdapterOptions): Promise<SlackAdapter> {
  const { settings, registry, deps, log, newId } = options;
  const logger = boltLogger(log);
  const baseClientOptions: WebClientOptions = {
    ...(settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {}),
    logger,
    rejectRateLimitedCalls: true,
  };
  // Answers to a person who is waiting: a couple of quick retries, never a long wait.
  const clientOptions: WebClientOptions = {
    ...baseClientOptions,
    retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 1000 },
    timeout: 10_000,
  };
  const sinkClient = new WebClient(settings.botToken, { ...baseClientOptions, retryConfig: { retries: 0 }, timeout: 15_000 });
  const socket = !!settings.appToken;
  const receiver = socket
    ? new SocketModeReceiver({
        appToken: settings.appToken!,
        logger,
        installerOptions: { clientOptions: baseClientOptions },
      })
    : new HTTPReceiver({
        signingSecret: settings.signingSecret!,
        endpoints: SLACK_EVENTS_PATH,
        logger,
        // Acknowledge first, then work: Slack's 3-second limit holds whatever the command costs.
        processBeforeResponse: false,
        unhandledRequestTimeoutMillis: 3001,
      });
  const app: BoltApp = new App({
    token: settings.botToken,
    receiver,
    logger,
    clientOptions,
    deferInitialization: true,
    // No conversation store: the bot keeps no per-conversation state in Bolt, and the default store
    // makes (and throws away) an Error for every request.
    convoStore: false,
    ...(options.botIds ?? {}),
  });
  try {
    await app.init();
  } catch (error) {
    const e = error as { message?: string; code?: string; original?: { code?: string; data?: { error?: string } } };
    const platform = e.code === 'slack_webapi_platform_error' || e.original?.code === 'slack_webapi_platform_error';
    throw new Error(
      platform
        ? `Slack refused the bot token (SLACK_BOT_TOKEN): ${e.message}. Check the token under OAuth & Permissions and that the app is installed.`
        : `Could not reach Slack at ${settings.apiUrl ?? 'https://slack.com/api/'} to check the bot token: ${e.message}. Check the network (and SLACK_API_URL when set).`,
    );
  }

  const deduper = new DeliveryDeduper();
  const work = new WorkQueue({
    concurrency: COMMAND_CONCURRENCY,
    maxPending: options.maxPendingCommands ?? 10_000,
    burst: ACKNOWLEDGEMENTS_FIRST,
    onError: (error) => log.error({ err: error instanceof Error ? error.message : String(error) }, 'Slack command failed after its acknowledgement'),
  });
  const adminActionsIn = (channel: string | undefined) => !!settings.opsChannel && channel === settings.opsChannel;
  const invoke = (userId: string, text: string): Promise<Reply> => {
    const invocation: Invocation = { id: newId(), via: 'slack', identity: { kind: 'slack', userId }, text };
    return dispatch(registry, deps, invocation);
  };
  const answer = (reply: Reply, channel: string | undefined): RespondArguments => ({
    response_type: 'ephemeral',
    replace_original: false,
    ...renderReply(reply, { adminActions: adminActionsIn(channel) }),
  });

  // A delivery Slack (or a proxy) sends again is acknowledged and otherwise ignored.
  app.use(async (args) => {
    const key = deliveryKey(args.body as unknown as Record<string, unknown>);
    if (key && !deduper.firstTime(key)) {
      log.info({ key, retryNum: args.context.retryNum ?? null }, 'Slack delivery seen before; ignored');
      const ack = (args as { ack?: () => Promise<void> }).ack;
      if (ack) await ack();
      return;
    }
    await args.next();
  });

  app.command(/^\/upgrade(-admin)?$/, async ({ command, ack, client }) => {
    const channel = command.channel_id;
    if (!work.accepting) {
      await ack(answer(work.stopping ? stoppedReply() : busyReply(), channel));
      return;
    }
    await ack();
    const group = command.command.replace(/^\//, '');
    const text = normalizeTypedText(command.text ?? '').trim();
    const responseUrl = command.response_url;
    if (group === 'upgrade' && /^request$/i.test(text)) {
      // Not queued: the trigger id opens a modal only within 3 seconds, and opening it is cheap.
      const problem = await openRequestModal(command.trigger_id, command.user_id, { channel, responseUrl });
      if (problem) await answerOn(responseUrl, answer(problem, channel), command.user_id);
      return;
    }
    const deliver = async (reply: Reply): Promise<void> => {
      await answerOn(responseUrl, answer(reply, channel), command.user_id);
    };
    const item = {
      run: async () => deliver(await invoke(command.user_id, `/${group} ${text}`)),
      abandon: () => deliver(stoppedReply()),
    };
    // Filled (or stopped) while acknowledging: the sender is told rather than left waiting.
    if (!work.offer(item)) await deliver(work.stopping ? stoppedReply() : busyReply());

    /** Opens the request modal, or returns why it cannot be opened. */
    async function openRequestModal(triggerId: string, userId: string, meta: ModalMetadata): Promise<Reply | null> {
      const person = await identify(deps.store, { kind: 'slack', userId });
      if (!person) return unknownPersonReply({ kind: 'slack', userId });
      if (person.customerId === null) {
        return errorReply(
          'invalid_arguments',
          'The form lists the devices of your own company, and you are staff.',
          'File for a customer by typing the command with company="Customer name"; see "/upgrade help request".',
        );
      }
      const devices = await deps.store.devices.forCustomer(person.customerId);
      const versions: Record<string, string[]> = {};
      for (const product of new Set(devices.map((d) => d.product))) {
        versions[product] = (await deps.store.releases.forProduct(product)).map((r) => r.version);
      }
      await client.views.open({
        trigger_id: triggerId,
        view: requestModalView({
          devices: devices.map((d) => ({ name: d.name, serial: d.serial, product: d.product, version: d.version })),
          versions,
          privateMetadata: JSON.stringify(meta),
        }),
      });
      return null;
    }
  });

  app.view(REQUEST_MODAL_CALLBACK_ID, async ({ ack, view, body, client }) => {
    const userId = body.user.id;
    const read = readRequestModal(view.state.values);
    if (!read.ok) {
      await ack({ response_action: 'errors', errors: read.errors });
      return;
    }
    const person = await identify(deps.store, { kind: 'slack', userId });
    if (!person) {
      await ack({ response_action: 'errors', errors: { [REQUEST_MODAL_BLOCKS.device]: 'We could not find your Slack account in our records.' } });
      return;
    }
    const preview = await previewRequest(deps, person, modalInput(read.value));
    const errors = preview.ok
      ? findingErrors(preview.value, read.value.when)
      : { [typeof read.value.when === 'string' ? REQUEST_MODAL_BLOCKS.when : REQUEST_MODAL_BLOCKS.whenAt]: preview.error.message.slice(0, 1000) };
    if (Object.keys(errors).length) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
    // Filed exactly as if typed, through the same dispatcher; queued like a typed command (a full
    // queue still takes it: the form was already accepted, and the person is waiting for it).
    const meta = readMetadata(view.private_metadata);
    const deliver = async (reply: Reply): Promise<void> => {
      if (meta.responseUrl && (await answerOn(meta.responseUrl, answer(reply, meta.channel), userId))) return;
      const { text, blocks } = renderReply(reply, { adminActions: adminActionsIn(meta.channel) });
      await client.chat.postMessage({ channel: userId, text, blocks });
    };
    const item = {
      run: async () => deliver(await invoke(userId, requestCommandText(read.value))),
      abandon: () => deliver(stoppedReply()),
    };
    if (!work.offer(item)) await item.run();
  });

  app.action(new RegExp(`^${RUN_COMMAND_ACTION_PREFIX}`), async ({ ack, body, action }) => {
    await ack();
    const value = 'value' in action && typeof action.value === 'string' ? action.value : '';
    if (!/^\/?upgrade(-admin)?(\s|$)/i.test(value)) return;
    const channel = 'channel' in body ? body.channel?.id : undefined;
    const responseUrl = 'response_url' in body && typeof body.response_url === 'string' ? body.response_url : null;
    const userId = body.user.id;
    const deliver = async (reply: Reply): Promise<void> => {
      if (responseUrl) await answerOn(responseUrl, answer(reply, channel), userId);
      else log.warn({ userId }, 'Slack button click without a response URL; its answer was not shown');
    };
    const item = {
      run: async () => deliver(await invoke(userId, value)),
      abandon: () => deliver(stoppedReply()),
    };
    if (!work.offer(item)) await deliver(work.stopping ? stoppedReply() : busyReply());
  });

  app.error(async (error) => {
    log.error({ err: error.message, code: (error as { code?: string }).code }, 'Slack handler failed');
  });

  /**
   * Posts an answer to a response URL; false when it could not be delivered. Retried (twice, within
   * a few seconds) only where Slack cannot have shown it: the connection was not made, or Slack
   * answered 429 or 5xx. A lost answer is logged with the person it was for: what the command did
   * is stored either way, and `/upgrade status` shows it.
   */
  async function answerOn(url: string, message: RespondArguments, userId: string): Promise<boolean> {
    let last = '';
    for (let attempt = 0; ; attempt++) {
      let retry = false;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(message),
          signal: AbortSignal.timeout(10_000),
        });
        await res.body?.cancel();
        if (res.ok) return true;
        last = `HTTP ${res.status}`;
        retry = res.status === 429 || res.status >= 500;
      } catch (error) {
        const code = (error as { cause?: { code?: string } }).cause?.code ?? '';
        last = code || String(error);
        retry = NOT_CONNECTED.has(code);
      }
      const wait = RESPONSE_URL_WAITS_MS[attempt];
      if (!retry || wait === undefined) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    log.error({ userId, outcome: last, text: typeof message.text === 'string' ? message.text.slice(0, 200) : null }, 'Slack answer could not be delivered to its response URL');
    return false;
  }

  if (socket) await app.start();
  log.info({ mode: socket ? 'socket' : 'http', ops: settings.opsChannel ?? null }, 'Slack connected');
  const http = receiver as InstanceType<typeof HTTPReceiver>;
  return {
    requestListener: socket ? null : (req, res) => http.requestListener(req, res),
    sinkClient,
    mode: socket ? 'socket' : 'http',
    async stop() {
      const { abandoned } = await work.stop(STOP_GRACE_MS);
      if (abandoned) log.warn({ abandoned }, 'Slack commands not run because the bot stopped; their senders were told');
      if (socket) await app.stop().catch((e: unknown) => log.warn({ err: String(e) }, 'Slack Socket Mode did not stop cleanly'));
    },
  };
}
