/**
 * The outbox's Slack sink: posts notices to Slack channels (and to people, by member id, as direct
 * messages), edits the progress message and decided consent cards in place with `chat.update`,
 * keeps to one message per second per channel (counted from Slack's answer to the previous one,
 * with a margin: see ChannelPacer), and turns Slack's answers into the outbox's
 * retry decisions (429 → wait Retry-After, 5xx and network errors → retry, unknown channel →
 * give up). The WebClient must not retry by itself: the outbox retries durably. Every notice about
 * a request ends with the signed link to its status page, edits included.
 */
import { noticeStatusLink } from '../notice-link.js';
import type { StatusUrl } from '../notice-link.js';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../core/command.js';
import { isReply } from '../../core/reply.js';
import type { OutboxMessage } from '../../ports.js';
import { PermanentDeliveryError, RetryableDeliveryError } from '../../infra/outbox/outbox-worker.js';
import type { OutboxSink } from '../../infra/outbox/outbox-worker.js';
import { ChannelPacer, splitExternalId } from '../../infra/outbox/channel-pacer.js';
import { SLACK_MIN_MESSAGE_INTERVAL_MS } from './limits.js';
import { renderReply } from './render.js';

/** Slack answers (`ok: false` errors) that retrying cannot fix. */
const PERMANENT_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'no_text',
  'restricted_action',
  'restricted_action_read_only_channel',
  'user_not_found',
  'cannot_dm_bot',
  'ekm_access_denied',
]);

/** `chat.update` answers meaning the message cannot be edited: a fresh message is posted instead. */
const UNEDITABLE = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed', 'channel_not_found']);

export interface SlackSinkOptions {
  client: WebClient;
  /** The ops channel: the only place where agents' run buttons are shown. */
  opsChannel?: string;
  log: Logger;
  /**
   * Least time between Slack's answer to one message (post or edit) to a channel and the next
   * message to it; default 1000 ms, plus the pacer's margin.
   */
  minIntervalMs?: number;
  /** The signed status-page URL of a request (null: none); notices about a request link to it. */
  statusUrl?: StatusUrl;
}

/** What the WebClient throws, as far as the sink needs to know. */
interface SlackApiError {
  code?: string;
  retryAfter?: number;
  statusCode?: number;
  data?: { error?: string };
  message?: string;
}

/** The Slack error code of a failed call ("ratelimited", "channel_not_found", …), if Slack gave one. */
export function slackErrorCode(e: unknown): string | undefined {
  return (e as SlackApiError | null)?.data?.error;
}

/** Maps a failed Web API call to the outbox's retry decision. */
export function classifySlackError(e: unknown): Error {
  const err = (e ?? {}) as SlackApiError;
  const text = err.message ?? String(e);
  switch (err.code) {
    case 'slack_webapi_rate_limited_error':
      return new RetryableDeliveryError(`Slack rate limit: ${text}`, Math.max(1, err.retryAfter ?? 1) * 1000);
    case 'slack_webapi_http_error':
      return (err.statusCode ?? 500) >= 500 || err.statusCode === 408
        ? new RetryableDeliveryError(`Slack answered HTTP ${err.statusCode}`)
        : new PermanentDeliveryError(`Slack answered HTTP ${err.statusCode}: ${text}`);
    case 'slack_webapi_platform_error': {
      const code = slackErrorCode(e) ?? 'unknown_error';
      return PERMANENT_ERRORS.has(code)
        ? new PermanentDeliveryError(`Slack refused the message: ${code}`)
        : new RetryableDeliveryError(`Slack error: ${code}`);
    }
    default:
      // Network failures (slack_webapi_request_error) and anything unexpected: try again later.
      return new RetryableDeliveryError(`Slack request failed: ${text}`);
  }
}

/** Delivers `slack:<channel or member id>` destinations. */
export class SlackSink implements OutboxSink {
  readonly name = 'slack';
  private readonly client: WebClient;
  private readonly opsChannel: string | undefined;
  private readonly log: Logger;
  private readonly pacer: ChannelPacer;
  private readonly statusUrl: SlackSinkOptions['statusUrl'];

  constructor(options: SlackSinkOptions) {
    this.client = options.client;
    this.opsChannel = options.opsChannel;
    this.log = options.log;
    this.pacer = new ChannelPacer(options.minIntervalMs ?? SLACK_MIN_MESSAGE_INTERVAL_MS);
    this.statusUrl = options.statusUrl;
  }

  accepts(destination: string): boolean {
    return destination.startsWith('slack:') && destination.length > 'slack:'.length;
  }

  async deliver(message: OutboxMessage): Promise<{ externalId: string | null }> {
    const target = message.destination.slice('slack:'.length);
    if (!isReply(message.payload)) throw new PermanentDeliveryError('the payload is not a reply');
    const statusLink = await noticeStatusLink(message, this.statusUrl, this.log);
    const { text, blocks } = renderReply(message.payload, { adminActions: target === this.opsChannel, statusLink });
    if (message.externalId) {
      const [channel, ts] = splitExternalId(message.externalId);
      if (channel && ts) {
        const release = await this.pacer.acquire(channel);
        try {
          await this.client.chat.update({ channel, ts, text, blocks });
          return { externalId: message.externalId };
        } catch (e) {
          const code = slackErrorCode(e);
          if (!code || !UNEDITABLE.has(code)) throw this.failed(channel, e);
          this.log.warn({ outboxId: message.id, channel, code }, 'Slack message cannot be edited; posting it again');
        } finally {
          release();
        }
      }
    }
    const release = await this.pacer.acquire(target);
    let posted;
    try {
      posted = await this.client.chat.postMessage({
        channel: target,
        text,
        blocks,
        unfurl_links: false,
        unfurl_media: false,
      });
    } catch (e) {
      throw this.failed(target, e);
    } finally {
      release();
    }
    // A member id is answered with the direct-message channel; edits need that channel, and posts
    // to the member id and edits in that channel count against one rate.
    if (posted.channel && posted.channel !== target) this.pacer.alias(target, posted.channel);
    return { externalId: `${posted.channel ?? target}/${posted.ts ?? ''}` };
  }


  /** Classifies a failure; a rate limit also holds back the channel's next messages. */
  private failed(channel: string, e: unknown): Error {
    const error = classifySlackError(e);
    if (error instanceof RetryableDeliveryError && error.retryAfterMs !== undefined) {
      this.pacer.holdFor(channel, error.retryAfterMs);
    }
    return error;
  }
}
