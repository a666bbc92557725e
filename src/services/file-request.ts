/**
 * Use case: file a single-device upgrade request. Every rule of SPEC §3 is checked against the
 * records; a request with errors is kept as `rejected` with its findings, otherwise it waits for
 * an authorized representative's consent. A command that cannot be read creates nothing.
 */
import type { Deps } from '../core/command.js';
import { ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { parseWhen } from '../domain/time.js';
import { hasErrors, validateItem, validateRequestLevel } from '../domain/validation.js';
import type { Channel, Customer, Device, Finding, Person, Release, Schedule } from '../domain/types.js';
import type { Repositories } from '../ports.js';
import { customerFor, draftBase, mayFile, scheduleRulesContext, storeNewRequest } from './intake.js';
import type { FormCommon } from './intake.js';
import type { RequestView } from './request-view.js';

/** The `/upgrade request` form, as typed or filled in. */
export interface RequestInput extends FormCommon {
  device: string;
  version: string;
  when: string;
  mac?: string;
  ip?: string;
  serial?: string;
  company?: string;
  phone?: string;
  /** File a jump of more than two major versions as consecutive steps [002]. */
  steps: boolean;
}

/** Maximum downtime of a sequence of steps of one product, with the [003] default for unknown releases. */
export async function stepsDowntime(tx: Repositories, product: string, steps: string[]): Promise<[number, number]> {
  let min = 0;
  let max = 0;
  for (const version of steps) {
    const release = await tx.releases.find(product, version);
    const [a, b] = release?.downtimeMinutes ?? [30, 60];
    min += a;
    max += b;
  }
  return [min, max];
}

/** Every finding the request would get, and what storing it needs. */
interface Checked {
  customer: Customer;
  device: Device | null;
  steps: string[];
  schedule: Schedule;
  /** Request-level findings (stored on the request). */
  checked: Finding[];
  /** The device's findings (stored on its item). */
  itemFindings: Finding[];
}

/** Checks a request against the records without storing anything; an unreadable time or unknown customer fails. */
async function checkRequest(tx: Repositories, person: Person, input: RequestInput, now: Date): Promise<Result<Checked>> {
  const customer = await customerFor(tx, person, input.company);
  if (!customer.ok) return customer;
  const allowed = mayFile(person, customer.value);
  if (!allowed.ok) return allowed;
  const when = parseWhen(input.when, customer.value.timezone, now);
  if (!when.ok) return when;

  const device = await tx.devices.findForCustomer(customer.value.id, input.device.trim());
  let release: Release | null = null;
  let available: string[] = [];
  let openRef: string | null = null;
  let groupMembers: Device[] = [];
  if (device) {
    release = await tx.releases.find(device.product, input.version.trim());
    available = (await tx.releases.forProduct(device.product)).map((r) => r.version);
    openRef = (await tx.requests.openForDevices([device.id])).get(device.id) ?? null;
    if (device.loadBalancerGroup) {
      groupMembers = (await tx.devices.inGroup(customer.value.id, device.loadBalancerGroup)).filter(
        (d) => d.id !== device.id,
      );
    }
  }
  const item = validateItem({
    device,
    deviceQuery: input.device,
    given: { mac: input.mac ?? null, ip: input.ip ?? null, serial: input.serial ?? null },
    release,
    targetVersion: input.version.trim(),
    availableVersions: available,
    allowSteps: input.steps,
    openRequestRef: openRef,
    groupMembers,
    requestedDeviceIds: device ? [device.id] : [],
  });
  const steps = item.findings.some((f) => f.severity === 'error') ? [input.version.trim()] : item.steps;
  const [, maxDowntime] = device ? await stepsDowntime(tx, device.product, steps) : [30, 60];
  const schedule = { mode: when.value.mode, at: when.value.mode === 'at' ? when.value.at : null };
  const requestFindings = validateRequestLevel({
    requesterKnown: true,
    customer: customer.value,
    form: { company: input.company ?? null, email: input.email ?? null, phone: input.phone ?? null },
    requesterContact: { email: person.email, phone: person.phone },
    schedule: { mode: schedule.mode, at: schedule.mode === 'now' ? now : schedule.at },
    downtimeMaxMinutes: maxDowntime,
    ...(await scheduleRulesContext(tx, customer.value, now)),
    hasManagerPassword: false,
  });
  // A staff member filing for a customer names the company to choose it, not to prove it.
  const checked: Finding[] =
    person.customerId === null ? requestFindings.filter((f) => f.field !== 'company') : requestFindings;
  return ok({ customer: customer.value, device, steps, schedule, checked, itemFindings: item.findings });
}

/**
 * The findings filing this request would give, without storing anything (forms use it to show
 * errors next to the fields before anything is filed).
 */
export async function previewRequest(deps: Deps, person: Person, input: RequestInput): Promise<Result<Finding[]>> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const result = await checkRequest(tx, person, input, now);
    if (!result.ok) return result;
    return ok([...result.value.checked, ...result.value.itemFindings]);
  });
}

/** Files the request; an unreadable time or a customer that cannot be determined creates nothing. */
export async function fileRequest(
  deps: Deps,
  person: Person,
  input: RequestInput,
  via: Channel,
  invocationId: string,
): Promise<Result<RequestView>> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const result = await checkRequest(tx, person, input, now);
    if (!result.ok) return result;
    const { customer, device, steps, schedule, checked, itemFindings } = result.value;
    const rejected = hasErrors([...checked, ...itemFindings]);
    const view = await storeNewRequest(
      deps,
      tx,
      {
        ...draftBase(person, customer, via, now, input),
        status: rejected ? 'rejected' : 'awaiting_consent',
        targetVersion: input.version.trim(),
        schedule,
        bulk: false,
        findings: device ? checked : [...checked, ...itemFindings],
        items: device
          ? steps.map((target, i) => ({
              deviceId: device.id,
              deviceName: device.name,
              seq: i,
              fromVersion: i === 0 ? device.version : (steps[i - 1] as string),
              targetVersion: target,
              findings: i === 0 ? itemFindings : [],
            }))
          : [],
      },
      person,
      invocationId,
    );
    return ok(view);
  });
}
