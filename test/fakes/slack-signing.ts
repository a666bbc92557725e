/**
 * Requests shaped and signed like the ones Slack sends to an app's Request URL: slash command and
 * interaction bodies, the v0 HMAC signature headers, and payload builders with the field names
 * Bolt routes on (`action_id` for `app.action`, `view.callback_id` for `app.view`). The payload
 * builders are typed against Bolt's own payload types, so a renamed field fails the typecheck.
 */
import { createHmac } from 'node:crypto';
import type { BlockAction, ButtonAction, ViewStateValue, ViewSubmitAction } from '@slack/bolt';

/** The signature headers Slack adds to every request it sends to an app. */
export interface SlackSignatureHeaders {
  'x-slack-signature': string;
  'x-slack-request-timestamp': string;
}

/** Signs `rawBody` exactly as Slack does: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`. */
export function signSlackRequest(signingSecret: string, rawBody: string, timestampSeconds: number): SlackSignatureHeaders {
  const digest = createHmac('sha256', signingSecret).update(`v0:${timestampSeconds}:${rawBody}`).digest('hex');
  return { 'x-slack-signature': `v0=${digest}`, 'x-slack-request-timestamp': String(timestampSeconds) };
}

/** Team, app and people the builders use when a test does not say otherwise. */
export const SLACK_DEFAULTS = {
  teamId: 'T0TEST',
  teamDomain: 'test',
  appId: 'A0TEST',
  userId: 'U0TEST',
  userName: 'tester',
  channelId: 'C0TEST',
  channelName: 'upgrades',
  verificationToken: 'verification-token',
  /** Nothing listens here: pass `fake.responseUrl()` when the handler under test calls `respond()`. */
  responseUrl: 'http://127.0.0.1:9/respond/unset',
} as const;

let triggers = 0;

/** A trigger id in Slack's shape, different on every call. */
export function nextTriggerId(): string {
  triggers += 1;
  return `${1000000 + triggers}.${Date.now()}.fake${triggers.toString(16)}`;
}

/** The fields of a slash command request; any not given get a default (a fresh trigger_id each call). */
export interface SlashCommandFields {
  token?: string;
  team_id?: string;
  team_domain?: string;
  channel_id?: string;
  channel_name?: string;
  user_id?: string;
  user_name?: string;
  command?: string;
  text?: string;
  response_url?: string;
  trigger_id?: string;
  api_app_id?: string;
  /** Anything else Slack may add, e.g. `enterprise_id`, `is_enterprise_install`. */
  [extra: string]: string | undefined;
}

/** A slash command's fields as Slack sends them (the Socket Mode `slash_commands` payload), with defaults for what is not given. */
export function slashCommandPayload(fields: SlashCommandFields = {}): Record<string, string> {
  const payload: Record<string, string | undefined> = {
    token: SLACK_DEFAULTS.verificationToken,
    team_id: SLACK_DEFAULTS.teamId,
    team_domain: SLACK_DEFAULTS.teamDomain,
    channel_id: SLACK_DEFAULTS.channelId,
    channel_name: SLACK_DEFAULTS.channelName,
    user_id: SLACK_DEFAULTS.userId,
    user_name: SLACK_DEFAULTS.userName,
    command: '/upgrade',
    text: '',
    response_url: SLACK_DEFAULTS.responseUrl,
    trigger_id: nextTriggerId(),
    api_app_id: SLACK_DEFAULTS.appId,
    ...fields,
  };
  return Object.fromEntries(Object.entries(payload).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** The form-encoded body Slack posts to the Request URL for a slash command, with defaults for what is not given. */
export function slashCommandBody(fields: SlashCommandFields = {}): string {
  return new URLSearchParams(slashCommandPayload(fields)).toString();
}

/** The form-encoded body Slack posts for an interaction: `payload=<url-encoded JSON>`. */
export function interactionBody(payload: object): string {
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** Options of {@link postSigned}. */
export interface PostSignedOptions {
  /** Request timestamp in seconds; default now. Older than 5 minutes is refused by Bolt. */
  timestamp?: number;
  /** Sent as `x-slack-retry-num`, as Slack does when it redelivers. */
  retryNum?: number;
  /** Sent as `x-slack-retry-reason` (e.g. `http_timeout`). */
  retryReason?: string;
  /** Sign with a wrong secret, so the signature does not match. */
  badSignature?: boolean;
  /** Content type; default exactly `application/x-www-form-urlencoded` (Bolt 5.1 answers 400 to a charset suffix). */
  contentType?: string;
  /** Give up after this long; default 5000 ms. */
  timeoutMs?: number;
}

/** POSTs `rawBody` to `url` signed like Slack (or deliberately mis-signed); resolves with the fetch Response. */
export async function postSigned(url: string, signingSecret: string, rawBody: string, options: PostSignedOptions = {}): Promise<Response> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const secret = options.badSignature ? `${signingSecret}-wrong` : signingSecret;
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
    ...signSlackRequest(secret, rawBody, timestamp),
  };
  if (options.retryNum !== undefined) headers['x-slack-retry-num'] = String(options.retryNum);
  if (options.retryReason !== undefined) headers['x-slack-retry-reason'] = options.retryReason;
  return fetch(url, { method: 'POST', headers, body: rawBody, signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
}

/** What a button click is about; any not given get a default. */
export interface BlockActionsFields {
  actionId: string;
  value?: string;
  userId?: string;
  userName?: string;
  channelId?: string;
  channelName?: string;
  messageTs?: string;
  blockId?: string;
  responseUrl?: string;
  triggerId?: string;
  teamId?: string;
}

/** A `block_actions` payload for one button click on a channel message, as Slack sends it. */
export function blockActionsPayload(fields: BlockActionsFields): BlockAction<ButtonAction> {
  const teamId = fields.teamId ?? SLACK_DEFAULTS.teamId;
  const userId = fields.userId ?? SLACK_DEFAULTS.userId;
  const userName = fields.userName ?? SLACK_DEFAULTS.userName;
  const channelId = fields.channelId ?? SLACK_DEFAULTS.channelId;
  const messageTs = fields.messageTs ?? '1763700000.000100';
  return {
    type: 'block_actions',
    user: { id: userId, username: userName, name: userName, team_id: teamId },
    team: { id: teamId, domain: SLACK_DEFAULTS.teamDomain },
    channel: { id: channelId, name: fields.channelName ?? SLACK_DEFAULTS.channelName },
    container: { type: 'message', message_ts: messageTs, channel_id: channelId, is_ephemeral: false },
    message: { type: 'message', ts: messageTs, text: '', blocks: [] },
    actions: [
      {
        type: 'button',
        action_id: fields.actionId,
        block_id: fields.blockId ?? 'b1',
        ...(fields.value === undefined ? {} : { value: fields.value }),
        text: { type: 'plain_text', text: 'x' },
        action_ts: (Date.now() / 1000).toFixed(6),
      },
    ],
    response_url: fields.responseUrl ?? SLACK_DEFAULTS.responseUrl,
    trigger_id: fields.triggerId ?? nextTriggerId(),
    api_app_id: SLACK_DEFAULTS.appId,
    token: SLACK_DEFAULTS.verificationToken,
  };
}

/** Submitted input values, by block id then action id, as in `view.state.values`. */
export type ViewValues = Record<string, Record<string, ViewStateValue>>;

/** What a modal submission is about; any not given get a default. */
export interface ViewSubmissionFields {
  callbackId: string;
  values?: ViewValues;
  privateMetadata?: string;
  userId?: string;
  userName?: string;
  viewId?: string;
  teamId?: string;
  triggerId?: string;
  /** Present when the modal had `response_url_enabled` inputs; default none. */
  responseUrls?: ViewSubmitAction['response_urls'];
}

/** A `view_submission` payload for a modal, as Slack sends it. */
export function viewSubmissionPayload(fields: ViewSubmissionFields): ViewSubmitAction {
  const teamId = fields.teamId ?? SLACK_DEFAULTS.teamId;
  const userName = fields.userName ?? SLACK_DEFAULTS.userName;
  const viewId = fields.viewId ?? 'V0TEST';
  const user = { id: fields.userId ?? SLACK_DEFAULTS.userId, username: userName, name: userName, team_id: teamId };
  return {
    type: 'view_submission',
    team: { id: teamId, domain: SLACK_DEFAULTS.teamDomain },
    user,
    view: {
      id: viewId,
      type: 'modal',
      callback_id: fields.callbackId,
      private_metadata: fields.privateMetadata ?? '',
      state: { values: fields.values ?? {} },
      hash: `${Date.now()}.hash`,
      team_id: teamId,
      app_id: SLACK_DEFAULTS.appId,
      bot_id: 'BBOT',
      title: { type: 'plain_text', text: 'Upgrade' },
      blocks: [],
      close: null,
      submit: { type: 'plain_text', text: 'Submit' },
      root_view_id: viewId,
      previous_view_id: null,
      clear_on_close: false,
      notify_on_close: false,
    },
    trigger_id: fields.triggerId ?? nextTriggerId(),
    api_app_id: SLACK_DEFAULTS.appId,
    token: SLACK_DEFAULTS.verificationToken,
    response_urls: fields.responseUrls ?? [],
  };
}
