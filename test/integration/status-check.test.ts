import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Device } from '../../src/domain/types.js';
import { HttpStatusChecker, versionFromBody } from '../../src/infra/status-check.js';
import { aDevice } from '../fakes/device.js';

const AT = new Date('2025-03-02T07:00:00Z');
const clock = { now: () => AT };

const device: Device = aDevice({ name: 'node-a', serial: 'SN-100007', mac: '02:00:00:00:00:07', ip: '198.51.100.7', version: '7.1.0' });

interface StatusServer {
  url: string;
  requests: IncomingMessage[];
}

const servers: Server[] = [];
const timers: NodeJS.Timeout[] = [];

/** A real HTTP server on 127.0.0.1 answering with `handler(n)` for its n-th request (1-based). */
async function serve(handler: (n: number, req: IncomingMessage, res: ServerResponse) => void): Promise<StatusServer> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(requests.length, req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** A port on 127.0.0.1 where nothing listens (it was just released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const json = (body: unknown, status = 200) => (_n: number, _req: IncomingMessage, res: ServerResponse) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

const on = (url: string): Device => ({ ...device, statusUrl: url });

const checker = (options: { timeoutMs?: number; retries?: number } = {}) =>
  new HttpStatusChecker({ timeoutMs: options.timeoutMs ?? 1000, retries: options.retries ?? 2, backoffMs: 20, clock });

afterEach(async () => {
  for (const t of timers.splice(0)) clearTimeout(t);
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    ),
  );
});

describe('the post-upgrade status check', () => {
  it('reads the version from a JSON answer and says it is the expected one', async () => {
    const { url } = await serve(json({ status: 'ok', version: '7.2.0' }));
    expect(await checker().check(on(`${url}/status`), '7.2.0')).toEqual({
      ok: true,
      version: '7.2.0',
      message: `${url}/status answered HTTP 200; it reports version 7.2.0, as expected`,
      at: AT,
    });
  });

  it('says when the device reports another version, while the check itself succeeds', async () => {
    const { url } = await serve(json({ status: 'ok', version: '7.1.0' }));
    const check = await checker().check(on(`${url}/status`), '7.2.0');
    expect(check).toMatchObject({ ok: true, version: '7.1.0' });
    expect(check.message).toContain('reports version 7.1.0, not the expected 7.2.0');
  });

  it('treats "v7.2" as the expected 7.2.0, so version === expected holds', async () => {
    const { url } = await serve(json({ version: 'v7.2' }));
    expect(await checker().check(on(url), '7.2.0')).toMatchObject({ ok: true, version: '7.2.0' });
  });

  it('finds an x.y.z version in a text answer', async () => {
    const { url } = await serve((_n, _req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Management Server</h1><p>Connected. Version 7.2.0 (build 5531)</p>'));
    expect(await checker().check(on(url), '7.2.0')).toMatchObject({ ok: true, version: '7.2.0' });
  });

  it('does not take a pre-release for the release', async () => {
    const { url } = await serve(json({ version: '7.2.0-rc1' }));
    expect(await checker().check(on(url), '7.2.0')).toMatchObject({ ok: true, version: '7.2.0-rc1' });
  });

  it('succeeds without a version when the answer names none', async () => {
    const { url } = await serve((_n, _req, res) => res.writeHead(204).end());
    const check = await checker().check(on(url), '7.2.0');
    expect(check).toMatchObject({ ok: true, version: null });
    expect(check.message).toBe(`${url}/ answered HTTP 204 without a version; cannot confirm 7.2.0`);
  });

  it('retries after a 500 and succeeds on the next answer', async () => {
    const server = await serve((n, req, res) => (n === 1 ? res.writeHead(500).end('starting') : json({ version: '7.2.0' })(n, req, res)));
    const check = await checker().check(on(`${server.url}/status`), '7.2.0');
    expect(check).toMatchObject({ ok: true, version: '7.2.0' });
    expect(check.message).toContain('(attempt 2)');
    expect(server.requests).toHaveLength(2);
  });

  it('gives up after the retries when the device keeps answering 500', async () => {
    const server = await serve((_n, _req, res) => res.writeHead(500).end('Internal error'));
    const check = await checker({ retries: 2 }).check(on(`${server.url}/status`), '7.2.0');
    expect(check).toEqual({
      ok: false,
      version: null,
      message: `${server.url}/status did not answer with success after 3 attempts: answered HTTP 500 Internal Server Error`,
      at: AT,
    });
    expect(server.requests).toHaveLength(3);
  });

  it('stops waiting for a slow device after the timeout', async () => {
    const server = await serve((_n, _req, res) => void timers.push(setTimeout(() => res.end('{"version":"7.2.0"}'), 5000)));
    const started = Date.now();
    const check = await checker({ timeoutMs: 200, retries: 1 }).check(on(server.url), '7.2.0');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(check).toMatchObject({ ok: false, version: null });
    expect(check.message).toBe(`${server.url}/ did not answer with success after 2 attempts: no answer within 200 ms`);
    expect(server.requests).toHaveLength(2);
  });

  it('stops waiting for a body that never ends', async () => {
    const server = await serve((_n, _req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"version":');
    });
    const check = await checker({ timeoutMs: 200, retries: 0 }).check(on(server.url), '7.2.0');
    expect(check).toMatchObject({ ok: false, message: expect.stringContaining('no answer within 200 ms') });
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();
    const check = await checker({ retries: 1 }).check(on(`http://127.0.0.1:${port}/status`), '7.2.0');
    expect(check).toMatchObject({ ok: false, version: null });
    expect(check.message).toBe(`http://127.0.0.1:${port}/status did not answer with success after 2 attempts: connection refused`);
  });

  it('cannot verify a device without a status URL', async () => {
    expect(await checker().check(device, '7.2.0')).toEqual({
      ok: false,
      version: null,
      message: 'no status URL on record; cannot verify the upgrade',
      at: AT,
    });
  });

  it.each([
    ['ftp://198.51.100.7/status', 'uses ftp, not http or https'],
    ['file:///etc/passwd', 'uses file, not http or https'],
    ['not a url', 'is not a valid URL'],
  ])('refuses to fetch %s', async (statusUrl, message) => {
    const check = await checker().check(on(statusUrl), '7.2.0');
    expect(check).toMatchObject({ ok: false, version: null });
    expect(check.message).toContain(message);
  });

  it('sends credentials in the URL as a header and never shows them', async () => {
    const server = await serve(json({ version: '7.2.0' }));
    const withCredentials = server.url.replace('http://', 'http://monitor:p%40ss@');
    const check = await checker().check(on(`${withCredentials}/status?token=abc`), '7.2.0');
    expect(check.ok).toBe(true);
    expect(server.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('monitor:p@ss').toString('base64')}`);
    expect(server.requests[0]?.url).toBe('/status?token=abc');
    expect(check.message).not.toMatch(/p%40ss|p@ss|monitor|token/);
  });
});

describe('reading a version from an answer', () => {
  it.each([
    ['{"status":"ok","version":"7.2.0"}', '7.2.0'],
    ['{"version":7.2}', '7.2'],
    ['{"status":"ok","uptime":"1.2.3"}', null],
    ['{"version":""}', null],
    ['Personalization Server 7.2.1 is running', '7.2.1'],
    ['build v10.0.3-rc1 ready', '10.0.3-rc1'],
    ['Version 7.2.0.', '7.2.0'],
    ['firmware 7.2.0.4', null],
    ['OK', null],
    ['', null],
    ['{not json 7.3.0', '7.3.0'],
  ])('%j → %j', (body, expected) => {
    expect(versionFromBody(body)).toBe(expected);
  });
});
