/**
 * The public request form `/requests/new` of the running bot over real HTTP on 127.0.0.1: the
 * page and its security headers, CSRF, the required fields and the record checks shown next to
 * their fields, filing as the person whose address was typed, Post/Redirect/Get to the signed
 * confirmation page, the rate limit, and that nothing private or unknown is ever echoed back.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { startBot } from '../../src/main.js';
import type { RunningBot } from '../../src/main.js';
import { acmeFormValues } from '../fakes/acme-form.js';

const quiet = new Writable({ write: (_c, _e, cb) => cb() });
const dirs: string[] = [];
let bot: RunningBot;
/** A second bot whose form allows only two submissions per window. */
let strictBot: RunningBot;

/** A correct form for edge-01 as Bob (requester of Acme Corp), without notes. */
const { notes: _notes, ...BOB_EDGE01 } = acmeFormValues({ contact: 'Bob Stone', email: 'bob@acme.example' }) as Record<string, string>;

async function start(formRateLimit: { perAddress: number; windowMs: number }): Promise<RunningBot> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-web-form-'));
  dirs.push(dir);
  const config = loadConfig({ DATA_DIR: dir, PORT: '0', SMTP_INTAKE_PORT: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
  return startBot(config, { output: quiet, smtpIntake: false, queueOptions: { lockLifetimeMs: 3000 }, formRateLimit });
}

beforeAll(async () => {
  bot = await start({ perAddress: 100, windowMs: 60_000 });
  strictBot = await start({ perAddress: 2, windowMs: 60_000 });
}, 60_000);

afterAll(async () => {
  await bot?.stop();
  await strictBot?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** One browser: its cookie header, the CSRF cookie's value and the token of the form it opened. */
interface Browser {
  cookie: string;
  csrfCookie: string;
  token: string;
}

/** Opens the form as a new browser; returns the page and what the browser keeps. */
async function openForm(target: RunningBot, query = ''): Promise<{ res: Response; html: string; browser: Browser }> {
  const res = await fetch(`${target.url}/requests/new${query}`);
  const html = await res.text();
  const pairs = res.headers.getSetCookie().map((c) => c.split(';')[0] as string);
  const csrfCookie = pairs.find((p) => p.startsWith('ud_csrf='))?.slice('ud_csrf='.length) ?? '';
  const token = /<input type="hidden" name="_csrf" value="([^"]+)">/.exec(html)?.[1] ?? '';
  return { res, html, browser: { cookie: pairs.join('; '), csrfCookie, token } };
}

/** Posts the form as `browser` (null: a browser that never opened it); `token` overrides the CSRF token sent. */
async function send(target: RunningBot, fields: Record<string, string>, browser: Browser | null, token?: string): Promise<{ res: Response; html: string }> {
  const body = new URLSearchParams(fields);
  const csrf = token ?? browser?.token;
  if (csrf !== undefined) body.set('_csrf', csrf);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (browser) headers.cookie = browser.cookie;
  const res = await fetch(`${target.url}/requests/new`, { method: 'POST', headers, body, redirect: 'manual' });
  return { res, html: await res.text() };
}

async function requestCount(target: RunningBot): Promise<number> {
  return (await target.app.deps.store.requests.list()).length;
}

/** The HTML of the `.field` block around the control with id `f-<key>`. */
function fieldBlock(html: string, key: string): string {
  const at = html.indexOf(`id="f-${key}"`);
  if (at < 0) return '';
  const start = html.lastIndexOf('<div class="field', at);
  const end = html.indexOf('</div>', at);
  return html.slice(start, end);
}

describe('the public request form', () => {
  it('shows every field with a label, hints and a CSRF token, under the page security headers', async () => {
    const { res, html, browser } = await openForm(bot);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(html).toContain('<title>Request an upgrade · Upgrade Desk</title>');
    expect(browser.csrfCookie).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(browser.token).not.toBe('');
    // Never the cookie's value itself.
    expect(html).not.toContain(browser.csrfCookie);

    const controls = [...html.matchAll(/<(input|textarea)\b([^>]*)>/g)].map((m) => m[2] as string).filter((a) => !a.includes('type="hidden"'));
    const keys = ['company', 'contact', 'email', 'phone', 'device', 'serial', 'mac', 'ip', 'version', 'when', 'notes'];
    expect(controls.map((a) => /name="([^"]+)"/.exec(a)?.[1])).toEqual(keys);
    for (const attributes of controls) {
      const id = /id="([^"]+)"/.exec(attributes)?.[1] as string;
      expect(id).toBe(`f-${/name="([^"]+)"/.exec(attributes)?.[1]}`);
      expect(html).toContain(`<label for="${id}">`);
      const described = /aria-describedby="([^"]+)"/.exec(attributes)?.[1] ?? '';
      expect(described.split(' ')).toContain(`${id}-hint`);
      expect(html).toMatch(new RegExp(`<span class="hint" id="${id}-hint">[^<]+</span>`));
    }
    expect(fieldBlock(html, 'mac')).toContain('aria-required="true"');
    expect(fieldBlock(html, 'notes')).not.toContain('aria-required');
    expect(fieldBlock(html, 'when')).toMatch(/now.*window/is);
    expect(html).toContain('<datalist id="when-options"><option value="now"></option><option value="window"></option></datalist>');
    expect(html).toMatch(/<button type="submit">Send request<\/button>/);
    expect(html).toMatch(/authorized representative/);
  });

  it('pre-fills short values from a link, but never the notes', async () => {
    const { html } = await openForm(bot, `?device=edge-01&notes=from-a-link&serial=${'S'.repeat(500)}&colour=blue-ish`);
    expect(fieldBlock(html, 'device')).toContain('value="edge-01"');
    expect(fieldBlock(html, 'serial')).toContain(`value="${'S'.repeat(200)}"`);
    expect(html).not.toContain('S'.repeat(201));
    expect(html).not.toContain('from-a-link');
    expect(html).not.toContain('blue-ish');
  });

  it('refuses a form without or with a wrong CSRF token with 403, keeps the values and files nothing', async () => {
    const before = await requestCount(bot);
    const { browser } = await openForm(bot);
    const other = await openForm(bot);
    for (const [who, token] of [
      [null, undefined],
      [browser, ''],
      [browser, 'not-a-token'],
      [browser, other.browser.token],
    ] as const) {
      const { res, html } = await send(bot, { ...BOB_EDGE01, notes: 'keep me' }, who, token);
      expect(res.status).toBe(403);
      expect(html).toContain('This form expired or came from another site; check it and send it again.');
      expect(fieldBlock(html, 'device')).toContain('value="edge-01"');
      expect(fieldBlock(html, 'notes')).toContain('>keep me</textarea>');
      // A fresh token to send it again.
      expect(html).toMatch(/name="_csrf" value="[^"]+"/);
    }
    expect(await requestCount(bot)).toBe(before);
  });

  it('marks each missing required field with 400 and a summary linking to it, filing nothing', async () => {
    const before = await requestCount(bot);
    const { browser } = await openForm(bot);
    const { mac: _mac, version: _version, ...rest } = BOB_EDGE01;
    const { res, html } = await send(bot, { ...rest, ip: '   ' }, browser);
    expect(res.status).toBe(400);
    expect(html).toContain('<title>Error: Request an upgrade · Upgrade Desk</title>');
    for (const key of ['mac', 'ip', 'version']) {
      const block = fieldBlock(html, key);
      expect(block).toMatch(/^<div class="field invalid">/);
      expect(block).toContain('aria-invalid="true"');
      expect(block).toMatch(new RegExp(`aria-describedby="f-${key}-hint f-${key}-problem"`));
      expect(block).toMatch(new RegExp(`<span class="problem" id="f-${key}-problem"><span>Required: [^<]+</span></span>`));
      expect(html).toContain(`<a href="#f-${key}">`);
    }
    expect(fieldBlock(html, 'device')).not.toContain('aria-invalid');
    expect(fieldBlock(html, 'device')).toContain('value="edge-01"');
    expect(html).toContain('There are 3 problems with the form');
    expect(await requestCount(bot)).toBe(before);
  });

  it('shows a wrong MAC address next to the MAC field with 422 and keeps the request as rejected', async () => {
    const { browser } = await openForm(bot);
    const { res, html } = await send(bot, { ...BOB_EDGE01, mac: '00:1A:2B:3C:4D:99' }, browser);
    expect(res.status).toBe(422);
    const ref = /We recorded this as (UPG-\d{6}) \(rejected\)\. Correct the fields marked below and send the form again\./.exec(html)?.[1];
    expect(ref).toBeDefined();
    const mac = fieldBlock(html, 'mac');
    expect(mac).toMatch(/^<div class="field invalid">/);
    expect(mac).toMatch(/<span class="problem" id="f-mac-problem"><span>[^<]*MAC[^<]*<\/span>/);
    expect(mac).toContain('value="00:1A:2B:3C:4D:99"');
    expect(fieldBlock(html, 'serial')).not.toContain('aria-invalid');
    expect(fieldBlock(html, 'ip')).not.toContain('aria-invalid');
    expect(html).toContain('<a href="#f-mac">');
    // The record's MAC address is never shown to the sender (beyond the hint's example, which the demo record happens to match).
    const blank = (await openForm(bot)).html;
    expect(html.split('00:1A:2B:3C:4D:5E').length).toBe(blank.split('00:1A:2B:3C:4D:5E').length);
    expect(mac.slice(mac.indexOf('f-mac-problem'))).not.toContain('00:1A:2B:3C:4D:5E');
    const stored = await bot.app.deps.store.requests.byRef(ref as string);
    expect(stored).toMatchObject({ status: 'rejected', via: 'web' });
    expect(stored?.items[0]?.findings).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'hardware_mismatch', field: 'mac' })]));
  });

  it('tells an address that is not on record so next to the e-mail field with 422, filing nothing', async () => {
    const before = await requestCount(bot);
    const { browser } = await openForm(bot);
    const { res, html } = await send(bot, { ...BOB_EDGE01, email: 'nobody@nowhere.example' }, browser);
    expect(res.status).toBe(422);
    const email = fieldBlock(html, 'email');
    expect(email).toMatch(/^<div class="field invalid">/);
    expect(email).toMatch(/<span class="problem" id="f-email-problem"><span>[^<]*nobody@nowhere\.example[^<]*in our records/);
    expect(html).toContain('<a href="#f-email">');
    expect(await requestCount(bot)).toBe(before);
  });

  it('files a correct form as the person on record and redirects to the signed confirmation page, which shows no notes', async () => {
    const before = await requestCount(bot);
    const { browser } = await openForm(bot);
    const notes = 'gate code 4711-private';
    const { res } = await send(bot, { ...BOB_EDGE01, notes }, browser);
    expect(res.status).toBe(303);
    const location = res.headers.get('location') ?? '';
    const match = /^\/requests\/new\/sent\/(UPG-\d{6})\?key=([A-Za-z0-9_-]+)$/.exec(location);
    expect(match).not.toBeNull();
    const ref = match?.[1] as string;
    expect(await requestCount(bot)).toBe(before + 1);
    const stored = await bot.app.deps.store.requests.byRef(ref);
    expect(stored).toMatchObject({ status: 'awaiting_consent', via: 'web', note: notes, targetVersion: '7.1.0' });
    const requester = await bot.app.deps.store.people.byId(stored?.requesterId as number);
    expect(requester?.email).toBe('bob@acme.example');

    const sent = await fetch(`${bot.url}${location}`);
    const html = await sent.text();
    expect(sent.status).toBe(200);
    expect(sent.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html).toContain(`<p class="ref">${ref}</p>`);
    expect(html).toContain('<span class="badge warn">awaiting consent</span>');
    expect(html).toContain('What happens next');
    expect(html).toMatch(/authorized representative of Acme Corp/);
    // The request's warnings, e.g. that the manager password is still missing.
    expect(html).toMatch(/<h2>Please note<\/h2>\s*<ul class="plain cautions"><li>The manager password has not been provided/);
    expect(html).not.toContain(notes);
    expect(html).not.toContain('gate code');
    // The status link goes only to the address on record.
    expect(html).not.toMatch(/\/requests\/UPG-\d{6}\?key=/);
  });

  it('answers a confirmation page with a wrong key, or without one, with a 404 page', async () => {
    const [request] = await bot.app.deps.store.requests.list();
    const ref = request?.ref ?? 'UPG-000001';
    for (const query of ['?key=wrong', '', `?key=${bot.app.deps.secretBox.sign(`status:${ref}`)}`]) {
      const res = await fetch(`${bot.url}/requests/new/sent/${ref}${query}`);
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).toContain('Page not found');
      expect(html).not.toContain(ref);
    }
  });

  it('never echoes unknown fields or the CSRF cookie, and refuses other methods with 405', async () => {
    const { browser } = await openForm(bot);
    const extra = { colour: 'teal-unknown-3141', password: 'hunter2-unique-2718' };
    const { mac: _mac, ...rest } = BOB_EDGE01;
    for (const token of [undefined, 'wrong']) {
      const { res, html } = await send(bot, { ...rest, ...extra }, browser, token);
      expect([400, 403]).toContain(res.status);
      expect(html).not.toContain('teal-unknown-3141');
      expect(html).not.toContain('hunter2-unique-2718');
      expect(html).not.toContain('colour');
      expect(html).not.toContain(browser.csrfCookie);
    }
    const put = await fetch(`${bot.url}/requests/new`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
  });

  it('limits submissions per address: over the limit it answers 429 with Retry-After and files nothing', async () => {
    const before = await requestCount(strictBot);
    const { browser } = await openForm(strictBot);
    const { mac: _mac, ...incomplete } = BOB_EDGE01;
    for (let i = 0; i < 2; i++) expect((await send(strictBot, incomplete, browser)).res.status).toBe(400);
    const { res, html } = await send(strictBot, BOB_EDGE01, browser);
    expect(res.status).toBe(429);
    const retry = Number(res.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(html).toMatch(/Nothing was filed\. Please try again in (\d+ seconds?|about 1 minute)\./);
    expect(fieldBlock(html, 'device')).toContain('value="edge-01"');
    expect(await requestCount(strictBot)).toBe(before);
    // A form with a bad token does not count, and is still refused as such.
    expect((await send(strictBot, BOB_EDGE01, browser, 'wrong')).res.status).toBe(403);
  });
});

describe('the parts every page shares', () => {
  it('serves the one stylesheet from the bot itself, and every page links only to it', async () => {
    const css = await fetch(`${bot.url}/assets/app.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    const text = await css.text();
    expect(text).toContain('.field.invalid');
    expect(text).not.toMatch(/url\(\s*['"]?https?:/);
    const { res, html } = await openForm(bot);
    expect(res.headers.get('content-security-policy')).toContain("style-src 'self'");
    expect(html).toContain('<link rel="stylesheet" href="/assets/app.css">');
    expect(html).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)[a-z]/i);
  });

  it('sends a visitor of / to the request form', async () => {
    const res = await fetch(`${bot.url}/`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/requests/new');
  });

  it('answers a form larger than it accepts with a page, not a stack trace, and files nothing', async () => {
    const { browser } = await openForm(bot);
    const before = await requestCount(bot);
    const body = new URLSearchParams({ ...BOB_EDGE01, _csrf: browser.token, notes: 'x'.repeat(40_000) });
    const res = await fetch(`${bot.url}/requests/new`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: browser.cookie }, body });
    expect(res.status).toBe(413);
    const html = await res.text();
    expect(html).toContain('Form too large');
    expect(html).not.toMatch(/at .*\.(js|ts):\d+/);
    expect(await requestCount(bot)).toBe(before);
  });

  it('answers an unknown path with 404 and says where the pages are', async () => {
    const res = await fetch(`${bot.url}/nowhere`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('/requests/new');
  });
});
