/**
 * What happens to one received e-mail, whichever way it came (the SMTP intake or the IMAP
 * poller): read it, remember it by Message-ID (a repeated delivery creates nothing), check who
 * sent it, and turn a request form into the same `/upgrade request` as chat, through the same
 * dispatcher. Every answer goes out through the outbox as an e-mail to the sender, so a reply is
 * stored in the same step as the outcome and is sent once. The adapter decides nothing: the
 * sender must be a person on record and the request is judged by the services; an e-mailed
 * request never runs on the e-mail alone, because consent comes from a representative's click.
 */
import { createHash } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import type { Deps, Invocation } from '../../core/command.js';
import { dispatch, identify } from '../../core/dispatch.js';
import type { Registry } from '../../core/dispatch.js';
import { errorReply, list, referenceIn, reply, text } from '../../core/reply.js';
import type { Reply } from '../../core/reply.js';
import type { MailAuthentication } from '../../ports.js';
import { checkedAddress } from '../../infra/mail-address.js';
import { lazyImport } from '../../infra/lazy-import.js';
import { FORM_FIELDS, formCommandText, formTemplate, looksLikeForm, parseForm } from './form.js';
import type { FormValues, ParsedForm } from './form.js';

/** Largest message the intake reads (the SMTP intake announces it as SIZE). */
export const MAX_MAIL_BYTES = 5 * 1024 * 1024;

/** How one message came in. */
export interface InboundEnvelope {
  /** The whole message as received (RFC 5322). */
  raw: Buffer;
  /** SMTP MAIL FROM, when it came over SMTP. */
  mailFrom?: string | null;
  /** The connecting client's IP address and HELO name (SMTP), for SPF. */
  remoteAddress?: string | null;
  helo?: string | null;
}

/** Checks SPF, DKIM and DMARC of a raw message; never throws (failures come back as "temperror"). */
export type MailAuthenticator = (envelope: InboundEnvelope) => Promise<MailAuthentication>;

export interface MailIntakeDeps {
  registry: Registry;
  deps: Deps;
  /** Our own addresses: mail from them is never answered (no loops). */
  ownAddresses: readonly string[];
  authenticate: MailAuthenticator;
  /** A fresh invocation id per command. */
  newId: () => string;
}

/** What became of a message. */
export type IntakeOutcome =
  | { outcome: 'duplicate' }
  | { outcome: 'dropped'; reason: string }
  | { outcome: 'unknown_sender' | 'help' | 'rejected' | 'not_a_form'; replyTo: string }
  | { outcome: 'filed'; replyTo: string; ref: string };

/** A claimed message with no outcome after this long was abandoned by a crash; a new delivery of it is handled. */
const ABANDONED_AFTER_MS = 10 * 60_000;

const UNAUTHENTICATED: MailAuthentication = { spf: 'none', dkim: 'none', dmarc: 'none' };

/** mailparser, loaded with the first message received (not at start-up). */
const loadMailparser = lazyImport(() => import('mailparser'));

/** A Message-ID for a message without one: the hash of its bytes, so the same bytes are still one message. */
function messageIdOf(parsed: ParsedMail, raw: Buffer): string {
  const given = parsed.messageId?.trim();
  if (given && given.length <= 998 && !/[\r\n]/.test(given)) return given;
  return `<sha256-${createHash('sha256').update(raw).digest('hex')}@intake.invalid>`;
}

/** True for automatic mail that must never be answered: bounces, auto-replies, lists. */
function isAutomatic(parsed: ParsedMail, from: string): boolean {
  const header = (name: string) => {
    const v = parsed.headers.get(name);
    return typeof v === 'string' ? v.toLowerCase() : v === undefined ? '' : JSON.stringify(v).toLowerCase();
  };
  const auto = header('auto-submitted');
  if (auto !== '' && auto !== 'no') return true;
  if (/\b(bulk|list|junk|auto_reply)\b/.test(header('precedence'))) return true;
  if (header('x-autoreply') !== '' || header('x-autorespond') !== '' || header('list-id') !== '') return true;
  return /^(mailer-daemon|postmaster|no-?reply|bounces?)@/i.test(from);
}

/** The form's fields as a finding-like list for a reply. */
function missingList(form: ParsedForm): string[] {
  return form.missing.map((key) => {
    const field = FORM_FIELDS.find((f) => f.key === key);
    return field ? `${field.label}: ${field.hint}` : key;
  });
}

/** The reply that sends the form back, filled in with what the sender wrote. */
function withForm(r: Reply, values: FormValues): Reply {
  return { ...r, blocks: [...r.blocks, text('Correct the form below and send it back to us:'), text(formTemplate(values))] };
}

/** Reads, remembers and answers one received message. Never throws for a bad message. */
export async function handleInboundMail(intake: MailIntakeDeps, envelope: InboundEnvelope): Promise<IntakeOutcome> {
  const { deps } = intake;
  const log = deps.log;
  if (envelope.raw.length > MAX_MAIL_BYTES) return { outcome: 'dropped', reason: 'too large' };
  let parsed: ParsedMail;
  const { simpleParser } = await loadMailparser();
  try {
    parsed = await simpleParser(envelope.raw, { skipImageLinks: true, skipTextToHtml: true, maxHtmlLengthToParse: 1024 * 1024 });
  } catch (error) {
    log.warn({ err: String(error) }, 'e-mail could not be read; dropped');
    return { outcome: 'dropped', reason: 'unreadable' };
  }
  const messageId = messageIdOf(parsed, envelope.raw);
  const fromRaw = parsed.from?.value?.[0]?.address ?? '';
  const from = checkedAddress(fromRaw)?.toLowerCase() ?? null;
  const subject = (parsed.subject ?? '').replace(/[\r\n]+/g, ' ').slice(0, 300);
  const now = deps.clock.now();
  let claimed = await deps.store.inboundMail.claim({ messageId, fromAddress: (from ?? fromRaw).slice(0, 320), subject, receivedAt: now });
  if (!claimed) {
    // A delivery that failed half-way on our side is handled again; anything else was handled.
    const earlier = await deps.store.inboundMail.byMessageId(messageId);
    const abandoned = earlier !== null && earlier.outcome === null && now.getTime() - earlier.receivedAt.getTime() > ABANDONED_AFTER_MS;
    if (!earlier || (earlier.outcome !== 'failed' && !abandoned)) {
      log.info({ messageId }, 'e-mail seen before (same Message-ID); ignored');
      return { outcome: 'duplicate' };
    }
    claimed = earlier;
  }
  const settle = async (outcome: string, extra: { ref?: string | null; authentication?: MailAuthentication | null; note?: string | null } = {}) =>
    deps.store.inboundMail.settle(claimed.id, {
      outcome,
      requestRef: extra.ref ?? null,
      authentication: extra.authentication ?? null,
      note: extra.note ?? null,
    });
  try {
    if (!from) {
      await settle('dropped', { note: 'no usable From address' });
      log.warn({ messageId }, 'e-mail without a usable From address; dropped');
      return { outcome: 'dropped', reason: 'no sender' };
    }
    if (intake.ownAddresses.some((a) => a.toLowerCase() === from) || isAutomatic(parsed, from)) {
      await settle('dropped', { note: 'automatic mail or our own' });
      log.info({ messageId, from }, 'automatic e-mail (bounce, auto-reply, list or our own); not answered');
      return { outcome: 'dropped', reason: 'automatic' };
    }
    const authentication = await intake.authenticate(envelope).catch(() => ({ spf: 'temperror', dkim: 'temperror', dmarc: 'temperror' }));
    const forged = authentication.dmarc === 'fail' || authentication.spf === 'fail';
    // The answer and the outcome are stored together: a crash leaves neither, and the message is handled again.
    const answer = async (outcome: Exclude<IntakeOutcome['outcome'], 'duplicate' | 'dropped' | 'filed'>, r: Reply, ref: string | null = null) => {
      await deps.store.transaction(async () => {
        await enqueueReply(intake, messageId, from, r, ref);
        await settle(outcome, { ref, authentication });
      });
      deps.scheduler.kickOutbox();
      return { outcome, replyTo: from } as IntakeOutcome;
    };

    const person = await identify(deps.store, { kind: 'email', address: from });
    if (!person) {
      if (forged) {
        await settle('dropped', { authentication, note: 'unknown sender failing SPF/DMARC' });
        log.warn({ messageId, from, authentication }, 'e-mail from an unknown sender failing SPF/DMARC; dropped without reply');
        return { outcome: 'dropped', reason: 'forged unknown sender' };
      }
      return answer(
        'unknown_sender',
        withForm(
          errorReply(
            'unknown_requester',
            `We could not find the address ${from} in our records, so nothing was done.`,
            "Ask your company's authorized representative to register this address with your support provider, or write from the address on record.",
          ),
          {},
        ),
      );
    }
    const body = { text: parsed.text ?? null, html: typeof parsed.html === 'string' ? parsed.html : null };
    if (/^\s*(re:\s*)?help\s*$/i.test(subject) || /^\s*help\s*$/i.test(body.text ?? '')) {
      return answer('help', reply('How to ask for an upgrade by e-mail', text('Fill in the form below and send it to this address.'), text(formTemplate({ email: from }))));
    }
    const form = parseForm(body);
    if (!looksLikeForm(form)) {
      return answer(
        'not_a_form',
        withForm(
          reply(
            'We could not find an upgrade request form in your e-mail',
            text('To ask for an upgrade, fill in the form below; to reach a person, write to your support contact.'),
          ),
          { email: from },
        ),
      );
    }
    if (form.missing.length) {
      return answer(
        'rejected',
        withForm(reply('Your upgrade request is missing some details; nothing was filed', list('Missing', missingList(form))), form.values),
      );
    }
    const invocation: Invocation = { id: intake.newId(), via: 'email', identity: { kind: 'email', address: from }, text: formCommandText(form.values) };
    const result = await dispatch(intake.registry, deps, invocation);
    const ref = referenceIn(result);
    const corrected = form.corrected.length
      ? [text(`We read ${form.corrected.map((c) => `"${c.written}" as ${FORM_FIELDS.find((f) => f.key === c.field)?.label ?? c.field}`).join(', ')}.`)]
      : [];
    if (result.error || !ref) {
      return answer('rejected', withForm({ ...result, blocks: [...result.blocks, ...corrected] }, form.values));
    }
    const filed: Reply = { ...result, blocks: [...result.blocks.filter((b) => b.type !== 'actions'), ...corrected] };
    const stored = await deps.store.requests.byRef(ref);
    if (stored?.status === 'rejected') return answer('rejected', withForm(filed, form.values), ref);
    await deps.store.transaction(async () => {
      await enqueueReply(intake, messageId, from, filed, ref);
      await settle('filed', { ref, authentication, note: forged ? 'sender failed SPF/DMARC' : null });
    });
    deps.scheduler.kickOutbox();
    return { outcome: 'filed', replyTo: from, ref };
  } catch (error) {
    log.error({ err: error, messageId }, 'e-mail intake failed; the message will be handled again when it is delivered again');
    await settle('failed', { note: String(error).slice(0, 500) }).catch(() => {});
    throw error;
  }
}

/** Stores the answer to a received message in the outbox, once per message (its dedupe key names the Message-ID). */
async function enqueueReply(intake: MailIntakeDeps, messageId: string, to: string, r: Reply, ref: string | null): Promise<void> {
  const { store, clock } = intake.deps;
  const request = ref ? await store.requests.byRef(ref) : null;
  const payload: Reply & { inReplyTo: string } = { ...r, inReplyTo: messageId };
  await store.outbox.enqueue({
    dedupeKey: `mail:${createHash('sha256').update(messageId).digest('hex').slice(0, 40)}:reply`,
    requestId: request?.id ?? null,
    kind: 'request_received',
    destination: `email:${to}`,
    payload,
    createdAt: clock.now(),
  });
}

/** An authenticator that checks nothing (every verdict "none"): for tests and where DNS cannot be reached. */
export const noAuthentication: MailAuthenticator = async () => ({ ...UNAUTHENTICATED });
