/**
 * Bulk upsert of the authorization and hardware records (SPEC §8) over TypeORM: existing rows are
 * loaded by natural key in chunks and compared in memory; new rows are inserted and changed rows
 * overwritten in multi-row statements sized to stay far below SQLite's and PostgreSQL's
 * bound-parameter limits (see UpdateStrategy).
 */
import type { EntityManager, EntityTarget, ObjectLiteral, QueryDeepPartialEntity } from 'typeorm';
import { CustomerEntity } from '../../entities/customer.entity.js';
import { DeviceEntity } from '../../entities/device.entity.js';
import { PersonEntity } from '../../entities/person.entity.js';
import { ReleaseEntity } from '../../entities/release.entity.js';
import { WindowEntity } from '../../entities/window.entity.js';
import type { ImportSummary, RecordsBatch, UpsertCounts } from '../ports.js';

/** Bound parameters per statement: SQLite allows 32,766 (since 3.32), PostgreSQL 65,535. */
const PARAMETER_BUDGET = 8000;
/** Keys per `IN (…)` lookup. */
const KEY_CHUNK = 500;

type Row = Record<string, unknown>;

interface Plan {
  creates: Row[];
  updates: Row[];
  unchanged: number;
}

/** Splits a list into chunks of at most `size` (bounded loop over the list). */
export function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if ((typeof a === 'object' && a !== null) || (typeof b === 'object' && b !== null)) {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return a === b;
}

function sameRow(row: Row, existing: ObjectLiteral): boolean {
  return Object.keys(row).every((k) => sameValue(row[k], existing[k]));
}

function plan(kind: string, rows: Row[], keyOf: (row: Row) => string, existing: Map<string, ObjectLiteral>): Plan {
  const result: Plan = { creates: [], updates: [], unchanged: 0 };
  const seen = new Set<string>();
  for (const row of rows) {
    const key = keyOf(row);
    if (seen.has(key)) throw new Error(`records batch lists ${kind} "${key}" more than once`);
    seen.add(key);
    const found = existing.get(key);
    if (!found) result.creates.push(row);
    else if (sameRow(row, found)) result.unchanged += 1;
    else result.updates.push({ ...row, id: found.id as number });
  }
  return result;
}

/** Rows whose `column` (optionally lower-cased in SQL) is one of `values`, loaded in chunks. */
async function loadWhereIn<E extends ObjectLiteral>(
  m: EntityManager,
  entity: EntityTarget<E>,
  column: string,
  values: readonly string[],
  lower = false,
): Promise<E[]> {
  const out: E[] = [];
  const distinct = [...new Set(values)];
  for (const part of chunks(distinct, KEY_CHUNK)) {
    const expr = lower ? `LOWER(e.${column})` : `e.${column}`;
    out.push(...(await m.createQueryBuilder(entity, 'e').where(`${expr} IN (:...keys)`, { keys: part }).getMany()));
  }
  return out;
}

/**
 * How changed rows are written. `naturalKey`: one multi-row INSERT … ON CONFLICT (key) DO UPDATE
 * per chunk, for tables whose natural key is a unique index (the volume case: devices). Otherwise
 * one UPDATE … WHERE id per row (customers, whose key is case-insensitive; windows, which have no
 * unique key). PostgreSQL ignores explicit values for serial ids in TypeORM inserts, so
 * ON CONFLICT (id) cannot be used.
 */
type UpdateStrategy = { naturalKey: string[] } | 'row-by-row';

/** Inserts `plan.creates`, then writes `plan.updates`, chunk by chunk. */
async function write<E extends ObjectLiteral>(
  m: EntityManager,
  entity: EntityTarget<E>,
  columns: readonly string[],
  p: Plan,
  strategy: UpdateStrategy,
  progress: (n: number) => void,
): Promise<void> {
  const size = Math.max(1, Math.floor(PARAMETER_BUDGET / (columns.length + 1)));
  for (const part of chunks(p.creates, size)) {
    await m
      .createQueryBuilder()
      .insert()
      .into(entity)
      .values(part as QueryDeepPartialEntity<E>[])
      .updateEntity(false)
      .execute();
    progress(part.length);
  }
  if (strategy === 'row-by-row') {
    for (const part of chunks(p.updates, size)) {
      for (const { id, ...row } of part) {
        await m
          .createQueryBuilder()
          .update(entity)
          .set(row as QueryDeepPartialEntity<E>)
          .where({ id })
          .execute();
      }
      progress(part.length);
    }
    return;
  }
  const overwrite = columns.filter((c) => !strategy.naturalKey.includes(c));
  for (const part of chunks(p.updates, size)) {
    await m
      .createQueryBuilder()
      .insert()
      .into(entity)
      .values(part.map(({ id: _id, ...row }) => row) as QueryDeepPartialEntity<E>[])
      .orUpdate(overwrite, strategy.naturalKey)
      .updateEntity(false)
      .execute();
    progress(part.length);
  }
}

function counts(p: Plan): UpsertCounts {
  return { created: p.creates.length, updated: p.updates.length, unchanged: p.unchanged };
}

const CUSTOMER_COLUMNS = [
  'name',
  'email',
  'phone',
  'timezone',
  'lowTraffic',
  'partner',
  'slackChannel',
  'discordChannel',
  'notifyEmails',
] as const;
const PERSON_COLUMNS = ['name', 'email', 'phone', 'customerId', 'roles', 'slackUserId', 'discordUserId', 'partner'] as const;
const DEVICE_COLUMNS = [
  'customerId',
  'name',
  'product',
  'serial',
  'mac',
  'ip',
  'version',
  'status',
  'replication',
  'loadBalancerGroup',
  'databasePrimary',
  'statusUrl',
] as const;
const RELEASE_COLUMNS = [
  'product',
  'version',
  'downtimeMinMinutes',
  'downtimeMaxMinutes',
  'prerequisites',
  'impact',
  'postUpgradeTasks',
] as const;
const WINDOW_COLUMNS = [
  'kind',
  'startsAt',
  'endsAt',
  'reason',
  'cron',
  'timezone',
  'durationMinutes',
  'customerId',
] as const;

/**
 * Upserts a whole records batch inside the caller's transaction (`m` must be transactional for
 * all-or-nothing). Throws an Error naming the record when a customer name is unknown or a natural
 * key repeats within the batch.
 */
export async function upsertRecords(
  m: EntityManager,
  batch: RecordsBatch,
  onProgress?: (done: number, total: number) => void,
): Promise<ImportSummary> {
  const total =
    batch.customers.length + batch.people.length + batch.devices.length + batch.releases.length + batch.windows.length;
  let done = 0;
  const progress = (n: number): void => {
    done += n;
    onProgress?.(done, total);
  };
  onProgress?.(0, total);

  // Customers: natural key = name, case-insensitive.
  const customerRows: Row[] = batch.customers.map((c) => ({
    name: c.name,
    email: c.email,
    phone: c.phone,
    timezone: c.timezone,
    lowTraffic: c.lowTraffic ?? null,
    partner: c.partner ?? null,
    slackChannel: c.slackChannel ?? null,
    discordChannel: c.discordChannel ?? null,
    notifyEmails: [...(c.notifyEmails ?? [])],
  }));
  const customerKey = (r: Row): string => String(r.name).toLowerCase();
  const existingCustomers = await loadWhereIn(m, CustomerEntity, 'name', customerRows.map(customerKey), true);
  const customerPlan = plan('customer', customerRows, customerKey, new Map(existingCustomers.map((e) => [e.name.toLowerCase(), e])));
  progress(customerPlan.unchanged);
  await write(m, CustomerEntity, CUSTOMER_COLUMNS, customerPlan, 'row-by-row', progress);

  // Resolve every customer name the batch mentions (its own customers included) to an id.
  const mentioned = new Set<string>(batch.customers.map((c) => c.name.toLowerCase()));
  for (const p of batch.people) if (p.customer !== null) mentioned.add(p.customer.toLowerCase());
  for (const d of batch.devices) mentioned.add(d.customer.toLowerCase());
  for (const w of batch.windows) if (w.kind === 'upgrade' && w.customer !== null) mentioned.add(w.customer.toLowerCase());
  const customerIds = new Map<string, number>();
  for (const c of await loadWhereIn(m, CustomerEntity, 'name', [...mentioned], true)) customerIds.set(c.name.toLowerCase(), c.id);
  const customerId = (name: string, what: string): number => {
    const id = customerIds.get(name.toLowerCase());
    if (id === undefined) throw new Error(`unknown customer "${name}" (referenced by ${what}); import or create it first`);
    return id;
  };

  // People: natural key = e-mail, lower-cased.
  const personRows: Row[] = batch.people.map((p) => ({
    name: p.name,
    email: p.email.trim().toLowerCase(),
    phone: p.phone ?? null,
    customerId: p.customer === null ? null : customerId(p.customer, `person ${p.email}`),
    roles: [...p.roles],
    slackUserId: p.slackUserId ?? null,
    discordUserId: p.discordUserId ?? null,
    partner: p.partner ?? null,
  }));
  const personKey = (r: Row): string => String(r.email);
  const existingPeople = await loadWhereIn(m, PersonEntity, 'email', personRows.map(personKey));
  const personPlan = plan('person', personRows, personKey, new Map(existingPeople.map((e) => [e.email, e])));
  progress(personPlan.unchanged);
  await write(m, PersonEntity, PERSON_COLUMNS, personPlan, { naturalKey: ['email'] }, progress);

  // Devices: natural key = serial (exact).
  const deviceRows: Row[] = batch.devices.map((d) => ({
    customerId: customerId(d.customer, `device ${d.serial}`),
    name: d.name,
    product: d.product,
    serial: d.serial,
    mac: d.mac,
    ip: d.ip,
    version: d.version,
    status: d.status,
    replication: d.replication,
    loadBalancerGroup: d.loadBalancerGroup ?? null,
    databasePrimary: d.databasePrimary,
    statusUrl: d.statusUrl ?? null,
  }));
  const deviceKey = (r: Row): string => String(r.serial);
  const existingDevices = await loadWhereIn(m, DeviceEntity, 'serial', deviceRows.map(deviceKey));
  const devicePlan = plan('device', deviceRows, deviceKey, new Map(existingDevices.map((e) => [e.serial, e])));
  progress(devicePlan.unchanged);
  await write(m, DeviceEntity, DEVICE_COLUMNS, devicePlan, { naturalKey: ['serial'] }, progress);

  // Releases: natural key = (product, version).
  const releaseRows: Row[] = batch.releases.map((r) => ({
    product: r.product,
    version: r.version,
    downtimeMinMinutes: r.downtimeMinutes[0],
    downtimeMaxMinutes: r.downtimeMinutes[1],
    prerequisites: [...r.prerequisites],
    impact: r.impact,
    postUpgradeTasks: [...r.postUpgradeTasks],
  }));
  const releaseKey = (r: Row): string => `${String(r.product)}\u0000${String(r.version)}`;
  const existingReleases = await loadWhereIn(m, ReleaseEntity, 'product', releaseRows.map((r) => String(r.product)));
  const releasePlan = plan(
    'release',
    releaseRows,
    releaseKey,
    new Map(existingReleases.map((e) => [`${e.product}\u0000${e.version}`, e])),
  );
  progress(releasePlan.unchanged);
  await write(m, ReleaseEntity, RELEASE_COLUMNS, releasePlan, { naturalKey: ['product', 'version'] }, progress);

  // Windows: maintenance by (start, end); upgrade slots by (cron, timezone, customer).
  const windowRows: Row[] = batch.windows.map((w) =>
    w.kind === 'maintenance'
      ? {
          kind: 'maintenance',
          startsAt: new Date(w.start.getTime()),
          endsAt: new Date(w.end.getTime()),
          reason: w.reason,
          cron: null,
          timezone: null,
          durationMinutes: null,
          customerId: null,
        }
      : {
          kind: 'upgrade',
          startsAt: null,
          endsAt: null,
          reason: null,
          cron: w.cron,
          timezone: w.timezone,
          durationMinutes: w.durationMinutes,
          customerId: w.customer === null ? null : customerId(w.customer, `upgrade slot "${w.cron}"`),
        },
  );
  const windowKey = (r: ObjectLiteral): string =>
    r.kind === 'maintenance'
      ? `maintenance ${(r.startsAt as Date).toISOString()}–${(r.endsAt as Date).toISOString()}`
      : `upgrade ${String(r.cron)} ${String(r.timezone)} customer ${String(r.customerId ?? 'any')}`;
  const existingWindows = windowRows.length ? await m.getRepository(WindowEntity).find() : [];
  const windowPlan = plan('window', windowRows, windowKey, new Map(existingWindows.map((e) => [windowKey(e), e])));
  progress(windowPlan.unchanged);
  await write(m, WindowEntity, WINDOW_COLUMNS, windowPlan, 'row-by-row', progress);

  return {
    customers: counts(customerPlan),
    people: counts(personPlan),
    devices: counts(devicePlan),
    releases: counts(releasePlan),
    windows: counts(windowPlan),
  };
}
