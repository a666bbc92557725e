/** Use case: the releases a person can ask for — their company's products, or all for staff. */
import type { Deps } from '../core/command.js';
import { isStaff } from '../domain/roles.js';
import { compareVersions } from '../domain/versions.js';
import type { Person, Release } from '../domain/types.js';

/** Releases, by product then newest first; `product` filters case-insensitively. */
export async function listReleases(deps: Deps, person: Person, product?: string): Promise<Release[]> {
  let releases = await deps.store.releases.list();
  if (!isStaff(person) && person.customerId !== null) {
    const own = new Set((await deps.store.devices.forCustomer(person.customerId)).map((d) => d.product.toLowerCase()));
    releases = releases.filter((r) => own.has(r.product.toLowerCase()));
  }
  if (product) releases = releases.filter((r) => r.product.toLowerCase() === product.trim().toLowerCase());
  return releases.sort((a, b) => a.product.localeCompare(b.product) || compareVersions(b.version, a.version));
}
