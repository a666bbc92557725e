/**
 * What keeps the web pages safe: CSRF tokens bound to a per-browser cookie, a rate limiter per
 * key, and the staff session (a signed cookie naming a staff member on record, checked against the
 * records on every request, so removing the role signs the person out). Nothing here is stored
 * server-side except the rate counters (per process, in memory).
 */
import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Deps } from '../../core/command.js';
import { isStaff } from '../../domain/roles.js';
import type { Person } from '../../domain/types.js';
import type { SecretBox } from '../../ports.js';
import { escapeHtml } from './html.js';

/** The cookie that binds CSRF tokens to one browser. */
export const CSRF_COOKIE = 'ud_csrf';
/** The hidden form field that carries the CSRF token. */
export const CSRF_FIELD = '_csrf';
/** The staff session cookie. */
export const SESSION_COOKIE = 'ud_staff';
/** How long a staff session lasts. */
export const SESSION_HOURS = 12;

/** Reads one cookie from the request's Cookie header (no cookie parser needed for two cookies). */
export function readCookie(req: Request, name: string): string | null {
  const header = req.get('cookie') ?? '';
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9._~-]{1,512}$/.test(value) ? value : null;
    }
  }
  return null;
}

/** Cookie attributes: HttpOnly, SameSite=Lax, Secure when the public address is https. */
function cookieOptions(secure: boolean, maxAgeMs?: number) {
  return { httpOnly: true, sameSite: 'lax' as const, secure, path: '/', ...(maxAgeMs !== undefined ? { maxAge: maxAgeMs } : {}) };
}

export interface GuardOptions {
  secretBox: SecretBox;
  /** Mark cookies Secure (PUBLIC_URL is https). */
  secureCookies: boolean;
}

/**
 * CSRF protection (double submit, signed): the browser holds a random cookie; forms carry the
 * signature of that cookie's value, which another site can neither read nor compute.
 */
export class Csrf {
  constructor(private readonly options: GuardOptions) {}

  /** The token for this browser's forms, setting the cookie when the browser has none yet. */
  token(req: Request, res: Response): string {
    let id = readCookie(req, CSRF_COOKIE);
    if (!id || id.length < 16) {
      id = randomBytes(18).toString('base64url');
      res.cookie(CSRF_COOKIE, id, cookieOptions(this.options.secureCookies));
    }
    return this.options.secretBox.sign(`csrf:${id}`);
  }

  /** The hidden input to put inside every form that posts. */
  field(req: Request, res: Response): string {
    return `<input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(this.token(req, res))}">`;
  }

  /** Whether a posted form (urlencoded body already read into req.body) carries a valid token from this browser. */
  valid(req: Request): boolean {
    if (String(req.get('sec-fetch-site') ?? '') === 'cross-site') return false;
    const id = readCookie(req, CSRF_COOKIE);
    const body = req.body as Record<string, unknown> | undefined;
    const given = body && typeof body[CSRF_FIELD] === 'string' ? (body[CSRF_FIELD] as string) : '';
    return !!id && !!given && this.options.secretBox.verify(`csrf:${id}`, given);
  }
}

/** A fixed-window counter per key, bounded in memory. */
export class RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** Counts one hit for `key`; returns the seconds to wait when over the limit, else 0. */
  hit(key: string, now: number): number {
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      if (this.windows.size >= this.maxKeys) this.prune(now);
      w = { count: 0, resetAt: now + this.windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return w.count > this.limit ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : 0;
  }

  private prune(now: number): void {
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
    // Still full: forget the oldest half rather than grow without bound.
    if (this.windows.size >= this.maxKeys) {
      let drop = Math.ceil(this.windows.size / 2);
      for (const key of this.windows.keys()) {
        if (drop-- <= 0) break;
        this.windows.delete(key);
      }
    }
  }
}

/** The client's address as seen on the socket (no proxy headers are trusted). */
export function clientAddress(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** Staff sessions: a signed cookie `<personId>.<expiresMs>.<signature>`. */
export class StaffSessions {
  constructor(
    private readonly deps: Deps,
    private readonly options: GuardOptions,
  ) {}

  /** Signs `person` in on this browser. */
  start(res: Response, person: Person, now: Date): void {
    const expires = now.getTime() + SESSION_HOURS * 3600_000;
    const body = `${person.id}.${expires}`;
    res.cookie(SESSION_COOKIE, `${body}.${this.options.secretBox.sign(`staff:${body}`)}`, cookieOptions(this.options.secureCookies, SESSION_HOURS * 3600_000));
  }

  /** Signs this browser out. */
  end(res: Response): void {
    res.clearCookie(SESSION_COOKIE, cookieOptions(this.options.secureCookies));
  }

  /** The staff member signed in on this browser, or null (no cookie, bad signature, expired, no longer staff). */
  async current(req: Request): Promise<Person | null> {
    const value = readCookie(req, SESSION_COOKIE);
    const match = value ? /^(\d{1,12})\.(\d{1,15})\.([A-Za-z0-9_-]+)$/.exec(value) : null;
    if (!match) return null;
    const [, id, expires, signature] = match;
    if (!this.options.secretBox.verify(`staff:${id}.${expires}`, signature!)) return null;
    if (Number(expires) <= this.deps.clock.now().getTime()) return null;
    const person = await this.deps.store.people.byId(Number(id));
    return person && isStaff(person) ? person : null;
  }

  /** Express middleware: puts the staff member on `res.locals.staff`, or sends to the sign-in page. */
  required() {
    return (req: Request, res: Response, next: NextFunction) => {
      this.current(req).then((person) => {
        if (person) {
          res.locals.staff = person;
          return next();
        }
        if (req.method === 'GET' || req.method === 'HEAD') {
          return res.redirect(303, `/ops/sign-in?next=${encodeURIComponent(req.originalUrl.slice(0, 300))}`);
        }
        res.status(401).type('text/plain').send('Sign in first: /ops/sign-in\n');
      }, next);
    };
  }
}
