/**
 * The ops dashboard for staff, mounted at `/ops`. Staff sign in with a single-use link e-mailed to
 * their address on record (ops-sign-in.ts; no passwords); every other page needs that session:
 * the dashboard with the runs and their Next / Retry / Abort buttons (ops-dashboard.ts), the
 * upgrade calendar with the maintenance blackouts (ops-calendar.ts), the latest problem reports,
 * and Agendash, the queue's own dashboard, at `/ops/jobs/`. Unknown paths get a 404 page and
 * failures a 500 page; this module wires the parts together and holds their style rules.
 */
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { Agenda } from 'agenda';
import type { UpgradeRequest } from '../../domain/types.js';
import { lazyImport } from '../../infra/lazy-import.js';
import { badge, escapeHtml, sendProblem } from './html.js';
import { addCalendarRoutes } from './ops-calendar.js';
import { addDashboardRoutes } from './ops-dashboard.js';
import { sendStaffPage, sendStaffProblem, timeElement } from './ops-layout.js';
import { addSignInRoutes } from './ops-sign-in.js';
import type { WebContext } from './pages.js';

/** How many problem reports the problems page lists. */
const PROBLEMS_SHOWN = 100;

/**
 * Agendash's own API takes JSON posted by its page. Anything else that would change jobs is
 * refused: a request another site made the browser send (Sec-Fetch-Site), or one that is not JSON
 * (which a form on another site could send without asking the browser first).
 */
function jobsGuard(req: Request, res: Response, next: NextFunction): void {
  res.set({ 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  const site = req.get('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') {
    res.status(403).json({ error: 'Only the Agendash page itself may change jobs.' });
    return;
  }
  if (!req.is('application/json')) {
    res.status(415).json({ error: 'Send JSON (Content-Type: application/json).' });
    return;
  }
  next();
}

/** Agendash's page loads its assets and API relative to itself: `/ops/jobs` must end with a slash. */
function jobsTrailingSlash(req: Request, res: Response, next: NextFunction): void {
  const [pathname, query] = req.originalUrl.split('?', 2) as [string, string | undefined];
  if ((req.method === 'GET' || req.method === 'HEAD') && req.url.split('?')[0] === '/' && !pathname.endsWith('/')) {
    return res.redirect(301, `${pathname}/${query !== undefined ? `?${query}` : ''}`);
  }
  next();
}

/** Agendash's middleware for `agenda`, made on the first visit of the job dashboard (agendash is loaded then, not at start-up). */
function agendashOnFirstUse(agenda: Agenda): RequestHandler {
  const middleware = lazyImport(async () => (await import('agendash')).createExpressMiddleware(agenda));
  return (req, res, next) => {
    middleware().then((handle) => handle(req, res, next), next);
  };
}

async function problemsPage(ctx: WebContext, req: Request, res: Response): Promise<void> {
  const store = ctx.deps.store;
  const reports = await store.problems.recent(PROBLEMS_SHOWN);
  const requests = new Map<number, UpgradeRequest | null>();
  const names = new Map<number, string>();
  const customers = new Map((await store.customers.list()).map((c) => [c.id, c.name]));
  const rows: string[] = [];
  for (const report of reports) {
    if (!requests.has(report.requestId)) requests.set(report.requestId, await store.requests.byId(report.requestId));
    if (!names.has(report.reporterId)) names.set(report.reporterId, (await store.people.byId(report.reporterId))?.name ?? `person ${report.reporterId}`);
    const request = requests.get(report.requestId) ?? null;
    rows.push(`<tr>
<td>${timeElement(report.at)}</td>
<th scope="row">${request ? `<a href="/requests/${escapeHtml(request.ref)}">${escapeHtml(request.ref)}</a> ${badge(request.status)}` : escapeHtml(`request ${report.requestId}`)}</th>
<td>${escapeHtml(request ? (customers.get(request.customerId) ?? '') : '')}</td>
<td>${escapeHtml(names.get(report.reporterId)!)}</td>
<td class="report">${escapeHtml(report.text)}</td>
<td>${escapeHtml(report.via)}</td>
</tr>`);
  }
  sendStaffPage(ctx, req, res, 200, {
    title: 'Problem reports',
    current: 'problems',
    body: `<h1>Problem reports</h1>
<p class="muted">The ${PROBLEMS_SHOWN} latest reports from customers after an upgrade, most recent first. Times are UTC.</p>
${
  rows.length
    ? `<div class="table-wrap"><table><caption class="sr-only">Problem reports</caption><thead><tr><th scope="col">When (UTC)</th><th scope="col">Request</th><th scope="col">Customer</th><th scope="col">Reported by</th><th scope="col">Report</th><th scope="col">Via</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`
    : '<p>No problem has been reported.</p>'
}`,
  });
}

/** The `/ops` router; `forms` reads urlencoded form bodies and is applied to the POST routes. */
export function opsRouter(ctx: WebContext, forms: RequestHandler): Router {
  const router = express.Router();

  // Public: asking for a link, the link's page, signing out.
  addSignInRoutes(router, ctx, forms);

  // Everything below needs a signed-in staff member.
  router.use(ctx.sessions.required());
  addDashboardRoutes(router, ctx, forms);
  addCalendarRoutes(router, ctx);
  router.get('/problems', (req, res) => problemsPage(ctx, req, res));

  if (ctx.agenda) {
    router.use('/jobs', jobsGuard, jobsTrailingSlash, agendashOnFirstUse(ctx.agenda));
  } else {
    router.get(['/jobs', '/jobs/'], (req, res) =>
      sendStaffProblem(ctx, req, res, 503, 'Jobs are not available', 'This process runs without a job queue, so there is no job dashboard.', undefined, 'jobs'),
    );
  }

  router.use((req, res) => sendStaffProblem(ctx, req, res, 404, 'Page not found', 'There is no such page on the ops dashboard.'));

  router.use((error: Error & { type?: string }, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    if (error.type === 'entity.too.large') return sendProblem(res, 413, 'Form too large', 'The form sent more than we accept. Nothing was changed.');
    if (error.type === 'entity.parse.failed' || error.type === 'parameters.too.many') {
      return sendProblem(res, 400, 'Form not readable', 'The form could not be read. Nothing was changed.');
    }
    ctx.log.error({ err: error, path: req.path }, 'ops page failed');
    sendProblem(res, 500, 'Something went wrong', 'Something went wrong on our side; the step that failed changed nothing. Please try again in a moment.', {
      href: '/ops',
      label: 'Back to the dashboard',
    });
  });
  return router;
}

/** Style rules of these pages, served after APP_CSS in the one stylesheet. */
export const OPS_CSS = `
.stat.current{border-color:#1a56b8;box-shadow:inset 0 0 0 1px #1a56b8}
.notice .reply{white-space:pre-wrap;margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
td.report{white-space:pre-wrap;overflow-wrap:anywhere;max-width:32rem}
td .buttons{flex-wrap:nowrap}
nav.months{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;margin:0 0 .5rem}
ol.calendar{list-style:none;margin:0;padding:0}
.calendar .wd{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap}
@media (max-width:40rem){.calendar .wd{position:static;width:auto;height:auto;overflow:visible;clip:auto}}
.card code,.muted code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;background:#eef0f4;padding:.05rem .3rem;border-radius:4px;overflow-wrap:anywhere}
`;
