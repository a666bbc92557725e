/**
 * The JSON API of the running bot over real HTTP on 127.0.0.1: bearer token, the request shape of
 * SPEC §8, filing through the same dispatcher as chat, the OpenAPI document, and the health checks.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { startBot } from '../../src/main.js';
import type { RunningBot } from '../../src/main.js';

const TOKEN = 'test-api-token-0123456789';
const quiet = new Writable({ write: (_c, _e, cb) => cb() });
let dir: string;
let bot: RunningBot;

const EDGE01 = { device: 'edge-01', version: '7.1.0', when: 'window', mac: '00-1a-2b-3c-4d-5e', ip: '203.0.113.10', serial: 'SN-1001' };

function api(p: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const token = init.token === undefined ? TOKEN : init.token;
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${bot.url}${p}`, { ...init, headers });
}

function post(body: unknown, token?: string | null): Promise<Response> {
  return api('/api/requests', { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), token });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-api-'));
  const config = loadConfig({ DATA_DIR: dir, PORT: '0', SMTP_INTAKE_PORT: '0', API_TOKEN: TOKEN, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
  bot = await startBot(config, { output: quiet, smtpIntake: false, queueOptions: { lockLifetimeMs: 3000 } });
}, 30_000);

afterAll(async () => {
  await bot?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the JSON API', () => {
  it('refuses a missing or wrong token with 401 and says how to send it', async () => {
    for (const token of [null, 'wrong-token-wrong-token']) {
      const res = await api('/api/requests', { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toMatchObject({ error: 'unauthorized' });
    }
  });

  it('files a request as a person on record through the same checks as chat, and reads it back in the SPEC shape', async () => {
    const res = await post({ requester: 'bob@acme.example', ...EDGE01, note: 'call Bob first' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { ref: string };
    expect(res.headers.get('location')).toBe(`/api/requests/${body.ref}`);
    expect(body).toEqual({
      ref: expect.stringMatching(/^UPG-\d{6}$/),
      status: 'awaiting_consent',
      customer: 'Acme Corp',
      devices: [{ name: 'edge-01', status: 'pending', runState: null }],
      targetVersion: '7.1.0',
      schedule: { mode: 'window', at: null },
      findings: expect.arrayContaining([expect.objectContaining({ code: 'missing_manager_password', severity: 'warning' })]),
      approvals: [],
    });
    expect((await bot.app.deps.store.requests.byRef(body.ref))?.via).toBe('api');
    const one = await api(`/api/requests/${body.ref}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual(body);
    const list = (await (await api('/api/requests?status=awaiting_consent&customer=acme%20corp')).json()) as { requests: Array<{ ref: string }> };
    expect(list.requests.map((r) => r.ref)).toContain(body.ref);
    const none = (await (await api('/api/requests?customer=Globex%20GmbH')).json()) as { requests: unknown[] };
    expect(none.requests).toEqual([]);
  });

  it('keeps a request that breaks a rule as rejected, with its findings', async () => {
    const res = await post({ requester: 'greta@globex.example', device: 'gx-tenant-1', version: '7.1.0', when: 'window', mac: '00:00:00:00:00:01', ip: '198.51.100.1', serial: 'SN-2001' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { status: string; findings: Array<{ code: string }> };
    expect(body.status).toBe('rejected');
    expect(body.findings.map((f) => f.code)).toContain('hardware_mismatch');
  });

  it('answers bad input with a clear error and a stable code, and files nothing', async () => {
    const before = (await bot.app.deps.store.requests.list({ limit: 500 })).length;
    const cases: Array<[unknown, number, string]> = [
      ['{not json', 400, 'invalid_json'],
      [[1, 2], 400, 'invalid_arguments'],
      [{ ...EDGE01 }, 400, 'invalid_arguments'],
      [{ requester: 'bob@acme.example', ...EDGE01, colour: 'blue' }, 400, 'invalid_arguments'],
      [{ requester: 'bob@acme.example', ...EDGE01, forced: 'yes' }, 400, 'invalid_arguments'],
      [{ requester: 'bob@acme.example', device: 'edge-01' }, 400, 'invalid_arguments'],
      [{ requester: 'mallory@evil.example', ...EDGE01 }, 403, 'unknown_requester'],
    ];
    for (const [body, status, code] of cases) {
      const res = await post(body);
      expect({ body, status: res.status, json: await res.json() }).toEqual({ body, status, json: expect.objectContaining({ error: code, message: expect.any(String) }) });
    }
    expect((await bot.app.deps.store.requests.list({ limit: 500 })).length).toBe(before);
    expect((await api('/api/requests/UPG-999999')).status).toBe(404);
    expect((await api('/api/requests/not-a-ref')).status).toBe(404);
    expect((await api('/api/requests?status=done')).status).toBe(400);
    expect((await api('/api/requests?limit=0')).status).toBe(400);
    expect((await api('/api/nothing')).status).toBe(404);
  });

  it('describes itself in an OpenAPI document, readable without a token', async () => {
    const res = await fetch(`${bot.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/requests', '/api/requests/{ref}']);
    expect(Object.keys(doc.paths['/api/requests']!).sort()).toEqual(['get', 'post']);
  });

  it('reports health and readiness (database and queue)', async () => {
    const health = await fetch(`${bot.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${bot.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: true, queue: true });
  });
});

describe('the JSON API without API_TOKEN', () => {
  it('is switched off with 503', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-api-off-'));
    const off = await startBot(loadConfig({ DATA_DIR: other, PORT: '0', LOG_LEVEL: 'silent' }), { output: quiet, smtpIntake: false, noDemoRecords: true, queueOptions: { lockLifetimeMs: 2000 } });
    try {
      const res = await fetch(`${off.url}/api/requests`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: 'api_disabled' });
    } finally {
      await off.stop();
      rmSync(other, { recursive: true, force: true });
    }
  }, 30_000);
});
