/**
 * The outbox's e-mail sink: mails notices to `email:<address>` and `person:<id>` destinations
 * through a Mailer (SMTP, or the `.eml` spool), threads every mail of one request together, and
 * attaches a calendar invite to the `scheduled` notice (and its cancellation to `cancelled`).
 *
 * E-mail cannot be edited. The outbox re-delivers a message with `externalId` set when it was
 * edited in place (the progress message, a consent card closed by a decision): such a message is
 * not mailed again, and its externalId is kept. A consent card without anything left to do (the
 * decision closed it, maybe before it was first mailed) is never mailed either: the decision
 * notice itself is mailed on its own. So a reader gets the first state of the progress message,
 * and every later notice (downtime, completed) as its own mail. Every mail about a request carries
 * the signed link to its status page, where the reader follows what happens after the mail.
 */
import { noticeStatusLink } from '../notice-link.js';
import type { StatusUrl } from '../notice-link.js';
import path from 'node:path';
import type { Logger } from '../../core/command.js';
import { isReply } from '../../core/reply.js';
import type { Action } from '../../core/reply.js';
import { formatInZone } from '../../domain/time.js';
import { formatRef } from '../../domain/types.js';
import type { UpgradeRequest } from '../../domain/types.js';
import type { OutboxMessage, Repositories } from '../../ports.js';
import { PermanentDeliveryError } from '../../infra/outbox/outbox-worker.js';
import type { OutboxSink } from '../../infra/outbox/outbox-worker.js';
import { formatConsoleNotice } from '../../infra/outbox/console-sink.js';
import { classifyMailError } from '../../infra/mailer.js';
import type { Mailer, MailToSend } from '../../infra/mailer.js';
import { downtimeOf, loadView } from '../../services/request-view.js';
import { bareAddress, checkedAddress, displayName } from '../../infra/mail-address.js';
import { hasMailableActions, oneLine, renderCalendarInvite, renderEmail } from './render-email.js';

/** How a MailSink is wired. */
export interface MailSinkOptions {
  mailer: Mailer;
  /** Where `person:<id>` addresses, requests (thread, invite) and earlier notices are read. */
  store: Repositories;
  /** The From header, e.g. "Upgrade Desk <upgrades@example.com>"; its domain names Message-IDs and invite UIDs. */
  from: string;
  log: Logger;
  /** A URL that performs an action (signed approval links, when the web adapter provides them); null shows the command. */
  actionLink?: (action: Action, message: OutboxMessage) => string | null;
  /**
   * The confirmation page of a new approval link for this recipient of a consent card, or null
   * when they cannot decide (not a representative of the customer): Approve and Decline link there.
   */
  approvalPage?: (message: OutboxMessage, recipient: { address: string; personId: number | null }) => Promise<string | null>;
  /** Where a one-line "── to … · kind · ref · …" note of each handled message is written (the console of `npm start`). */
  echo?: { write(s: string): unknown };
  /** The signed status-page URL of a request (null: none); mails about a request link to it. */
  statusUrl?: StatusUrl;
}

/** The domain used in Message-IDs and invite UIDs: the From address's, reduced to safe characters. */
export function mailDomain(from: string): string {
  const domain = bareAddress(from).split('@').pop() ?? '';
  return domain.toLowerCase().replace(/[^a-z0-9.-]/g, '') || 'upgrade-desk.invalid';
}

/** Message-ID of a notice: `<upg-000001.<outboxId>.<revision>@domain>`; `notice.…` without a request. */
export function noticeMessageId(message: Pick<OutboxMessage, 'id' | 'revision' | 'requestId'>, domain: string): string {
  const head = message.requestId === null ? 'notice' : formatRef(message.requestId).toLowerCase();
  return `<${head}.${message.id}.${message.revision}@${domain}>`;
}

/** The thread root every mail of a request refers to: `<upg-000001@domain>` (also the invite's UID, without brackets). */
export function threadRoot(requestId: number, domain: string): string {
  return `<${formatRef(requestId).toLowerCase()}@${domain}>`;
}

/** "edge-01, edge-02 and 3 more". */
function deviceNames(request: UpgradeRequest): string {
  const names = [...new Set(request.items.map((i) => i.deviceName))];
  if (names.length === 0) return 'devices';
  if (names.length <= 3) return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

/** Delivers `email:<address>` and `person:<id>` destinations by e-mail. */
export class MailSink implements OutboxSink {
  readonly name = 'email';
  private readonly mailer: Mailer;
  private readonly store: Repositories;
  private readonly from: string;
  private readonly domain: string;
  private readonly log: Logger;
  private readonly actionLink: MailSinkOptions['actionLink'];
  private readonly approvalPage: MailSinkOptions['approvalPage'];
  private readonly echo: MailSinkOptions['echo'];
  private readonly statusUrl: MailSinkOptions['statusUrl'];

  constructor(options: MailSinkOptions) {
    if (/[\r\n]/.test(options.from)) throw new Error('MailSink: the From address must be one line');
    this.mailer = options.mailer;
    this.store = options.store;
    this.from = options.from;
    this.domain = mailDomain(options.from);
    this.log = options.log;
    this.actionLink = options.actionLink;
    this.approvalPage = options.approvalPage;
    this.echo = options.echo;
    this.statusUrl = options.statusUrl;
  }

  accepts(destination: string): boolean {
    return /^email:.+/.test(destination) || /^person:\d+$/.test(destination);
  }

  async deliver(message: OutboxMessage): Promise<{ externalId: string | null }> {
    if (!isReply(message.payload)) throw new PermanentDeliveryError('the payload is not a reply');
    const reply = message.payload;
    if (message.kind === 'consent_needed' && !hasMailableActions(reply)) {
      this.note(message, 'not mailed: the consent card was decided (the decision is mailed on its own)');
      return { externalId: message.externalId };
    }
    if (message.externalId) {
      this.note(message, 'not mailed: e-mail cannot be edited');
      return { externalId: message.externalId };
    }
    const recipient = await this.recipient(message.destination);
    const request = message.requestId === null ? null : await this.store.requests.byId(message.requestId);
    const ref = message.requestId === null ? null : formatRef(message.requestId);
    // A consent card gets this recipient's own one-time link (decline opens the same page, set to decline).
    const page =
      message.kind === 'consent_needed' && this.approvalPage
        ? await this.approvalPage(message, { address: recipient.address, personId: recipient.personId ?? null })
        : null;
    const consentLink = (action: Action): string | null => {
      if (!page) return null;
      if (/^\/?upgrade\s+approve\b/i.test(action.command)) return page;
      if (/^\/?upgrade\s+decline\b/i.test(action.command)) return `${page}?decision=decline`;
      return null;
    };
    const rendered = renderEmail(reply, {
      ref,
      actionLink: (action) => consentLink(action) ?? this.actionLink?.(action, message) ?? null,
      statusLink: (await noticeStatusLink(message, this.statusUrl, this.log))?.url ?? null,
    });
    const messageId = noticeMessageId(message, this.domain);
    const mail: MailToSend = {
      from: this.from,
      to: recipient.name ? { name: oneLine(recipient.name), address: recipient.address } : recipient.address,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      messageId,
      // The notice's time: stable across re-sends, so the spool replaces rather than adds a file.
      date: message.createdAt,
      headers: {
        // RFC 3834: no vacation replies or auto-responders back to the bot's intake.
        'Auto-Submitted': 'auto-generated',
        'X-Auto-Response-Suppress': 'All',
        ...(ref ? { 'X-Upgrade-Desk-Reference': ref } : {}),
      },
    };
    // The answer to a received e-mail (the intake stores its Message-ID as `inReplyTo`) continues that mail's thread.
    const answered = (message.payload as { inReplyTo?: unknown }).inReplyTo;
    const replyTo = typeof answered === 'string' && /^<[^<>\s]{1,990}>$/.test(answered) ? answered : null;
    if (message.requestId !== null) {
      const root = threadRoot(message.requestId, this.domain);
      mail.inReplyTo = replyTo ?? root;
      mail.references = replyTo ? [root, replyTo] : [root];
    } else if (replyTo) {
      mail.inReplyTo = replyTo;
      mail.references = [replyTo];
    }
    const invite = request ? await this.invite(message, request, recipient) : null;
    if (invite) mail.icalEvent = invite;
    let sent;
    try {
      sent = await this.mailer.send(mail);
    } catch (e) {
      throw classifyMailError(e);
    }
    const where = sent.spooledTo ? `spooled to ${this.displayPath(sent.spooledTo)}` : `mailed via ${this.mailer.describe}`;
    this.note(message, `${recipient.address}${invite ? ` + invite (${invite.method})` : ''}, ${where}`);
    return { externalId: sent.messageId || messageId };
  }


  /** The address (and name) a destination stands for; PermanentDeliveryError when there is none fit to use. */
  private async recipient(destination: string): Promise<{ address: string; name?: string; personId?: number }> {
    if (destination.startsWith('email:')) {
      const address = checkedAddress(destination.slice('email:'.length));
      if (!address) throw new PermanentDeliveryError(`not a usable e-mail address: ${JSON.stringify(destination.slice(6, 200))}`);
      return { address };
    }
    const id = Number(destination.slice('person:'.length));
    const person = Number.isSafeInteger(id) ? await this.store.people.byId(id) : null;
    if (!person) throw new PermanentDeliveryError(`no person with id ${destination.slice('person:'.length)}`);
    const address = checkedAddress(person.email);
    if (!address) throw new PermanentDeliveryError(`person ${person.id} has no usable e-mail address`);
    return { address, name: person.name, personId: person.id };
  }

  /**
   * The calendar invite of a `scheduled` notice, or the cancellation of a `cancelled` one when this
   * destination was sent the invite; none when the request has no planned start. UID per request;
   * SEQUENCE is the outbox id, so a later invite or cancellation always supersedes an earlier one.
   */
  private async invite(message: OutboxMessage, request: UpgradeRequest, recipient: { address: string; name?: string }): Promise<MailToSend['icalEvent'] | null> {
    if (message.kind !== 'scheduled' && message.kind !== 'cancelled') return null;
    const start = request.schedule.at;
    if (!start) return null;
    if (message.kind === 'cancelled') {
      const earlier = await this.store.outbox.forRequest(request.id);
      const invited = earlier.some((m) => m.kind === 'scheduled' && m.destination === message.destination && m.status !== 'failed' && m.id < message.id);
      if (!invited) return null;
    }
    let timezone = 'UTC';
    let downtime: [number, number] = [30, 60];
    let customer = '';
    try {
      const view = await loadView(this.store, request);
      timezone = view.customer.timezone;
      customer = view.customer.name;
      downtime = downtimeOf(view);
    } catch (e) {
      this.log.warn({ outboxId: message.id, ref: request.ref, err: (e as Error).message }, 'invite made with the default downtime');
    }
    const [min, max] = downtime;
    const summary = `Upgrade of ${deviceNames(request)} to ${request.targetVersion} (${request.ref})`;
    const cancel = message.kind === 'cancelled';
    const description = [
      cancel ? `Cancelled: ${request.statusReason ?? 'the upgrade will not take place.'}` : null,
      `Upgrade of ${deviceNames(request)}${customer ? ` for ${customer}` : ''} to ${request.targetVersion}.`,
      `Starts: ${formatInZone(start, timezone)}`,
      `Expected downtime: ${min}–${max} minutes (this entry covers the maximum); it may be longer with customer-specific configuration.`,
      `Reference: ${request.ref}`,
    ]
      .filter((l): l is string => l !== null)
      .join('\n');
    const content = renderCalendarInvite({
      method: cancel ? 'CANCEL' : 'REQUEST',
      uid: threadRoot(request.id, this.domain).slice(1, -1),
      sequence: message.id,
      stamp: message.createdAt,
      start,
      end: new Date(start.getTime() + max * 60_000),
      summary,
      description,
      organizer: { name: displayName(this.from), email: bareAddress(this.from) },
      attendee: { name: recipient.name, email: recipient.address },
    });
    return { method: cancel ? 'CANCEL' : 'REQUEST', content, filename: cancel ? 'cancel.ics' : 'invite.ics' };
  }

  /** Writes the console-style header line of a message with what became of it, when echoing. */
  private note(message: OutboxMessage, outcome: string): void {
    if (!this.echo) return;
    const header = formatConsoleNotice(message).split('\n', 1)[0];
    this.echo.write(`${header} · ${outcome}\n`);
  }

  /** A spool path relative to the working directory when it lies below it. */
  private displayPath(file: string): string {
    const relative = path.relative(process.cwd(), file);
    return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
  }
}
