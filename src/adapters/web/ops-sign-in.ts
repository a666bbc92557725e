/**
 * Staff sign-in for `/ops`, by a single-use link e-mailed to a staff member on record (no
 * passwords): `/ops/sign-in` asks for the address and always answers the same way, so the form
 * tells nobody who is staff; the link's page `/ops/sign-in/<token>` only shows whom it signs in
 * (opening it changes nothing, as mail scanners open links) and its "Sign in" button uses it once
 * and starts the session. Every form carries a CSRF token; asking for links is rate-limited per
 * client and per address.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import { isStaff } from '../../domain/roles.js';
import { issueSignInLink, openSignInLink, recordSignInLinkSent, useSignInLink } from '../../services/sign-in-links.js';
import { RateLimiter, clientAddress } from './guard.js';
import { escapeHtml, sendPage, sendProblem } from './html.js';
import { safeNext, utcClock } from './ops-layout.js';
import type { WebContext } from './pages.js';

/** The longest e-mail address accepted (RFC 5321 path limit). */
const MAX_EMAIL = 254;

/** What a link page answers for each refusal. */
const LINK_PROBLEMS: Record<string, { status: number; heading: string }> = {
  link_invalid: { status: 404, heading: 'This sign-in link does not work' },
  link_expired: { status: 410, heading: 'This sign-in link has expired' },
  link_used: { status: 409, heading: 'This sign-in link was already used' },
  not_authorized: { status: 403, heading: 'This sign-in link cannot sign you in' },
};

/** The answer to every well-formed request for a link, staff or not. */
export const LINK_ON_ITS_WAY =
  'If that address belongs to a staff member on record, a sign-in link is on its way; it works once, for 15 minutes.';

interface FormState {
  next: string;
  email?: string;
  /** A problem with the address, shown at the field. */
  fieldError?: string;
  /** A problem with the whole form, shown above it. */
  formError?: string;
}

function sendSignInForm(ctx: WebContext, req: Request, res: Response, status: number, state: FormState): void {
  const invalid = state.fieldError !== undefined;
  const describedBy = invalid ? 'email-hint email-problem' : 'email-hint';
  sendPage(res, status, {
    title: 'Staff sign-in',
    body: `<h1>Staff sign-in</h1>
${state.formError ? `<div class="notice error" role="alert"><p>${escapeHtml(state.formError)}</p></div>` : ''}
<div class="card">
<p class="lead">Agents and platform admins sign in with a link sent to their e-mail address on record. There is no password.</p>
<form class="fields" method="post" action="/ops/sign-in" novalidate>
${ctx.csrf.field(req, res)}
<input type="hidden" name="next" value="${escapeHtml(state.next)}">
<div class="field${invalid ? ' invalid' : ''}">
<label for="email">Your e-mail address</label>
<span class="hint" id="email-hint">The address the Upgrade Desk records have for you, e.g. alex@upgradedesk.example.</span>
<input id="email" name="email" type="email" autocomplete="email" spellcheck="false" required maxlength="${MAX_EMAIL}" value="${escapeHtml(
      state.email ?? '',
    )}" aria-describedby="${describedBy}"${invalid ? ' aria-invalid="true" autofocus' : ''}>
${invalid ? `<span class="problem" id="email-problem">${escapeHtml(state.fieldError!)}</span>` : ''}
</div>
<div class="buttons"><button type="submit">Send me a sign-in link</button></div>
</form>
</div>`,
  });
}

function emailProblem(email: string): string | undefined {
  if (!email) return 'Enter your e-mail address.';
  if (email.length > MAX_EMAIL || !/^[^\s@<>"',;]+@[^\s@<>"',;]+\.[^\s@<>"',;]+$/.test(email)) {
    return 'Enter an e-mail address like alex@upgradedesk.example.';
  }
  return undefined;
}

function field(req: Request, name: string): string {
  const body = req.body as Record<string, unknown> | undefined;
  const value = body?.[name];
  return typeof value === 'string' ? value : '';
}

function tooMany(res: Response, waitSeconds: number): void {
  const minutes = Math.ceil(waitSeconds / 60);
  res.set('retry-after', String(waitSeconds));
  sendProblem(
    res,
    429,
    'Too many sign-in requests',
    `Please wait ${minutes === 1 ? 'a minute' : `${minutes} minutes`} before asking for another link. A link already sent keeps working until it expires.`,
    { href: '/ops/sign-in', label: 'Back to sign-in' },
  );
}

function linkMail(name: string, url: string, expiresAt: Date): { text: string; html: string } {
  const until = `${utcClock(expiresAt)} UTC`;
  const text = [
    `Hello ${name},`,
    '',
    'To sign in to the Upgrade Desk ops dashboard, open this link and press "Sign in":',
    '',
    url,
    '',
    `The link works once and expires at ${until} (in 15 minutes).`,
    'If you did not ask for it, ignore this e-mail: nobody can sign in without the link.',
  ].join('\n');
  const html = `<!doctype html><html lang="en"><body>
<p>Hello ${escapeHtml(name)},</p>
<p>To sign in to the Upgrade Desk ops dashboard, open this link and press “Sign in”:</p>
<p><a href="${escapeHtml(url)}">Sign in to Upgrade Desk</a></p>
<p>The link works once and expires at ${escapeHtml(until)} (in 15 minutes).<br>
If you did not ask for it, ignore this e-mail: nobody can sign in without the link.</p>
</body></html>`;
  return { text, html };
}

function linkProblem(res: Response, code: string, message: string, next: string): void {
  const known = LINK_PROBLEMS[code] ?? { status: 400, heading: 'This sign-in link does not work' };
  sendProblem(res, known.status, known.heading, `${message} Nothing was changed.`, {
    href: `/ops/sign-in?next=${encodeURIComponent(next)}`,
    label: 'Ask for a new link',
  });
}

/** The public sign-in routes, added to the `/ops` router before the session check. */
export function addSignInRoutes(router: Router, ctx: WebContext, forms: RequestHandler): void {
  const limiter = new RateLimiter(ctx.signInRateLimit.perAddress, ctx.signInRateLimit.windowMs);

  router.get('/sign-in', async (req, res) => {
    const next = safeNext(req.query.next);
    if (await ctx.sessions.current(req)) return res.redirect(303, next);
    sendSignInForm(ctx, req, res, 200, { next });
  });

  router.post('/sign-in', forms, async (req, res) => {
    const next = safeNext(field(req, 'next'));
    const email = field(req, 'email').trim().toLowerCase();
    if (!ctx.csrf.valid(req)) {
      return sendSignInForm(ctx, req, res, 403, { next, email, formError: 'This form had expired or came from another page. Please send it again.' });
    }
    const nowMs = ctx.deps.clock.now().getTime();
    const byClient = limiter.hit(`client:${clientAddress(req)}`, nowMs);
    if (byClient) return tooMany(res, byClient);
    const problem = emailProblem(email);
    if (problem) return sendSignInForm(ctx, req, res, 400, { next, email, fieldError: problem });
    const byAddress = limiter.hit(`address:${email}`, nowMs);
    if (byAddress) return tooMany(res, byAddress);

    const person = await ctx.deps.store.people.byEmail(email);
    if (person && isStaff(person)) {
      const now = ctx.deps.clock.now();
      const issued = await issueSignInLink(ctx.deps, person, now);
      if (issued) {
        const url = `${ctx.publicBase()}/ops/sign-in/${issued.token}?next=${encodeURIComponent(next)}`;
        try {
          await ctx.mailer.send({
            from: ctx.mailFrom,
            to: { name: person.name, address: person.email },
            subject: 'Your Upgrade Desk sign-in link',
            ...linkMail(person.name, url, issued.expiresAt),
            date: now,
          });
        } catch (error) {
          ctx.log.error({ err: error, personId: person.id }, 'the sign-in e-mail could not be sent');
          return sendProblem(
            res,
            503,
            'The sign-in e-mail could not be sent',
            'Our mail server did not take the message. Please try again in a few minutes; if it keeps failing, tell an administrator (the log says why).',
            { href: `/ops/sign-in?next=${encodeURIComponent(next)}`, label: 'Try again' },
          );
        }
        await recordSignInLinkSent(ctx.deps, person, now, ctx.newId());
      }
    }
    sendPage(res, 200, {
      title: 'Check your e-mail',
      body: `<h1>Check your e-mail</h1>
<div class="notice success" role="status"><p>${escapeHtml(LINK_ON_ITS_WAY)}</p></div>
<div class="card"><p>Open the link on this device and press “Sign in”. Nothing arrived? Check the address and your spam folder, then ask again.</p>
<p><a class="button secondary" href="/ops/sign-in?next=${escapeHtml(encodeURIComponent(next))}">Ask for another link</a></p></div>`,
    });
  });

  router.get('/sign-in/:token', async (req, res) => {
    const token = String(req.params.token ?? '');
    const next = safeNext(req.query.next);
    const opened = await openSignInLink(ctx.deps, token, ctx.deps.clock.now());
    if (!opened.ok) return linkProblem(res, opened.error.code, opened.error.message, next);
    const { person, link } = opened.value;
    const minutes = Math.max(1, Math.ceil((link.expiresAt.getTime() - ctx.deps.clock.now().getTime()) / 60_000));
    sendPage(res, 200, {
      title: `Sign in as ${person.name}`,
      body: `<h1>Sign in as ${escapeHtml(person.name)}</h1>
<div class="card">
<p>You are signing in to the Upgrade Desk ops dashboard as <strong>${escapeHtml(person.name)}</strong> (${escapeHtml(person.email)}).</p>
<form method="post" action="/ops/sign-in/${escapeHtml(encodeURIComponent(token))}">
${ctx.csrf.field(req, res)}
<input type="hidden" name="next" value="${escapeHtml(next)}">
<div class="buttons"><button type="submit">Sign in</button></div>
</form>
<p class="muted">This link works once and expires at ${escapeHtml(utcClock(link.expiresAt))} UTC (in ${minutes} minute${minutes === 1 ? '' : 's'}). Not you? Close this page; nothing happens until the button is pressed.</p>
</div>`,
    });
  });

  router.post('/sign-in/:token', forms, async (req, res) => {
    const token = String(req.params.token ?? '');
    const next = safeNext(field(req, 'next'));
    if (!ctx.csrf.valid(req)) {
      return sendProblem(res, 403, 'This form had expired', 'The sign-in button must be pressed on the page the link opens. Nothing was changed.', {
        href: `/ops/sign-in/${encodeURIComponent(token)}?next=${encodeURIComponent(next)}`,
        label: 'Open the link again',
      });
    }
    const used = await useSignInLink(ctx.deps, token, ctx.newId());
    if (!used.ok) return linkProblem(res, used.error.code, used.error.message, next);
    ctx.sessions.start(res, used.value, ctx.deps.clock.now());
    res.redirect(303, next);
  });

  router.post('/sign-out', forms, async (req, res) => {
    if (!ctx.csrf.valid(req)) {
      return sendProblem(res, 403, 'This form had expired', 'Press "Sign out" on a page of the dashboard again. You are still signed in.', {
        href: '/ops',
        label: 'Back to the dashboard',
      });
    }
    const person = await ctx.sessions.current(req);
    ctx.sessions.end(res);
    if (person) {
      await ctx.deps.store.audit.record({
        at: ctx.deps.clock.now(),
        actor: person.email,
        action: 'signed_out',
        entity: 'person',
        entityId: String(person.id),
        data: { via: 'web' },
        invocationId: ctx.newId(),
      });
    }
    res.redirect(303, '/ops/sign-in');
  });
}

