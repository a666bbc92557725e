/**
 * How a request is shown: the summary of [000] (prerequisites, impact, downtime, post-upgrade
 * tasks) as a Reply, and the JSON shape of SPEC §8 that other programs rely on.
 */
import { actions, fields, findingsBlock, list, reply, table, text, timeMark } from '../core/reply.js';
import type { Block, Reply } from '../core/reply.js';
import { formatInZone } from '../domain/time.js';
import type { Customer, Device, Finding, Person, Release, RequestItem, UpgradeRequest } from '../domain/types.js';
import type { Repositories } from '../ports.js';

/** A request with the records needed to describe it. */
export interface RequestView {
  request: UpgradeRequest;
  customer: Customer;
  requester: Person | null;
  /** Release per item target, keyed "product@version"; missing when unknown. */
  releases: Map<string, Release>;
  /** Product per device id. */
  products: Map<number, string>;
  /** Record status per device id. */
  deviceStatus: Map<number, string>;
}

/**
 * The devices with these ids (of a request of `customerId`), keyed by id; missing ones are absent.
 * A bulk request's ten thousand devices cost a query per few hundred, not one each, and are
 * never all held as rows and entities at once.
 */
export async function devicesById(tx: Repositories, _customerId: number, ids: Iterable<number>): Promise<Map<number, Device>> {
  const found = new Map<number, Device>();
  for (const d of await tx.devices.byIds([...new Set(ids)])) found.set(d.id, d);
  return found;
}

/** Loads what describing the request needs. */
export async function loadView(tx: Repositories, request: UpgradeRequest): Promise<RequestView> {
  const customer = await tx.customers.byId(request.customerId);
  if (!customer) throw new Error(`customer ${request.customerId} of ${request.ref} is missing`);
  const requester = await tx.people.byId(request.requesterId);
  const releases = new Map<string, Release>();
  const products = new Map<number, string>();
  const deviceStatus = new Map<number, string>();
  const devices = await devicesById(tx, request.customerId, request.items.map((i) => i.deviceId));
  for (const item of request.items) {
    if (!products.has(item.deviceId)) {
      const device = devices.get(item.deviceId);
      if (device) {
        products.set(item.deviceId, device.product);
        deviceStatus.set(item.deviceId, device.status);
      }
    }
    const product = products.get(item.deviceId);
    const key = `${product}@${item.targetVersion}`;
    if (product && !releases.has(key)) {
      const release = await tx.releases.find(product, item.targetVersion);
      if (release) releases.set(key, release);
    }
  }
  return { request, customer, requester, releases, products, deviceStatus };
}

/** Per-device status inside a request: pending, in_progress, or the run's outcome. */
export function itemStatus(request: UpgradeRequest, item: RequestItem): string {
  if (item.findings.some((f) => f.severity === 'error')) return 'rejected';
  if (request.status === 'cancelled' || request.status === 'rejected') return request.status;
  const run = item.run;
  if (!run) return 'pending';
  if (run.outcome !== 'pending') return run.outcome;
  return run.state === 'idle' ? 'pending' : 'in_progress';
}

/** The expected downtime range of the whole request: steps of one device add up, devices run side by side. */
export function downtimeOf(view: RequestView): [number, number] {
  const perDevice = new Map<number, [number, number]>();
  for (const item of view.request.items) {
    const release = view.releases.get(`${view.products.get(item.deviceId)}@${item.targetVersion}`);
    const [min, max] = release?.downtimeMinutes ?? [30, 60];
    const sum = perDevice.get(item.deviceId) ?? [0, 0];
    perDevice.set(item.deviceId, [sum[0] + min, sum[1] + max]);
  }
  let low = 0;
  let high = 0;
  for (const [min, max] of perDevice.values()) {
    low = Math.max(low, min);
    high = Math.max(high, max);
  }
  return perDevice.size ? [low, high] : [30, 60];
}

/** "Sun 6 Dec 2026 01:00 EST (UTC-05:00) · 06:00 UTC", or what the mode means when there is no time yet. */
/** An instant in the customer's timezone and UTC, marked so chat platforms can show each reader their own time. */
export function zonedTime(at: Date, timezone: string): string {
  return timeMark(at, formatInZone(at, timezone));
}

/** Describes a request's schedule in the customer's timezone. */
export function describeSchedule(request: UpgradeRequest, timezone: string): string {
  const { mode, at } = request.schedule;
  if (at) return (mode === 'now' ? 'now: ' : mode === 'window' ? 'next upgrade window: ' : '') + zonedTime(at, timezone);
  if (mode === 'now') return 'as soon as it is approved';
  if (mode === 'window') return 'the next upgrade window after approval';
  return 'not set';
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** The [000] summary blocks: prerequisites, impact, downtime, post-upgrade tasks. */
export function summaryBlocks(view: RequestView): Block[] {
  const releases = [...view.releases.values()];
  const [min, max] = downtimeOf(view);
  const blocks: Block[] = [];
  const prerequisites = unique(releases.flatMap((r) => r.prerequisites));
  if (prerequisites.length) blocks.push(list('Prerequisites', prerequisites));
  const impact = unique(releases.map((r) => r.impact).filter(Boolean));
  if (impact.length) blocks.push(list('Impact', impact));
  blocks.push(
    text(
      `Expected downtime: ${min}–${max} minutes${view.request.items.length > 1 ? ' (devices side by side; steps add up)' : ''}. ` +
        'It may be longer with customer-specific configuration; we cannot guarantee it stays under the maximum.',
    ),
  );
  const tasks = unique(releases.flatMap((r) => r.postUpgradeTasks));
  if (tasks.length) blocks.push(list('After the upgrade', tasks));
  return blocks;
}

/** Largest number of device rows shown in a chat reply; the rest is counted. */
export const MAX_DEVICE_ROWS = 25;

/** The device table of a request, capped for chat. */
export function deviceTable(view: RequestView): Block[] {
  const { request } = view;
  const rows = request.items
    .slice(0, MAX_DEVICE_ROWS)
    .map((i) => [i.deviceName, `${i.fromVersion} → ${i.targetVersion}`, itemStatus(request, i), i.run?.state ?? '—']);
  const blocks: Block[] = [table(['device', 'upgrade', 'status', 'run'], rows)];
  if (request.items.length > MAX_DEVICE_ROWS) {
    blocks.push(text(`… and ${request.items.length - MAX_DEVICE_ROWS} more devices (see /upgrade status ${request.ref}).`));
  }
  return blocks;
}

/** All findings of a request: request-level first, then per device. */
export function allFindings(request: UpgradeRequest): Finding[] {
  return [...request.findings, ...request.items.flatMap((i) => i.findings)];
}

/** The full description of a request, as `status` shows it. */
export function describeRequest(view: RequestView, extra: Block[] = []): Reply {
  const { request, customer } = view;
  const options = Object.entries(request.options)
    .filter(([, v]) => v)
    .map(([k]) => k.replace(/([A-Z])/g, ' $1').toLowerCase());
  return reply(
    `${request.ref} · ${request.status.replace(/_/g, ' ')}`,
    fields([
      ['Customer', customer.name],
      ['Requested by', view.requester ? `${view.requester.name} <${view.requester.email}>` : null],
      ['Target version', request.targetVersion],
      ['Schedule', describeSchedule(request, customer.timezone)],
      ['Options', options.join(', ') || null],
      ['Note', request.note],
      ['Reason', request.statusReason],
    ]),
    ...deviceTable(view),
    findingsBlock(allFindings(request)),
    ...summaryBlocks(view),
    ...(request.approvals.length
      ? [
          list(
            'Decisions',
            request.approvals.map(
              (a) => `${a.decision} by ${a.by} via ${a.via} at ${zonedTime(a.at, customer.timezone)}${a.reason ? ` — ${a.reason}` : ''}`,
            ),
          ),
        ]
      : []),
    ...extra,
  );
}

/** Approve / Decline buttons for a request awaiting consent. */
export function consentActions(ref: string): Block {
  return actions(
    { label: 'Approve', command: `/upgrade approve ${ref}`, style: 'primary' },
    { label: 'Decline', command: `/upgrade decline ${ref}`, style: 'danger' },
  );
}

/** The JSON shape of SPEC §8 (`upgrade-desk requests --json`, `GET /api/requests`). */
export interface RequestJson {
  ref: string;
  status: string;
  customer: string;
  devices: Array<{ name: string; status: string; runState: string | null }>;
  targetVersion: string;
  schedule: { mode: string; at: string | null };
  findings: Array<{ code: string; severity: string; message: string }>;
  approvals: Array<{ by: string; decision: string; via: string; at: string }>;
}

/** Maps a request to the JSON contract; `customerName` is the customer's record name. */
export function toRequestJson(request: UpgradeRequest, customerName: string): RequestJson {
  return {
    ref: request.ref,
    status: request.status,
    customer: customerName,
    devices: request.items.map((i) => ({
      name: i.deviceName,
      status: itemStatus(request, i),
      runState: i.run?.state ?? null,
    })),
    targetVersion: request.targetVersion,
    schedule: { mode: request.schedule.mode, at: request.schedule.at ? request.schedule.at.toISOString() : null },
    findings: allFindings(request).map((f) => ({ code: f.code, severity: f.severity, message: f.message })),
    approvals: request.approvals.map((a) => ({ by: a.by, decision: a.decision, via: a.via, at: a.at.toISOString() })),
  };
}
