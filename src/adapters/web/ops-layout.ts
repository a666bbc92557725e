/**
 * What every staff page under `/ops` shares: the navigation with the current page marked, the
 * signed-in name with a sign-out button, the wide layout, times written in UTC, the check that
 * keeps a `next=` address on our own pages, and the signed one-line notices carried across a
 * redirect (so nobody can put words on a staff page with a crafted link).
 */
import type { Request, Response } from 'express';
import type { Person } from '../../domain/types.js';
import { escapeHtml, sendPage } from './html.js';
import type { NavLink } from './html.js';
import type { WebContext } from './pages.js';

/** The staff pages in the navigation. */
export type OpsSection = 'dashboard' | 'calendar' | 'problems' | 'jobs' | null;

/** Where the navigation links go. */
export const OPS_LINKS: ReadonlyArray<{ section: Exclude<OpsSection, null>; href: string; label: string }> = [
  { section: 'dashboard', href: '/ops', label: 'Dashboard' },
  { section: 'calendar', href: '/ops/calendar', label: 'Calendar' },
  { section: 'problems', href: '/ops/problems', label: 'Problems' },
  // Agendash loads its assets relative to its page, which therefore ends with a slash.
  { section: 'jobs', href: '/ops/jobs/', label: 'Jobs' },
];

/** The staff member `ctx.sessions.required()` put on the response. */
export function staffOf(res: Response): Person {
  return res.locals.staff as Person;
}

/** The navigation with `current` marked. */
export function opsNav(current: OpsSection): NavLink[] {
  return OPS_LINKS.map((l) => ({ href: l.href, label: l.label, current: l.section === current }));
}

/** The sign-out button of the header. */
export function signOutForm(ctx: WebContext, req: Request, res: Response): string {
  return `<form method="post" action="/ops/sign-out">${ctx.csrf.field(req, res)}<button type="submit">Sign out</button></form>`;
}

export interface StaffPageOptions {
  title: string;
  body: string;
  current: OpsSection;
  refreshSeconds?: number;
}

/** Sends a staff page: navigation, who is signed in, wide layout. */
export function sendStaffPage(ctx: WebContext, req: Request, res: Response, status: number, options: StaffPageOptions): void {
  const staff = staffOf(res);
  sendPage(res, status, {
    title: options.title,
    body: options.body,
    nav: opsNav(options.current),
    signedIn: { name: staff.name, signOutForm: signOutForm(ctx, req, res) },
    wide: true,
    ...(options.refreshSeconds ? { refreshSeconds: options.refreshSeconds } : {}),
  });
}

/** A staff page that says something is wrong or missing, with a way on. */
export function sendStaffProblem(
  ctx: WebContext,
  req: Request,
  res: Response,
  status: number,
  heading: string,
  message: string,
  next: { href: string; label: string } = { href: '/ops', label: 'Back to the dashboard' },
  current: OpsSection = null,
): void {
  sendStaffPage(ctx, req, res, status, {
    title: heading,
    current,
    body: `<h1>${escapeHtml(heading)}</h1><div class="card"><p>${escapeHtml(message)}</p><p><a class="button secondary" href="${escapeHtml(next.href)}">${escapeHtml(
      next.label,
    )}</a></p></div>`,
  });
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** "2026-12-06" of an instant, in UTC. */
export function utcDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** "2026-12-06 06:00 UTC". */
export function utcDateTime(at: Date): string {
  return `${utcDate(at)} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())} UTC`;
}

/** "06:00". */
export function utcClock(at: Date): string {
  return `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}`;
}

/** A `<time>` element showing `text` for the instant `at`. */
export function timeElement(at: Date, text: string = utcDateTime(at)): string {
  return `<time datetime="${escapeHtml(at.toISOString())}">${escapeHtml(text)}</time>`;
}

/** Where sign-in may send a person afterwards when nothing (valid) was asked for. */
export const DEFAULT_NEXT = '/ops';

/**
 * A `next=` address made safe: only a path on our own staff pages (`/ops…`) or a request's status
 * page (`/requests/…`), never another site, never the sign-in pages themselves; else `/ops`.
 */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 300) return DEFAULT_NEXT;
  // No backslashes, control characters or spaces: browsers read some of them as "another host".
  if (/[\\\s\p{Cc}]/u.test(value)) return DEFAULT_NEXT;
  if (!/^\/ops(?:[/?#]|$)/.test(value) && !/^\/requests\/[^/]/.test(value)) return DEFAULT_NEXT;
  let url: URL;
  try {
    url = new URL(value, 'http://upgrade-desk.invalid');
  } catch {
    return DEFAULT_NEXT;
  }
  if (url.origin !== 'http://upgrade-desk.invalid' || /^\/ops\/sign-(in|out)(?:\/|$)/.test(url.pathname)) return DEFAULT_NEXT;
  return `${url.pathname}${url.search}`;
}

/** Longest notice carried across a redirect. */
const MAX_NOTICE = 1200;

/** A notice for the page a redirect leads to: the query string `done=…&tone=…&sig=…`. */
export function noticeQuery(ctx: WebContext, text: string, tone: 'success' | 'error'): string {
  const done = text.length > MAX_NOTICE ? `${text.slice(0, MAX_NOTICE - 1)}…` : text;
  const sig = ctx.deps.secretBox.sign(`ops-notice:${tone}:${done}`);
  return new URLSearchParams({ done, tone, sig }).toString();
}

/** The notice a request carries (`noticeQuery`), as HTML; empty when there is none or it is not ours. */
export function noticeFrom(ctx: WebContext, req: Request): string {
  const { done, tone, sig } = req.query;
  if (typeof done !== 'string' || typeof sig !== 'string' || (tone !== 'success' && tone !== 'error')) return '';
  if (done.length > MAX_NOTICE || !ctx.deps.secretBox.verify(`ops-notice:${tone}:${done}`, sig)) return '';
  return `<div class="notice ${tone}" role="${tone === 'error' ? 'alert' : 'status'}"><p class="reply">${escapeHtml(done)}</p></div>`;
}
