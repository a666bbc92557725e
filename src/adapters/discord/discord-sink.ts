/**
 * The outbox's Discord sink: posts notices to Discord channels (`discord:<channel id>`) and to
 * people as direct messages (`discord-dm:<user id>`), edits the progress message and decided
 * consent cards in place (PATCH of the message posted before), keeps a pace per channel, and
 * turns Discord's answers into the outbox's retry decisions: 429 → wait Retry-After, 5xx and
 * network errors → retry, unknown channel or missing access → give up. The REST client must not
 * retry or wait by itself (`retries: 0`, `rejectOnRateLimit`): the outbox retries durably. Every
 * notice about a request carries a link button to its status page, edits included.
 */
import { noticeStatusLink } from '../notice-link.js';
import type { StatusUrl } from '../notice-link.js';
import { DiscordAPIError, HTTPError, RateLimitError } from '@discordjs/rest';
import type { REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { APIChannel, APIMessage } from 'discord-api-types/v10';
import type { Logger } from '../../core/command.js';
import { isReply } from '../../core/reply.js';
import type { OutboxMessage } from '../../ports.js';
import { PermanentDeliveryError, RetryableDeliveryError } from '../../infra/outbox/outbox-worker.js';
import type { OutboxSink } from '../../infra/outbox/outbox-worker.js';
import { ChannelPacer, splitExternalId } from '../../infra/outbox/channel-pacer.js';
import { renderDiscordMessage } from './render.js';

/** Least time between two messages (posts or edits) to one channel: Discord allows about 5 per 5 s per channel. */
export const DISCORD_MIN_MESSAGE_INTERVAL_MS = 1000;

/**
 * Discord JSON error codes that retrying cannot fix: unknown channel/user/guild, missing access
 * or permissions, DMs closed, invalid form body, and the like.
 */
const PERMANENT_CODES = new Set([10003, 10004, 10013, 50001, 50007, 50013, 50035, 50008, 40001]);

/** Discord codes for "the message to edit is gone": a fresh message is posted instead. */
const UNEDITABLE_CODES = new Set([10008, 50005]);

export interface DiscordSinkOptions {
  /** A REST client with `retries: 0` and `rejectOnRateLimit: () => true`, its token set. */
  rest: REST;
  /** The ops channel: the only place where agents' run buttons are shown. */
  opsChannel?: string;
  log: Logger;
  /** Least time between two messages to one channel; default 1000 ms. */
  minIntervalMs?: number;
  /** The signed status-page URL of a request (null: none); notices about a request link to it. */
  statusUrl?: StatusUrl;
}

/** Maps a failed REST call to the outbox's retry decision. */
export function classifyDiscordError(e: unknown): Error {
  if (e instanceof RateLimitError) {
    return new RetryableDeliveryError(`Discord rate limit on ${e.route}`, Math.max(1000, e.retryAfter || 1000));
  }
  if (e instanceof DiscordAPIError) {
    if (e.status === 429) return new RetryableDeliveryError('Discord rate limit', 1000);
    if (e.status >= 500 || e.status === 408) return new RetryableDeliveryError(`Discord answered HTTP ${e.status}`);
    if (typeof e.code === 'number' && PERMANENT_CODES.has(e.code)) {
      return new PermanentDeliveryError(`Discord refused the message: ${e.code} ${e.message}`);
    }
    if (e.status === 401 || e.status === 403 || e.status === 404 || e.status === 400) {
      return new PermanentDeliveryError(`Discord refused the message: HTTP ${e.status} ${e.message}`);
    }
    return new RetryableDeliveryError(`Discord error ${e.status}: ${e.message}`);
  }
  if (e instanceof HTTPError) {
    return e.status >= 500 || e.status === 408
      ? new RetryableDeliveryError(`Discord answered HTTP ${e.status}`)
      : new PermanentDeliveryError(`Discord answered HTTP ${e.status}`);
  }
  // Network failures, timeouts and anything unexpected: try again later.
  return new RetryableDeliveryError(`Discord request failed: ${(e as Error | null)?.message ?? String(e)}`);
}

/** Delivers `discord:<channel id>` and `discord-dm:<user id>` destinations. */
export class DiscordSink implements OutboxSink {
  readonly name = 'discord';
  private readonly rest: REST;
  private readonly opsChannel: string | undefined;
  private readonly log: Logger;
  private readonly pacer: ChannelPacer;
  /** User id → DM channel id (Discord answers the same channel every time; this saves a call). */
  private readonly dmChannels = new Map<string, string>();
  private readonly statusUrl: DiscordSinkOptions['statusUrl'];

  constructor(options: DiscordSinkOptions) {
    this.rest = options.rest;
    this.opsChannel = options.opsChannel;
    this.log = options.log;
    this.pacer = new ChannelPacer(options.minIntervalMs ?? DISCORD_MIN_MESSAGE_INTERVAL_MS);
    this.statusUrl = options.statusUrl;
  }

  accepts(destination: string): boolean {
    return /^discord(-dm)?:\d{1,25}$/.test(destination);
  }

  async deliver(message: OutboxMessage): Promise<{ externalId: string | null }> {
    if (!isReply(message.payload)) throw new PermanentDeliveryError('the payload is not a reply');
    const dm = message.destination.startsWith('discord-dm:');
    const target = message.destination.slice(dm ? 'discord-dm:'.length : 'discord:'.length);
    const statusLink = await noticeStatusLink(message, this.statusUrl, this.log);
    const body = renderDiscordMessage(message.payload, { adminActions: !dm && target === this.opsChannel, statusLink });
    if (message.externalId) {
      const [channel, id] = splitExternalId(message.externalId);
      if (channel && id) {
        const release = await this.pacer.acquire(channel);
        try {
          await this.rest.patch(Routes.channelMessage(channel, id), { body });
          return { externalId: message.externalId };
        } catch (e) {
          if (!(e instanceof DiscordAPIError && typeof e.code === 'number' && UNEDITABLE_CODES.has(e.code))) throw this.failed(channel, e);
          this.log.warn({ outboxId: message.id, channel, code: e.code }, 'Discord message cannot be edited; posting it again');
        } finally {
          release();
        }
      }
    }
    const channel = dm ? await this.dmChannel(target) : target;
    const release = await this.pacer.acquire(channel);
    try {
      const posted = (await this.rest.post(Routes.channelMessages(channel), { body })) as APIMessage;
      return { externalId: `${channel}/${posted.id}` };
    } catch (e) {
      throw this.failed(channel, e);
    } finally {
      release();
    }
  }


  /** The DM channel with a user, opened once. */
  private async dmChannel(userId: string): Promise<string> {
    const known = this.dmChannels.get(userId);
    if (known) return known;
    try {
      const channel = (await this.rest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as APIChannel;
      this.dmChannels.set(userId, channel.id);
      return channel.id;
    } catch (e) {
      throw classifyDiscordError(e);
    }
  }

  /** Classifies a failure; a rate limit also holds back the channel's next messages. */
  private failed(channel: string, e: unknown): Error {
    const error = classifyDiscordError(e);
    if (error instanceof RetryableDeliveryError && error.retryAfterMs !== undefined) {
      this.pacer.holdFor(channel, error.retryAfterMs);
    }
    return error;
  }
}
