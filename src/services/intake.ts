/**
 * What filing a single or a bulk request have in common: finding the customer the request is
 * for, and storing a validated request with its audit event and notices in one transaction.
 */
import { errorReply } from '../core/reply.js';
import type { Deps } from '../core/command.js';
import { authorize } from '../domain/roles.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import type { Channel, Customer, Person, RequestOptions } from '../domain/types.js';
import type { NewRequest, Repositories } from '../ports.js';
import { answeredByEmail, notify } from './notify.js';
import { consentActions, describeRequest, loadView } from './request-view.js';
import type { RequestView } from './request-view.js';

/** The customer a person files for: their own, or for platform admins the one named by `company=`. */
export async function customerFor(
  tx: Repositories,
  person: Person,
  company: string | undefined,
): Promise<Result<Customer>> {
  if (person.customerId !== null) {
    const own = await tx.customers.byId(person.customerId);
    if (!own) return fail('unknown_requester', 'Your company is missing from the records; ask support to fix them.');
    return ok(own);
  }
  if (!person.roles.includes('platform_admin')) {
    return fail(
      'not_authorized',
      'Only contacts of a customer (or platform admins on their behalf) can file upgrade requests.',
    );
  }
  if (!company) return fail('invalid_arguments', 'As a platform admin, name the customer with company="Customer name".');
  const named = await tx.customers.byName(company);
  if (!named) return fail('unknown_customer', `There is no customer named "${company}" in the records.`);
  return ok(named);
}

/** Stores a new request (rejected or awaiting consent) with its audit event and notices; one transaction. */
export async function storeNewRequest(
  deps: Deps,
  tx: Repositories,
  draft: NewRequest,
  actor: Person,
  invocationId: string,
): Promise<RequestView> {
  const request = await tx.requests.create(draft);
  await tx.audit.record({
    at: draft.createdAt,
    actor: actor.email,
    action: 'request_filed',
    entity: 'request',
    entityId: request.ref,
    data: {
      status: request.status,
      via: request.via,
      devices: request.items.length,
      targetVersion: request.targetVersion,
      findings: [...request.findings, ...request.items.flatMap((i) => i.findings)].map((f) => f.code),
    },
    invocationId,
  });
  const view = await loadView(tx, request);
  await notify(tx, {
    request,
    kind: 'request_received',
    reply: { ...describeRequest(view), visibility: 'channel' },
    // The web form shows its answer on the page; the requester on record also gets it by e-mail.
    audiences: request.via === 'web' ? ['ops', 'requester'] : ['ops'],
    at: draft.createdAt,
  }, deps.settings.routes);
  if (request.status === 'awaiting_consent') {
    await notify(tx, {
      request,
      kind: 'consent_needed',
      reply: consentCard(view),
      // A request by e-mail or web form also asks the representatives by e-mail (with approval links).
      audiences:
        view.customer.slackChannel || view.customer.discordChannel
          ? ['customer_channels', ...(answeredByEmail(request.via) ? (['representatives'] as const) : [])]
          : ['representatives'],
      at: draft.createdAt,
    }, deps.settings.routes);
  }
  deps.log.info({ ref: request.ref, status: request.status, invocationId }, 'request filed');
  return view;
}

/** The consent card: the request, its findings and summary, with Approve / Decline. */
export function consentCard(view: RequestView) {
  const card = describeRequest(view, [consentActions(view.request.ref)]);
  return {
    ...card,
    title: `Consent needed: ${view.request.ref} for ${view.customer.name}`,
    visibility: 'channel' as const,
  };
}

/** Reply after filing: the request, and what happens next. */
export function filedReply(view: RequestView) {
  const { request } = view;
  const next =
    request.status === 'rejected'
      ? 'The request was rejected and kept so you and support can see why. Fix the errors above and file it again.'
      : `Next: an authorized representative of ${view.customer.name} approves it with "/upgrade approve ${request.ref}" (or the Approve button). Nothing is scheduled before that.`;
  const r = describeRequest(view);
  return {
    ...r,
    title: request.status === 'rejected' ? `${request.ref} rejected` : `${request.ref} received, awaiting consent`,
    blocks: [...r.blocks, { type: 'text' as const, text: next }],
  };
}

/** The options and free text every request form has. */
export interface FormCommon extends RequestOptions {
  /** Where the feedback goes [003]; the requester's address when absent. */
  email?: string;
  note?: string;
}

/** Builds the part of a new request's draft that single and bulk requests share. */
export function draftBase(
  person: Person,
  customer: Customer,
  via: Channel,
  now: Date,
  form: FormCommon,
): Pick<
  NewRequest,
  'customerId' | 'requesterId' | 'via' | 'createdAt' | 'contactEmail' | 'statusReason' | 'options' | 'note'
> {
  return {
    customerId: customer.id,
    requesterId: person.id,
    via,
    createdAt: now,
    contactEmail: (form.email ?? person.email).toLowerCase(),
    statusReason: null,
    options: {
      forced: form.forced,
      redeploy: form.redeploy,
      notifyPartner: form.notifyPartner,
      notifyCustomer: form.notifyCustomer,
    },
    note: form.note?.trim() || null,
  };
}

/** What the schedule rules of a new request read besides the request: blackouts, the customer's slots, low-traffic window and timezone. */
export async function scheduleRulesContext(tx: Repositories, customer: Customer, now: Date) {
  return {
    maintenance: await tx.windows.maintenance(),
    slots: await tx.windows.slots(customer.id),
    lowTraffic: customer.lowTraffic,
    timezone: customer.timezone,
    now,
  };
}

/** Checks the person may file for this customer. */
export function mayFile(person: Person, customer: Customer): Result<true> {
  return authorize(person, 'file_request', { customerId: customer.id });
}

/** Error reply for a failed Result. */
export function failureReply(error: { code: string; message: string; details?: Record<string, unknown> }) {
  const suggestions = error.details?.suggestions;
  const hint = Array.isArray(suggestions) && suggestions.length ? `Valid times nearby: ${suggestions.join(', ')}` : undefined;
  return errorReply(error.code, error.message, hint ?? (error.details?.hint as string | undefined));
}
