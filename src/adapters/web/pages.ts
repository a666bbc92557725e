/**
 * The web pages on PORT, beside the JSON API: the public request form (`/requests/new`), the
 * status page of each request (`/requests/<ref>`, by signed link or for signed-in staff), and the
 * ops dashboard (`/ops`, staff signed in by a single-use link e-mailed to them, with Agendash at
 * `/ops/jobs`). Each part is its own router; this module gives them one context and mounts them.
 */
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import type { Agenda } from 'agenda';
import type { Deps, Logger } from '../../core/command.js';
import type { Registry } from '../../core/dispatch.js';
import type { Mailer } from '../../infra/mailer.js';
import { Csrf, StaffSessions } from './guard.js';
import { APP_CSS, STYLESHEET_PATH, sendProblem } from './html.js';
import { FORM_CSS, requestFormRouter } from './request-form.js';
import { STATUS_CSS, statusPageRouter } from './status-page.js';
import { OPS_CSS, opsRouter } from './ops.js';

/** What every page handler may use. */
export interface WebContext {
  deps: Deps;
  registry: Registry;
  log: Logger;
  newId: () => string;
  csrf: Csrf;
  sessions: StaffSessions;
  /** The public base URL without a trailing slash, for links sent by e-mail. */
  publicBase: () => string;
  /** Sends the staff sign-in e-mails (not through the outbox: the link must not be stored). */
  mailer: Mailer;
  /** From: of those e-mails. */
  mailFrom: string;
  /** The Agenda instance behind the queue, for Agendash; null where there is none. */
  agenda: Agenda | null;
  /** Form submissions allowed per client address and per e-mail address in `windowMs`. */
  formRateLimit: { perAddress: number; windowMs: number };
  /** Sign-in e-mails allowed per client address and per e-mail address in `windowMs`. */
  signInRateLimit: { perAddress: number; windowMs: number };
}

export interface WebPagesOptions extends Omit<WebContext, 'csrf' | 'sessions' | 'formRateLimit' | 'signInRateLimit'> {
  secureCookies: boolean;
  formRateLimit?: WebContext['formRateLimit'];
  signInRateLimit?: WebContext['signInRateLimit'];
}

/** Default: 10 form submissions per address per 10 minutes. */
export const DEFAULT_FORM_RATE_LIMIT = { perAddress: 10, windowMs: 10 * 60_000 };
/** Default: 5 sign-in e-mails per address per 15 minutes. */
export const DEFAULT_SIGN_IN_RATE_LIMIT = { perAddress: 5, windowMs: 15 * 60_000 };

/** Builds the context from the options. */
export function webContext(options: WebPagesOptions): WebContext {
  const guard = { secretBox: options.deps.secretBox, secureCookies: options.secureCookies };
  return {
    ...options,
    csrf: new Csrf(guard),
    sessions: new StaffSessions(options.deps, guard),
    formRateLimit: options.formRateLimit ?? DEFAULT_FORM_RATE_LIMIT,
    signInRateLimit: options.signInRateLimit ?? DEFAULT_SIGN_IN_RATE_LIMIT,
  };
}

/** Mounts the stylesheet, the request form, the status pages and the ops dashboard on `web`. */
export function mountPages(web: Express, ctx: WebContext): void {
  const stylesheet = [APP_CSS, FORM_CSS, STATUS_CSS, OPS_CSS].join('\n');
  web.get(STYLESHEET_PATH, (_req, res) => {
    res.set({ 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' }).send(stylesheet);
  });
  web.get('/', (_req, res) => res.redirect(303, '/requests/new'));
  const forms = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 100 });
  web.use('/requests', forms, requestFormRouter(ctx), statusPageRouter(ctx));
  web.use('/ops', opsRouter(ctx, forms));
  // Errors of the pages (a form too large or unreadable, a failure on our side): a page, never a stack trace.
  web.use(['/requests', '/ops'], (error: Error & { type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    if (error.type === 'entity.too.large') return sendProblem(res, 413, 'Form too large', 'The form is larger than we accept. Shorten the notes and send it again.');
    if ((typeof error.type === 'string' && error.type.startsWith('entity.')) || error.type === 'encoding.unsupported' || error.type === 'charset.unsupported') {
      return sendProblem(res, 400, 'Form not readable', 'The form could not be read. Open the page again and send the form from there.');
    }
    ctx.log.error({ err: error }, 'web page failed');
    sendProblem(res, 500, 'Something went wrong on our side', 'Nothing was changed by the failed step. Please try again in a moment.');
  });
}
