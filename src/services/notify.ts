/**
 * Turns "tell these people about this request" into outbox rows, one per destination, each with a
 * dedupe key (request, kind, destination) so a notice is stored, and so sent, at most once.
 */
import type { NoticeRoutes } from '../core/command.js';
import type { Reply } from '../core/reply.js';
import type { Channel, Person } from '../domain/types.js';
import type { NoticeKind, Repositories, RequestHeader } from '../ports.js';

/** Who should hear about it. */
export type Audience =
  | 'requester'
  | 'ops'
  | 'customer_channels'
  | 'representatives'
  | 'partner'
  | 'customer_contact'
  | 'contact_email';

export interface Notice {
  /** The request the notice is about (a whole request will do; its items are not needed). */
  request: RequestHeader;
  kind: NoticeKind;
  reply: Reply;
  audiences: readonly Audience[];
  at: Date;
  /** Distinguishes repeated notices of one kind, e.g. "t-24h" for downtime notices. */
  key?: string;
}

/**
 * Where a person is told something directly: on the platform the request came through when they
 * are known there, else on another connected chat platform, else `person:<id>` (console, log and,
 * once e-mail is connected, their address).
 */
/**
 * Whether requests that came this way are answered by e-mail: e-mail, and the web form (whose
 * sender is not verified, so only the address on record hears about the request).
 */
export function answeredByEmail(via: Channel): boolean {
  return via === 'email' || via === 'web';
}

export function personDestination(person: Person, request: RequestHeader, routes: NoticeRoutes): string {
  // A request that came by e-mail or the web form is answered by e-mail, at the address on record.
  if (answeredByEmail(request.via)) return `person:${person.id}`;
  const slack = routes.slack && person.slackUserId ? `slack:${person.slackUserId}` : null;
  const discord = routes.discord && person.discordUserId ? `discord-dm:${person.discordUserId}` : null;
  const preferred = request.via === 'discord' ? [discord, slack] : [slack, discord];
  return preferred.find((d): d is string => !!d) ?? `person:${person.id}`;
}

/**
 * Destinations of a notice, without duplicates, in a stable order. A person mailed as
 * `person:<id>` and the same address as `email:<address>` get one mail, not two.
 */
export async function destinationsFor(tx: Repositories, notice: Notice, routes: NoticeRoutes): Promise<string[]> {
  const { request } = notice;
  const found = new Set<string>();
  /** Addresses already mailed, and the destination that mails each. */
  const mailed = new Map<string, string>();
  const out = {
    add(destination: string, address?: string) {
      const key = address?.toLowerCase() ?? (destination.startsWith('email:') ? destination.slice('email:'.length).toLowerCase() : null);
      if (key !== null) {
        if (mailed.has(key)) return;
        mailed.set(key, destination);
      }
      found.add(destination);
    },
  };
  const customer = await tx.customers.byId(request.customerId);
  const addPerson = (p: Person) => {
    const destination = personDestination(p, request, routes);
    out.add(destination, destination.startsWith('person:') ? p.email : undefined);
  };
  const person = async (id: number) => {
    const p = await tx.people.byId(id);
    if (p) addPerson(p);
    else out.add(`person:${id}`);
  };
  for (const audience of notice.audiences) {
    switch (audience) {
      case 'requester':
        await person(request.requesterId);
        break;
      case 'ops':
        for (const d of routes.ops) out.add(d);
        break;
      case 'customer_channels':
        if (customer?.slackChannel) out.add(`slack:${customer.slackChannel}`);
        if (customer?.discordChannel) out.add(`discord:${customer.discordChannel}`);
        if (customer && !customer.slackChannel && !customer.discordChannel) out.add(`email:${customer.email}`);
        break;
      case 'representatives': {
        const people = await tx.people.list({ customerId: request.customerId, role: 'authorized_representative' });
        for (const p of people) addPerson(p);
        break;
      }
      case 'partner': {
        if (!customer?.partner) break;
        const admins = await tx.people.list({ customerId: null, role: 'partner_admin' });
        for (const p of admins) {
          if (p.partner && p.partner.toLowerCase() === customer.partner.toLowerCase()) out.add(`email:${p.email}`);
        }
        break;
      }
      case 'customer_contact':
        if (customer) {
          out.add(`email:${customer.email.toLowerCase()}`);
          for (const e of customer.notifyEmails) out.add(`email:${e.toLowerCase()}`);
        }
        break;
      case 'contact_email':
        out.add(`email:${request.contactEmail.toLowerCase()}`);
        break;
    }
  }
  return [...found];
}

/** Stores the notice in the outbox for every destination; returns how many rows were new. */
export async function notify(tx: Repositories, notice: Notice, routes: NoticeRoutes): Promise<number> {
  let stored = 0;
  for (const destination of await destinationsFor(tx, notice, routes)) {
    const key = [notice.request.ref, notice.kind, notice.key, destination].filter(Boolean).join(':');
    const fresh = await tx.outbox.enqueue({
      dedupeKey: key,
      requestId: notice.request.id,
      kind: notice.kind,
      destination,
      payload: notice.reply,
      createdAt: notice.at,
    });
    if (fresh) stored++;
  }
  return stored;
}

/**
 * Stores or updates a message that is edited in place (the progress message): one row per
 * destination, re-delivered as an edit of the message posted before; returns how many changed.
 */
export async function notifyEditable(tx: Repositories, notice: Notice, routes: NoticeRoutes): Promise<number> {
  let changed = 0;
  for (const destination of await destinationsFor(tx, notice, routes)) {
    const key = [notice.request.ref, notice.kind, notice.key, destination].filter(Boolean).join(':');
    const fresh = await tx.outbox.upsertEditable(
      {
        dedupeKey: key,
        requestId: notice.request.id,
        kind: notice.kind,
        destination,
        payload: notice.reply,
        createdAt: notice.at,
      },
      notice.at,
    );
    if (fresh) changed++;
  }
  return changed;
}

/** Audiences for the [001] e-mail options of a request. */
export function optionAudiences(request: RequestHeader): Audience[] {
  const extra: Audience[] = [];
  if (request.options.notifyPartner) extra.push('partner');
  if (request.options.notifyCustomer) extra.push('customer_contact');
  return extra;
}

/**
 * Rewrites every consent card of a request that was stored for delivery (posted or not) with
 * `reply`, so the sinks edit the posted cards in place: once a decision is taken or the request
 * is cancelled, the cards show what happened instead of buttons. Returns how many changed.
 */
export async function closeConsentCards(tx: Repositories, request: RequestHeader, reply: Reply, at: Date): Promise<number> {
  let changed = 0;
  for (const m of await tx.outbox.forRequest(request.id)) {
    if (m.kind !== 'consent_needed' || m.status === 'failed') continue;
    const fresh = await tx.outbox.upsertEditable(
      { dedupeKey: m.dedupeKey, requestId: request.id, kind: m.kind, destination: m.destination, payload: reply, createdAt: m.createdAt },
      at,
    );
    if (fresh) changed++;
  }
  return changed;
}
