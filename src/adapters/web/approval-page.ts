/**
 * The page behind an e-mail approval link, `/approve/<token>`: GET shows the request and asks the
 * representative to confirm, and changes nothing (mail scanners and link previews open links);
 * only the page's button (a POST) decides, once. Server-rendered in the layout of the other pages
 * (no scripts, nothing from elsewhere), readable on a phone; the token stays out of referrers and
 * caches.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Deps } from '../../core/command.js';
import { plainTimes } from '../../core/reply.js';
import { decideByApprovalLink, openApprovalLink } from '../../services/approval-links.js';
import type { OpenLink } from '../../services/approval-links.js';
import { allFindings, describeSchedule, downtimeOf, loadView } from '../../services/request-view.js';
import { PAGE_HEADERS, escapeHtml, renderPage } from './html.js';

/** The path prefix of approval links. */
export const APPROVAL_PATH = '/approve/';

/** Longest form body read. */
const MAX_BODY_BYTES = 16 * 1024;

/** Longest decline reason kept. */
const MAX_REASON = 500;

const STATUS_OF_CODE: Record<string, number> = { link_invalid: 404, link_expired: 410, link_used: 409, request_decided: 409, not_authorized: 403 };

function page(res: ServerResponse, status: number, title: string, body: string): void {
  res.writeHead(status, PAGE_HEADERS);
  res.end(renderPage({ title, body }));
}

function problemPage(res: ServerResponse, code: string, message: string): void {
  const status = STATUS_OF_CODE[code] ?? 400;
  const what =
    status === 410 ? 'This link has expired' : status === 409 ? 'Nothing left to decide' : status === 403 ? 'This link cannot decide' : 'This link does not work';
  page(
    res,
    status,
    what,
    `<h1>${escapeHtml(what)}</h1><div class="card"><p>${escapeHtml(message)}</p>
<p class="muted">Nothing was changed. To decide, use the newest e-mail about the request, or the buttons in your team's chat channel, or ask your support contact.</p></div>`,
  );
}

async function summary(deps: Deps, opened: OpenLink): Promise<string> {
  const view = await loadView(deps.store, opened.request);
  const { request, customer } = view;
  const [min, max] = downtimeOf(view);
  const devices = request.items.map((i) => `${i.deviceName} (${i.fromVersion} → ${i.targetVersion})`);
  const warnings = allFindings(request).filter((f) => f.severity === 'warning');
  return `<div class="card"><dl class="facts">
<dt>Request</dt><dd>${escapeHtml(request.ref)}</dd>
<dt>Customer</dt><dd>${escapeHtml(customer.name)}</dd>
<dt>Devices</dt><dd>${devices.map(escapeHtml).join('<br>')}</dd>
<dt>Target version</dt><dd>${escapeHtml(request.targetVersion)}</dd>
<dt>When</dt><dd>${escapeHtml(plainTimes(describeSchedule(request, customer.timezone)))}</dd>
<dt>Expected downtime</dt><dd>${min}–${max} minutes</dd>
${request.note ? `<dt>Note</dt><dd>${escapeHtml(request.note)}</dd>` : ''}
</dl>${
    warnings.length
      ? `<div class="notice warn"><p><strong>Please read before deciding:</strong></p><ul class="plain">${warnings.map((f) => `<li>${escapeHtml(plainTimes(f.message))}</li>`).join('')}</ul></div>`
      : ''
  }</div>`;
}

/** Reads a small urlencoded form body; null when it is too big or not a form. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Serves `/approve/<token>`: GET asks, POST (decision=approve|decline, optional reason) decides
 * once. `newId` gives the invocation id the decision is logged and audited with.
 */
export function approvalPageHandler(deps: Deps, newId: () => string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const token = decodeURIComponent(url.pathname.slice(APPROVAL_PATH.length));
    if (req.method === 'GET' || req.method === 'HEAD') {
      const opened = await openApprovalLink(deps, token, deps.clock.now());
      if (!opened.ok) return problemPage(res, opened.error.code, opened.error.message);
      const decline = url.searchParams.get('decision') === 'decline';
      const approveButton = `<button class="good" type="submit" name="decision" value="approve">Approve ${escapeHtml(opened.value.request.ref)}</button>`;
      const declineButton = `<button class="danger" type="submit" name="decision" value="decline">Decline</button>`;
      return page(
        res,
        200,
        `Consent for ${opened.value.request.ref}`,
        `<h1>Consent for ${escapeHtml(opened.value.request.ref)}</h1>
<p>You are deciding as <strong>${escapeHtml(opened.value.person.name)}</strong> (${escapeHtml(opened.value.person.email)}), authorized representative of your company.</p>
${await summary(deps, opened.value)}
<form class="card" method="post" action="${escapeHtml(url.pathname)}">
<div class="field"><label for="reason">Reason, if you decline (optional)</label>
<textarea id="reason" name="reason" maxlength="${MAX_REASON}"></textarea></div>
<div class="buttons">${decline ? declineButton + approveButton : approveButton + declineButton}</div>
<p class="muted">Nothing is decided until you press a button. This link works once and expires on ${escapeHtml(opened.value.link.expiresAt.toISOString().slice(0, 16).replace('T', ' '))} UTC.</p>
</form>`,
      );
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'GET, POST', 'content-type': 'text/plain; charset=utf-8' });
      res.end('Method not allowed\n');
      return;
    }
    // A form posted from another site cannot decide (browsers say where a request comes from).
    if (String(req.headers['sec-fetch-site'] ?? '') === 'cross-site') return problemPage(res, 'link_invalid', 'This form can only be sent from its own page.');
    const form = await readForm(req);
    const decision = form?.get('decision');
    if (!form || (decision !== 'approve' && decision !== 'decline')) {
      return page(res, 400, 'Choose a decision', '<h1>Choose a decision</h1><div class="card"><p>Go back and press Approve or Decline.</p></div>');
    }
    const reason = (form.get('reason') ?? '').trim().slice(0, MAX_REASON) || null;
    const done = await decideByApprovalLink(deps, token, decision, reason, newId());
    if (!done.ok) return problemPage(res, done.error.code, done.error.message);
    const { view, scheduleProblem } = done.value;
    const approved = decision === 'approve';
    return page(
      res,
      200,
      approved ? 'Approved' : 'Declined',
      `<h1>${escapeHtml(view.request.ref)} ${approved ? 'approved' : 'declined'}</h1>
<div class="card"><p>Thank you, ${escapeHtml(done.value.person.name)}. ${
        approved
          ? `The upgrade is ${escapeHtml(plainTimes(describeSchedule(view.request, view.customer.timezone)))}.`
          : 'The request is closed; the requester is told.'
      }</p>${scheduleProblem ? `<p class="notice warn">${escapeHtml(plainTimes(scheduleProblem))}</p>` : ''}
<p class="muted">Everyone involved is notified. You can close this page.</p></div>`,
    );
  };
}
