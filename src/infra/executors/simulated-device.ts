/**
 * A pretend appliance for the demo and tests: a real HTTP server on 127.0.0.1 whose GET /status
 * answers `{ "status": "ok", "version": "<version>" }`, so the post-upgrade check is real HTTP.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running simulated device. */
export interface SimulatedDevice {
  /** Base URL, e.g. http://127.0.0.1:43121 */
  readonly url: string;
  /** The URL to record as the device's status URL (`${url}/status`). */
  readonly statusUrl: string;
  /** The version GET /status reports now. */
  readonly version: string;
  /** Changes the reported version (the simulate executor calls this when a run finishes). */
  setVersion(version: string): void;
  /** While down, GET /status answers 503 (to show a failed post-upgrade check). */
  setDown(down: boolean): void;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

/** Starts a simulated device on 127.0.0.1 (an ephemeral port unless `port` is given). */
export async function startSimulatedDevice(options: { version: string; port?: number }): Promise<SimulatedDevice> {
  let version = options.version;
  let down = false;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/status') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
      return;
    }
    if (down) {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'starting' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', version }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    statusUrl: `${url}/status`,
    get version() {
      return version;
    },
    setVersion(v) {
      version = v;
    },
    setDown(d) {
      down = d;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
