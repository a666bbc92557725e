/** Use case: the coming platform maintenance windows and upgrade slots, in the person's timezone. */
import type { Deps } from '../core/command.js';
import { nextSlotStarts } from '../domain/time.js';
import type { MaintenanceWindow, Person, UpgradeSlot } from '../domain/types.js';

export interface WindowsOverview {
  timezone: string;
  maintenance: MaintenanceWindow[];
  slots: Array<{ slot: UpgradeSlot; next: Date[] }>;
}

/** Maintenance windows that have not ended, and the next three starts of each upgrade slot. */
export async function listWindows(deps: Deps, person: Person, now: Date): Promise<WindowsOverview> {
  const customer = person.customerId !== null ? await deps.store.customers.byId(person.customerId) : null;
  const maintenance = (await deps.store.windows.maintenance())
    .filter((m) => m.end.getTime() > now.getTime())
    .sort((a, b) => a.start.getTime() - b.start.getTime());
  const slots = (await deps.store.windows.slots(customer?.id ?? null)).map((slot) => ({
    slot,
    next: nextSlotStarts(slot.cron, slot.timezone, now, 3),
  }));
  return { timezone: customer?.timezone ?? 'UTC', maintenance, slots };
}
