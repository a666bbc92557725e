/**
 * The web pages in a real browser: Debian's Chromium driven by playwright-core against the running
 * bot on 127.0.0.1. A customer fills the request form with a mistake and then correctly, the
 * representative confirms from the e-mailed approval link, the status page moves by itself while a
 * simulated run progresses, and an agent signs in to /ops by e-mailed link and presses Next on a
 * manual run. Screenshots go to test/artifacts/ (git-ignored). Skipped, with the reason printed,
 * where no Chromium can be had (set CHROMIUM_PATH to use another binary).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { chromium } from 'playwright-core';
import type { Browser, Locator, Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { dispatch } from '../../src/core/dispatch.js';
import { referenceIn } from '../../src/core/reply.js';
import { HttpStatusChecker } from '../../src/infra/status-check.js';
import { SimulateExecutor } from '../../src/infra/executors/simulate-executor.js';
import { startSimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import type { SimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import type { MailToSend, Mailer } from '../../src/infra/mailer.js';
import { startBot } from '../../src/main.js';
import type { RunningBot } from '../../src/main.js';
import { acmeFormValues } from '../fakes/acme-form.js';
import { until } from '../fakes/until.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = path.resolve('test/artifacts');
const quiet = new Writable({ write: (_c, _e, cb) => cb() });

const available = existsSync(CHROMIUM);
if (!available) {
  process.stdout.write(`web-browser tests skipped: no Chromium at ${CHROMIUM} (install Debian's chromium, or set CHROMIUM_PATH)\n`);
}
const describeWithBrowser = available ? describe : describe.skip;

/** A mailer that keeps what it is given, so the test can follow the links a person would. */
class RecordingMailer implements Mailer {
  readonly describe = 'recorded by the test';
  readonly sent: MailToSend[] = [];
  private seq = 0;
  async send(mail: MailToSend) {
    this.sent.push(mail);
    return { messageId: mail.messageId ?? `<browser-test-${++this.seq}@test>` };
  }
  async close() {}
  /** The first link to `path` in a mail to `address`, waiting (bounded) for the mail to be sent. */
  async linkTo(bot: RunningBot, address: string, pathPrefix: string): Promise<string> {
    const escaped = pathPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const pattern = new RegExp(`https?://[^\\s"'<>]+${escaped}[^\\s"'<>]*`);
    for (let attempt = 0; attempt < 50; attempt++) {
      await bot.outbox.drain({ timeoutMs: 5000 });
      for (const mail of this.sent) {
        const to = typeof mail.to === 'string' ? mail.to : mail.to.address;
        const found = to.toLowerCase() === address && pattern.exec(mail.text);
        if (found) return found[0].replace(/&amp;/g, '&');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no mail to ${address} with a link to ${pathPrefix}; mails: ${this.sent.map((m) => `${JSON.stringify(m.to)} ${m.subject}`).join(' | ')}`);
  }
}

/** Clicks a button that submits a form and waits until the answer page has loaded. */
async function submit(page: Page, button: Locator): Promise<void> {
  const navigated = page.waitForEvent('framenavigated', { timeout: 15_000 });
  await button.click();
  await navigated;
  await page.waitForLoadState('load');
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

interface Harness {
  bot: RunningBot;
  mailer: RecordingMailer;
  device: SimulatedDevice;
  dir: string;
  close(): Promise<void>;
}

async function startHarness(executor: 'simulate' | 'manual'): Promise<Harness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `upgrade-desk-browser-${executor}-`));
  const device = await startSimulatedDevice({ version: '5.2.0' });
  const mailer = new RecordingMailer();
  const config = loadConfig({ DATA_DIR: dir, PORT: '0', SMTP_INTAKE_PORT: '0', EXECUTOR: executor, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const bot = await startBot(config, {
    output: quiet,
    mailer,
    smtpIntake: false,
    ...(executor === 'simulate' ? { executor: new SimulateExecutor({ stepMs: 900, onFinish: (_d, version) => device.setVersion(version) }) } : {}),
    statusChecker: new HttpStatusChecker({ timeoutMs: 2000, retries: 1, backoffMs: 100 }),
    queueOptions: { lockLifetimeMs: 3000 },
    outboxPollMs: 50,
  });
  await bot.app.dataSource.query(`UPDATE devices SET "statusUrl" = ? WHERE name = 'edge-01'`, [device.statusUrl]);
  return {
    bot,
    mailer,
    device,
    dir,
    async close() {
      await bot.stop();
      await device.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeWithBrowser('the web pages in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, headless: true, timeout: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  describe('a customer who is not in chat', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness('simulate');
    }, 30_000);
    afterAll(async () => {
      await h?.close();
    });

    it('fills the form with a mistake, then correctly; the representative approves by e-mail; the status page follows the run', async () => {
      const context = await browser.newContext({ viewport: { width: 420, height: 900 } });
      const page = await context.newPage();
      try {
        // 1. The form, on a phone-sized screen, with a wrong MAC address.
        await page.goto(`${h.bot.url}/requests/new`);
        await expect(page.title()).resolves.toMatch(/request/i);
        const fill = async (values: Record<string, string>) => {
          for (const [key, value] of Object.entries(values)) await page.fill(`#f-${key}`, value);
          // Leave the last field as a person would (closes the suggestions list of "Preferred time").
          await page.keyboard.press('Tab');
        };
        const { notes: _notes, ...bobsForm } = acmeFormValues({ contact: 'Bob Stone', email: 'bob@acme.example', mac: '00:1A:2B:3C:4D:99', when: 'now' });
        await fill(bobsForm as Record<string, string>);
        await shot(page, '01-request-form-filled');
        await submit(page, page.getByRole('button', { name: 'Send request' }));
        const macField = page.locator('.field.invalid').filter({ has: page.locator('#f-mac') });
        await expect(macField.count()).resolves.toBe(1);
        await expect(macField.innerText()).resolves.toMatch(/MAC/i);
        await expect(page.locator('#f-mac').getAttribute('aria-invalid')).resolves.toBe('true');
        // The user's values are kept for the correction.
        await expect(page.inputValue('#f-device')).resolves.toBe('edge-01');
        await shot(page, '02-request-form-mistake');

        // 2. Corrected: the reference and what happens next.
        await fill({ mac: '00-1a-2b-3c-4d-5e' });
        await Promise.all([page.waitForURL(/\/requests\/new\/sent\//), page.getByRole('button', { name: 'Send request' }).click()]);
        const body = await page.locator('main').innerText();
        const ref = /UPG-\d{6}/.exec(body)?.[0];
        expect(ref).toBeDefined();
        expect(body).toMatch(/approv/i);
        await shot(page, '03-request-sent');
        const filed = await h.bot.app.deps.store.requests.byRef(ref!);
        expect(filed).toMatchObject({ status: 'awaiting_consent', via: 'web' });

        // 3. Jane, the authorized representative, opens the link in her e-mail and approves.
        const approveLink = await h.mailer.linkTo(h.bot, 'jane@acme.example', '/approve/');
        await page.goto(approveLink);
        await expect(page.locator('h1').innerText()).resolves.toContain(ref!);
        await shot(page, '04-approval-page');
        await submit(page, page.getByRole('button', { name: `Approve ${ref}` }));
        await expect(page.locator('h1').innerText()).resolves.toMatch(/approved/i);
        await shot(page, '05-approved');

        // 4. Bob follows the signed link from his e-mail; the page reloads itself as the run moves.
        const statusLink = await h.mailer.linkTo(h.bot, 'bob@acme.example', `/requests/${ref}?key=`);
        await page.goto(statusLink);
        const seen: string[] = [];
        const runStates: string[] = [];
        let shots = 0;
        for (let loads = 0; loads < 40; loads++) {
          const status = (await page.locator('#request-status').innerText()).trim().toLowerCase();
          const state = (await page.locator('#devices tr[data-device="edge-01"] .run-state').innerText()).trim().toLowerCase();
          if (seen.at(-1) !== status) seen.push(status);
          if (runStates.at(-1) !== state) {
            runStates.push(state);
            await shot(page, `06-status-${String(++shots).padStart(2, '0')}-${state.replace(/\W+/g, '-')}`);
          }
          if (/^completed|failed|aborted/.test(status)) break;
          // The page refreshes itself (meta refresh) while the request is not final.
          await page.waitForEvent('load', { timeout: 15_000 });
        }
        expect(seen.at(-1)).toMatch(/^completed/);
        expect(seen.some((s) => /in.progress/.test(s))).toBe(true);
        expect(runStates.length).toBeGreaterThanOrEqual(2);
        await expect(page.locator('meta[http-equiv="refresh"]').count()).resolves.toBe(0);
        const final = await page.locator('main').innerText();
        expect(final).toMatch(/Jane Doe/);
        expect(final).not.toContain('jane@acme.example');
      } finally {
        await context.close();
      }
    }, 120_000);
  });

  describe('an agent on the ops dashboard', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness('manual');
    }, 30_000);
    afterAll(async () => {
      await h?.close();
    });

    it('signs in by e-mailed link and presses Next on a manual run', async () => {
      const { bot } = h;
      const run = async (address: string, text: string) =>
        dispatch(bot.app.registry, bot.app.deps, { id: `b${Date.now()}`, via: 'console', identity: { kind: 'email', address }, text });
      const filed = await run('bob@acme.example', '/upgrade request device=edge-01 version=7.1.0 when=now mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001');
      const ref = referenceIn(filed);
      expect(ref).not.toBeNull();
      const approved = await run('jane@acme.example', `/upgrade approve ${ref}`);
      expect(approved.error).toBeUndefined();
      const store = bot.app.deps.store;
      const itemId = (await store.requests.byRef(ref!))!.items[0]!.id;
      // The manual executor waits for an agent once the request is in progress.
      const started = await until(async () => {
        const request = await store.requests.byRef(ref!);
        const r = await store.runs.forItem(itemId);
        return request?.status === 'in_progress' && r && r.condition === 'ok' ? r : null;
      }, 'the run to start');

      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      try {
        await page.goto(`${bot.url}/ops`);
        await page.waitForURL(/\/ops\/sign-in/);
        await page.fill('#email', 'alex@upgradedesk.example');
        await shot(page, '10-ops-sign-in');
        await submit(page, page.getByRole('button', { name: 'Send me a sign-in link' }));
        const link = await h.mailer.linkTo(bot, 'alex@upgradedesk.example', '/ops/sign-in/');
        await page.goto(link);
        await Promise.all([page.waitForURL(/\/ops(\?|$)/), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
        await expect(page.locator('header').innerText()).resolves.toContain('Alex Agent');
        const row = page.locator(`#runs [data-ref="${ref}"]`);
        await expect(row.count()).resolves.toBeGreaterThan(0);
        await shot(page, '11-ops-dashboard');
        await submit(page, row.first().getByRole('button', { name: 'Next', exact: true }));
        await shot(page, '12-ops-after-next');
        const advanced = await until(async () => {
          const r = await store.runs.forItem(itemId);
          return r && r.state !== started.state ? r : null;
        }, 'the run to advance after Next');
        expect(advanced.state).not.toBe(started.state);
        const events = await store.runs.events(advanced.id);
        expect(events.some((e) => e.actor === 'alex@upgradedesk.example' || JSON.stringify(e).includes('alex@upgradedesk.example'))).toBe(true);
      } finally {
        await context.close();
      }
    }, 90_000);
  });
});
