/**
 * The Store (src/ports.ts) over TypeORM, on SQLite or PostgreSQL. Repositories map entities to
 * domain types; `transaction` binds them to one database transaction. On SQLite (one shared
 * connection) every top-level call and transaction is serialized so that nothing runs inside
 * someone else's transaction; calls made inside a transaction join it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { IsNull, Not } from 'typeorm';
import type { DataSource, EntityManager, EntityTarget, ObjectLiteral, QueryDeepPartialEntity } from 'typeorm';
import { ApprovalEntity } from '../../entities/approval.entity.js';
import { AuditEventEntity } from '../../entities/audit-event.entity.js';
import { CustomerEntity } from '../../entities/customer.entity.js';
import { DeviceEntity } from '../../entities/device.entity.js';
import { PersonEntity } from '../../entities/person.entity.js';
import { ProblemReportEntity } from '../../entities/problem-report.entity.js';
import { ReleaseEntity } from '../../entities/release.entity.js';
import { RequestItemEntity } from '../../entities/request-item.entity.js';
import { RunEventEntity } from '../../entities/run-event.entity.js';
import { RunEntity } from '../../entities/run.entity.js';
import { SecretEntity } from '../../entities/secret.entity.js';
import { UpgradeRequestEntity } from '../../entities/upgrade-request.entity.js';
import { WindowEntity } from '../../entities/window.entity.js';
import { OPEN_REQUEST_STATUSES, REQUEST_STATUSES, formatRef, parseRef } from '../domain/types.js';
import type { Approval, RequestItem, RequestStatus, RunState, UpgradeRequest } from '../domain/types.js';
import { ConcurrentChangeError, StaleRunError } from '../ports.js';
import type {
  AuditRepository,
  CustomerRepository,
  DeviceRepository,
  OutboxRepository,
  PersonRepository,
  ProblemRepository,
  RecordsRepository,
  ReleaseRepository,
  Repositories,
  RequestFilter,
  RequestHeader,
  RequestRepository,
  RunRepository,
  RunTally,
  ItemsFilter,
  SecretRepository,
  InboundMailRepository,
  ApprovalLinkRepository,
  SignInLinkRepository,
  LeaseRepository,
  Store,
  WindowRepository,
} from '../ports.js';
import { SQLITE_BUSY_TIMEOUT_MS, createDataSource, runMigrations } from './data-source.js';
import type { CreateDataSourceOptions } from './data-source.js';
import {
  copyDate,
  toApproval,
  toAuditEvent,
  toCustomer,
  toDevice,
  toMaintenance,
  toPerson,
  toProblemReport,
  toRelease,
  toRequest,
  toRequestItem,
  toRunEvent,
  toRun,
  toSlot,
} from './entity-mappers.js';
import { Mutex } from './mutex.js';
import { outboxRepositoryFor } from './outbox-repository.js';
import { approvalLinkRepositoryFor, inboundMailRepositoryFor } from './email-repositories.js';
import { signInLinkRepositoryFor } from './web-repositories.js';
import { leaseRepositoryFor } from './lease-repository.js';
import { chunks, upsertRecords } from './records-upsert.js';

/** Ids per `IN (…)` list. */
const ID_CHUNK = 500;
/** Rows per multi-row insert of request items (8 columns each). */
const ITEM_CHUNK = 500;

async function insertOne<E extends ObjectLiteral>(
  m: EntityManager,
  entity: EntityTarget<E>,
  values: QueryDeepPartialEntity<E>,
): Promise<number> {
  const result = await m.createQueryBuilder().insert().into(entity).values(values).execute();
  const id = (result.identifiers[0] as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'number') throw new Error('insert returned no id');
  return id;
}

async function whereIdIn<E extends ObjectLiteral>(
  m: EntityManager,
  entity: EntityTarget<E>,
  column: string,
  ids: readonly number[],
): Promise<E[]> {
  const out: E[] = [];
  for (const part of chunks([...new Set(ids)], ID_CHUNK)) {
    out.push(...(await m.createQueryBuilder(entity, 'e').where(`e.${column} IN (:...ids)`, { ids: part }).getMany()));
  }
  return out;
}

function groupBy<T>(list: readonly T[], keyOf: (item: T) => number): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of list) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/** Loads items (with runs) and approvals for request rows, keeping the rows' order. */
async function hydrateRequests(m: EntityManager, rows: UpgradeRequestEntity[]): Promise<UpgradeRequest[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const items = await whereIdIn(m, RequestItemEntity, 'requestId', ids);
  const runs: RunEntity[] = [];
  for (const part of chunks(ids, ID_CHUNK)) {
    runs.push(
      ...(await m
        .createQueryBuilder(RunEntity, 'run')
        .innerJoin(RequestItemEntity, 'item', 'item.id = run.requestItemId')
        .where('item.requestId IN (:...ids)', { ids: part })
        .getMany()),
    );
  }
  const approvals = await whereIdIn(m, ApprovalEntity, 'requestId', ids);
  const runByItem = new Map(runs.map((r) => [r.requestItemId, r]));
  items.sort((a, b) => a.requestId - b.requestId || a.seq - b.seq || a.id - b.id);
  approvals.sort((a, b) => a.id - b.id);
  const itemsOf = groupBy(items, (i) => i.requestId);
  const approvalsOf = groupBy(approvals, (a) => a.requestId);
  return rows.map((row) =>
    toRequest(
      row,
      (itemsOf.get(row.id) ?? []).map((i) => toRequestItem(i, runByItem.get(i.id) ?? null)),
      (approvalsOf.get(row.id) ?? []).map(approvalOf),
    ),
  );
}

/** Items read per query when one request's items are read: a large request is read page by page. */
const ITEM_PAGE = 1000;

/**
 * An entity built from the columns of a raw row (`<alias>_<column>`), each value converted by the
 * driver as TypeORM's own hydration does (dates, JSON, booleans): the rows of a large read are
 * mapped without TypeORM's per-row machinery, which costs several times the query.
 */
function fromRaw<E extends ObjectLiteral>(m: EntityManager, target: EntityTarget<E>, alias: string, raw: Record<string, unknown>): E {
  const driver = m.dataSource.driver;
  const out: Record<string, unknown> = {};
  for (const column of m.dataSource.getMetadata(target).columns) {
    out[column.propertyName] = driver.prepareHydratedValue(raw[`${alias}_${column.databaseName}`], column);
  }
  return out as E;
}

/**
 * Items of one request with their runs (joined), in order, as the filter says. Read a page at a
 * time (keyset on the request's unique `seq`) and mapped from the raw rows, so ten thousand items
 * are never held as rows, entities and domain objects all at once.
 */
async function itemsOf(m: EntityManager, requestId: number, filter: ItemsFilter = {}): Promise<RequestItem[]> {
  if (filter.deviceIds && filter.deviceIds.length === 0) return [];
  const limit = filter.limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, Math.floor(filter.limit));
  const out: RequestItem[] = [];
  let afterSeq: number | null = null;
  while (out.length < limit) {
    const page = Math.min(ITEM_PAGE, limit - out.length);
    const qb = m
      .createQueryBuilder(RequestItemEntity, 'item')
      .leftJoinAndSelect(RunEntity, 'run', 'run.requestItemId = item.id')
      .where('item.requestId = :requestId', { requestId });
    if (filter.active) qb.andWhere('run.id IS NOT NULL').andWhere('run.state <> :done', { done: 'done' });
    if (filter.pending) qb.andWhere('run.id IS NULL');
    if (filter.deviceIds) qb.andWhere('item.deviceId IN (:...deviceIds)', { deviceIds: [...new Set(filter.deviceIds)] });
    if (afterSeq !== null) qb.andWhere('item.seq > :afterSeq', { afterSeq });
    const rows = await qb.orderBy('item.seq', 'ASC').addOrderBy('item.id', 'ASC').limit(page).getRawMany<Record<string, unknown>>();
    let last: RequestItemEntity | null = null;
    for (const raw of rows) {
      last = fromRaw(m, RequestItemEntity, 'item', raw);
      out.push(toRequestItem(last, raw.run_id === null || raw.run_id === undefined ? null : fromRaw(m, RunEntity, 'run', raw)));
    }
    if (!last || rows.length < page) break;
    afterSeq = last.seq;
  }
  return out;
}

/** An approval as the domain sees it; the fingerprint (a row per device) is the freshly parsed one, not a copy. */
function approvalOf(e: ApprovalEntity): Approval {
  return { ...toApproval({ ...e, fingerprint: [] }), fingerprint: e.fingerprint ?? [] };
}

/** A request row as the domain sees it without its items and approvals. */
function headerOf(row: UpgradeRequestEntity): RequestHeader {
  const { items: _items, approvals: _approvals, ...header } = toRequest(row, [], []);
  return header;
}

/** The request rows a RequestFilter selects, most recent first. */
async function requestRows(m: EntityManager, filter: RequestFilter): Promise<UpgradeRequestEntity[]> {
  if (filter.statuses && filter.statuses.length === 0) return [];
  const qb = m.createQueryBuilder(UpgradeRequestEntity, 'r');
  if (filter.customerId !== undefined) qb.andWhere('r.customerId = :customerId', { customerId: filter.customerId });
  if (filter.statuses) qb.andWhere('r.status IN (:...statuses)', { statuses: [...filter.statuses] });
  return qb
    .orderBy('r.createdAt', 'DESC')
    .addOrderBy('r.id', 'DESC')
    .limit(filter.limit ?? 50)
    .getMany();
}

async function requestById(m: EntityManager, id: number): Promise<UpgradeRequest | null> {
  const row = await m.findOne(UpgradeRequestEntity, { where: { id } });
  if (!row) return null;
  const items = await itemsOf(m, id);
  const approvals = (await m.find(ApprovalEntity, { where: { requestId: id }, order: { id: 'ASC' } })).map(approvalOf);
  return toRequest(row, items, approvals);
}

/** Repositories bound to one EntityManager (the data source's, or a transaction's). */
export function repositoriesFor(m: EntityManager): Repositories {
  const customers: CustomerRepository = {
    async byId(id) {
      const e = await m.findOne(CustomerEntity, { where: { id } });
      return e ? toCustomer(e) : null;
    },
    async byName(name) {
      const e = await m
        .createQueryBuilder(CustomerEntity, 'c')
        .where('LOWER(c.name) = :name', { name: name.trim().toLowerCase() })
        .orderBy('c.id', 'ASC')
        .getOne();
      return e ? toCustomer(e) : null;
    },
    async list() {
      return (await m.find(CustomerEntity, { order: { id: 'ASC' } })).map(toCustomer);
    },
    async count() {
      return m.count(CustomerEntity);
    },
  };

  const people: PersonRepository = {
    async byId(id) {
      const e = await m.findOne(PersonEntity, { where: { id } });
      return e ? toPerson(e) : null;
    },
    async byEmail(email) {
      const e = await m.findOne(PersonEntity, { where: { email: email.trim().toLowerCase() } });
      return e ? toPerson(e) : null;
    },
    async bySlackUserId(id) {
      const e = await m.findOne(PersonEntity, { where: { slackUserId: id } });
      return e ? toPerson(e) : null;
    },
    async byDiscordUserId(id) {
      const e = await m.findOne(PersonEntity, { where: { discordUserId: id } });
      return e ? toPerson(e) : null;
    },
    async list(filter = {}) {
      const qb = m.createQueryBuilder(PersonEntity, 'p').orderBy('p.id', 'ASC');
      if (filter.customerId === null) qb.andWhere('p.customerId IS NULL');
      else if (filter.customerId !== undefined) qb.andWhere('p.customerId = :customerId', { customerId: filter.customerId });
      const all = (await qb.getMany()).map(toPerson);
      const role = filter.role;
      return role ? all.filter((p) => p.roles.includes(role)) : all;
    },
  };

  const devices: DeviceRepository = {
    async byId(id) {
      const e = await m.findOne(DeviceEntity, { where: { id } });
      return e ? toDevice(e) : null;
    },
    async byIds(ids) {
      const out = [];
      for (const part of chunks([...new Set(ids)], ID_CHUNK)) {
        for (const e of await m.createQueryBuilder(DeviceEntity, 'd').where('d.id IN (:...ids)', { ids: part }).getMany()) out.push(toDevice(e));
      }
      return out;
    },
    async findForCustomer(customerId, nameOrSerial) {
      const key = nameOrSerial.trim();
      const found = await m
        .createQueryBuilder(DeviceEntity, 'd')
        .where('d.customerId = :customerId', { customerId })
        .andWhere('(LOWER(d.name) = :name OR d.serial = :serial)', { name: key.toLowerCase(), serial: key })
        .orderBy('d.id', 'ASC')
        .getMany();
      // A name match wins over a serial match when both exist (names are what people type).
      const e = found.find((d) => d.name.toLowerCase() === key.toLowerCase()) ?? found[0];
      return e ? toDevice(e) : null;
    },
    async forCustomer(customerId) {
      return (await m.find(DeviceEntity, { where: { customerId }, order: { id: 'ASC' } })).map(toDevice);
    },
    async grouped(customerId) {
      return (await m.find(DeviceEntity, { where: { customerId, loadBalancerGroup: Not(IsNull()) }, order: { id: 'ASC' } })).map(toDevice);
    },
    async inGroup(customerId, group) {
      return (await m.find(DeviceEntity, { where: { customerId, loadBalancerGroup: group }, order: { id: 'ASC' } })).map(
        toDevice,
      );
    },
    async recordVersion(id, version) {
      await m.update(DeviceEntity, { id }, { version });
    },
  };

  const releases: ReleaseRepository = {
    async forProduct(product) {
      return (await m.find(ReleaseEntity, { where: { product }, order: { id: 'ASC' } })).map(toRelease);
    },
    async find(product, version) {
      const e = await m.findOne(ReleaseEntity, { where: { product, version } });
      return e ? toRelease(e) : null;
    },
    async list() {
      return (await m.find(ReleaseEntity, { order: { id: 'ASC' } })).map(toRelease);
    },
  };

  const windows: WindowRepository = {
    async maintenance() {
      return (await m.find(WindowEntity, { where: { kind: 'maintenance' }, order: { startsAt: 'ASC', id: 'ASC' } })).map(
        toMaintenance,
      );
    },
    async maintenanceById(id) {
      const e = await m.findOne(WindowEntity, { where: { id, kind: 'maintenance' } });
      return e ? toMaintenance(e) : null;
    },
    async slots(customerId) {
      const qb = m.createQueryBuilder(WindowEntity, 'w').where('w.kind = :kind', { kind: 'upgrade' });
      if (customerId === null) qb.andWhere('w.customerId IS NULL');
      else qb.andWhere('(w.customerId IS NULL OR w.customerId = :customerId)', { customerId });
      return (await qb.orderBy('w.id', 'ASC').getMany()).map(toSlot);
    },
    async addMaintenance(w) {
      const id = await insertOne(m, WindowEntity, {
        kind: 'maintenance',
        startsAt: copyDate(w.start),
        endsAt: copyDate(w.end),
        reason: w.reason,
        cron: null,
        timezone: null,
        durationMinutes: null,
        customerId: null,
      });
      return { id, kind: 'maintenance', start: copyDate(w.start), end: copyDate(w.end), reason: w.reason };
    },
    async removeMaintenance(id) {
      const result = await m
        .createQueryBuilder()
        .delete()
        .from(WindowEntity)
        .where({ id, kind: 'maintenance' })
        .execute();
      return (result.affected ?? 0) > 0;
    },
  };

  const requests: RequestRepository = {
    async create(draft) {
      const id = await insertOne(m, UpgradeRequestEntity, {
        ref: null,
        status: draft.status,
        customerId: draft.customerId,
        requesterId: draft.requesterId,
        targetVersion: draft.targetVersion,
        scheduleMode: draft.schedule.mode,
        scheduleAt: copyDate(draft.schedule.at),
        forced: draft.options.forced,
        redeploy: draft.options.redeploy,
        notifyPartner: draft.options.notifyPartner,
        notifyCustomer: draft.options.notifyCustomer,
        note: draft.note,
        bulk: draft.bulk,
        findings: structuredClone(draft.findings) as QueryDeepPartialEntity<UpgradeRequestEntity>['findings'],
        via: draft.via,
        contactEmail: draft.contactEmail,
        assignedAgentId: null,
        statusReason: draft.statusReason,
        createdAt: copyDate(draft.createdAt),
        updatedAt: copyDate(draft.createdAt),
      });
      await m.createQueryBuilder().update(UpgradeRequestEntity).set({ ref: formatRef(id) }).where({ id }).execute();
      const items = draft.items.map((item) => ({
        requestId: id,
        deviceId: item.deviceId,
        deviceName: item.deviceName,
        seq: item.seq,
        fromVersion: item.fromVersion,
        targetVersion: item.targetVersion,
        findings: structuredClone(item.findings),
      }));
      for (const part of chunks(items, ITEM_CHUNK)) {
        await m
          .createQueryBuilder()
          .insert()
          .into(RequestItemEntity)
          .values(part as QueryDeepPartialEntity<RequestItemEntity>[])
          .updateEntity(false)
          .execute();
      }
      const created = await requestById(m, id);
      if (!created) throw new Error(`request ${formatRef(id)} vanished right after being created`);
      return created;
    },
    async byId(id) {
      return requestById(m, id);
    },
    async header(id, options = {}) {
      const lock = options.lock && m.connection.options.type === 'postgres';
      const row = await m.findOne(UpgradeRequestEntity, { where: { id }, ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
      return row ? headerOf(row) : null;
    },
    async items(requestId, filter = {}) {
      return itemsOf(m, requestId, filter);
    },
    async itemOfRun(runId) {
      const run = await m.findOne(RunEntity, { where: { id: runId } });
      if (!run) return null;
      const item = await m.findOne(RequestItemEntity, { where: { id: run.requestItemId } });
      return item ? toRequestItem(item, run) : null;
    },
    async runTally(requestId) {
      const rows = await m
        .createQueryBuilder(RequestItemEntity, 'item')
        .leftJoin(RunEntity, 'run', 'run.requestItemId = item.id')
        .select('run.state', 'state')
        .addSelect('COUNT(*)', 'count')
        .where('item.requestId = :requestId', { requestId })
        .groupBy('run.state')
        .getRawMany<{ state: RunState | null; count: string | number }>();
      const states: RunTally['states'] = {};
      let items = 0;
      for (const row of rows) {
        items += Number(row.count);
        if (row.state !== null) states[row.state] = Number(row.count);
      }
      return { items, states };
    },
    async repeatedDevices(requestId) {
      const rows = await m
        .createQueryBuilder(RequestItemEntity, 'item')
        .select('item.deviceId', 'deviceId')
        .where('item.requestId = :requestId', { requestId })
        .groupBy('item.deviceId')
        .having('COUNT(*) > 1')
        .orderBy('item.deviceId', 'ASC')
        .getRawMany<{ deviceId: number | string }>();
      return rows.map((r) => Number(r.deviceId));
    },
    async byRef(ref) {
      const id = parseRef(ref);
      if (id === null) return null;
      const row = await m.findOne(UpgradeRequestEntity, { where: { ref: formatRef(id) }, select: { id: true } });
      return row ? requestById(m, row.id) : null;
    },
    async list(filter = {}) {
      return hydrateRequests(m, await requestRows(m, filter));
    },
    async headers(filter = {}) {
      return (await requestRows(m, filter)).map(headerOf);
    },
    async openForDevices(deviceIds) {
      const open = new Map<number, string>();
      for (const part of chunks([...new Set(deviceIds)], ID_CHUNK)) {
        const rows = await m
          .createQueryBuilder(RequestItemEntity, 'i')
          .innerJoin(UpgradeRequestEntity, 'r', 'r.id = i.requestId')
          .select('i.deviceId', 'deviceId')
          .addSelect('r.ref', 'ref')
          .where('i.deviceId IN (:...ids)', { ids: part })
          .andWhere('r.status IN (:...statuses)', { statuses: [...OPEN_REQUEST_STATUSES] })
          .orderBy('r.id', 'ASC')
          .getRawMany<{ deviceId: number | string; ref: string }>();
        for (const row of rows) {
          const deviceId = Number(row.deviceId);
          if (!open.has(deviceId)) open.set(deviceId, row.ref);
        }
      }
      return open;
    },
    async update(id, patch, expectedStatus) {
      const set: QueryDeepPartialEntity<UpgradeRequestEntity> = { updatedAt: copyDate(patch.updatedAt) };
      if (patch.status !== undefined) set.status = patch.status;
      if (patch.schedule !== undefined) {
        set.scheduleMode = patch.schedule.mode;
        set.scheduleAt = copyDate(patch.schedule.at);
      }
      if (patch.statusReason !== undefined) set.statusReason = patch.statusReason;
      if (patch.assignedAgentId !== undefined) set.assignedAgentId = patch.assignedAgentId;
      if (patch.findings !== undefined) {
        set.findings = structuredClone(patch.findings) as QueryDeepPartialEntity<UpgradeRequestEntity>['findings'];
      }
      const result = await m
        .createQueryBuilder()
        .update(UpgradeRequestEntity)
        .set(set)
        .where(expectedStatus === undefined ? { id } : { id, status: expectedStatus })
        .execute();
      if ((result.affected ?? 0) === 0) {
        const current = await m.findOne(UpgradeRequestEntity, { where: { id } });
        if (!current) throw new Error(`request ${formatRef(id)} does not exist`);
        throw new ConcurrentChangeError(current.ref ?? formatRef(id));
      }
      const updated = await requestById(m, id);
      if (!updated) throw new Error(`request ${formatRef(id)} does not exist`);
      return updated;
    },
    async addApproval(a) {
      const id = await insertOne(m, ApprovalEntity, {
        requestId: a.requestId,
        personId: a.personId,
        decidedBy: a.by,
        decision: a.decision,
        via: a.via,
        decidedAt: copyDate(a.at),
        reason: a.reason,
        acknowledged: [...a.acknowledged],
        fingerprint: structuredClone(a.fingerprint),
      });
      return { ...a, id, at: copyDate(a.at), acknowledged: [...a.acknowledged], fingerprint: structuredClone(a.fingerprint) };
    },
    async scheduledBetween(from, to) {
      const rows = await m
        .createQueryBuilder(UpgradeRequestEntity, 'r')
        .where('r.status = :status', { status: 'scheduled' })
        .andWhere('r.scheduleAt >= :from', { from: copyDate(from) })
        .andWhere('r.scheduleAt < :to', { to: copyDate(to) })
        .orderBy('r.scheduleAt', 'ASC')
        .addOrderBy('r.id', 'ASC')
        .getMany();
      return hydrateRequests(m, rows);
    },
    async countByStatus() {
      const counts = Object.fromEntries(REQUEST_STATUSES.map((s) => [s, 0])) as Record<RequestStatus, number>;
      const rows = await m
        .createQueryBuilder(UpgradeRequestEntity, 'r')
        .select('r.status', 'status')
        .addSelect('COUNT(*)', 'count')
        .groupBy('r.status')
        .getRawMany<{ status: string; count: string | number }>();
      for (const row of rows) {
        if (row.status in counts) counts[row.status as RequestStatus] = Number(row.count);
      }
      return counts;
    },
  };

  const runs: RunRepository = {
    async byId(id) {
      const e = await m.findOne(RunEntity, { where: { id } });
      return e ? toRun(e) : null;
    },
    async forItem(requestItemId) {
      const e = await m.findOne(RunEntity, { where: { requestItemId } });
      return e ? toRun(e) : null;
    },
    async create(requestItemId, at) {
      const id = await insertOne(m, RunEntity, {
        requestItemId,
        state: 'idle',
        condition: 'ok',
        attempt: 0,
        outcome: 'pending',
        agentId: null,
        issues: [],
        startedAt: null,
        finishedAt: null,
        createdAt: copyDate(at),
        updatedAt: copyDate(at),
        postCheck: null,
      });
      const e = await m.findOneOrFail(RunEntity, { where: { id } });
      return toRun(e);
    },
    async save(run, expected) {
      const result = await m
        .createQueryBuilder()
        .update(RunEntity)
        .set({
          state: run.state,
          condition: run.condition,
          attempt: run.attempt,
          outcome: run.outcome,
          agentId: run.agentId,
          issues: [...run.issues],
          startedAt: copyDate(run.startedAt),
          finishedAt: copyDate(run.finishedAt),
          updatedAt: copyDate(run.updatedAt),
          postCheck: run.postCheck ? { ...run.postCheck, at: copyDate(run.postCheck.at) } : null,
        })
        .where(expected ? { id: run.id, state: expected.state, attempt: expected.attempt } : { id: run.id })
        .execute();
      if ((result.affected ?? 0) === 0) {
        if (expected && (await m.exists(RunEntity, { where: { id: run.id } }))) throw new StaleRunError(run.id);
        throw new Error(`run ${run.id} does not exist`);
      }
      return toRun(await m.findOneOrFail(RunEntity, { where: { id: run.id } }));
    },
    async addEvent(event) {
      const id = await insertOne(m, RunEventEntity, {
        runId: event.runId,
        fromState: event.from,
        toState: event.to,
        event: event.event,
        actor: event.actor,
        message: event.message,
        occurredAt: copyDate(event.at),
      });
      return { ...event, id, at: copyDate(event.at) };
    },
    async events(runId) {
      return (await m.find(RunEventEntity, { where: { runId }, order: { id: 'ASC' } })).map(toRunEvent);
    },
  };

  const audit: AuditRepository = {
    async record(event) {
      await insertOne(m, AuditEventEntity, {
        occurredAt: copyDate(event.at),
        actor: event.actor,
        action: event.action,
        entity: event.entity,
        entityId: event.entityId,
        data: structuredClone(event.data) as QueryDeepPartialEntity<AuditEventEntity>['data'],
        invocationId: event.invocationId,
      });
    },
    async list(filter = {}) {
      const qb = m.createQueryBuilder(AuditEventEntity, 'a');
      if (filter.entity !== undefined) qb.andWhere('a.entity = :entity', { entity: filter.entity });
      if (filter.entityId !== undefined) qb.andWhere('a.entityId = :entityId', { entityId: filter.entityId });
      if (filter.action !== undefined) qb.andWhere('a.action = :action', { action: filter.action });
      const rows = await qb
        .orderBy('a.occurredAt', 'DESC')
        .addOrderBy('a.id', 'DESC')
        .limit(filter.limit ?? 100)
        .getMany();
      return rows.map(toAuditEvent);
    },
  };

  const outbox = outboxRepositoryFor(m);

  const problems: ProblemRepository = {
    async create(report) {
      const id = await insertOne(m, ProblemReportEntity, {
        requestId: report.requestId,
        reporterId: report.reporterId,
        text: report.text,
        via: report.via,
        reportedAt: copyDate(report.at),
      });
      return { ...report, id, at: copyDate(report.at) };
    },
    async forRequest(requestId) {
      return (await m.find(ProblemReportEntity, { where: { requestId }, order: { id: 'ASC' } })).map(toProblemReport);
    },
    async recent(limit) {
      return (await m.find(ProblemReportEntity, { order: { reportedAt: 'DESC', id: 'DESC' }, take: limit })).map(toProblemReport);
    },
  };

  const records: RecordsRepository = {
    upsert: (batch, onProgress) => upsertRecords(m, batch, onProgress),
  };

  const secrets: SecretRepository = {
    async put(requestId, name, sealed, at) {
      // One statement, so two concurrent puts of the same secret cannot trip the unique index.
      await m
        .createQueryBuilder()
        .insert()
        .into(SecretEntity)
        .values({
          requestId,
          name,
          ciphertext: sealed.ciphertext,
          iv: sealed.iv,
          authTag: sealed.authTag,
          createdAt: copyDate(at),
          purgedAt: null,
        })
        .orUpdate(['ciphertext', 'iv', 'authTag', 'createdAt', 'purgedAt'], ['requestId', 'name'])
        .updateEntity(false)
        .execute();
    },
    async get(requestId, name) {
      const e = await m.findOne(SecretEntity, { where: { requestId, name } });
      if (!e || e.purgedAt !== null || e.ciphertext === null || e.iv === null || e.authTag === null) return null;
      return { ciphertext: e.ciphertext, iv: e.iv, authTag: e.authTag };
    },
    async purge(requestId, at) {
      const result = await m
        .createQueryBuilder()
        .update(SecretEntity)
        .set({ ciphertext: null, iv: null, authTag: null, purgedAt: copyDate(at) })
        .where({ requestId, purgedAt: IsNull() })
        .execute();
      return result.affected ?? 0;
    },
  };

  return {
    customers,
    people,
    devices,
    releases,
    windows,
    requests,
    runs,
    audit,
    outbox,
    problems,
    records,
    secrets,
    inboundMail: inboundMailRepositoryFor(m),
    approvalLinks: approvalLinkRepositoryFor(m),
    signInLinks: signInLinkRepositoryFor(m),
    leases: leaseRepositoryFor(m),
  };
}

type Method = (...args: unknown[]) => Promise<unknown>;

/**
 * True for SQLite's "the database is busy" answers (SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, …), as
 * better-sqlite3 throws them and TypeORM wraps them.
 */
export function isSqliteBusy(e: unknown): boolean {
  const err = e as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = err?.driverError?.code ?? err?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs a top-level SQLite transaction, again after a short pause when SQLite refused it as busy,
 * for up to the busy timeout. In WAL mode a transaction that read first and then writes is refused
 * at once, without waiting, when another connection wrote since its read (SQLITE_BUSY_SNAPSHOT)
 * or holds the write lock: only starting over, with fresh reads, can succeed. The refusal comes
 * at the first write and the transaction is rolled back, so nothing of it was kept.
 */
async function retryWhileBusy<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + SQLITE_BUSY_TIMEOUT_MS;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (e) {
      if (!isSqliteBusy(e) || Date.now() >= deadline) throw e;
      // Some jitter, so that two connections refused together do not collide again.
      const pause = Math.min(50, 2 ** Math.min(tries, 6)) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

interface TxContext {
  manager: EntityManager;
  repos: Repositories;
  /** False once the transaction has ended: late callbacks that inherited the context fall back to the store. */
  active: boolean;
}

/** The TypeORM-backed Store; owns its DataSource (close() destroys it). */
export class TypeOrmStore implements Store {
  readonly customers: CustomerRepository;
  readonly people: PersonRepository;
  readonly devices: DeviceRepository;
  readonly releases: ReleaseRepository;
  readonly windows: WindowRepository;
  readonly requests: RequestRepository;
  readonly runs: RunRepository;
  readonly audit: AuditRepository;
  readonly outbox: OutboxRepository;
  readonly problems: ProblemRepository;
  readonly records: RecordsRepository;
  readonly secrets: SecretRepository;
  readonly inboundMail: InboundMailRepository;
  readonly approvalLinks: ApprovalLinkRepository;
  readonly signInLinks: SignInLinkRepository;
  readonly leases: LeaseRepository;

  private readonly base: Repositories;
  private readonly context = new AsyncLocalStorage<TxContext>();
  private readonly mutex = new Mutex();
  /** SQLite has one connection: serialize top-level work against transactions. */
  private readonly serialize: boolean;

  /** Wraps an initialized, migrated DataSource. */
  constructor(readonly dataSource: DataSource) {
    this.serialize = dataSource.options.type !== 'postgres';
    this.base = repositoriesFor(dataSource.manager);
    this.customers = this.delegate('customers');
    this.people = this.delegate('people');
    this.devices = this.delegate('devices');
    this.releases = this.delegate('releases');
    this.windows = this.delegate('windows');
    this.runs = this.delegate('runs');
    this.audit = this.delegate('audit');
    this.outbox = this.delegate('outbox');
    this.problems = this.delegate('problems');
    this.secrets = this.delegate('secrets');
    this.inboundMail = this.delegate('inboundMail');
    this.approvalLinks = this.delegate('approvalLinks');
    this.signInLinks = this.delegate('signInLinks');
    this.leases = this.delegate('leases');
    // Multi-statement writes get their own transaction when called outside one.
    this.requests = { ...this.delegate('requests'), create: (draft) => this.transaction((tx) => tx.requests.create(draft)) };
    this.records = { upsert: (batch, onProgress) => this.transaction((tx) => tx.records.upsert(batch, onProgress)) };
  }

  /**
   * Runs `work` in one database transaction (a savepoint when nested); rolls back on a throw. On
   * SQLite a transaction that another connection to the file (the queue's, another process's)
   * kept from writing is rolled back and run again (see retryWhileBusy), so `work` may run more
   * than once: it must only read and write through `tx`.
   */
  async transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    const outer = this.activeContext();
    const run = (manager: EntityManager): Promise<T> =>
      manager.transaction(async (m) => {
        const ctx: TxContext = { manager: m, repos: repositoriesFor(m), active: true };
        try {
          return await this.context.run(ctx, () => work(ctx.repos));
        } finally {
          ctx.active = false;
        }
      });
    if (outer) return run(outer.manager);
    return this.serialize ? this.mutex.run(() => retryWhileBusy(() => run(this.dataSource.manager))) : run(this.dataSource.manager);
  }

  /** Destroys the data source. */
  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  private activeContext(): TxContext | undefined {
    const ctx = this.context.getStore();
    return ctx?.active ? ctx : undefined;
  }

  private call<T>(pick: (repos: Repositories) => Promise<T>): Promise<T> {
    const ctx = this.activeContext();
    if (ctx) return pick(ctx.repos);
    return this.serialize ? this.mutex.run(() => pick(this.base)) : pick(this.base);
  }

  private delegate<K extends keyof Repositories>(key: K): Repositories[K] {
    const out: Record<string, Method> = {};
    for (const name of Object.keys(this.base[key])) {
      out[name] = (...args: unknown[]) =>
        this.call((repos) => {
          const method = (repos[key] as unknown as Record<string, Method>)[name];
          if (!method) throw new Error(`no method ${String(key)}.${name}`);
          return method(...args);
        });
    }
    return out as unknown as Repositories[K];
  }
}

/** Connects to the database described by `opts`, applies pending migrations, returns the Store. */
export async function openTypeOrmStore(opts: CreateDataSourceOptions & { migrate?: boolean } = {}): Promise<TypeOrmStore> {
  const ds = createDataSource(opts);
  await ds.initialize();
  try {
    if (opts.migrate ?? true) await runMigrations(ds);
  } catch (e) {
    await ds.destroy();
    throw e;
  }
  return new TypeOrmStore(ds);
}
