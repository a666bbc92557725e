/**
 * Use case: file one request over many devices of a customer [000]. Devices are chosen by name
 * list, `status:<device status>` or `product:<product>`. Every device is validated; the summary
 * shows each one. Records are loaded in bulk, so ten thousand devices stay a handful of queries.
 */
import type { Deps } from '../core/command.js';
import { fail, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { parseWhen } from '../domain/time.js';
import { hasErrors, validateItem, validateRequestLevel } from '../domain/validation.js';
import { DEVICE_STATUSES } from '../domain/types.js';
import type { Channel, Device, Finding, Person, Release } from '../domain/types.js';
import { customerFor, draftBase, scheduleRulesContext, storeNewRequest } from './intake.js';
import type { FormCommon } from './intake.js';
import type { RequestView } from './request-view.js';

/** The `/upgrade bulk` form. */
export interface BulkInput extends Omit<FormCommon, 'email'> {
  devices: string;
  version: string;
  when: string;
  company?: string;
}

/** Most devices one bulk request may cover. */
export const MAX_BULK_DEVICES = 20000;

/** Picks the customer's devices a selector names; unknown names are returned separately. */
export function selectDevices(all: Device[], selector: string): Result<{ devices: Device[]; unknown: string[] }> {
  const s = selector.trim();
  const prefixed = /^(status|product):(.+)$/i.exec(s);
  if (prefixed) {
    const key = (prefixed[1] as string).toLowerCase();
    const value = (prefixed[2] as string).trim().toLowerCase();
    if (key === 'status' && !(DEVICE_STATUSES as readonly string[]).includes(value)) {
      return fail('invalid_arguments', `"${value}" is not a device status; use one of ${DEVICE_STATUSES.join(', ')}.`);
    }
    const devices = all.filter((d) => (key === 'status' ? d.status === value : d.product.toLowerCase() === value));
    return ok({ devices, unknown: [] });
  }
  const names = s
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.length === 0) return fail('invalid_arguments', 'Name at least one device: devices=edge-01,edge-02.');
  const byKey = new Map<string, Device>();
  for (const d of all) {
    byKey.set(d.name.toLowerCase(), d);
    byKey.set(d.serial, d);
  }
  const chosen = new Map<number, Device>();
  const unknown: string[] = [];
  for (const n of names) {
    const d = byKey.get(n.toLowerCase()) ?? byKey.get(n);
    if (d) chosen.set(d.id, d);
    else unknown.push(n);
  }
  return ok({ devices: [...chosen.values()], unknown });
}

/** Files a bulk request; only an authorized representative or a platform admin may (no per-device hardware proof). */
export async function fileBulkRequest(
  deps: Deps,
  person: Person,
  input: BulkInput,
  via: Channel,
  invocationId: string,
): Promise<Result<RequestView>> {
  const now = deps.clock.now();
  if (!person.roles.includes('authorized_representative') && !person.roles.includes('platform_admin')) {
    return fail(
      'not_authorized',
      'Bulk requests skip the per-device MAC/IP/serial confirmation, so only an authorized representative (or a platform admin) may file them. File single requests with /upgrade request instead.',
    );
  }
  return deps.store.transaction(async (tx) => {
    const customer = await customerFor(tx, person, input.company);
    if (!customer.ok) return customer;
    const when = parseWhen(input.when, customer.value.timezone, now);
    if (!when.ok) return when;
    const all = await tx.devices.forCustomer(customer.value.id);
    const selected = selectDevices(all, input.devices);
    if (!selected.ok) return selected;
    const { devices, unknown } = selected.value;
    if (devices.length + unknown.length === 0) {
      return fail('unknown_device', `No device of ${customer.value.name} matches "${input.devices}".`);
    }
    if (devices.length > MAX_BULK_DEVICES) {
      return fail('invalid_arguments', `${devices.length} devices is more than one request may hold (${MAX_BULK_DEVICES}); split it.`);
    }
    const target = input.version.trim();
    const releasesByProduct = new Map<string, Release[]>();
    for (const product of new Set(devices.map((d) => d.product))) {
      releasesByProduct.set(product, await tx.releases.forProduct(product));
    }
    const open = await tx.requests.openForDevices(devices.map((d) => d.id));
    const groups = new Map<string, Device[]>();
    for (const d of all) {
      if (d.loadBalancerGroup) groups.set(d.loadBalancerGroup, [...(groups.get(d.loadBalancerGroup) ?? []), d]);
    }
    const requestedIds = devices.map((d) => d.id);
    const itemFindings: Finding[] = [];
    const items = [];
    let maxDowntime = 0;
    const lbWarned = new Set<string>();
    for (const [i, device] of devices.entries()) {
      const releases = releasesByProduct.get(device.product) ?? [];
      const release = releases.find((r) => r.version === target) ?? null;
      const result = validateItem({
        device,
        deviceQuery: device.name,
        given: null,
        release,
        targetVersion: target,
        availableVersions: releases.map((r) => r.version),
        allowSteps: false,
        openRequestRef: open.get(device.id) ?? null,
        groupMembers: device.loadBalancerGroup
          ? (groups.get(device.loadBalancerGroup) ?? []).filter((d) => d.id !== device.id)
          : [],
        requestedDeviceIds: requestedIds,
      });
      // One load-balancer warning per group is enough, not one per member.
      const findings = result.findings.filter((f) => {
        if (f.code !== 'load_balancer_group_incomplete' || !device.loadBalancerGroup) return true;
        if (lbWarned.has(device.loadBalancerGroup)) return false;
        lbWarned.add(device.loadBalancerGroup);
        return true;
      });
      itemFindings.push(...findings);
      maxDowntime = Math.max(maxDowntime, release?.downtimeMinutes[1] ?? 60);
      items.push({
        deviceId: device.id,
        deviceName: device.name,
        seq: i,
        fromVersion: device.version,
        targetVersion: target,
        findings,
      });
    }
    const unknownFindings: Finding[] = unknown.map((name) => ({
      code: 'unknown_device',
      severity: 'error',
      device: name,
      message: `${customer.value.name} has no device named "${name}" (or with that serial). Check the name with your records.`,
    }));
    const schedule = { mode: when.value.mode, at: when.value.mode === 'at' ? when.value.at : null };
    const requestFindings = validateRequestLevel({
      requesterKnown: true,
      customer: customer.value,
      form: {},
      schedule: { mode: schedule.mode, at: schedule.mode === 'now' ? now : schedule.at },
      downtimeMaxMinutes: maxDowntime || 60,
      ...(await scheduleRulesContext(tx, customer.value, now)),
      hasManagerPassword: false,
    });
    const findings = [...requestFindings, ...unknownFindings];
    const view = await storeNewRequest(
      deps,
      tx,
      {
        ...draftBase(person, customer.value, via, now, input),
        status: hasErrors([...findings, ...itemFindings]) ? 'rejected' : 'awaiting_consent',
        targetVersion: target,
        schedule,
        bulk: true,
        findings,
        items,
      },
      person,
      invocationId,
    );
    return ok(view);
  });
}
