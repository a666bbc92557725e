/**
 * The status page of a request (`/requests/<ref>`, the job link of [000]) on the running bot over
 * real HTTP: who may open it (the signed link from the bot's messages, or signed-in staff), what
 * it shows while a simulated run moves and after it completes, and the link in the e-mails the
 * bot spools — followed as a reader would.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Response as ExpressResponse } from 'express';
import { simpleParser } from 'mailparser';
import { loadConfig } from '../../src/config.js';
import { startBot } from '../../src/main.js';
import type { RunningBot } from '../../src/main.js';
import { dispatch } from '../../src/core/dispatch.js';
import { referenceIn, toPlainText } from '../../src/core/reply.js';
import { formatInZone } from '../../src/domain/time.js';
import type { Person } from '../../src/domain/types.js';
import { SimulateExecutor } from '../../src/infra/executors/simulate-executor.js';
import { startSimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import type { SimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import { HttpStatusChecker } from '../../src/infra/status-check.js';
import { StaffSessions } from '../../src/adapters/web/guard.js';
import { escapeHtml } from '../../src/adapters/web/html.js';
import { statusLinkPath } from '../../src/adapters/web/status-link.js';

const quiet = new Writable({ write: (_c, _e, cb) => cb() });
const TERMINAL = ['completed', 'completed_with_issues', 'failed', 'aborted'];
const LIVE = ['approved', 'scheduled', 'in_progress'];
/** Addresses of the people and customer involved: none may show on the page opened by the link. */
const ADDRESSES = ['bob@acme.example', 'jane@acme.example', 'it@acme.example', 'nora@northwind.example', 'alex@upgradedesk.example'];

let dir: string;
let bot: RunningBot;
let device: SimulatedDevice;
let seq = 0;

async function as(address: string, text: string): Promise<string> {
  const answer = await dispatch(bot.app.registry, bot.app.deps, { id: `t${++seq}`, via: 'console', identity: { kind: 'email', address }, text });
  const plain = toPlainText(answer);
  expect(plain).not.toContain('internal_error');
  return plain;
}

function get(p: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${bot.url}${p}`, { headers, redirect: 'manual' });
}

/** A cookie header that signs `person` in as staff, made the way the sign-in flow makes it. */
function staffCookie(person: Person): string {
  let captured = '';
  const res = { cookie: (name: string, value: string) => (captured = `${name}=${value}`) } as unknown as ExpressResponse;
  new StaffSessions(bot.app.deps, { secretBox: bot.app.deps.secretBox, secureCookies: false }).start(res, person, new Date());
  expect(captured).toMatch(/^ud_staff=/);
  return captured;
}

function statusIn(html: string): string | undefined {
  return /id="request-status" data-status="([a-z_]+)"/.exec(html)?.[1];
}

function runStateIn(html: string, name: string): string | undefined {
  return new RegExp(`<tr data-device="${name}">[\\s\\S]*?<td class="run-state">([^<]*)</td>`).exec(html)?.[1];
}

function refreshIn(html: string): string | undefined {
  return /<meta http-equiv="refresh" content="(\d+)">/.exec(html)?.[1];
}

async function waitForStatus(ref: string, statuses: string[], timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const request = await bot.app.deps.store.requests.byRef(ref);
    if (request && statuses.includes(request.status)) return request.status;
    if (Date.now() > deadline) throw new Error(`${ref} is ${request?.status}, expected ${statuses.join('|')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-web-status-'));
  device = await startSimulatedDevice({ version: '5.2.0' });
  const config = loadConfig({ DATA_DIR: dir, PORT: '0', SMTP_INTAKE_PORT: '0', EXECUTOR: 'simulate', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
  bot = await startBot(config, {
    output: quiet,
    smtpIntake: false,
    // Steps slow enough to watch the page move; the simulated device answers the post-upgrade check.
    executor: new SimulateExecutor({ stepMs: 400, onFinish: (_d, version) => device.setVersion(version) }),
    statusChecker: new HttpStatusChecker({ timeoutMs: 2000, retries: 1, backoffMs: 100 }),
    queueOptions: { lockLifetimeMs: 3000 },
    outboxPollMs: 50,
  });
  await bot.app.dataSource.query(`UPDATE devices SET "statusUrl" = ? WHERE name = 'edge-01'`, [device.statusUrl]);
}, 30_000);

afterAll(async () => {
  await bot?.stop();
  await device?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the status page of a request', () => {
  let ref: string;
  let link: string;

  it('is filed by Bob and approved by Jane through the dispatcher', async () => {
    const filed = await dispatch(bot.app.registry, bot.app.deps, {
      id: 't1',
      via: 'console',
      identity: { kind: 'email', address: 'bob@acme.example' },
      text: '/upgrade request device=edge-01 version=7.1.0 when=now mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001 note="<script>alert(1)</script> call bob@acme.example first"',
    });
    ref = referenceIn(filed)!;
    expect(ref).toMatch(/^UPG-\d{6}$/);
    link = statusLinkPath(bot.app.deps.secretBox, ref);
    // Before consent nothing moves: the page does not reload itself.
    const waiting = await (await get(link)).text();
    expect(statusIn(waiting)).toBe('awaiting_consent');
    expect(refreshIn(waiting)).toBeUndefined();
    expect(runStateIn(waiting, 'edge-01')).toBe('waiting');
    expect(await as('jane@acme.example', `/upgrade approve ${ref}`)).toMatch(/approved|scheduled/i);
  });

  it('answers 403 without the right key, whether or not the reference exists, and says how to get in', async () => {
    const other = statusLinkPath(bot.app.deps.secretBox, 'UPG-000777').split('?key=')[1]!;
    const cases = [
      `/requests/${ref}`,
      `/requests/${ref}?key=`,
      `/requests/${ref}?key=not-the-key`,
      `/requests/${ref}?key=${other}`,
      `/requests/${ref}?key=${other}&key=${other}`,
      // A reference that does not exist, with a key that looks right (another request's): 403, not 404.
      `/requests/UPG-999999?key=${link.split('?key=')[1]}`,
      `/requests/UPG-999999`,
    ];
    for (const p of cases) {
      const res = await get(p);
      const html = await res.text();
      expect({ p, status: res.status }).toEqual({ p, status: 403 });
      expect(html).toContain('This link is incomplete or wrong');
      expect(html).toContain('latest message or e-mail');
      expect(html).toContain(`href="/ops/sign-in?next=/requests/${p.slice(10, 20)}"`);
      expect(html).not.toContain('edge-01');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    // A signed-in customer contact is not staff: the link is still needed.
    const bob = (await bot.app.deps.store.people.byEmail('bob@acme.example'))!;
    expect((await get(`/requests/${ref}`, { cookie: staffCookie(bob) })).status).toBe(403);
    // Paths that are no reference are not this page's.
    for (const p of ['/requests/UPG-1', '/requests/upg-000001x', '/requests/whatever']) {
      const res = await get(p);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('This link is incomplete');
    }
  });

  it('moves while the simulated run progresses, reloading itself until the request is final', async () => {
    const seenStates: string[] = [];
    let sawLiveRun = false;
    let stopChecked = false;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await get(link);
      expect(res.status).toBe(200);
      const html = await res.text();
      const status = statusIn(html)!;
      const state = runStateIn(html, 'edge-01')!;
      if (seenStates.at(-1) !== state) seenStates.push(state);
      if (LIVE.includes(status)) {
        // Refreshing while something can still move, and saying so.
        expect(refreshIn(html)).toBe('5');
        expect(html).toContain('This page reloads every 5 seconds');
        if (!stopChecked) {
          // The reader can stop the reloading; the link keeps its key.
          const stop = /<a href="([^"]+)">Stop reloading<\/a>/.exec(html)![1]!.replace(/&amp;/g, '&');
          expect(stop).toBe(`${link}&refresh=off`);
          const stopped = await (await get(stop)).text();
          if (LIVE.includes(statusIn(stopped)!)) {
            expect(refreshIn(stopped)).toBeUndefined();
            expect(stopped).toContain('This page no longer reloads by itself');
          }
          stopChecked = true;
        }
        if (status === 'in_progress') {
          sawLiveRun = true;
          const percent = /<progress max="100" value="(\d+)"[^>]*>(\d+) %<\/progress> (\d+) %/.exec(html);
          expect(percent).not.toBeNull();
          expect(new Set(percent!.slice(1)).size).toBe(1);
        }
      } else {
        expect(TERMINAL).toContain(status);
        expect(refreshIn(html)).toBeUndefined();
        break;
      }
      if (Date.now() > deadline) throw new Error(`the page did not reach a final status; states seen: ${seenStates.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(sawLiveRun).toBe(true);
    // The page showed the run moving through its states, ending done.
    expect(seenStates.length).toBeGreaterThanOrEqual(3);
    expect(seenStates.at(-1)).toBe('done');
    expect(stopChecked).toBe(true);
    expect(await waitForStatus(ref, TERMINAL, 1000)).toBe('completed');
  }, 45_000);

  it('shows the outcome, the schedule in the customer’s timezone and UTC, what to do next, the feedback and the timeline', async () => {
    expect(await as('bob@acme.example', `/upgrade problem ${ref} the fan is loud since the upgrade`)).toMatch(/problem/i);
    const drained = await bot.outbox.drain({ timeoutMs: 15_000 });
    expect(drained.timedOut).toBe(false);
    const res = await get(link);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    const request = (await bot.app.deps.store.requests.byRef(ref))!;

    expect(html).toContain(`<h1>${ref} · Acme Corp</h1>`);
    expect(statusIn(html)).toBe('completed');
    expect(refreshIn(html)).toBeUndefined();
    // Schedule: the customer's timezone (New York) and UTC.
    const when = formatInZone(request.schedule.at!, 'America/New_York');
    expect(when).toMatch(/E[SD]T \(UTC-0[45]:00\) · .*UTC$/);
    expect(html).toContain(escapeHtml(when));
    expect(html).toContain('Acme Corp’s timezone (America/New_York) and UTC');
    expect(html).toContain('30–60 minutes');
    // The devices table: one row per device, its state word, outcome and progress.
    expect(html).toContain('<table id="devices">');
    expect(html.match(/<tr data-device="/g)).toHaveLength(1);
    expect(runStateIn(html, 'edge-01')).toBe('done');
    expect(html).toContain('<progress max="100" value="100" aria-label="Progress of edge-01">100 %</progress> 100 %');
    expect(html).toContain('reports 7.1.0');
    // [000]: prerequisites, impact and the post-upgrade tasks of the release.
    expect(html).toContain('Open firewall ports 22, 80 and 8081 to the support network');
    expect(html).toContain('Reset the manager password');
    expect(html).toContain('Redeploy the Deployment Agent so it picks up the new server URL');
    // The completion feedback [003].
    expect(html).toContain('the upgrade is completed.');
    expect(html).toContain(`/upgrade problem ${ref} &lt;what happened&gt;`);
    // The timeline, oldest first: received, consent, the run's steps, notices, the problem report.
    const timeline = html.slice(html.indexOf('<ol class="timeline"'));
    const order = [
      'Request received via the console from Bob Stone',
      'Approved by Jane Doe via the console',
      'Upgrade started',
      'edge-01: prepare split → split',
      'edge-01: finish → done',
      'Upgrade finished: completed',
      'Problem reported by Bob Stone via the console',
    ].map((entry) => timeline.indexOf(entry));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(timeline).toContain('the fan is loud since the upgrade');
    expect(timeline).toMatch(/Notice “Approved” sent to [^<]*e-mail/);
    expect(timeline).toMatch(/Notice “Completed” sent to/);
    expect(timeline).toMatch(/Progress message sent to [^<]*<\/strong><div class="detail">Updated in place \d+ times?\./);
    const times = [...timeline.matchAll(/<li><time datetime="([^"]+)">/g)].map((m) => Date.parse(m[1]!));
    expect(times.length).toBeGreaterThan(10);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // What people typed is escaped; nobody's address is shown to whoever holds the link.
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; call (address hidden) first');
    for (const address of ADDRESSES) expect(html).not.toContain(address);
    expect(html).not.toMatch(/slack:|discord:|person:\d|email:/);
    // No staff navigation for a reader of the link.
    expect(html).not.toContain('href="/ops');
  });

  it('is linked from every e-mail the bot spooled about the request, and the link opens it', async () => {
    const outbox = path.join(dir, 'outbox');
    const mails = await Promise.all(readdirSync(outbox).filter((f) => f.endsWith('.eml')).map((f) => simpleParser(readFileSync(path.join(outbox, f)))));
    const about = mails.filter((m) => m.headers.get('x-upgrade-desk-reference') === ref);
    expect(about.length).toBeGreaterThanOrEqual(3);
    const expected = `${bot.url}${link}`;
    for (const mail of about) {
      expect(mail.text).toContain(`Follow this request: ${expected}`);
      expect(String(mail.html)).toContain(`<a href="${escapeHtml(expected)}">the status page of ${ref}</a>`);
    }
    const followed = /Follow this request: (\S+)/.exec(about[0]!.text ?? '')![1]!;
    const res = await fetch(followed, { redirect: 'manual' });
    expect(res.status).toBe(200);
    expect(statusIn(await res.text())).toBe('completed');
  });

  it('shows a rejected request with what the checks found, in its own customer’s timezone, without reloading', async () => {
    const filed = await dispatch(bot.app.registry, bot.app.deps, {
      id: 'greta-1',
      via: 'console',
      identity: { kind: 'email', address: 'greta@globex.example' },
      text: '/upgrade request device=gx-tenant-1 version=8.1.0 when=2027-03-06T02:00 mac=00:00:00:00:00:01 ip=198.51.100.20 serial=SN-2001',
    });
    const rejected = referenceIn(filed)!;
    expect((await bot.app.deps.store.requests.byRef(rejected))?.status).toBe('rejected');
    const res = await get(statusLinkPath(bot.app.deps.secretBox, rejected));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`<h1>${rejected} · Globex GmbH</h1>`);
    expect(statusIn(html)).toBe('rejected');
    expect(refreshIn(html)).toBeUndefined();
    expect(runStateIn(html, 'gx-tenant-1')).toBe('not_started');
    expect(html).toContain('hardware_mismatch');
    expect(html).toContain('Globex GmbH’s timezone (Europe/Berlin) and UTC');
    expect(html).toMatch(/CET \(UTC\+01:00\) · 01:00 UTC/);
    expect(html).not.toContain('greta@globex.example');
    // Its link opens only its own page.
    const key = statusLinkPath(bot.app.deps.secretBox, rejected).split('?key=')[1]!;
    expect((await get(`/requests/${ref}?key=${key}`)).status).toBe(403);
  });

  it('opens for signed-in staff without a key, with the addresses, the staff navigation and a way back to the dashboard', async () => {
    const alex = (await bot.app.deps.store.people.byEmail('alex@upgradedesk.example'))!;
    const cookie = staffCookie(alex);
    for (const p of [`/requests/${ref}`, `/requests/${ref}?key=wrong`]) {
      const res = await get(p, { cookie });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(statusIn(html)).toBe('completed');
      expect(html).toContain('bob@acme.example');
      expect(html).toContain('Approved by Jane Doe &lt;jane@acme.example&gt; via the console');
      expect(html).toContain('<a class="button secondary" href="/ops">Back to the dashboard</a>');
      const nav = html.slice(html.indexOf('<nav aria-label="Main">'), html.indexOf('</nav>'));
      expect([...nav.matchAll(/<a href="([^"]+)">([^<]+)<\/a>/g)].map((m) => [m[1]!.replace(/\/$/, ''), m[2]])).toEqual([
        ['/ops', 'Dashboard'],
        ['/ops/calendar', 'Calendar'],
        ['/ops/problems', 'Problems'],
        ['/ops/jobs', 'Jobs'],
      ]);
      expect(html).toMatch(/<form method="post" action="\/ops\/sign-out"><input type="hidden" name="_csrf" value="[^"]+"><button type="submit">Sign out<\/button><\/form>/);
      expect(html).toContain('Alex Agent');
      // Even staff see no destinations of the notices.
      expect(html).not.toMatch(/slack:|discord:|person:\d|email:/);
    }
    // Staff asking for a reference that does not exist are told so.
    const missing = await get('/requests/UPG-999999', { cookie });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('There is no request UPG-999999');
  });
});
