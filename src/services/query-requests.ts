/**
 * Use cases: show one request, and list requests. Customers see their own company's requests;
 * support staff see everyone's.
 */
import type { Deps } from '../core/command.js';
import { OPEN_REQUEST_STATUSES } from '../domain/types.js';
import type { Person, RequestStatus, UpgradeRequest } from '../domain/types.js';
import { isStaff } from '../domain/roles.js';
import { ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { findRequest } from './decide-request.js';
import { loadView } from './request-view.js';
import type { RequestView } from './request-view.js';

/** One request as the person may see it. */
export async function requestStatus(deps: Deps, person: Person, refText: string): Promise<Result<RequestView>> {
  const found = await findRequest(deps.store, person, refText);
  if (!found.ok) return found;
  return ok(await loadView(deps.store, found.value));
}

/** Requests the person may see, most recent first: open ones, or all. */
export async function listRequests(
  deps: Deps,
  person: Person,
  scope: 'open' | 'all',
  limit = 50,
): Promise<Array<{ request: UpgradeRequest; customer: string }>> {
  const filter = {
    ...(isStaff(person) ? {} : { customerId: person.customerId ?? -1 }),
    ...(scope === 'open' ? { statuses: OPEN_REQUEST_STATUSES } : {}),
    limit,
  };
  const requests = await deps.store.requests.list(filter);
  const names = new Map<number, string>();
  const out = [];
  for (const request of requests) {
    if (!names.has(request.customerId)) {
      names.set(request.customerId, (await deps.store.customers.byId(request.customerId))?.name ?? '?');
    }
    out.push({ request, customer: names.get(request.customerId) as string });
  }
  return out;
}

/** Every request with its customer's name, for `upgrade-desk requests` (staff view). */
export async function allRequests(
  deps: Deps,
  limit: number,
  statuses?: readonly RequestStatus[],
): Promise<Array<{ request: UpgradeRequest; customer: string }>> {
  const requests = await deps.store.requests.list(statuses ? { limit, statuses } : { limit });
  const customers = new Map((await deps.store.customers.list()).map((c) => [c.id, c.name]));
  return requests.map((request) => ({ request, customer: customers.get(request.customerId) ?? '?' }));
}
