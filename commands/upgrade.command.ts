/**
 * The /upgrade commands (SPEC §7), declared once; every platform serves these definitions.
 */
import { defineCommand } from '../src/core/command.js';
import type { CommandContext } from '../src/core/command.js';
import { fields, reply, table, text } from '../src/core/reply.js';
import type { Reply } from '../src/core/reply.js';
import { formatInZone } from '../src/domain/time.js';
import { cancelRequest } from '../src/services/cancel-request.js';
import { decideRequest } from '../src/services/decide-request.js';
import { fileBulkRequest } from '../src/services/file-bulk-request.js';
import { fileRequest } from '../src/services/file-request.js';
import { failureReply, filedReply } from '../src/services/intake.js';
import { listReleases } from '../src/services/list-releases.js';
import { listWindows } from '../src/services/list-windows.js';
import { MAX_MANAGER_PASSWORD_LENGTH, provideManagerPassword } from '../src/services/provide-manager-password.js';
import { listRequests, requestStatus } from '../src/services/query-requests.js';
import { rateRequest } from '../src/services/rate-request.js';
import { reportProblem } from '../src/services/report-problem.js';
import { consentActions, describeRequest, describeSchedule } from '../src/services/request-view.js';
import type { RequestView } from '../src/services/request-view.js';

const WHEN_HELP = 'now, window (next upgrade slot) or YYYY-MM-DDTHH:MM in your timezone (add Z or ±HH:MM for another offset)';

const notifyFlags = {
  notify_partner: { kind: 'flag', help: "e-mail the partner's administrators about the update [001]" },
  notify_customer: { kind: 'flag', help: "e-mail the customer's contact address about the update [001]" },
  forced: { kind: 'flag', help: 'only platform admins may cancel it [001]' },
  redeploy: { kind: 'flag', help: 'redeploy the device as part of the update [001]' },
} as const;

/** The [001] options as the services name them. */
function optionFlags(a: { forced: boolean; redeploy: boolean; notify_partner: boolean; notify_customer: boolean }) {
  return { forced: a.forced, redeploy: a.redeploy, notifyPartner: a.notify_partner, notifyCustomer: a.notify_customer };
}

/** `/upgrade request`: one device. */
export const requestCommand = defineCommand({
  group: 'upgrade',
  name: 'request',
  description: 'Ask for an upgrade of one device',
  usage:
    '/upgrade request device=<name|serial> version=<x.y.z> when=<now|window|YYYY-MM-DDTHH:MM> mac=<mac> ip=<ip> serial=<serial> [company=..] [email=..] [phone=..] [forced] [redeploy] [notify_partner] [notify_customer] [steps] [note="..."]',
  example:
    '/upgrade request device=edge-01 version=7.1.0 when=window mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001',
  args: {
    device: { kind: 'string', required: true, help: 'device name or serial number' },
    version: { kind: 'string', required: true, help: 'target version, e.g. 7.1.0' },
    when: { kind: 'string', required: true, help: WHEN_HELP },
    mac: { kind: 'string', help: 'MAC address of the device, any notation' },
    ip: { kind: 'string', help: 'IP address of the device' },
    serial: { kind: 'string', help: 'serial number of the device' },
    company: { kind: 'string', help: 'your company name as on record' },
    email: { kind: 'string', help: 'e-mail for the feedback after the upgrade' },
    phone: { kind: 'string', help: 'your company phone number as on record' },
    note: { kind: 'string', help: 'anything the agent should know' },
    steps: { kind: 'flag', help: 'file a jump over more than two major versions as consecutive steps [002]' },
    ...notifyFlags,
  },
  permission: 'file_request',
  sideEffects: true,
  async run(ctx, a) {
    const filed = await fileRequest(
      ctx.deps,
      ctx.person,
      {
        device: a.device,
        version: a.version,
        when: a.when,
        mac: a.mac,
        ip: a.ip,
        serial: a.serial,
        company: a.company,
        email: a.email,
        phone: a.phone,
        note: a.note,
        ...optionFlags(a),
        steps: a.steps,
      },
      ctx.invocation.via,
      ctx.invocation.id,
    );
    return filed.ok ? withConsentButtons(ctx, filed.value) : failureReply(filed.error);
  },
});

/** The requester's copy carries Approve/Decline when they may decide themselves (consent stays explicit). */
function withConsentButtons(ctx: CommandContext, view: RequestView): Reply {
  const r = filedReply(view);
  const mayDecide =
    view.request.status === 'awaiting_consent' &&
    ctx.person.roles.includes('authorized_representative') &&
    ctx.person.customerId === view.request.customerId;
  return mayDecide ? { ...r, blocks: [...r.blocks, consentActions(view.request.ref)] } : r;
}

/** `/upgrade bulk`: many devices of one customer. */
export const bulkCommand = defineCommand({
  group: 'upgrade',
  name: 'bulk',
  description: 'Ask for an upgrade of many devices at once',
  usage:
    '/upgrade bulk devices=<name,name,..|status:upgrade_required|product:X> version=<x.y.z> when=<now|window|YYYY-MM-DDTHH:MM> [company=..] [forced] [redeploy] [notify_partner] [notify_customer] [note="..."]',
  example: '/upgrade bulk devices=status:upgrade_required version=7.3.0 when=window',
  args: {
    devices: { kind: 'string', required: true, help: 'device names (comma-separated), status:<status> or product:<product>' },
    version: { kind: 'string', required: true, help: 'target version' },
    when: { kind: 'string', required: true, help: WHEN_HELP },
    company: { kind: 'string', help: 'customer (platform admins only)' },
    note: { kind: 'string', help: 'anything the agent should know' },
    ...notifyFlags,
  },
  permission: 'file_request',
  sideEffects: true,
  async run(ctx, a) {
    const filed = await fileBulkRequest(
      ctx.deps,
      ctx.person,
      {
        devices: a.devices,
        version: a.version,
        when: a.when,
        company: a.company,
        note: a.note,
        ...optionFlags(a),
      },
      ctx.invocation.via,
      ctx.invocation.id,
    );
    return filed.ok ? withConsentButtons(ctx, filed.value) : failureReply(filed.error);
  },
});

const refArg = { kind: 'string', required: true, positional: 0, help: 'request reference, e.g. UPG-000123' } as const;

/** `/upgrade status [REF]`: one request, or the open ones. */
export const statusCommand = defineCommand({
  group: 'upgrade',
  name: 'status',
  description: 'Show a request, or your open requests',
  usage: '/upgrade status [REF]',
  example: '/upgrade status UPG-000001',
  args: { ref: { kind: 'string', positional: 0, help: 'request reference; without it, your open requests' } },
  permission: 'view_request',
  sideEffects: false,
  async run(ctx, a) {
    if (!a.ref) return listReply(ctx, 'open');
    const found = await requestStatus(ctx.deps, ctx.person, a.ref);
    if (!found.ok) return failureReply(found.error);
    const view = found.value;
    const mayDecide =
      view.request.status === 'awaiting_consent' &&
      ctx.person.roles.includes('authorized_representative') &&
      ctx.person.customerId === view.request.customerId;
    return describeRequest(view, mayDecide ? [consentActions(view.request.ref)] : []);
  },
});

/** "edge-01", or "12 devices" (steps of one device count once). */
function deviceSummary(items: readonly { deviceId: number; deviceName: string }[]): string {
  const names = [...new Set(items.map((i) => i.deviceName))];
  return names.length === 1 ? (names[0] as string) : `${names.length} devices`;
}

async function listReply(ctx: CommandContext, scope: 'open' | 'all'): Promise<Reply> {
  const rows = await listRequests(ctx.deps, ctx.person, scope);
  const tz = ctx.person.customerId !== null ? ((await ctx.deps.store.customers.byId(ctx.person.customerId))?.timezone ?? 'UTC') : 'UTC';
  return reply(
    scope === 'open' ? 'Open requests' : 'All requests',
    table(
      ['ref', 'status', 'customer', 'devices', 'target', 'when'],
      rows.map(({ request, customer }) => [
        request.ref,
        request.status.replace(/_/g, ' '),
        customer,
        deviceSummary(request.items),
        request.targetVersion,
        describeSchedule(request, tz),
      ]),
    ),
    ...(rows.length === 50 ? [text('Showing the 50 most recent.')] : []),
  );
}

/** `/upgrade list [open|all]`. */
export const listCommand = defineCommand({
  group: 'upgrade',
  name: 'list',
  description: 'List requests (your company’s; staff see all)',
  usage: '/upgrade list [open|all]',
  example: '/upgrade list all',
  args: { scope: { kind: 'choice', choices: ['open', 'all'], positional: 0, help: 'open (default) or all' } },
  permission: 'view_request',
  sideEffects: false,
  async run(ctx, a) {
    return listReply(ctx, (a.scope as 'open' | 'all' | undefined) ?? 'open');
  },
});

/** `/upgrade releases [product]`. */
export const releasesCommand = defineCommand({
  group: 'upgrade',
  name: 'releases',
  description: 'List the versions you can upgrade to',
  usage: '/upgrade releases [product]',
  example: '/upgrade releases SysMaster',
  args: { product: { kind: 'string', positional: 'rest', help: 'product name' } },
  permission: 'view_request',
  sideEffects: false,
  async run(ctx, a) {
    const releases = await listReleases(ctx.deps, ctx.person, a.product);
    return reply(
      a.product ? `Releases of ${a.product}` : 'Releases',
      table(
        ['product', 'version', 'downtime', 'impact'],
        releases.map((r) => [r.product, r.version, `${r.downtimeMinutes[0]}–${r.downtimeMinutes[1]} min`, r.impact]),
      ),
    );
  },
});

/** `/upgrade windows`. */
export const windowsCommand = defineCommand({
  group: 'upgrade',
  name: 'windows',
  description: 'Show upgrade windows and platform maintenance',
  usage: '/upgrade windows',
  example: '/upgrade windows',
  args: {},
  permission: 'view_request',
  sideEffects: false,
  async run(ctx) {
    const w = await listWindows(ctx.deps, ctx.person, ctx.now);
    return reply(
      `Windows (times in ${w.timezone})`,
      table(
        ['upgrade window', 'length', 'next starts'],
        w.slots.map(({ slot, next }) => [
          `${slot.cron} (${slot.timezone})`,
          `${slot.durationMinutes} min`,
          next.map((d) => formatInZone(d, w.timezone)).join('; '),
        ]),
      ),
      table(
        ['platform maintenance (no upgrades)', 'from', 'to'],
        w.maintenance.map((m) => [m.reason, formatInZone(m.start, w.timezone), formatInZone(m.end, w.timezone)]),
      ),
    );
  },
});

/** `/upgrade approve REF`. */
export const approveCommand = defineCommand({
  group: 'upgrade',
  name: 'approve',
  description: 'Give consent to a request (authorized representatives)',
  usage: '/upgrade approve REF',
  example: '/upgrade approve UPG-000001',
  args: { ref: refArg },
  permission: 'view_request',
  sideEffects: true,
  async run(ctx, a) {
    const done = await decideRequest(ctx.deps, ctx.person, a.ref, 'approved', null, ctx.invocation.via, ctx.invocation.id);
    if (!done.ok) return failureReply(done.error);
    const { view, scheduleProblem } = done.value;
    return reply(
      `${view.request.ref} approved by ${ctx.person.name}`,
      fields([
        ['Status', view.request.status.replace(/_/g, ' ')],
        ['Schedule', describeSchedule(view.request, view.customer.timezone)],
      ]),
      ...(scheduleProblem ? [text(`Not scheduled yet: ${scheduleProblem}`)] : []),
    );
  },
});

/** `/upgrade decline REF [reason]`. */
export const declineCommand = defineCommand({
  group: 'upgrade',
  name: 'decline',
  description: 'Refuse consent to a request (authorized representatives)',
  usage: '/upgrade decline REF [reason]',
  example: '/upgrade decline UPG-000001 "not this week"',
  args: { ref: refArg, reason: { kind: 'string', positional: 'rest', help: 'why, shown to the requester' } },
  permission: 'view_request',
  sideEffects: true,
  async run(ctx, a) {
    const done = await decideRequest(ctx.deps, ctx.person, a.ref, 'declined', a.reason ?? null, ctx.invocation.via, ctx.invocation.id);
    if (!done.ok) return failureReply(done.error);
    return reply(`${done.value.view.request.ref} declined by ${ctx.person.name}`, text('Nothing will be done; the requester is told.'));
  },
});

/** `/upgrade cancel REF [reason]`. */
export const cancelCommand = defineCommand({
  group: 'upgrade',
  name: 'cancel',
  description: 'Cancel a request before it runs',
  usage: '/upgrade cancel REF [reason]',
  example: '/upgrade cancel UPG-000001 "postponed"',
  args: { ref: refArg, reason: { kind: 'string', positional: 'rest', help: 'why, shown to everyone notified' } },
  permission: 'view_request',
  sideEffects: true,
  async run(ctx, a) {
    const done = await cancelRequest(ctx.deps, ctx.person, a.ref, a.reason ?? null, ctx.invocation.via, ctx.invocation.id);
    if (!done.ok) return failureReply(done.error);
    return reply(`${done.value.request.ref} cancelled`, text('Everyone who was told about it gets a cancellation notice.'));
  },
});

/** `/upgrade problem REF <text>`. */
export const problemCommand = defineCommand({
  group: 'upgrade',
  name: 'problem',
  description: 'Report a problem after an upgrade',
  usage: '/upgrade problem REF <text>',
  example: '/upgrade problem UPG-000001 the status page shows an error since the upgrade',
  args: { ref: refArg, text: { kind: 'string', required: true, positional: 'rest', help: 'what happens' } },
  permission: 'report_problem',
  sideEffects: true,
  async run(ctx, a) {
    const done = await reportProblem(ctx.deps, ctx.person, a.ref, a.text, ctx.invocation.via, ctx.invocation.id);
    if (!done.ok) return failureReply(done.error);
    return reply(
      `Problem #${done.value.report.id} reported on ${done.value.ref}`,
      text(`The support agents have been told and will follow up. You can also write to ${ctx.deps.settings.supportEmail}.`),
    );
  },
});

/** `/upgrade rate REF <1-5> [comment]`. */
export const rateCommand = defineCommand({
  group: 'upgrade',
  name: 'rate',
  description: 'Rate a completed upgrade from 1 to 5',
  usage: '/upgrade rate REF <1-5> [comment]',
  example: '/upgrade rate UPG-000001 5 smooth and on time',
  args: {
    ref: refArg,
    score: { kind: 'string', required: true, positional: 1, help: 'a score from 1 to 5' },
    comment: { kind: 'string', positional: 'rest', help: 'what went well or not' },
  },
  permission: 'report_problem',
  sideEffects: true,
  async run(ctx, a) {
    const done = await rateRequest(ctx.deps, ctx.person, a.ref, Number(a.score), a.comment ?? null, ctx.invocation.via, ctx.invocation.id);
    if (!done.ok) return failureReply(done.error);
    return reply(`Thank you: ${done.value.ref} rated ${done.value.score}/5`, text('The support team sees your rating and comment.'));
  },
});

/** A request reference as `parseRef` reads it; checked before a sensitive command runs, so it cannot carry a password. */
const REF_SHAPE = /^UPG-?\d{1,9}$/i;

/** `/upgrade password REF <password>`: the manager password the agent logs in with [003]. */
export const passwordCommand = defineCommand({
  group: 'upgrade',
  name: 'password',
  description: 'Give the manager password the support agent needs for the upgrade (stored encrypted)',
  usage: '/upgrade password REF <manager password>',
  example: '/upgrade password UPG-000001 "correct horse battery staple"',
  args: {
    ref: { ...refArg, pattern: REF_SHAPE },
    password: {
      kind: 'string',
      required: true,
      positional: 'rest',
      sensitive: true,
      help: `the manager password from the System Configuration menu, up to ${MAX_MANAGER_PASSWORD_LENGTH} characters; quote it when it has spaces or quotes`,
    },
  },
  permission: 'view_request',
  sideEffects: true,
  async run(ctx, a) {
    const done = await provideManagerPassword(ctx.deps, ctx.person, a.ref, a.password, ctx.invocation.via, ctx.invocation.id);
    if (!done.ok) return failureReply(done.error);
    const { request, replaced, resolvedWarning } = done.value;
    return reply(
      `Manager password for ${request.ref} ${replaced ? 'replaced' : 'stored'}`,
      text(
        'It is stored encrypted. Only the support agent assigned to the upgrade can see it; it is never posted in a ' +
          'channel or e-mail, and it is erased when the run ends.',
      ),
      ...(resolvedWarning ? [text('The request no longer warns that the manager password is missing.')] : []),
      text('Please make sure it is valid before the upgrade starts, and reset it once the upgrade is done [003].'),
    );
  },
});

/** Every /upgrade command, in help order. */
export const upgradeCommands = [
  requestCommand,
  bulkCommand,
  statusCommand,
  listCommand,
  releasesCommand,
  windowsCommand,
  approveCommand,
  declineCommand,
  cancelCommand,
  passwordCommand,
  problemCommand,
  rateCommand,
];
