/**
 * The post-upgrade check [002]: fetch the device's status URL and expect success. Only http and
 * https URLs are fetched; each attempt has its own timeout, failures are retried with backoff,
 * and the answer's version (JSON `version` field, or an x.y.z in a text body) is reported.
 */
import { parseVersion } from '../domain/versions.js';
import type { Device } from '../domain/types.js';
import type { Clock, PostCheck, StatusChecker } from '../ports.js';

/** Timeouts, retries and limits of an HttpStatusChecker; every field has a default. */
export interface HttpStatusCheckerOptions {
  /** Time one attempt may take, body included (default 5000 ms). */
  timeoutMs?: number;
  /** Attempts after the first when the answer is not 2xx or does not come (default 3). */
  retries?: number;
  /** Wait before the first retry; doubles for each further one, at most 30 s (default 1000 ms). */
  backoffMs?: number;
  /** Bytes of the answer read at most (default 64 KiB). */
  maxBodyBytes?: number;
  clock?: Clock;
}

/** The longest single wait between attempts. */
const MAX_BACKOFF_MS = 30_000;

/** Friendly wording for common network error codes. */
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed unexpectedly',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

/** Reads at most `max` bytes of the body as text, dropping the rest. */
async function readBody(response: Response, max: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** The version an answer states: the JSON `version` field, or an x.y.z in a text body. */
export function versionFromBody(body: string): string | null {
  const text = body.trim();
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as unknown;
      if (json && typeof json === 'object') {
        const v = (json as Record<string, unknown>).version;
        return typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : null;
      }
    } catch {
      // Not JSON after all: read it as text.
    }
  }
  return /(?<![\w.])v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.]*[0-9A-Za-z])?)(?!\w|\.\d)/i.exec(text)?.[1] ?? null;
}

/** Whether two versions name the same release ("7.2" and "v7.2.0" do). */
function sameVersion(a: string, b: string): boolean {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) return a.trim() === b.trim();
  return pa.major === pb.major && pa.minor === pb.minor && pa.patch === pb.patch;
}

/** Why an attempt failed, in words. */
function describeError(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = e?.cause?.code;
  if (code) return NETWORK_ERRORS[code] ?? `${code}${e.cause?.message ? ` (${e.cause.message})` : ''}`;
  return e?.cause?.message ?? e?.message ?? String(error);
}

/**
 * Checks a device's status URL over HTTP. Never throws. `ok` is true when the URL answered 2xx;
 * `version` is what the device said (normalized to `expectedVersion` when it names the same
 * release, so `version === expectedVersion` means "verifiably on the target version").
 */
export class HttpStatusChecker implements StatusChecker {
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBodyBytes: number;
  private readonly clock: Clock;

  constructor(options: HttpStatusCheckerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.retries = Math.max(0, Math.floor(options.retries ?? 3));
    this.backoffMs = Math.max(0, options.backoffMs ?? 1000);
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
    this.clock = options.clock ?? { now: () => new Date() };
  }

  /** Fetches device.statusUrl (with retries) and reports success, the version, and a readable message. */
  async check(device: Device, expectedVersion: string): Promise<PostCheck> {
    const result = (ok: boolean, version: string | null, message: string): PostCheck => ({ ok, version, message, at: this.clock.now() });
    if (!device.statusUrl) return result(false, null, 'no status URL on record; cannot verify the upgrade');
    let url: URL;
    try {
      url = new URL(device.statusUrl);
    } catch {
      return result(false, null, 'the status URL on record is not a valid URL; cannot verify the upgrade');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return result(false, null, `the status URL on record uses ${url.protocol.replace(/:$/, '')}, not http or https; cannot verify the upgrade`);
    }
    // Credentials in the URL go into a header (fetch refuses them in the URL) and never into messages.
    const headers: Record<string, string> = { accept: 'application/json, text/plain;q=0.9, */*;q=0.5' };
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    const shown = `${url.origin}${url.pathname}`;
    const attempts = this.retries + 1;
    let lastError = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.backoffMs * 2 ** (attempt - 2), MAX_BACKOFF_MS)));
      }
      try {
        const response = await fetch(url, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
        if (!response.ok) {
          await response.body?.cancel().catch(() => undefined);
          lastError = `answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
          continue;
        }
        const reported = versionFromBody(await readBody(response, this.maxBodyBytes));
        const after = attempt > 1 ? ` (attempt ${attempt})` : '';
        if (reported === null) {
          return result(true, null, `${shown} answered HTTP ${response.status}${after} without a version; cannot confirm ${expectedVersion}`);
        }
        if (sameVersion(reported, expectedVersion)) {
          return result(true, expectedVersion, `${shown} answered HTTP ${response.status}${after}; it reports version ${reported}, as expected`);
        }
        return result(true, reported, `${shown} answered HTTP ${response.status}${after} but reports version ${reported}, not the expected ${expectedVersion}`);
      } catch (error) {
        lastError = describeError(error, this.timeoutMs);
      }
    }
    const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
    return result(false, null, `${shown} did not answer with success after ${tries}: ${lastError}`);
  }
}
