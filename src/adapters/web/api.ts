/**
 * The JSON API for other programs, under `/api` (bearer API_TOKEN): list and read requests in the
 * shape of SPEC §8, and file a request through the same dispatcher as chat, as a person on
 * record. `/api/openapi.json` describes it. The API translates and never decides: a filed request
 * is judged by the services exactly as a typed one, and waits for consent like any other.
 */
import { timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { quoteWord } from '../../core/args.js';
import type { Deps } from '../../core/command.js';
import { dispatch } from '../../core/dispatch.js';
import { referenceIn } from '../../core/reply.js';
import type { Registry } from '../../core/dispatch.js';
import { REQUEST_STATUSES, parseRef } from '../../domain/types.js';
import type { RequestStatus } from '../../domain/types.js';
import { allRequests } from '../../services/query-requests.js';
import { toRequestJson } from '../../services/request-view.js';
import { OPENAPI_DOCUMENT } from './openapi.js';

export interface ApiOptions {
  deps: Deps;
  registry: Registry;
  /** API_TOKEN; without it the API answers 503 (switched off). */
  token?: string;
  newId: () => string;
}

/** Largest JSON body accepted. */
const MAX_BODY = '32kb';

/** Most requests one list answer holds. */
const MAX_LIMIT = 1000;

/** The fields of POST /api/requests that become `key=value` words, and the flags. */
const VALUE_FIELDS = ['device', 'version', 'when', 'mac', 'ip', 'serial', 'company', 'email', 'phone', 'note'] as const;
const FLAG_FIELDS = ['forced', 'redeploy', 'notify_partner', 'notify_customer', 'steps'] as const;

/** HTTP status of an error code from the dispatcher. */
function statusOf(code: string): number {
  if (code === 'unknown_requester' || code === 'not_authorized') return 403;
  if (code === 'invalid_arguments' || code === 'unclosed_quote' || code.startsWith('invalid_')) return 400;
  if (code === 'internal_error') return 500;
  return 422;
}

function problem(res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  res.status(status).json({ error: code, message, ...extra });
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The API router, to mount at `/api`. */
export function apiRouter(options: ApiOptions): Router {
  const { deps, registry } = options;
  const router = express.Router();

  router.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI_DOCUMENT);
  });

  router.use((req: Request, res: Response, next: NextFunction) => {
    if (!options.token) return problem(res, 503, 'api_disabled', 'The API is switched off: set API_TOKEN to use it.');
    const header = req.get('authorization') ?? '';
    const given = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!given || !sameToken(given, options.token)) {
      res.set('www-authenticate', 'Bearer realm="upgrade-desk"');
      return problem(res, 401, 'unauthorized', 'Send the API token as "Authorization: Bearer <API_TOKEN>".');
    }
    next();
  });

  router.get('/requests', async (req, res) => {
    const statusText = typeof req.query.status === 'string' ? req.query.status : '';
    const statuses = statusText ? statusText.split(',').map((s) => s.trim()) : [];
    const unknown = statuses.filter((s) => !(REQUEST_STATUSES as readonly string[]).includes(s));
    if (unknown.length) return problem(res, 400, 'invalid_arguments', `Unknown status ${unknown.join(', ')}; one of ${REQUEST_STATUSES.join(', ')}.`);
    const limitText = typeof req.query.limit === 'string' ? req.query.limit : '100';
    const limit = /^\d+$/.test(limitText) ? Number(limitText) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return problem(res, 400, 'invalid_arguments', `limit must be a whole number 1-${MAX_LIMIT}.`);
    const customer = typeof req.query.customer === 'string' ? req.query.customer.trim().toLowerCase() : '';
    const found = await allRequests(deps, customer ? MAX_LIMIT * 10 : limit, statuses.length ? (statuses as RequestStatus[]) : undefined);
    const requests = found
      .filter((r) => !customer || r.customer.toLowerCase() === customer)
      .slice(0, limit)
      .map((r) => toRequestJson(r.request, r.customer));
    res.json({ requests });
  });

  router.get('/requests/:ref', async (req, res) => {
    const ref = String(req.params.ref ?? '');
    const request = parseRef(ref) === null ? null : await deps.store.requests.byRef(ref);
    if (!request) return problem(res, 404, 'unknown_request', `There is no request ${ref.slice(0, 40)}.`);
    const customer = await deps.store.customers.byId(request.customerId);
    res.json(toRequestJson(request, customer?.name ?? '?'));
  });

  router.post('/requests', express.json({ limit: MAX_BODY, strict: true }), async (req, res) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return problem(res, 400, 'invalid_arguments', 'Send a JSON object (Content-Type: application/json).');
    }
    const fields = body as Record<string, unknown>;
    const requester = typeof fields.requester === 'string' ? fields.requester.trim() : '';
    if (!requester) return problem(res, 400, 'invalid_arguments', '"requester" (the e-mail of a person on record) is required.');
    const known = new Set<string>(['requester', ...VALUE_FIELDS, ...FLAG_FIELDS]);
    const extra = Object.keys(fields).filter((k) => !known.has(k));
    if (extra.length) return problem(res, 400, 'invalid_arguments', `Unknown field ${extra.join(', ')}.`, { fields: [...known] });
    const words = ['/upgrade request'];
    for (const key of VALUE_FIELDS) {
      const value = fields[key];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string') return problem(res, 400, 'invalid_arguments', `"${key}" must be a string.`);
      words.push(`${key}=${quoteWord(value)}`);
    }
    for (const key of FLAG_FIELDS) {
      const value = fields[key];
      if (value === undefined || value === false) continue;
      if (value !== true) return problem(res, 400, 'invalid_arguments', `"${key}" must be true or false.`);
      words.push(key);
    }
    const reply = await dispatch(registry, deps, { id: options.newId(), via: 'api', identity: { kind: 'email', address: requester }, text: words.join(' ') });
    if (reply.error) return problem(res, statusOf(reply.error.code), reply.error.code, reply.error.message, reply.error.hint ? { hint: reply.error.hint } : {});
    const ref = referenceIn(reply);
    const request = ref ? await deps.store.requests.byRef(ref) : null;
    if (!request) return problem(res, 500, 'internal_error', 'The request was filed but cannot be read back.');
    const customer = await deps.store.customers.byId(request.customerId);
    res.status(201).location(`/api/requests/${request.ref}`).json(toRequestJson(request, customer?.name ?? '?'));
  });

  router.use((_req: Request, res: Response) => problem(res, 404, 'not_found', 'No such API route; see /api/openapi.json.'));
  router.use((error: Error & { type?: string; status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    if (error.type === 'entity.parse.failed') return problem(res, 400, 'invalid_json', 'The body is not valid JSON.');
    if (error.type === 'entity.too.large') return problem(res, 413, 'too_large', `The body is larger than ${MAX_BODY}.`);
    deps.log.error({ err: error }, 'API request failed');
    problem(res, 500, 'internal_error', 'Something went wrong on our side; nothing was changed by the failed step.');
  });
  return router;
}
