/**
 * The ops dashboard of the running bot over real HTTP on 127.0.0.1, driven as a staff member's
 * browser would (cookies and CSRF fields carried by hand): sign-in by single-use e-mailed link,
 * the dashboard and its run buttons on a manual run, the calendar with a maintenance blackout,
 * problem reports, Agendash at /ops/jobs, sign-out, the 403/404/409/410/429 answers, and a mail
 * server that fails.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { dispatch } from '../../src/core/dispatch.js';
import { referenceIn } from '../../src/core/reply.js';
import type { MailSent, MailToSend, Mailer } from '../../src/infra/mailer.js';
import { startBot } from '../../src/main.js';
import type { RunningBot } from '../../src/main.js';
import { signInToken } from '../../src/services/sign-in-links.js';
import { until } from '../fakes/until.js';

const quiet = new Writable({ write: (_c, _e, cb) => cb() });
const ALEX = 'alex@upgradedesk.example';
const EDGE01 = 'device=edge-01 version=7.1.0 mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001';
const MINUTE = 60_000;

/** A mailer that keeps what it is given; it fails for the addresses in `failFor`. */
class RecordingMailer implements Mailer {
  readonly describe = 'test';
  readonly sent: MailToSend[] = [];
  constructor(private readonly failFor: string[] = []) {}
  async send(mail: MailToSend): Promise<MailSent> {
    const to = typeof mail.to === 'string' ? mail.to : mail.to.address;
    if (this.failFor.includes(to)) throw new Error('550 mailbox unavailable (test)');
    this.sent.push(mail);
    return { messageId: '<x@test>' };
  }
  async close(): Promise<void> {}
  /** The mails to `address` so far. */
  to(address: string): MailToSend[] {
    return this.sent.filter((m) => (typeof m.to === 'string' ? m.to : m.to.address) === address);
  }
}

/** Real time plus an offset the tests move (to let links expire). */
class ShiftedClock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

/** One browser: its cookies, sent by hand, and kept from every answer. */
class Browser {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly base: () => string) {}

  has(name: string): boolean {
    return this.cookies.has(name);
  }

  async request(p: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(`${this.base()}${p}`, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=.*1970/i.test(a) || /^\s*max-age=0\s*$/i.test(a));
      if (!value || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  get(p: string): Promise<Response> {
    return this.request(p);
  }

  /** Posts an urlencoded form. */
  post(p: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(p, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() });
  }

  /** GETs a page (expecting 200) and returns its HTML and CSRF token. */
  async page(p: string): Promise<{ html: string; csrf: string }> {
    const res = await this.get(p);
    const html = await res.text();
    expect({ path: p, status: res.status }).toEqual({ path: p, status: 200 });
    return { html, csrf: csrfIn(html) };
  }
}

function csrfIn(html: string): string {
  return /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
}

/** The sign-in link (path and query) in a mail. */
function linkIn(mail: MailToSend, base: string): string {
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const found = new RegExp(`${escaped}(/ops/sign-in/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\?next=[^\\s]*)`).exec(mail.text);
  if (!found) throw new Error(`no sign-in link in: ${mail.text}`);
  return found[1]!;
}

function location(res: Response): string {
  return res.headers.get('location') ?? '';
}

describe('the ops dashboard', () => {
  let dir: string;
  let bot: RunningBot;
  const mailer = new RecordingMailer();
  const clock = new ShiftedClock();
  const base = () => bot.url;
  /** Signed in as Alex (agent) once, for the pages behind the session. */
  let alex: Browser;

  const run = async (address: string, text: string) =>
    dispatch(bot.app.registry, bot.app.deps, { id: `t${Date.now()}${Math.random()}`, via: 'console', identity: { kind: 'email', address }, text });

  /** Asks for a link for `email` in `browser` and returns the link from the mail. */
  async function askForLink(browser: Browser, email: string, next = '/ops'): Promise<string> {
    const before = mailer.to(email).length;
    const { csrf } = await browser.page(`/ops/sign-in?next=${encodeURIComponent(next)}`);
    const res = await browser.post('/ops/sign-in', { _csrf: csrf, email, next });
    expect(res.status).toBe(200);
    const mails = mailer.to(email);
    expect(mails).toHaveLength(before + 1);
    return linkIn(mails[mails.length - 1]!, bot.url);
  }

  /** Signs `browser` in as `email` through the whole flow; returns where it was sent. */
  async function signIn(browser: Browser, email: string, next = '/ops'): Promise<string> {
    const link = await askForLink(browser, email, next);
    const { csrf } = await browser.page(link);
    const res = await browser.post(link.split('?')[0]!, { _csrf: csrf, next });
    expect(res.status).toBe(303);
    return location(res);
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-ops-'));
    const config = loadConfig({ DATA_DIR: dir, PORT: '0', SMTP_INTAKE_PORT: '0', EXECUTOR: 'manual', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
    bot = await startBot(config, {
      output: quiet,
      mailer,
      clock,
      smtpIntake: false,
      queueOptions: { lockLifetimeMs: 3000 },
      outboxPollMs: 50,
      signInRateLimit: { perAddress: 100, windowMs: 10 * MINUTE },
    });
    alex = new Browser(base);
    expect(await signIn(alex, ALEX)).toBe('/ops');
  }, 30_000);

  afterAll(async () => {
    await bot?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('signing in', () => {
    it('sends a visitor without a session to the sign-in page, keeping where they were going, and refuses a POST with 401', async () => {
      const visitor = new Browser(base);
      const res = await visitor.get('/ops');
      expect(res.status).toBe(303);
      expect(location(res)).toBe('/ops/sign-in?next=%2Fops');
      expect(location(await visitor.get('/ops/calendar?month=2026-12'))).toBe(`/ops/sign-in?next=${encodeURIComponent('/ops/calendar?month=2026-12')}`);
      expect(location(await visitor.get('/ops/no-such-page'))).toMatch(/^\/ops\/sign-in\?next=/);
      expect((await visitor.post('/ops/runs/UPG-000001/next', { _csrf: 'x' })).status).toBe(401);

      const { html } = await visitor.page('/ops/sign-in?next=%2Fops%2Fcalendar');
      expect(html).toMatch(/<label for="email">/);
      expect(html).toMatch(/<input id="email" name="email" type="email"/);
      expect(html).toMatch(/<button type="submit">Send me a sign-in link<\/button>/);
      expect(html).toContain('name="next" value="/ops/calendar"');
      expect(visitor.has('ud_csrf')).toBe(true);
    });

    it('keeps only next= addresses on our own staff and status pages', async () => {
      const visitor = new Browser(base);
      const cases: Array<[string, string]> = [
        ['/ops/problems', '/ops/problems'],
        ['/requests/UPG-000001', '/requests/UPG-000001'],
        ['https://evil.example/ops', '/ops'],
        ['//evil.example/ops', '/ops'],
        ['/ops\\@evil.example', '/ops'],
        ['/opsevil', '/ops'],
        ['/api/requests', '/ops'],
        ['/ops/sign-in', '/ops'],
      ];
      for (const [given, kept] of cases) {
        const { html } = await visitor.page(`/ops/sign-in?next=${encodeURIComponent(given)}`);
        expect({ given, kept: /name="next" value="([^"]*)"/.exec(html)?.[1] }).toEqual({ given, kept });
      }
    });

    it('e-mails one single-use link to a staff member on record and nothing to anyone else, with the same answer for all', async () => {
      const sentBefore = mailer.sent.length;
      const answers: string[] = [];
      for (const email of [ALEX, 'BOB@acme.example', 'nobody@x.example']) {
        const visitor = new Browser(base);
        const { csrf } = await visitor.page('/ops/sign-in');
        const res = await visitor.post('/ops/sign-in', { _csrf: csrf, email, next: '/ops' });
        expect(res.status).toBe(200);
        answers.push(await res.text());
      }
      expect(answers[0]).toContain('If that address belongs to a staff member on record, a sign-in link is on its way; it works once, for 15 minutes');
      expect(answers[1]).toBe(answers[0]);
      expect(answers[2]).toBe(answers[0]);
      const mails = mailer.sent.slice(sentBefore);
      expect(mails).toHaveLength(1);
      const mail = mails[0]!;
      expect(mail.to).toEqual({ name: 'Alex Agent', address: ALEX });
      expect(mail.subject).toBe('Your Upgrade Desk sign-in link');
      expect(mail.from).toBe(bot.app.config.mail.from);
      const link = linkIn(mail, bot.url);
      expect(link).toMatch(/^\/ops\/sign-in\/[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]+\?next=%2Fops$/);
      expect(mail.html).toContain(`href="${bot.url}${link}"`);
      const alexId = (await bot.app.deps.store.people.byEmail(ALEX))!.id;
      const audit = await bot.app.deps.store.audit.list({ action: 'sign_in_link_sent', entity: 'person', entityId: String(alexId) });
      expect(audit.length).toBeGreaterThan(0);
      expect(audit[0]).toMatchObject({ actor: ALEX, data: {} });
      const bobId = (await bot.app.deps.store.people.byEmail('bob@acme.example'))!.id;
      expect(await bot.app.deps.store.audit.list({ action: 'sign_in_link_sent', entityId: String(bobId) })).toEqual([]);
    });

    it('refuses a form without a valid CSRF token with 403, shows the form again and sends nothing', async () => {
      const sentBefore = mailer.sent.length;
      const visitor = new Browser(base);
      const other = new Browser(base);
      const { csrf } = await visitor.page('/ops/sign-in');
      const { csrf: othersToken } = await other.page('/ops/sign-in');
      const missing = await visitor.post('/ops/sign-in', { email: ALEX, next: '/ops' });
      expect(missing.status).toBe(403);
      expect(await missing.text()).toContain('Send me a sign-in link');
      expect((await visitor.post('/ops/sign-in', { _csrf: othersToken, email: ALEX, next: '/ops' })).status).toBe(403);
      expect((await visitor.post('/ops/sign-in', { _csrf: csrf, email: ALEX, next: '/ops' }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
      expect(mailer.sent.length).toBe(sentBefore);
    });

    it('asks again, at the field, for an address that is not one', async () => {
      const visitor = new Browser(base);
      const { csrf } = await visitor.page('/ops/sign-in');
      for (const email of ['', 'not an address']) {
        const res = await visitor.post('/ops/sign-in', { _csrf: csrf, email, next: '/ops' });
        expect(res.status).toBe(400);
        const html = await res.text();
        expect(html).toContain('aria-invalid="true"');
        expect(html).toContain('aria-describedby="email-hint email-problem"');
        expect(html).toMatch(/<span class="problem" id="email-problem">Enter/);
      }
    });

    it('shows whom a link signs in without using it; the button signs in once, and the link is refused afterwards', async () => {
      const browser = new Browser(base);
      const link = await askForLink(browser, ALEX);
      const id = /\/ops\/sign-in\/([^.]+)\./.exec(link)![1]!;
      const first = await browser.page(link);
      const again = await browser.page(link);
      expect(first.html).toContain('<h1>Sign in as Alex Agent</h1>');
      expect(again.html).toMatch(/<button type="submit">Sign in<\/button>/);
      expect((await bot.app.deps.store.signInLinks.byId(id))?.usedAt).toBeNull();
      expect(browser.has('ud_staff')).toBe(false);

      const action = link.split('?')[0]!;
      expect((await browser.post(action, { next: '/ops' })).status).toBe(403);
      expect((await bot.app.deps.store.signInLinks.byId(id))?.usedAt).toBeNull();

      const res = await browser.post(action, { _csrf: first.csrf, next: '/ops' });
      expect(res.status).toBe(303);
      expect(location(res)).toBe('/ops');
      expect(browser.has('ud_staff')).toBe(true);
      expect((await bot.app.deps.store.signInLinks.byId(id))?.usedAt).toBeInstanceOf(Date);
      const signedIn = await bot.app.deps.store.audit.list({ action: 'signed_in' });
      expect(signedIn[0]).toMatchObject({ actor: ALEX, entity: 'person' });

      const dashboard = await browser.page('/ops');
      expect(dashboard.html).toContain('<span>Alex Agent</span>');
      expect(dashboard.html).toMatch(/<form method="post" action="\/ops\/sign-out"><input type="hidden" name="_csrf" value="[^"]+"><button type="submit">Sign out<\/button><\/form>/);

      const second = await browser.post(action, { _csrf: dashboard.csrf, next: '/ops' });
      expect(second.status).toBe(409);
      expect(await second.text()).toContain('already used');
      expect((await browser.get(link)).status).toBe(409);
      // Another browser cannot use it either.
      const stranger = new Browser(base);
      const strangerPage = await stranger.get(link);
      expect(strangerPage.status).toBe(409);
    });

    it('refuses a tampered or invented link with 404 before looking it up', async () => {
      const browser = new Browser(base);
      const link = await askForLink(browser, ALEX);
      const [, id, sig] = /\/ops\/sign-in\/([^.]+)\.([^?]+)/.exec(link)!;
      const flip = (s: string) => `${s.slice(0, -1)}${s.endsWith('A') ? 'B' : 'A'}`;
      for (const bad of [`${id}.${flip(sig!)}`, `${flip(id!)}.${sig}`, 'nonsense', `${id}`]) {
        const res = await browser.get(`/ops/sign-in/${bad}`);
        expect({ bad, status: res.status }).toEqual({ bad, status: 404 });
      }
      const { csrf } = await browser.page('/ops/sign-in');
      expect((await browser.post(`/ops/sign-in/${id}.${flip(sig!)}`, { _csrf: csrf })).status).toBe(404);
      expect(browser.has('ud_staff')).toBe(false);
      // The real link still works: the tampering used nothing.
      expect((await browser.get(link)).status).toBe(200);
    });

    it('refuses an expired link with 410', async () => {
      const browser = new Browser(base);
      const link = await askForLink(browser, ALEX);
      const { csrf } = await browser.page(link);
      clock.offsetMs = 16 * MINUTE;
      try {
        const page = await browser.get(link);
        expect(page.status).toBe(410);
        expect(await page.text()).toContain('expired');
        expect((await browser.post(link.split('?')[0]!, { _csrf: csrf, next: '/ops' })).status).toBe(410);
        expect(browser.has('ud_staff')).toBe(false);
      } finally {
        clock.offsetMs = 0;
      }
    });

    it('refuses with 403 a link of someone who is not staff (any more)', async () => {
      const bob = (await bot.app.deps.store.people.byEmail('bob@acme.example'))!;
      const now = new Date();
      await bot.app.deps.store.signInLinks.create({ id: 'b'.repeat(32), personId: bob.id, createdAt: now, expiresAt: new Date(now.getTime() + 10 * MINUTE) });
      const res = await new Browser(base).get(`/ops/sign-in/${signInToken(bot.app.deps, 'b'.repeat(32))}`);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('no longer an agent or platform admin');
    });

    it('sends the person on to the page they were going to, and never off the site', async () => {
      expect(await signIn(new Browser(base), ALEX, '/ops/calendar?month=2026-12')).toBe('/ops/calendar?month=2026-12');
      const browser = new Browser(base);
      const link = await askForLink(browser, ALEX);
      const { csrf } = await browser.page(link);
      const res = await browser.post(link.split('?')[0]!, { _csrf: csrf, next: 'https://evil.example/' });
      expect(res.status).toBe(303);
      expect(location(res)).toBe('/ops');
    });
  });

  describe('the dashboard', () => {
    let ref: string;
    beforeAll(async () => {
      const filed = await run('bob@acme.example', '/upgrade request device=edge-02 version=8.0.0 when=window mac=00:1A:2B:3C:4D:5F ip=203.0.113.11 serial=SN-1002');
      ref = referenceIn(filed)!;
      expect(ref).toMatch(/^UPG-\d{6}$/);
      expect((await bot.app.deps.store.requests.byRef(ref))?.status).toBe('awaiting_consent');
    });

    it('counts the requests per status and lists the open ones, each linking to its status page', async () => {
      const { html } = await alex.page('/ops');
      const counts = await bot.app.deps.store.requests.countByStatus();
      expect(html).toContain(`<a class="stat" href="/ops?status=awaiting_consent"><strong>${counts.awaiting_consent}</strong>awaiting consent</a>`);
      expect(counts.awaiting_consent).toBeGreaterThan(0);
      expect(html).toContain(`<th scope="row"><a href="/requests/${ref}">${ref}</a></th>`);
      expect(html).toContain('<td>Acme Corp</td>');
      expect(html).toContain('<td>edge-02</td>');
      expect(html).toContain('<span class="badge warn">awaiting consent</span>');
      expect(html).toContain('<nav aria-label="Main">');
      expect(html).toContain('<a href="/ops" aria-current="page">Dashboard</a>');
      expect(html).toContain('<a href="/ops/calendar">Calendar</a>');
      expect(html).toContain('<a href="/ops/problems">Problems</a>');
      expect(html).toContain('<a href="/ops/jobs/">Jobs</a>');
      expect(html).toContain('<main id="main" class="wide">');
    });

    it('filters by one status, and answers 400 for a status that does not exist', async () => {
      expect((await alex.page('/ops?status=awaiting_consent')).html).toContain(`href="/requests/${ref}"`);
      const completed = await alex.page('/ops?status=completed');
      expect(completed.html).not.toContain(`href="/requests/${ref}"`);
      expect(completed.html).toContain('aria-current="true"><strong>');
      const bad = await alex.get('/ops?status=finished');
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('Unknown status');
    });

    it('shows no notice a crafted link brings along', async () => {
      const { html } = await alex.page('/ops?done=Send+your+password+to+evil%40example&tone=success&sig=abc');
      expect(html).not.toContain('Send your password');
    });

    it('answers 404 with a staff page for an unknown page', async () => {
      const res = await alex.get('/ops/no-such-page');
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).toContain('Page not found');
      expect(html).toContain('<span>Alex Agent</span>');
    });
  });

  describe('runs', () => {
    let ref: string;
    let itemId: number;

    beforeAll(async () => {
      const filed = await run('bob@acme.example', `/upgrade request ${EDGE01} when=now`);
      ref = referenceIn(filed)!;
      expect((await run('jane@acme.example', `/upgrade approve ${ref}`)).error).toBeUndefined();
      const store = bot.app.deps.store;
      itemId = (await store.requests.byRef(ref))!.items[0]!.id;
      await until(async () => {
        const request = await store.requests.byRef(ref);
        const r = await store.runs.forItem(itemId);
        return request?.status === 'in_progress' && r && r.condition === 'ok' ? r : null;
      }, 'the run to start');
    }, 30_000);

    it('lists the active run with its state, progress and Next / Retry / Abort buttons', async () => {
      const { html } = await alex.page('/ops');
      const section = /<section id="runs"[\s\S]*?<\/section>/.exec(html)?.[0] ?? '';
      expect(section).toContain(`<tr data-ref="${ref}" data-device="edge-01">`);
      expect(section).toMatch(/<progress max="100" value="\d+"/);
      expect(section).toContain(`<form method="post" action="/ops/runs/${ref}/next"><input type="hidden" name="_csrf"`);
      expect(section).toMatch(/>Next<\/button>/);
      expect(section).toMatch(/>Retry<\/button>/);
      expect(section).toContain(`<form method="get" action="/ops/runs/${ref}/abort">`);
      expect(section).toMatch(/>Abort<\/button>/);
    });

    it('moves the run with Next as the signed-in agent, and shows the reply after the redirect', async () => {
      const store = bot.app.deps.store;
      const before = (await store.runs.forItem(itemId))!;
      const { csrf } = await alex.page('/ops');

      expect((await alex.post(`/ops/runs/${ref}/next`, { device: 'edge-01' })).status).toBe(403);
      expect((await store.runs.forItem(itemId))!.state).toBe(before.state);

      const res = await alex.post(`/ops/runs/${ref}/next`, { _csrf: csrf, device: 'edge-01' });
      expect(res.status).toBe(303);
      expect(location(res)).toMatch(/^\/ops\?done=.+&tone=success&sig=.+#runs$/);
      const after = (await store.runs.forItem(itemId))!;
      expect(after.state).not.toBe(before.state);
      const events = await store.runs.events(after.id);
      expect(events[events.length - 1]).toMatchObject({ event: 'next', actor: ALEX });
      const shown = await alex.page(location(res).replace(/#.*$/, ''));
      expect(shown.html).toMatch(new RegExp(`<div class="notice success" role="status"><p class="reply">Next on ${ref} \\(edge-01\\) done\\.`));
      expect(shown.html).toContain(after.state.replace(/_/g, ' '));
    });

    it('asks before Abort on a page of its own, then aborts with the button', async () => {
      const store = bot.app.deps.store;
      const { html, csrf } = await alex.page(`/ops/runs/${ref}/abort?device=edge-01`);
      expect(html).toContain(`<h1>Abort ${ref}?</h1>`);
      expect(html).toContain(`<code>/upgrade-admin run ${ref} abort device=edge-01</code>`);
      expect(html).toContain('<button type="submit" class="danger">Abort the run</button>');
      expect((await store.runs.forItem(itemId))!.state).not.toBe('abort');
      const res = await alex.post(`/ops/runs/${ref}/abort`, { _csrf: csrf, device: 'edge-01' });
      expect(res.status).toBe(303);
      expect((await store.runs.forItem(itemId))!.state).toBe('abort');
    });

    it("shows the command's refusal as an error notice", async () => {
      const { csrf } = await alex.page('/ops');
      const res = await alex.post(`/ops/runs/${ref}/abort`, { _csrf: csrf, device: 'edge-01' });
      expect(res.status).toBe(303);
      expect(location(res)).toContain('tone=error');
      const { html } = await alex.page(location(res).replace(/#.*$/, ''));
      expect(html).toMatch(/<div class="notice error" role="alert"><p class="reply">Error \(/);
    });

    it('answers 404 for an unknown action, reference or request', async () => {
      const { csrf } = await alex.page('/ops');
      expect((await alex.post(`/ops/runs/${ref}/jump`, { _csrf: csrf })).status).toBe(404);
      expect((await alex.post('/ops/runs/not-a-ref/next', { _csrf: csrf })).status).toBe(404);
      expect((await alex.post('/ops/runs/UPG-999999/next', { _csrf: csrf })).status).toBe(404);
      expect((await alex.get('/ops/runs/UPG-999999/abort')).status).toBe(404);
    });
  });

  describe('the calendar', () => {
    let ref: string;
    let upgradeDay: Date;

    beforeAll(async () => {
      // A Saturday about six weeks ahead, 01:00 UTC (inside Globex's low-traffic window).
      upgradeDay = new Date(Date.now() + 42 * 24 * 3600_000);
      upgradeDay.setUTCHours(1, 0, 0, 0);
      upgradeDay.setUTCDate(upgradeDay.getUTCDate() + ((6 - upgradeDay.getUTCDay() + 7) % 7));
      const when = upgradeDay.toISOString().slice(0, 16) + 'Z';
      const filed = await run('greta@globex.example', `/upgrade request device=gx-tenant-1 version=8.1.0 when=${when} mac=00:1A:2B:3C:5E:01 ip=198.51.100.20 serial=SN-2001`);
      ref = referenceIn(filed)!;
      expect((await run('greta@globex.example', `/upgrade approve ${ref}`)).error).toBeUndefined();
      await until(async () => (await bot.app.deps.store.requests.byRef(ref))?.status === 'scheduled', 'the upgrade to be scheduled');
      const friday = new Date(upgradeDay.getTime() - 24 * 3600_000);
      const day = friday.toISOString().slice(0, 10);
      const added = await run('pat@upgradedesk.example', `/upgrade-admin maintenance add ${day}T10:00Z ${day}T14:00Z "Core switch <b>replacement</b>"`);
      expect(added.error).toBeUndefined();
    }, 30_000);

    function cell(html: string, day: Date): string {
      const iso = day.toISOString().slice(0, 10);
      return new RegExp(`<li class="[^"]*"[^>]*><span class="num"><time datetime="${iso}">[\\s\\S]*?</li>`).exec(html)?.[0] ?? '';
    }

    it('places the scheduled upgrade on its day and shades the days of a maintenance window', async () => {
      const month = upgradeDay.toISOString().slice(0, 7);
      const { html } = await alex.page(`/ops/calendar?month=${month}`);
      expect(html).toContain('<ol class="calendar"');
      expect(html).toContain('<li class="head" aria-hidden="true">Mon</li>');
      expect(html).toContain('<a href="/ops/calendar" aria-current="page">Calendar</a>');
      expect(html).toContain('All times are UTC.');
      const upgrade = cell(html, upgradeDay);
      expect(upgrade).toContain(`<a class="item" href="/requests/${ref}">01:00 ${ref} · Globex GmbH</a>`);
      expect(upgrade).not.toContain('blackout');
      const friday = cell(html, new Date(upgradeDay.getTime() - 24 * 3600_000));
      expect(friday).toMatch(/^<li class="day[^"]* blackout"/);
      expect(friday).toContain('<span class="closed">Maintenance 10:00–14:00: Core switch &lt;b&gt;replacement&lt;/b&gt;</span>');
      expect(cell(html, new Date(upgradeDay.getTime() - 2 * 24 * 3600_000))).not.toContain('blackout');
      expect(html).toMatch(/rel="prev">← \w+ \d{4}<\/a>/);
      expect(html).toMatch(/<li class="[^"]*\bother\b/);
      expect(html).toContain('<div class="legend">');
    });

    it('shows the current month by default, marking today, and answers 400 for a month that is not one', async () => {
      const { html } = await alex.page('/ops/calendar');
      const today = new Date().toISOString().slice(0, 10);
      expect(html).toMatch(new RegExp(`<li class="day[^"]*\\btoday\\b[^"]*" aria-current="date"><span class="num"><time datetime="${today}">`));
      for (const month of ['2026-13', 'december', '1999-01']) {
        const res = await alex.get(`/ops/calendar?month=${month}`);
        expect({ month, status: res.status }).toEqual({ month, status: 400 });
      }
    });
  });

  describe('problem reports', () => {
    it('lists the latest reports with their request, reporter and text, escaped', async () => {
      const filed = await run('bob@acme.example', '/upgrade request device=core-db version=8.0.0 when=window mac=00:1A:2B:3C:4D:60 ip=203.0.113.12 serial=SN-1003');
      const ref = referenceIn(filed)!;
      const reported = await run('bob@acme.example', `/upgrade problem ${ref} the portal shows <script>alert(1)</script> since Tuesday`);
      expect(reported.error).toBeUndefined();
      const { html } = await alex.page('/ops/problems');
      expect(html).toContain('<a href="/ops/problems" aria-current="page">Problems</a>');
      expect(html).toContain(`<a href="/requests/${ref}">${ref}</a>`);
      const bob = (await bot.app.deps.store.people.byEmail('bob@acme.example'))!;
      expect(html).toContain(`<td>${bob.name}</td>`);
      expect(html).toContain('the portal shows &lt;script&gt;alert(1)&lt;/script&gt; since Tuesday');
      expect(html).not.toContain('<script>');
      expect(html).toContain('<td>console</td>');
    });
  });

  describe('Agendash at /ops/jobs', () => {
    it('answers its API with the queue overview to staff, and sends anyone else to sign in', async () => {
      const res = await alex.get('/ops/jobs/api');
      expect(res.status).toBe(200);
      const body = (await res.json()) as { overview: Array<{ displayName: string; total: number }>; jobs: unknown[]; total: number };
      expect(body.overview[0]).toMatchObject({ displayName: 'All Jobs' });
      expect(body.overview[0]!.total).toBeGreaterThan(0);
      expect(Array.isArray(body.jobs)).toBe(true);
      const visitor = await new Browser(base).get('/ops/jobs/api');
      expect(visitor.status).toBe(303);
      expect(location(visitor)).toBe('/ops/sign-in?next=%2Fops%2Fjobs%2Fapi');
    });

    it('serves its page at /ops/jobs/ with assets relative to it, redirecting /ops/jobs there', async () => {
      const bare = await alex.get('/ops/jobs');
      expect(bare.status).toBe(301);
      expect(location(bare)).toBe('/ops/jobs/');
      const page = await alex.get('/ops/jobs/');
      expect(page.status).toBe(200);
      const html = await page.text();
      const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const asset = await alex.get(`/ops/jobs/${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/javascript/);
    });

    it('refuses changes sent from another site or not as JSON', async () => {
      const before = ((await (await alex.get('/ops/jobs/api')).json()) as { total: number }).total;
      const crossSite = await alex.request('/ops/jobs/api/jobs/delete', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
        body: JSON.stringify({ jobIds: ['1'] }),
      });
      expect(crossSite.status).toBe(403);
      const form = await alex.post('/ops/jobs/api/jobs/delete', { jobIds: '1' });
      expect(form.status).toBe(415);
      const after = ((await (await alex.get('/ops/jobs/api')).json()) as { total: number }).total;
      expect(after).toBe(before);
      // Its own page's calls (same origin, JSON) go through.
      const own = await alex.request('/ops/jobs/api/jobs/pause', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
        body: JSON.stringify({ jobIds: [] }),
      });
      expect(own.status).toBe(200);
      expect(await own.json()).toEqual({ pausedCount: 0 });
    });
  });

  describe('signing out', () => {
    it('needs the CSRF token, then clears the session cookie', async () => {
      const browser = new Browser(base);
      await signIn(browser, ALEX);
      expect((await browser.post('/ops/sign-out', {})).status).toBe(403);
      expect((await browser.get('/ops')).status).toBe(200);
      const { csrf } = await browser.page('/ops');
      const res = await browser.post('/ops/sign-out', { _csrf: csrf });
      expect(res.status).toBe(303);
      expect(location(res)).toBe('/ops/sign-in');
      expect(res.headers.getSetCookie().some((c) => /^ud_staff=;/.test(c))).toBe(true);
      expect(browser.has('ud_staff')).toBe(false);
      expect((await browser.get('/ops')).status).toBe(303);
    });
  });
});

describe('the ops sign-in when limited or when mail fails', () => {
  let dir: string;
  let bot: RunningBot;
  const mailer = new RecordingMailer(['pat@upgradedesk.example']);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-ops-limit-'));
    const config = loadConfig({ DATA_DIR: dir, PORT: '0', SMTP_INTAKE_PORT: '0', EXECUTOR: 'manual', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
    bot = await startBot(config, { output: quiet, mailer, smtpIntake: false, queueOptions: { lockLifetimeMs: 3000 }, signInRateLimit: { perAddress: 3, windowMs: 10 * MINUTE } });
  }, 30_000);

  afterAll(async () => {
    await bot?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says so with 503 when the sign-in e-mail cannot be sent, and keeps no audit of a sent link', async () => {
    const browser = new Browser(() => bot.url);
    const { csrf } = await browser.page('/ops/sign-in');
    const res = await browser.post('/ops/sign-in', { _csrf: csrf, email: 'pat@upgradedesk.example', next: '/ops' });
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('The sign-in e-mail could not be sent');
    expect(await bot.app.deps.store.audit.list({ action: 'sign_in_link_sent' })).toEqual([]);
  });

  it('answers 429 with Retry-After once an address asked too often', async () => {
    const browser = new Browser(() => bot.url);
    const { csrf } = await browser.page('/ops/sign-in');
    const statuses: number[] = [];
    let last: Response | null = null;
    // Three asks per client and address in the window; the test before may have used one.
    while (statuses.length < 5 && last?.status !== 429) {
      last = await browser.post('/ops/sign-in', { _csrf: csrf, email: 'nobody@x.example', next: '/ops' });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, -1).every((s) => s === 200)).toBe(true);
    expect(statuses.length).toBeGreaterThanOrEqual(3);
    expect(statuses.length).toBeLessThanOrEqual(4);
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await last!.text()).toContain('Too many sign-in requests');
    expect(mailer.sent).toEqual([]);
  });
});
