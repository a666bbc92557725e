/**
 * The ops dashboard, `/ops`: requests counted by status, the requests of one status (the open ones
 * by default) with their schedule and agent, and the runs in progress with their Next / Retry /
 * Abort buttons. A button is a shortcut for `/upgrade-admin run REF next|retry|abort`, dispatched
 * as the signed-in staff member, so the command's own checks and audit apply; Abort asks first on
 * a page of its own. The answer comes back as a signed notice after a redirect (Post/Redirect/Get).
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import { quoteWord } from '../../core/args.js';
import { dispatch } from '../../core/dispatch.js';
import { toPlainText } from '../../core/reply.js';
import type { Reply } from '../../core/reply.js';
import { ABORTABLE_STATES, runProgress, runStateLabel } from '../../domain/run-machine.js';
import { OPEN_REQUEST_STATUSES, REQUEST_STATUSES, parseRef } from '../../domain/types.js';
import type { Customer, Person, RequestItem, RequestStatus, Run, UpgradeRequest } from '../../domain/types.js';
import { activeRuns } from '../../services/progress-notice.js';
import { badge, escapeHtml } from './html.js';
import { noticeFrom, noticeQuery, sendStaffPage, sendStaffProblem, staffOf, timeElement } from './ops-layout.js';
import type { WebContext } from './pages.js';

/** Most requests listed in the table. */
const MAX_LISTED = 200;
/** Most devices named per request in the table; the rest are counted. */
const MAX_DEVICE_NAMES = 3;
/** The actions of a run's buttons. */
const RUN_ACTIONS = ['next', 'retry', 'abort'] as const;
type RunAction = (typeof RUN_ACTIONS)[number];
/** Seconds between reloads while runs are in progress. */
const REFRESH_SECONDS = 30;

/** Looks records up once per page. */
class Lookup {
  private readonly people = new Map<number, Person | null>();
  private customers: Map<number, Customer> | null = null;

  constructor(private readonly ctx: WebContext) {}

  async customer(id: number): Promise<string> {
    this.customers ??= new Map((await this.ctx.deps.store.customers.list()).map((c) => [c.id, c]));
    return this.customers.get(id)?.name ?? `customer ${id}`;
  }

  async person(id: number | null): Promise<Person | null> {
    if (id === null) return null;
    if (!this.people.has(id)) this.people.set(id, await this.ctx.deps.store.people.byId(id));
    return this.people.get(id) ?? null;
  }
}

function label(status: string): string {
  return status.replace(/_/g, ' ');
}

function scheduleCell(request: UpgradeRequest): string {
  const { mode, at } = request.schedule;
  if (at) return `${timeElement(at)}<br><span class="muted">${escapeHtml(mode === 'at' ? 'custom time' : mode === 'now' ? 'now' : 'upgrade window')}</span>`;
  if (mode === 'now') return '<span class="muted">as soon as approved</span>';
  if (mode === 'window') return '<span class="muted">next upgrade window</span>';
  return '<span class="muted">not set</span>';
}

function deviceNames(items: readonly RequestItem[]): string {
  const names = [...new Set(items.map((i) => i.deviceName))];
  if (names.length === 0) return '<span class="muted">none</span>';
  const shown = names.slice(0, MAX_DEVICE_NAMES).map(escapeHtml).join(', ');
  return names.length > MAX_DEVICE_NAMES ? `${shown} <span class="muted">+${names.length - MAX_DEVICE_NAMES} more</span>` : shown;
}

function statsSection(counts: Record<RequestStatus, number>, shown: readonly RequestStatus[] | 'all'): string {
  const cards = REQUEST_STATUSES.map((s) => {
    const current = shown !== 'all' && shown.length === 1 && shown[0] === s;
    return `<a class="stat${current ? ' current' : ''}" href="/ops?status=${s}"${current ? ' aria-current="true"' : ''}><strong>${counts[s]}</strong>${escapeHtml(label(s))}</a>`;
  }).join('');
  const total = REQUEST_STATUSES.reduce((sum, s) => sum + counts[s], 0);
  return `<section aria-labelledby="counts-heading"><h2 id="counts-heading">Requests by status</h2>
<div class="stats">${cards}<a class="stat${shown === 'all' ? ' current' : ''}" href="/ops?status=all"${shown === 'all' ? ' aria-current="true"' : ''}><strong>${total}</strong>all</a></div></section>`;
}

async function requestsSection(ctx: WebContext, lookup: Lookup, requests: UpgradeRequest[], heading: string, total: number): Promise<string> {
  const rows: string[] = [];
  for (const r of requests) {
    const agent = await lookup.person(r.assignedAgentId);
    rows.push(`<tr>
<th scope="row"><a href="/requests/${escapeHtml(r.ref)}">${escapeHtml(r.ref)}</a></th>
<td>${escapeHtml(await lookup.customer(r.customerId))}</td>
<td>${deviceNames(r.items)}</td>
<td>${escapeHtml(r.targetVersion)}</td>
<td>${badge(r.status)}</td>
<td>${scheduleCell(r)}</td>
<td>${agent ? escapeHtml(agent.name) : '<span class="muted">unassigned</span>'}</td>
</tr>`);
  }
  const more = total > requests.length ? `<p class="muted">Showing the ${requests.length} most recent of ${total}.</p>` : '';
  return `<section aria-labelledby="requests-heading"><h2 id="requests-heading">${escapeHtml(heading)}</h2>
${
  rows.length
    ? `<div class="table-wrap"><table><caption class="sr-only">${escapeHtml(heading)}</caption><thead><tr><th scope="col">Request</th><th scope="col">Customer</th><th scope="col">Devices</th><th scope="col">Target</th><th scope="col">Status</th><th scope="col">Schedule (UTC)</th><th scope="col">Agent</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>${more}`
    : '<p class="muted">No requests here.</p>'
}</section>`;
}

/** The small forms of one run's buttons. */
function runButtons(ctx: WebContext, req: Request, res: Response, ref: string, device: string, describedBy: string): string {
  const csrf = ctx.csrf.field(req, res);
  const deviceField = `<input type="hidden" name="device" value="${escapeHtml(device)}">`;
  const path = `/ops/runs/${escapeHtml(ref)}`;
  return `<div class="buttons">
<form method="post" action="${path}/next">${csrf}${deviceField}<button type="submit" class="small" aria-describedby="${describedBy}">Next</button></form>
<form method="post" action="${path}/retry">${csrf}${deviceField}<button type="submit" class="small secondary" aria-describedby="${describedBy}">Retry</button></form>
<form method="get" action="${path}/abort">${deviceField}<button type="submit" class="small danger" aria-describedby="${describedBy}">Abort</button></form>
</div>`;
}

async function runRow(ctx: WebContext, req: Request, res: Response, request: UpgradeRequest, item: RequestItem, run: Run): Promise<string> {
  const events = await ctx.deps.store.runs.events(run.id);
  const last = events[events.length - 1];
  const percent = runProgress(run.state);
  const id = `run-${run.id}`;
  const condition = run.condition === 'ok' ? '<span class="muted">ok</span>' : badge(run.condition);
  const attempt = run.attempt > 1 ? `<br><span class="muted">attempt ${run.attempt}</span>` : '';
  const issue = run.issues.length ? `<br><span class="muted">Issue: ${escapeHtml(run.issues[run.issues.length - 1]!)}</span>` : '';
  return `<tr data-ref="${escapeHtml(request.ref)}" data-device="${escapeHtml(item.deviceName)}">
<th scope="row" id="${id}"><a href="/requests/${escapeHtml(request.ref)}">${escapeHtml(request.ref)}</a> · ${escapeHtml(item.deviceName)}<br><span class="muted">${escapeHtml(
    `${item.fromVersion} → ${item.targetVersion}`,
  )}</span></th>
<td>${badge(run.state)}${attempt}</td>
<td><progress max="100" value="${percent}" aria-labelledby="${id}">${percent}%</progress> ${percent}%</td>
<td>${condition}</td>
<td>${last ? `${timeElement(last.at)}<br>${escapeHtml(last.message)}` : '<span class="muted">none yet</span>'}${issue}</td>
<td>${runButtons(ctx, req, res, request.ref, item.deviceName, id)}</td>
</tr>`;
}

async function runsSection(ctx: WebContext, req: Request, res: Response): Promise<{ html: string; active: number }> {
  const candidates = await ctx.deps.store.requests.list({ statuses: ['in_progress', 'scheduled', 'approved'], limit: MAX_LISTED });
  const rows: string[] = [];
  let active = 0;
  for (const request of [...candidates].reverse()) {
    const runs = activeRuns(request.items);
    if (request.status !== 'in_progress' && runs.length === 0) continue;
    if (runs.length === 0) {
      rows.push(`<tr data-ref="${escapeHtml(request.ref)}"><th scope="row"><a href="/requests/${escapeHtml(request.ref)}">${escapeHtml(
        request.ref,
      )}</a></th><td colspan="5" class="muted">In progress; no run is active right now.</td></tr>`);
      continue;
    }
    for (const { item, run } of runs) {
      active += 1;
      rows.push(await runRow(ctx, req, res, request, item, run));
    }
  }
  const html = `<section id="runs" aria-labelledby="runs-heading"><h2 id="runs-heading">Runs in progress</h2>
${
  rows.length
    ? `<p class="muted">Next moves a run to its next step, Retry repeats the current step, Abort (from prepare split to merge) restores the original configuration. Each button runs <code>/upgrade-admin run REF next|retry|abort</code> as you.</p>
<div class="table-wrap"><table><caption class="sr-only">Runs in progress</caption><thead><tr><th scope="col">Request and device</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col">Condition</th><th scope="col">Last event (UTC)</th><th scope="col">Actions</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`
    : '<p class="muted">No run is in progress.</p>'
}</section>`;
  return { html, active };
}

/** Which statuses `?status=` asks for: the open ones by default, `all`, or one status; null when unknown. */
function statusFilter(value: unknown): readonly RequestStatus[] | 'all' | null {
  if (value === undefined || value === '') return OPEN_REQUEST_STATUSES;
  if (value === 'all') return 'all';
  if (typeof value === 'string' && (REQUEST_STATUSES as readonly string[]).includes(value)) return [value as RequestStatus];
  return null;
}

/** The short text of a command's reply for the notice: the error, or the title with the run's facts. */
function noticeText(reply: Reply, action: RunAction, ref: string, device: string): string {
  if (reply.error) return toPlainText({ blocks: [], error: reply.error, visibility: 'private' });
  const facts = reply.blocks.filter((b) => b.type === 'fields').slice(-1);
  return `${action[0]!.toUpperCase()}${action.slice(1)} on ${ref} (${device}) done.\n${toPlainText({ title: reply.title, blocks: facts, visibility: 'private' })}`;
}

function bodyField(req: Request, name: string): string {
  const body = req.body as Record<string, unknown> | undefined;
  const value = body?.[name];
  return typeof value === 'string' ? value.trim() : '';
}

/** A device name as posted or asked for: short, printable; '' when absent or not plausible. */
function deviceParam(value: unknown): string {
  return typeof value === 'string' && value.length <= 100 && !/\p{Cc}/u.test(value) ? value.trim() : '';
}

/** The request a run route names, or null (→ 404). */
async function requestOf(ctx: WebContext, refText: string): Promise<UpgradeRequest | null> {
  return parseRef(refText) === null ? null : ctx.deps.store.requests.byRef(refText);
}

/** The dashboard and run routes, added to the `/ops` router behind the session check. */
export function addDashboardRoutes(router: Router, ctx: WebContext, forms: RequestHandler): void {
  router.get('/', async (req, res) => {
    const shown = statusFilter(req.query.status);
    if (shown === null) {
      return sendStaffProblem(ctx, req, res, 400, 'Unknown status', `Choose one of: ${REQUEST_STATUSES.map(label).join(', ')} (or all).`, undefined, 'dashboard');
    }
    const lookup = new Lookup(ctx);
    const counts = await ctx.deps.store.requests.countByStatus();
    const requests = await ctx.deps.store.requests.list({ ...(shown === 'all' ? {} : { statuses: shown }), limit: MAX_LISTED });
    const total = shown === 'all' ? REQUEST_STATUSES.reduce((sum, s) => sum + counts[s], 0) : shown.reduce((sum, s) => sum + counts[s], 0);
    const heading = shown === 'all' ? 'All requests' : shown.length === 1 ? `Requests ${label(shown[0]!)}` : 'Open requests';
    const runs = await runsSection(ctx, req, res);
    sendStaffPage(ctx, req, res, 200, {
      title: 'Ops dashboard',
      current: 'dashboard',
      refreshSeconds: runs.active > 0 ? REFRESH_SECONDS : undefined,
      body: `<h1>Ops dashboard</h1>
${noticeFrom(ctx, req)}
${statsSection(counts, shown)}
${runs.html}
${await requestsSection(ctx, lookup, requests, heading, total)}
<p class="muted">Times are UTC.${runs.active > 0 ? ` This page reloads every ${REFRESH_SECONDS} seconds while runs are in progress.` : ''}</p>`,
    });
  });

  router.get('/runs/:ref/abort', async (req, res) => {
    const request = await requestOf(ctx, String(req.params.ref));
    if (!request) return sendStaffProblem(ctx, req, res, 404, 'No such request', `There is no request ${String(req.params.ref).slice(0, 40)}.`);
    const device = deviceParam(req.query.device);
    const target = activeRuns(request.items).find(({ item }) => !device || item.deviceName.toLowerCase() === device.toLowerCase());
    const deviceName = device || target?.item.deviceName || '';
    const command = `/upgrade-admin run ${request.ref} abort${deviceName ? ` device=${quoteWord(deviceName)}` : ''}`;
    const state = target ? target.run.state : null;
    const abortable = state !== null && ABORTABLE_STATES.includes(state);
    sendStaffPage(ctx, req, res, 200, {
      title: `Abort ${request.ref}?`,
      current: 'dashboard',
      body: `<h1>Abort ${escapeHtml(request.ref)}?</h1>
<div class="card">
<p>This runs <code>${escapeHtml(command)}</code> as you${deviceName ? ` on <strong>${escapeHtml(deviceName)}</strong>` : ''}: the run goes through abort and finish, and the original configuration is restored [004].</p>
<p>${
        state === null
          ? 'No run of this request is active right now, so there may be nothing to abort.'
          : `The run is in <strong>${escapeHtml(runStateLabel(state))}</strong>. ${
              abortable ? 'It can still be aborted.' : 'Abort is only possible from prepare split, split, prepare merge and merge, so the command will refuse.'
            }`
      }</p>
<form method="post" action="/ops/runs/${escapeHtml(request.ref)}/abort">
${ctx.csrf.field(req, res)}
<input type="hidden" name="device" value="${escapeHtml(deviceName)}">
<div class="buttons"><button type="submit" class="danger">Abort the run</button><a class="button secondary" href="/ops#runs">Keep it running</a></div>
</form>
</div>`,
    });
  });

  router.post('/runs/:ref/:action', forms, async (req, res) => {
    const action = String(req.params.action);
    if (!(RUN_ACTIONS as readonly string[]).includes(action)) {
      return sendStaffProblem(ctx, req, res, 404, 'No such action', 'A run can be moved with Next, Retry or Abort.');
    }
    if (!ctx.csrf.valid(req)) {
      return sendStaffProblem(ctx, req, res, 403, 'This form had expired', 'Nothing was changed. Reload the dashboard and press the button again.', {
        href: '/ops#runs',
        label: 'Back to the runs',
      });
    }
    const request = await requestOf(ctx, String(req.params.ref));
    if (!request) return sendStaffProblem(ctx, req, res, 404, 'No such request', `There is no request ${String(req.params.ref).slice(0, 40)}.`);
    const device = deviceParam(bodyField(req, 'device'));
    const text = `/upgrade-admin run ${request.ref} ${action}${device ? ` device=${quoteWord(device)}` : ''}`;
    const staff = staffOf(res);
    const reply = await dispatch(ctx.registry, ctx.deps, { id: ctx.newId(), via: 'web', identity: { kind: 'email', address: staff.email }, text });
    const notice = noticeText(reply, action as RunAction, request.ref, device || 'first active device');
    res.redirect(303, `/ops?${noticeQuery(ctx, notice, reply.error ? 'error' : 'success')}#runs`);
  });
}
