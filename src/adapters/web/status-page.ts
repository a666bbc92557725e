/**
 * The status page of a request, `/requests/<ref>`: the "job link" of [000]. It shows where an
 * upgrade stands — schedule in the customer's timezone and UTC, each device's run state and
 * progress, what to do before and after, the completion feedback — and the whole timeline of the
 * request: received, consent, notices, run steps, e-mails, problem reports.
 *
 * Who may read it: anyone holding the signed link the bot puts in its messages (`?key=`, see
 * status-link.ts), or signed-in staff. The key is checked before the reference is looked up, so a
 * wrong key cannot tell which references exist. The link may be forwarded inside the customer's
 * company, so the page names people but shows no e-mail address, destination or channel id;
 * staff additionally see the addresses, the assigned agent and their dashboard.
 *
 * While the request can still move (approved, scheduled, in progress) the page reloads itself
 * every few seconds (a `<meta http-equiv=refresh>`, no script), and says so, with a way to stop.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { mapTimeMarks, stripTimeMarkDelimiters } from '../../core/reply.js';
import { runProgress } from '../../domain/run-machine.js';
import { formatInZone } from '../../domain/time.js';
import { OPEN_REQUEST_STATUSES } from '../../domain/types.js';
import type { Channel, Person, RequestItem, RequestStatus, RunEvent, UpgradeRequest } from '../../domain/types.js';
import type { AuditEvent, InboundMail, OutboxMessage, ProblemReport, Repositories } from '../../ports.js';
import { requestProgress } from '../../services/progress-notice.js';
import { allFindings, describeSchedule, downtimeOf, itemStatus, loadView } from '../../services/request-view.js';
import type { RequestView } from '../../services/request-view.js';
import { badge, escapeHtml, sendPage, sendProblem } from './html.js';
import { opsNav, signOutForm } from './ops-layout.js';
import { STATUS_PATH, validStatusKey } from './status-link.js';
import type { WebContext } from './pages.js';

/** References the page answers for (formatRef pads to six digits; longer ones come after 999999). */
const REF_PATTERN = /^UPG-\d{6,9}$/;

/** How often the page reloads while the request can still move. */
export const STATUS_REFRESH_SECONDS = 5;

/** Statuses in which the page reloads itself: something is about to happen or happening. */
const LIVE_STATUSES: readonly RequestStatus[] = ['approved', 'scheduled', 'in_progress'];

/** Statuses after which the run is over and the completion feedback exists. */
const FINISHED_STATUSES: readonly RequestStatus[] = ['completed', 'completed_with_issues', 'failed', 'aborted'];

/** Most device rows shown (a bulk request may have thousands; the rest is counted). */
const MAX_DEVICE_ROWS = 500;

/** Devices whose run steps are listed in the timeline (each costs a query). */
const MAX_RUNS_IN_TIMELINE = 100;

/** Most timeline entries shown; the newest are kept. */
const MAX_TIMELINE = 400;

/** Audit actions shown in the timeline (others are covered by their own sources, or say nothing to a reader). */
const AUDIT_ACTIONS = [
  'request_scheduled',
  'request_started',
  'request_cancelled',
  'request_finished',
  'consent_void',
  'request_assigned',
  'secret_stored',
  'secret_purged',
  'follow_up_opened',
  'request_rated',
] as const;

/** Audit actions only staff see. */
const STAFF_AUDIT_ACTIONS = ['secret_viewed', 'refused'] as const;

/** Looks like an e-mail address: hidden from readers of the link. */
const ADDRESS = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;

const CHANNEL_LABEL: Record<Channel, string> = {
  slack: 'Slack',
  discord: 'Discord',
  console: 'the console',
  email: 'e-mail',
  web: 'the web form',
  api: 'the API',
};

/** Style rules of these pages, served after APP_CSS in the one stylesheet. */
export const STATUS_CSS = `
.status-head{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;margin:-.5rem 0 1rem}
#devices td.run-state{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9rem;white-space:nowrap}
#devices td.progress{white-space:nowrap}
#devices ul.plain{margin:0}
ol.timeline .detail{margin:.15rem 0 0;color:#3a4354}
ol.timeline .detail ul{margin:.2rem 0;padding-left:1.1rem}
.refresh-note{font-size:.9rem}
`;

/** One entry of the timeline: when, what (escaped HTML), and more detail (escaped HTML, optional). */
interface Entry {
  at: Date;
  title: string;
  detail?: string;
  /** Arrival order, to keep entries of the same instant in a stable order. */
  seq: number;
}

/** Everything the page shows, read once per page view. */
interface StatusData {
  view: RequestView;
  staff: Person | null;
  agent: Person | null;
  runEvents: Array<{ item: RequestItem; events: RunEvent[] }>;
  audit: AuditEvent[];
  notices: OutboxMessage[];
  mails: InboundMail[];
  problems: ProblemReport[];
  /** People named by the timeline, by id and by lower-case e-mail. */
  peopleById: Map<number, Person | null>;
  peopleByEmail: Map<string, Person | null>;
}

/** The router mounted at `/requests`: GET `/<ref>`; anything else passes on. */
export function statusPageRouter(ctx: WebContext): Router {
  const router = express.Router();
  router.get('/:ref', async (req, res, next) => {
    const ref = req.params.ref ?? '';
    if (!REF_PATTERN.test(ref)) return next();
    try {
      await serve(ctx, req, res, ref);
    } catch (error) {
      ctx.log.error({ err: error, ref }, 'status page failed');
      if (!res.headersSent) sendProblem(res, 500, 'Something went wrong', 'The status page could not be shown just now. Please try again in a moment.');
    }
  });
  return router;
}

async function serve(ctx: WebContext, req: Request, res: Response, ref: string): Promise<void> {
  const key = typeof req.query.key === 'string' ? req.query.key : '';
  const byLink = key !== '' && validStatusKey(ctx.deps.secretBox, ref, key);
  const staff = await ctx.sessions.current(req);
  if (!byLink && !staff) {
    sendProblem(
      res,
      403,
      'This link is incomplete or wrong',
      'The status page opens only through the full link in a message or e-mail about the request. Use the link from the latest message or e-mail; if it still does not open, ask your support contact. Staff can sign in instead.',
      { href: `/ops/sign-in?next=${STATUS_PATH}${ref}`, label: 'Staff sign-in' },
    );
    return;
  }
  const request = await ctx.deps.store.requests.byRef(ref);
  if (!request) {
    sendProblem(res, 404, 'No such request', `There is no request ${ref}. It may have been removed.`, staff ? { href: '/ops', label: 'Back to the dashboard' } : undefined);
    return;
  }
  const data = await gather(ctx.deps.store, request, staff);
  const live = LIVE_STATUSES.includes(request.status);
  const refreshOff = req.query.refresh === 'off';
  const self = (refresh: boolean) => {
    const params = new URLSearchParams();
    if (byLink) params.set('key', key);
    if (!refresh) params.set('refresh', 'off');
    const query = params.toString();
    return `${STATUS_PATH}${ref}${query ? `?${query}` : ''}`;
  };
  sendPage(res, 200, {
    title: `${ref} · ${data.view.customer.name}`,
    body: renderBody(data, { live, refreshOff, self, supportEmail: ctx.deps.settings.supportEmail }),
    refreshSeconds: live && !refreshOff ? STATUS_REFRESH_SECONDS : undefined,
    wide: true,
    // Staff get the ops navigation (no page of it is the current one) and the sign-out button.
    ...(staff ? { nav: opsNav(null), signedIn: { name: staff.name, signOutForm: signOutForm(ctx, req, res) } } : {}),
  });
}

/** Reads the request's records, activity and messages. */
async function gather(store: Repositories, request: UpgradeRequest, staff: Person | null): Promise<StatusData> {
  const view = await loadView(store, request);
  const withRuns = request.items.filter((i) => i.run !== null).slice(0, MAX_RUNS_IN_TIMELINE);
  const actions: readonly string[] = staff ? [...AUDIT_ACTIONS, ...STAFF_AUDIT_ACTIONS] : AUDIT_ACTIONS;
  const [runEvents, audit, notices, mails, problems, agent] = await Promise.all([
    Promise.all(withRuns.map(async (item) => ({ item, events: await store.runs.events(item.run!.id) }))),
    // One query per action: the many run_event entries of a big request cannot crowd these out.
    Promise.all(actions.map((action) => store.audit.list({ entity: 'request', entityId: request.ref, action, limit: 50 }))).then((lists) => lists.flat()),
    store.outbox.forRequest(request.id),
    store.inboundMail.forRequest(request.ref),
    store.problems.forRequest(request.id),
    request.assignedAgentId !== null ? store.people.byId(request.assignedAgentId) : Promise.resolve(null),
  ]);
  const data: StatusData = { view, staff, agent, runEvents, audit, notices, mails, problems, peopleById: new Map(), peopleByEmail: new Map() };
  // Everyone the page names, looked up once.
  const ids = new Set<number>([
    ...request.approvals.map((a) => a.personId),
    ...problems.map((p) => p.reporterId),
    ...request.items.map((i) => i.run?.agentId).filter((id): id is number => typeof id === 'number'),
  ]);
  const emails = new Set<string>(
    [
      ...audit.map((e) => e.actor),
      ...audit.map((e) => (typeof e.data.agent === 'string' ? e.data.agent : '')),
      ...runEvents.flatMap((r) => r.events.map((e) => e.actor)),
    ]
      .filter((a) => a.includes('@'))
      .map((a) => a.toLowerCase()),
  );
  await Promise.all([
    ...[...ids].map(async (id) => data.peopleById.set(id, await store.people.byId(id))),
    ...[...emails].map(async (email) => data.peopleByEmail.set(email, await store.people.byEmail(email))),
  ]);
  return data;
}

interface RenderOptions {
  live: boolean;
  refreshOff: boolean;
  /** This page's own path (keeping the key), with or without the refresh. */
  self: (refresh: boolean) => string;
  supportEmail: string;
}

/** Text from a record or a person, escaped; for readers of the link, e-mail addresses are hidden. */
function textFor(data: StatusData) {
  return (value: string): string => escapeHtml(data.staff ? value : value.replace(ADDRESS, '(address hidden)'));
}

/** An instant as `<time>` in the customer's timezone and UTC. */
function timeTag(at: Date, timezone: string): string {
  return `<time datetime="${escapeHtml(at.toISOString())}">${escapeHtml(formatInZone(at, timezone))}</time>`;
}

/** Text holding time marks (describeSchedule, zonedTime): each mark becomes a `<time>`, the rest is escaped. */
function markedHtml(value: string, text: (s: string) => string): string {
  return mapTimeMarks(
    value,
    (unix, fallback) => `<time datetime="${escapeHtml(new Date(unix * 1000).toISOString())}">${escapeHtml(fallback)}</time>`,
    (segment) => text(stripTimeMarkDelimiters(segment)),
  );
}

/** A person as this reader may see them: the name; staff also see the address. */
function personName(data: StatusData, person: Person | null | undefined, fallback: string): string {
  if (!person) return textFor(data)(fallback);
  return data.staff ? `${escapeHtml(person.name)} &lt;${escapeHtml(person.email)}&gt;` : escapeHtml(person.name);
}

/** Who an activity entry names: a person's e-mail, "system" or "executor:<kind>". */
function actorName(data: StatusData, actor: string): string {
  if (actor === 'system') return 'Upgrade Desk';
  if (actor.startsWith('executor:')) return `the ${escapeHtml(actor.slice('executor:'.length))} executor`;
  if (actor.includes('@')) return personName(data, data.peopleByEmail.get(actor.toLowerCase()), data.staff ? actor : 'someone no longer on record');
  return textFor(data)(actor);
}

function words(value: string): string {
  return value.replace(/_/g, ' ');
}

function list(items: string[]): string {
  return `<ul class="plain">${items.map((i) => `<li>${i}</li>`).join('')}</ul>`;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function renderBody(data: StatusData, options: RenderOptions): string {
  const { view } = data;
  const { request, customer } = view;
  const text = textFor(data);
  const finished = FINISHED_STATUSES.includes(request.status);
  const parts: string[] = [];
  parts.push(`<h1>${escapeHtml(request.ref)} · ${escapeHtml(customer.name)}</h1>`);
  parts.push(
    `<div class="status-head"><span id="request-status" data-status="${escapeHtml(request.status)}">${badge(request.status)}</span>` +
      `<span class="muted">Progress ${requestProgress(request.items)} %</span></div>`,
  );
  if (options.live) {
    parts.push(
      options.refreshOff
        ? `<p class="notice refresh-note">This page no longer reloads by itself. <a href="${escapeHtml(options.self(true))}">Reload it every ${STATUS_REFRESH_SECONDS} seconds again</a>.</p>`
        : `<p class="notice refresh-note">This page reloads every ${STATUS_REFRESH_SECONDS} seconds while the upgrade is under way. <a href="${escapeHtml(options.self(false))}">Stop reloading</a>.</p>`,
    );
  }
  if (request.statusReason) parts.push(`<p class="notice warn">${text(request.statusReason)}</p>`);
  parts.push(summaryCard(data));
  if (data.staff) parts.push(staffCard(data));
  parts.push(devicesTable(data));
  if (finished) parts.push(feedbackSection(data, options.supportEmail));
  parts.push(releaseSections(view, text, finished));
  parts.push(timelineSection(data));
  return parts.join('\n');
}

function summaryCard(data: StatusData): string {
  const { view } = data;
  const { request, customer } = view;
  const text = textFor(data);
  const [min, max] = downtimeOf(view);
  const options = Object.entries(request.options)
    .filter(([, on]) => on)
    .map(([name]) => name.replace(/([A-Z])/g, ' $1').toLowerCase());
  const devices = unique(request.items.map((i) => i.deviceName));
  const shownDevices = devices.length <= 5 ? devices.join(', ') : `${devices.slice(0, 5).join(', ')} and ${devices.length - 5} more`;
  const rows: Array<[string, string | null]> = [
    ['Customer', escapeHtml(customer.name)],
    ['Devices', text(shownDevices)],
    ['Target version', escapeHtml(request.targetVersion)],
    ['Requested by', view.requester ? escapeHtml(view.requester.name) : null],
    ['Requested via', escapeHtml(CHANNEL_LABEL[request.via] ?? request.via)],
    ['Received', timeTag(request.createdAt, customer.timezone)],
    [
      'When',
      `${markedHtml(describeSchedule(request, customer.timezone), text)}<br><span class="muted">Times in ${escapeHtml(customer.name)}’s timezone (${escapeHtml(customer.timezone)}) and UTC.</span>`,
    ],
    ['Expected downtime', `${min}–${max} minutes <span class="muted">(may be longer with customer-specific configuration)</span>`],
    ['Options', options.length ? escapeHtml(options.join(', ')) : null],
    ['Note', request.note ? text(request.note) : null],
  ];
  return `<section class="card" aria-labelledby="summary-heading"><h2 id="summary-heading" class="sr-only">Summary</h2><dl class="facts">${rows
    .filter((r): r is [string, string] => r[1] !== null)
    .map(([label, value]) => `<dt>${escapeHtml(label)}</dt><dd>${value}</dd>`)
    .join('')}</dl></section>`;
}

function staffCard(data: StatusData): string {
  const { request, requester } = data.view;
  const rows: Array<[string, string]> = [
    ['Requester e-mail', requester ? escapeHtml(requester.email) : '—'],
    ['Feedback goes to', escapeHtml(request.contactEmail)],
    ['Assigned agent', data.agent ? `${escapeHtml(data.agent.name)} &lt;${escapeHtml(data.agent.email)}&gt;` : 'nobody yet'],
  ];
  return `<section class="card" aria-labelledby="staff-heading"><h2 id="staff-heading">For staff</h2><dl class="facts">${rows
    .map(([label, value]) => `<dt>${escapeHtml(label)}</dt><dd>${value}</dd>`)
    .join('')}</dl><p><a class="button secondary" href="/ops">Back to the dashboard</a></p></section>`;
}

/** The word in the run-state cell: the run's state; before the device's run exists, "waiting" (or "not_started" once the request can no longer run). */
function runStateWord(request: UpgradeRequest, item: RequestItem): string {
  if (item.run) return item.run.state;
  return OPEN_REQUEST_STATUSES.includes(request.status) && itemStatus(request, item) !== 'rejected' ? 'waiting' : 'not_started';
}

function devicesTable(data: StatusData): string {
  const { request } = data.view;
  const text = textFor(data);
  const rows = request.items.slice(0, MAX_DEVICE_ROWS).map((item) => {
    const run = item.run;
    const percent = run ? runProgress(run.state) : 0;
    const outcome = [badge(itemStatus(request, item))];
    if (run && run.condition !== 'ok') outcome.push(badge(run.condition));
    if (run && run.attempt > 1 && run.state !== 'done') outcome.push(`<span class="muted">attempt ${run.attempt}</span>`);
    const check = run?.postCheck
      ? run.postCheck.ok
        ? `reports ${text(run.postCheck.version ?? 'no version')}`
        : `not verified: ${text(run.postCheck.message)}`
      : '—';
    const issues = run && run.issues.length ? list(run.issues.map(text)) : '—';
    return (
      `<tr data-device="${escapeHtml(item.deviceName)}">` +
      `<th scope="row">${escapeHtml(item.deviceName)}</th>` +
      `<td>${escapeHtml(item.fromVersion)} → ${escapeHtml(item.targetVersion)}</td>` +
      `<td class="run-state">${escapeHtml(runStateWord(request, item))}</td>` +
      `<td>${outcome.join(' ')}</td>` +
      `<td class="progress"><progress max="100" value="${percent}" aria-label="Progress of ${escapeHtml(item.deviceName)}">${percent} %</progress> ${percent} %</td>` +
      `<td>${check}</td>` +
      `<td>${issues}</td>` +
      '</tr>'
    );
  });
  const more =
    request.items.length > MAX_DEVICE_ROWS ? `<p class="muted">… and ${request.items.length - MAX_DEVICE_ROWS} more devices.</p>` : '';
  return `<section aria-labelledby="devices-heading"><h2 id="devices-heading">Devices</h2><div class="table-wrap"><table id="devices">
<thead><tr><th scope="col">Device</th><th scope="col">Upgrade</th><th scope="col">Run state</th><th scope="col">Outcome</th><th scope="col">Progress</th><th scope="col">Post-upgrade check</th><th scope="col">Issues</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>${more}</section>`;
}

/** The completion feedback of [003], as the `completed` notice gives it. */
function feedbackSection(data: StatusData, supportEmail: string): string {
  const { request } = data.view;
  const text = textFor(data);
  const agentIds = [...new Set(request.items.map((i) => i.run?.agentId).filter((id): id is number => typeof id === 'number'))];
  const agents = agentIds.map((id) => data.peopleById.get(id)).filter((p): p is Person => !!p);
  const from = agents.length ? `Feedback from ${agents.map((a) => escapeHtml(a.name)).join(', ')}` : 'Feedback from the upgrade run';
  const issues = request.items.flatMap((i) => (i.run?.issues ?? []).map((issue) => `${text(i.deviceName)}: ${text(issue)}`));
  return `<section class="card" aria-labelledby="feedback-heading"><h2 id="feedback-heading">Feedback</h2>
<p>${from}: the upgrade is ${escapeHtml(words(request.status))}.</p>
<h3>Issues encountered</h3>${issues.length ? list(issues) : '<p>None.</p>'}
<p>Reset the manager password now: it was shared with support for this upgrade and has been erased from our systems.</p>
<p class="muted">Something wrong? Type <code>/upgrade problem ${escapeHtml(request.ref)} &lt;what happened&gt;</code> in chat, or write to ${escapeHtml(supportEmail)}.</p></section>`;
}

/** Prerequisites, impact and post-upgrade tasks of the release(s) [000]. */
function releaseSections(view: RequestView, text: (s: string) => string, finished: boolean): string {
  const releases = [...view.releases.values()];
  const prerequisites = unique(releases.flatMap((r) => r.prerequisites));
  const impact = unique(releases.map((r) => r.impact).filter(Boolean));
  const tasks = unique(releases.flatMap((r) => r.postUpgradeTasks));
  const out: string[] = [];
  if (prerequisites.length || impact.length) {
    out.push(
      `<section aria-labelledby="before-heading"><h2 id="before-heading">Before the upgrade</h2><div class="card">` +
        (prerequisites.length ? `<h3>Prerequisites</h3>${list(prerequisites.map(text))}` : '') +
        (impact.length ? `<h3>Impact</h3>${list(impact.map(text))}` : '') +
        '</div></section>',
    );
  }
  out.push(
    `<section aria-labelledby="after-heading"><h2 id="after-heading">Post-upgrade tasks</h2><div class="card">` +
      (tasks.length
        ? `${finished ? '<p>Do these now:</p>' : '<p>Once the upgrade is done:</p>'}${list(tasks.map(text))}`
        : '<p>No tasks are listed for this release.</p>') +
      '</div></section>',
  );
  return out.join('\n');
}

/** "e-mail", "Slack", … for an outbox destination: the kind of channel only, never the address or id. */
function channelKind(destination: string): string {
  if (destination === 'ops') return 'the ops channel';
  const prefix = destination.split(':', 1)[0];
  switch (prefix) {
    case 'slack':
      return 'Slack';
    case 'discord':
    case 'discord-dm':
      return 'Discord';
    case 'email':
    case 'person':
      return 'e-mail';
    default:
      return 'another channel';
  }
}

const NOTICE_LABEL: Record<string, string> = {
  request_received: 'Request received',
  consent_needed: 'Consent needed',
  approved: 'Approved',
  declined: 'Declined',
  cancelled: 'Cancelled',
  scheduled: 'Scheduled',
  downtime: 'Downtime',
  progress: 'Progress',
  completed: 'Completed',
  follow_up: 'Follow-up',
  problem_reported: 'Problem reported',
  maintenance_added: 'Maintenance',
};

/** "a, b and c". */
function sentence(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function timelineEntries(data: StatusData): Entry[] {
  const { view } = data;
  const { request } = view;
  const text = textFor(data);
  const entries: Entry[] = [];
  const add = (at: Date, title: string, detail?: string) => entries.push({ at, title, detail, seq: entries.length });

  // Received, with what the checks found.
  const findings = allFindings(request);
  add(
    request.createdAt,
    `Request received via ${escapeHtml(CHANNEL_LABEL[request.via] ?? request.via)}${view.requester ? ` from ${personName(data, view.requester, '')}` : ''}`,
    findings.length
      ? list(findings.map((f) => `${escapeHtml(f.severity)}: ${text(f.message)}${f.device ? ` (${text(f.device)})` : ''} <span class="muted">${escapeHtml(f.code)}</span>`))
      : 'All checks passed.',
  );

  // Consent: who, when, through which channel [003].
  for (const a of request.approvals) {
    const person = data.peopleById.get(a.personId);
    const who = person ? personName(data, person, a.by) : text(a.by.replace(/\s*<[^>]*>\s*/g, ' ').trim());
    const details: string[] = [];
    if (a.reason) details.push(`Reason: ${text(a.reason)}`);
    if (a.acknowledged.length) details.push(`Warnings accepted: ${escapeHtml(a.acknowledged.map(words).join(', '))}`);
    add(a.at, `${a.decision === 'approved' ? 'Approved' : 'Declined'} by ${who} via ${escapeHtml(CHANNEL_LABEL[a.via] ?? a.via)}`, details.join('<br>') || undefined);
  }

  // What the services recorded.
  for (const e of data.audit) {
    const entry = auditEntry(data, e);
    if (entry) add(e.at, entry.title, entry.detail);
  }

  // Each device's run steps.
  for (const { item, events } of data.runEvents) {
    for (const e of events) {
      const moved = e.from !== e.to ? `${escapeHtml(words(e.from))} → ${escapeHtml(words(e.to))}` : escapeHtml(words(e.event));
      add(e.at, `${escapeHtml(item.deviceName)}: ${moved}`, `${text(e.message)} <span class="muted">(${actorName(data, e.actor)})</span>`);
    }
  }
  const untracked = request.items.filter((i) => i.run !== null).length - data.runEvents.length;
  if (untracked > 0) add(view.request.updatedAt, `Run steps of ${untracked} more devices are not listed here`, 'Their state is in the devices table.');

  // E-mails received about the request.
  for (const m of data.mails) {
    const outcome = m.outcome ? words(m.outcome) : 'being handled';
    add(
      m.receivedAt,
      `E-mail received: ${escapeHtml(outcome)}`,
      data.staff ? `From ${escapeHtml(m.fromAddress)}: ${escapeHtml(m.subject)}` : undefined,
    );
  }

  // Problem reports [003].
  for (const p of data.problems) {
    add(p.at, `Problem reported by ${personName(data, data.peopleById.get(p.reporterId), 'a contact')} via ${escapeHtml(CHANNEL_LABEL[p.via] ?? p.via)}`, text(p.text));
  }

  // Notices (after what they tell of, at the same instant): one entry per notice, naming the kinds of channel it went to.
  const groups = new Map<string, OutboxMessage[]>();
  for (const m of data.notices) {
    const group = `${m.kind}|${m.createdAt.getTime()}`;
    groups.set(group, [...(groups.get(group) ?? []), m]);
  }
  for (const messages of groups.values()) {
    const first = messages[0]!;
    const channels = sentence(unique(messages.map((m) => channelKind(m.destination))));
    const sent = messages.filter((m) => m.status === 'sent').length;
    const failed = messages.filter((m) => m.status === 'failed').length;
    const state =
      sent === messages.length ? 'sent to' : sent > 0 ? 'partly sent to' : failed === messages.length ? 'could not be delivered to' : 'not yet delivered to';
    const label = NOTICE_LABEL[first.kind] ?? words(first.kind);
    const edits = Math.max(...messages.map((m) => m.revision));
    add(
      first.createdAt,
      `${first.kind === 'progress' ? 'Progress message' : `Notice “${escapeHtml(label)}”`} ${state} ${escapeHtml(channels)}`,
      edits > 0 ? `Updated in place ${edits} time${edits === 1 ? '' : 's'}.` : undefined,
    );
  }
  return entries.sort((a, b) => a.at.getTime() - b.at.getTime() || a.seq - b.seq);
}

/** The timeline entry of an audit event, or null for events the reader is not shown. */
function auditEntry(data: StatusData, e: AuditEvent): { title: string; detail?: string } | null {
  const text = textFor(data);
  const tz = data.view.customer.timezone;
  const who = actorName(data, e.actor);
  const d = e.data;
  const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
  const at = (v: unknown): Date | null => {
    const s = str(v);
    const parsed = s ? new Date(s) : null;
    return parsed && !Number.isNaN(parsed.getTime()) ? parsed : null;
  };
  switch (e.action) {
    case 'request_scheduled': {
      const start = at(d.at);
      return { title: `Scheduled${start ? ` to start ${timeTag(start, tz)}` : ''}` };
    }
    case 'request_started':
      return { title: 'Upgrade started' };
    case 'request_cancelled': {
      const reason = str(d.reason);
      return {
        title: `Cancelled by ${who}`,
        detail: reason === 'maintenance_overlap' ? 'It overlapped a new platform maintenance window.' : reason ? `Reason: ${text(reason)}` : undefined,
      };
    }
    case 'request_finished':
      return { title: `Upgrade finished: ${escapeHtml(words(str(d.status) ?? 'done'))}` };
    case 'consent_void': {
      const changes = Array.isArray(d.changes) ? d.changes.filter((c): c is string => typeof c === 'string') : [];
      return { title: 'Consent void: the records changed since approval', detail: changes.length ? list(changes.map(text)) : undefined };
    }
    case 'request_assigned': {
      const agent = str(d.agent);
      return { title: `Assigned to ${agent ? actorName(data, agent) : 'an agent'}`, detail: `By ${who}.` };
    }
    case 'secret_stored':
      return { title: `Manager password ${d.replaced === true ? 'replaced' : 'provided'} by ${who}`, detail: 'It is stored encrypted and shown only to the agent on the run.' };
    case 'secret_purged':
      return { title: 'Manager password erased from our systems' };
    case 'follow_up_opened':
      return { title: 'Follow-up opened for the support agents' };
    case 'request_rated': {
      const score = typeof d.score === 'number' ? d.score : null;
      const comment = str(d.comment);
      return { title: `Rated${score !== null ? ` ${score} of 5` : ''} by ${who}`, detail: comment ? text(comment) : undefined };
    }
    case 'secret_viewed':
      return data.staff ? { title: `Manager password viewed by ${who}` } : null;
    case 'refused':
      return data.staff ? { title: `Refused: ${who} tried to ${escapeHtml(words(str(d.attempted) ?? 'act'))}`, detail: escapeHtml(str(d.code) ?? '') || undefined } : null;
    default:
      return null;
  }
}

function timelineSection(data: StatusData): string {
  const tz = data.view.customer.timezone;
  const all = timelineEntries(data);
  const shown = all.slice(-MAX_TIMELINE);
  const hidden = all.length - shown.length;
  const items = shown.map(
    (e) => `<li>${timeTag(e.at, tz)}<strong>${e.title}</strong>${e.detail ? `<div class="detail">${e.detail}</div>` : ''}</li>`,
  );
  return `<section aria-labelledby="timeline-heading"><h2 id="timeline-heading">Timeline</h2>${
    hidden > 0 ? `<p class="muted">${hidden} earlier entries are not shown.</p>` : ''
  }<ol class="timeline" id="timeline">${items.join('\n')}</ol></section>`;
}
