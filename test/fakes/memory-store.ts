/**
 * An in-memory Store with the same observable semantics as the TypeORM one (it passes the same
 * contract suite): sequential ids and refs, case-insensitive lookups, outbox dedupe,
 * ConcurrentChangeError, and transactions that roll back everything on a throw. Every value going
 * in or out is a deep copy, so callers never share Date objects or arrays with the store; calls
 * are serialized like the SQLite store's, and calls made inside a transaction join it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { OPEN_REQUEST_STATUSES, REQUEST_STATUSES, formatRef, parseRef } from '../../src/domain/types.js';
import type {
  Approval,
  Customer,
  Device,
  MaintenanceWindow,
  Person,
  Release,
  RequestItem,
  RequestStatus,
  Run,
  RunEvent,
  UpgradeRequest,
  UpgradeSlot,
  Window,
} from '../../src/domain/types.js';
import { Mutex } from '../../src/infra/mutex.js';
import { ConcurrentChangeError, StaleRunError } from '../../src/ports.js';
import type {
  AuditEvent,
  AuditRepository,
  CustomerRepository,
  DeviceRepository,
  ImportSummary,
  NewOutboxMessage,
  OutboxMessage,
  OutboxRepository,
  PersonRepository,
  ProblemReport,
  ProblemRepository,
  RecordsBatch,
  RecordsRepository,
  ReleaseRepository,
  Repositories,
  RequestFilter,
  RequestRepository,
  RunRepository,
  RunTally,
  SealedSecret,
  SecretRepository,
  InboundMailRepository,
  InboundMail,
  ApprovalLinkRepository,
  ApprovalLink,
  SignInLinkRepository,
  SignInLink,
  Lease,
  LeaseRepository,
  Store,
  UpsertCounts,
  WindowRepository,
} from '../../src/ports.js';

type RequestRow = Omit<UpgradeRequest, 'items' | 'approvals'>;
type ItemRow = Omit<RequestItem, 'run'>;

/** A stored secret; purging clears the sealed parts and keeps the row as a marker, as the table does. */
interface SecretRow {
  id: number;
  requestId: number;
  name: string;
  sealed: SealedSecret | null;
  createdAt: Date;
  purgedAt: Date | null;
}

interface Tables {
  seq: Record<
    | 'customers'
    | 'people'
    | 'devices'
    | 'releases'
    | 'windows'
    | 'requests'
    | 'items'
    | 'approvals'
    | 'runs'
    | 'runEvents'
    | 'audit'
    | 'outbox'
    | 'problems'
    | 'secrets'
    | 'inboundMail',
    number
  >;
  customers: Map<number, Customer>;
  people: Map<number, Person>;
  devices: Map<number, Device>;
  releases: Map<number, Release>;
  windows: Map<number, Window>;
  requests: Map<number, RequestRow>;
  items: Map<number, ItemRow>;
  approvals: Map<number, Approval>;
  runs: Map<number, Run>;
  runEvents: Map<number, RunEvent>;
  audit: Map<number, AuditEvent>;
  outbox: Map<number, OutboxMessage>;
  problems: Map<number, ProblemReport>;
  secrets: Map<number, SecretRow>;
  inboundMail: Map<number, InboundMail>;
  approvalLinks: Map<string, ApprovalLink>;
  signInLinks: Map<string, SignInLink>;
  leases: Map<string, Lease>;
}

function emptyTables(): Tables {
  return {
    seq: {
      customers: 0,
      people: 0,
      devices: 0,
      releases: 0,
      windows: 0,
      requests: 0,
      items: 0,
      approvals: 0,
      runs: 0,
      runEvents: 0,
      audit: 0,
      outbox: 0,
      problems: 0,
      secrets: 0,
      inboundMail: 0,
    },
    customers: new Map(),
    people: new Map(),
    devices: new Map(),
    releases: new Map(),
    windows: new Map(),
    requests: new Map(),
    items: new Map(),
    approvals: new Map(),
    runs: new Map(),
    runEvents: new Map(),
    audit: new Map(),
    outbox: new Map(),
    problems: new Map(),
    secrets: new Map(),
    inboundMail: new Map(),
    approvalLinks: new Map(),
    signInLinks: new Map(),
    leases: new Map(),
  };
}

const copy = <T>(value: T): T => structuredClone(value);

/**
 * A snapshot for rollback. Stored rows are never mutated in place (every write stores a fresh
 * object), so copying each Map shallowly is enough and stays cheap with 10,000s of rows.
 */
function snapshotOf(t: Tables): Tables {
  return {
    seq: { ...t.seq },
    customers: new Map(t.customers),
    people: new Map(t.people),
    devices: new Map(t.devices),
    releases: new Map(t.releases),
    windows: new Map(t.windows),
    requests: new Map(t.requests),
    items: new Map(t.items),
    approvals: new Map(t.approvals),
    runs: new Map(t.runs),
    runEvents: new Map(t.runEvents),
    audit: new Map(t.audit),
    outbox: new Map(t.outbox),
    problems: new Map(t.problems),
    secrets: new Map(t.secrets),
    inboundMail: new Map(t.inboundMail),
    approvalLinks: new Map(t.approvalLinks),
    signInLinks: new Map(t.signInLinks),
    leases: new Map(t.leases),
  };
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The in-memory Store used by fast command tests. */
export class MemoryStore implements Store {
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
  readonly secrets: SecretRepository;
  readonly records: RecordsRepository;
  readonly inboundMail: InboundMailRepository;
  readonly approvalLinks: ApprovalLinkRepository;
  readonly signInLinks: SignInLinkRepository;
  readonly leases: LeaseRepository;

  private t: Tables = emptyTables();
  private readonly raw: Repositories;
  /** Set while a transaction's work runs; `active` turns false when it ends (late callbacks queue again). */
  private readonly inTransaction = new AsyncLocalStorage<{ active: boolean }>();
  private readonly mutex = new Mutex();
  private closed = false;

  constructor() {
    this.raw = this.buildRepositories();
    const guard = <R extends object>(repo: R): R => {
      const out: Record<string, unknown> = {};
      for (const [name, fn] of Object.entries(repo)) {
        out[name] = (...args: unknown[]) => this.exclusive(() => (fn as (...a: unknown[]) => Promise<unknown>)(...args));
      }
      return out as R;
    };
    this.customers = guard(this.raw.customers);
    this.people = guard(this.raw.people);
    this.devices = guard(this.raw.devices);
    this.releases = guard(this.raw.releases);
    this.windows = guard(this.raw.windows);
    this.runs = guard(this.raw.runs);
    this.audit = guard(this.raw.audit);
    this.outbox = guard(this.raw.outbox);
    this.problems = guard(this.raw.problems);
    this.secrets = guard(this.raw.secrets);
    this.inboundMail = guard(this.raw.inboundMail);
    this.approvalLinks = guard(this.raw.approvalLinks);
    this.signInLinks = guard(this.raw.signInLinks);
    this.leases = guard(this.raw.leases);
    this.requests = { ...guard(this.raw.requests), create: (d) => this.transaction((tx) => tx.requests.create(d)) };
    this.records = { upsert: (b, p) => this.transaction((tx) => tx.records.upsert(b, p)) };
  }

  /** Runs `work` atomically: on a throw every table is restored to its state before (nested: a savepoint). */
  async transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.assertOpen();
      const snapshot = snapshotOf(this.t);
      const ctx = { active: true };
      try {
        return await this.inTransaction.run(ctx, () => work(this.raw));
      } catch (e) {
        this.t = snapshot;
        throw e;
      } finally {
        ctx.active = false;
      }
    };
    return this.insideTransaction() ? run() : this.mutex.run(run);
  }

  private insideTransaction(): boolean {
    return this.inTransaction.getStore()?.active ?? false;
  }

  /** Marks the store closed; later calls throw. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.insideTransaction() ? fn() : this.mutex.run(fn);
  }

  private next(table: keyof Tables['seq']): number {
    this.t.seq[table] += 1;
    return this.t.seq[table];
  }

  private requireRow(table: 'customers' | 'people' | 'devices' | 'requests' | 'items' | 'runs', id: number, what: string): void {
    if (!this.t[table].has(id)) throw new Error(`foreign key violation: ${what} ${id} does not exist`);
  }

  /** The items of a request with their runs, in order (copies). */
  private hydrateItems(requestId: number): RequestItem[] {
    const own = [...this.t.items.values()].filter((i) => i.requestId === requestId).sort((a, b) => a.seq - b.seq || a.id - b.id);
    const ownIds = new Set(own.map((i) => i.id));
    const runByItem = new Map<number, Run>();
    for (const r of this.t.runs.values()) if (ownIds.has(r.requestItemId)) runByItem.set(r.requestItemId, r);
    return own.map((i) => ({ ...copy(i), run: copy(runByItem.get(i.id) ?? null) }));
  }

  /** The request rows a filter selects, most recent first (as the database stores order them). */
  private requestRows(filter: RequestFilter): RequestRow[] {
    return [...this.t.requests.values()]
      .filter((r) => filter.customerId === undefined || r.customerId === filter.customerId)
      .filter((r) => !filter.statuses || filter.statuses.includes(r.status))
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id - a.id)
      .slice(0, filter.limit ?? 50);
  }

  private hydrate(row: RequestRow): UpgradeRequest {
    const items = this.hydrateItems(row.id);
    const approvals = [...this.t.approvals.values()].filter((a) => a.requestId === row.id).sort((a, b) => a.id - b.id);
    return { ...copy(row), items, approvals: copy(approvals) };
  }

  private buildRepositories(): Repositories {
    const customers: CustomerRepository = {
      byId: async (id) => copy(this.t.customers.get(id) ?? null),
      byName: async (name) => {
        const key = name.trim().toLowerCase();
        return copy([...this.t.customers.values()].find((c) => c.name.toLowerCase() === key) ?? null);
      },
      list: async () => copy([...this.t.customers.values()].sort((a, b) => a.id - b.id)),
      count: async () => this.t.customers.size,
    };

    const people: PersonRepository = {
      byId: async (id) => copy(this.t.people.get(id) ?? null),
      byEmail: async (email) => {
        const key = email.trim().toLowerCase();
        return copy([...this.t.people.values()].find((p) => p.email === key) ?? null);
      },
      bySlackUserId: async (id) => copy([...this.t.people.values()].find((p) => p.slackUserId === id) ?? null),
      byDiscordUserId: async (id) => copy([...this.t.people.values()].find((p) => p.discordUserId === id) ?? null),
      list: async (filter = {}) =>
        copy(
          [...this.t.people.values()]
            .filter((p) => filter.customerId === undefined || p.customerId === filter.customerId)
            .filter((p) => !filter.role || p.roles.includes(filter.role))
            .sort((a, b) => a.id - b.id),
        ),
    };

    const devices: DeviceRepository = {
      byId: async (id) => copy(this.t.devices.get(id) ?? null),
      byIds: async (ids) => copy([...new Set(ids)].flatMap((id) => this.t.devices.get(id) ?? [])),
      findForCustomer: async (customerId, nameOrSerial) => {
        const key = nameOrSerial.trim();
        const own = [...this.t.devices.values()].filter((d) => d.customerId === customerId).sort((a, b) => a.id - b.id);
        const found =
          own.find((d) => d.name.toLowerCase() === key.toLowerCase()) ?? own.find((d) => d.serial === key) ?? null;
        return copy(found);
      },
      forCustomer: async (customerId) =>
        copy([...this.t.devices.values()].filter((d) => d.customerId === customerId).sort((a, b) => a.id - b.id)),
      grouped: async (customerId) =>
        copy(
          [...this.t.devices.values()]
            .filter((d) => d.customerId === customerId && d.loadBalancerGroup !== null)
            .sort((a, b) => a.id - b.id),
        ),
      inGroup: async (customerId, group) =>
        copy(
          [...this.t.devices.values()]
            .filter((d) => d.customerId === customerId && d.loadBalancerGroup === group)
            .sort((a, b) => a.id - b.id),
        ),
      recordVersion: async (id, version) => {
        const device = this.t.devices.get(id);
        if (device) this.t.devices.set(id, { ...device, version });
      },
    };

    const releases: ReleaseRepository = {
      forProduct: async (product) =>
        copy([...this.t.releases.values()].filter((r) => r.product === product).sort((a, b) => a.id - b.id)),
      find: async (product, version) =>
        copy([...this.t.releases.values()].find((r) => r.product === product && r.version === version) ?? null),
      list: async () => copy([...this.t.releases.values()].sort((a, b) => a.id - b.id)),
    };

    const maintenanceWindows = (): MaintenanceWindow[] =>
      [...this.t.windows.values()].filter((w): w is MaintenanceWindow => w.kind === 'maintenance');
    const windows: WindowRepository = {
      maintenance: async () =>
        copy(maintenanceWindows().sort((a, b) => a.start.getTime() - b.start.getTime() || a.id - b.id)),
      maintenanceById: async (id) => copy(maintenanceWindows().find((w) => w.id === id) ?? null),
      slots: async (customerId) =>
        copy(
          [...this.t.windows.values()]
            .filter((w): w is UpgradeSlot => w.kind === 'upgrade')
            .filter((w) => w.customerId === null || (customerId !== null && w.customerId === customerId))
            .sort((a, b) => a.id - b.id),
        ),
      addMaintenance: async (w) => {
        const row: MaintenanceWindow = { id: this.next('windows'), kind: 'maintenance', ...copy(w) };
        this.t.windows.set(row.id, row);
        return copy(row);
      },
      removeMaintenance: async (id) => {
        const found = this.t.windows.get(id);
        if (!found || found.kind !== 'maintenance') return false;
        return this.t.windows.delete(id);
      },
    };

    const requests: RequestRepository = {
      create: async (draft) => {
        this.requireRow('customers', draft.customerId, 'customer');
        this.requireRow('people', draft.requesterId, 'person');
        for (const item of draft.items) this.requireRow('devices', item.deviceId, 'device');
        const seqs = new Set(draft.items.map((i) => i.seq));
        if (seqs.size !== draft.items.length) throw new Error('unique violation: request items repeat a seq');
        const id = this.next('requests');
        const { items, ...fields } = copy(draft);
        const row: RequestRow = {
          ...fields,
          id,
          ref: formatRef(id),
          assignedAgentId: null,
          updatedAt: new Date(draft.createdAt.getTime()),
        };
        this.t.requests.set(id, row);
        for (const item of items) {
          const itemId = this.next('items');
          this.t.items.set(itemId, { ...item, id: itemId, requestId: id });
        }
        return this.hydrate(row);
      },
      byId: async (id) => {
        const row = this.t.requests.get(id);
        return row ? this.hydrate(row) : null;
      },
      header: async (id) => {
        const row = this.t.requests.get(id);
        return row ? copy(row) : null;
      },
      items: async (requestId, filter = {}) => {
        let items = this.hydrateItems(requestId);
        if (filter.active) items = items.filter((i) => i.run !== null && i.run.state !== 'done');
        if (filter.pending) items = items.filter((i) => i.run === null);
        if (filter.deviceIds) {
          const wanted = new Set(filter.deviceIds);
          items = items.filter((i) => wanted.has(i.deviceId));
        }
        return filter.limit === undefined ? items : items.slice(0, Math.max(0, Math.floor(filter.limit)));
      },
      itemOfRun: async (runId) => {
        const run = this.t.runs.get(runId);
        const item = run ? this.t.items.get(run.requestItemId) : undefined;
        return run && item ? { ...copy(item), run: copy(run) } : null;
      },
      runTally: async (requestId) => {
        const items = this.hydrateItems(requestId);
        const states: RunTally['states'] = {};
        for (const { run } of items) if (run) states[run.state] = (states[run.state] ?? 0) + 1;
        return { items: items.length, states };
      },
      repeatedDevices: async (requestId) => {
        const counts = new Map<number, number>();
        for (const i of this.t.items.values()) if (i.requestId === requestId) counts.set(i.deviceId, (counts.get(i.deviceId) ?? 0) + 1);
        return [...counts].filter(([, n]) => n > 1).map(([id]) => id).sort((a, b) => a - b);
      },
      byRef: async (ref) => {
        const id = parseRef(ref);
        const row = id === null ? undefined : this.t.requests.get(id);
        return row ? this.hydrate(row) : null;
      },
      list: async (filter = {}) => this.requestRows(filter).map((r) => this.hydrate(r)),
      headers: async (filter = {}) => copy(this.requestRows(filter)),
      openForDevices: async (deviceIds) => {
        const wanted = new Set(deviceIds);
        const open = new Map<number, string>();
        const openRequests = [...this.t.requests.values()]
          .filter((r) => OPEN_REQUEST_STATUSES.includes(r.status))
          .sort((a, b) => a.id - b.id);
        const openIds = new Map(openRequests.map((r) => [r.id, r.ref]));
        const items = [...this.t.items.values()].sort((a, b) => a.requestId - b.requestId || a.id - b.id);
        for (const item of items) {
          const ref = openIds.get(item.requestId);
          if (ref !== undefined && wanted.has(item.deviceId) && !open.has(item.deviceId)) open.set(item.deviceId, ref);
        }
        return open;
      },
      update: async (id, patch, expectedStatus) => {
        const row = this.t.requests.get(id);
        if (!row) throw new Error(`request ${formatRef(id)} does not exist`);
        if (expectedStatus !== undefined && row.status !== expectedStatus) throw new ConcurrentChangeError(row.ref);
        if (patch.assignedAgentId != null) this.requireRow('people', patch.assignedAgentId, 'person');
        const defined = Object.fromEntries(Object.entries(copy(patch)).filter(([, v]) => v !== undefined));
        const updated: RequestRow = { ...row, ...defined };
        this.t.requests.set(id, updated);
        return this.hydrate(updated);
      },
      addApproval: async (approval) => {
        this.requireRow('requests', approval.requestId, 'request');
        this.requireRow('people', approval.personId, 'person');
        const row: Approval = { ...copy(approval), id: this.next('approvals') };
        this.t.approvals.set(row.id, row);
        return copy(row);
      },
      scheduledBetween: async (from, to) =>
        [...this.t.requests.values()]
          .filter(
            (r) =>
              r.status === 'scheduled' &&
              r.schedule.at !== null &&
              r.schedule.at.getTime() >= from.getTime() &&
              r.schedule.at.getTime() < to.getTime(),
          )
          .sort((a, b) => (a.schedule.at?.getTime() ?? 0) - (b.schedule.at?.getTime() ?? 0) || a.id - b.id)
          .map((r) => this.hydrate(r)),
      countByStatus: async () => {
        const counts = Object.fromEntries(REQUEST_STATUSES.map((s) => [s, 0])) as Record<RequestStatus, number>;
        for (const r of this.t.requests.values()) counts[r.status] += 1;
        return counts;
      },
    };

    const runs: RunRepository = {
      byId: async (id) => copy(this.t.runs.get(id) ?? null),
      forItem: async (requestItemId) =>
        copy([...this.t.runs.values()].find((r) => r.requestItemId === requestItemId) ?? null),
      create: async (requestItemId, at) => {
        this.requireRow('items', requestItemId, 'request item');
        if ([...this.t.runs.values()].some((r) => r.requestItemId === requestItemId)) {
          throw new Error(`unique violation: request item ${requestItemId} already has a run`);
        }
        const run: Run = {
          id: this.next('runs'),
          requestItemId,
          state: 'idle',
          condition: 'ok',
          attempt: 0,
          outcome: 'pending',
          agentId: null,
          issues: [],
          startedAt: null,
          finishedAt: null,
          updatedAt: new Date(at.getTime()),
          postCheck: null,
        };
        this.t.runs.set(run.id, run);
        return copy(run);
      },
      save: async (run, expected) => {
        const current = this.t.runs.get(run.id);
        if (!current) throw new Error(`run ${run.id} does not exist`);
        if (expected && (current.state !== expected.state || current.attempt !== expected.attempt)) throw new StaleRunError(run.id);
        // requestItemId is fixed once created, as in the database store.
        const saved: Run = { ...copy(run), requestItemId: current.requestItemId };
        this.t.runs.set(run.id, saved);
        return copy(saved);
      },
      addEvent: async (event) => {
        this.requireRow('runs', event.runId, 'run');
        const row: RunEvent = { ...copy(event), id: this.next('runEvents') };
        this.t.runEvents.set(row.id, row);
        return copy(row);
      },
      events: async (runId) =>
        copy([...this.t.runEvents.values()].filter((e) => e.runId === runId).sort((a, b) => a.id - b.id)),
    };

    const audit: AuditRepository = {
      record: async (event) => {
        const row: AuditEvent = { ...copy(event), id: this.next('audit') };
        this.t.audit.set(row.id, row);
      },
      list: async (filter = {}) =>
        copy(
          [...this.t.audit.values()]
            .filter((e) => filter.entity === undefined || e.entity === filter.entity)
            .filter((e) => filter.entityId === undefined || e.entityId === filter.entityId)
            .filter((e) => filter.action === undefined || e.action === filter.action)
            .sort((a, b) => b.at.getTime() - a.at.getTime() || b.id - a.id)
            .slice(0, filter.limit ?? 100),
        ),
    };

    const outbox: OutboxRepository = {
      enqueue: async (message) => this.storeOutbox(message),
      upsertEditable: async (message, at) => {
        if (this.storeOutbox(message)) return true;
        const row = [...this.t.outbox.values()].find((m) => m.dedupeKey === message.dedupeKey)!;
        if (sameValue(row.payload, message.payload)) return false;
        // Same rules as the database store: a waiting message keeps its attempts and backoff, a
        // delivered or abandoned one starts over; the lease is kept.
        const waiting = row.status === 'pending';
        this.t.outbox.set(row.id, {
          ...row,
          payload: copy(message.payload),
          revision: row.revision + 1,
          status: 'pending',
          attempts: waiting ? row.attempts : 0,
          lastError: waiting ? row.lastError : null,
          nextAttemptAt: waiting ? row.nextAttemptAt : new Date(at.getTime()),
        });
        return true;
      },
      pending: async (limit = 100) =>
        copy(
          [...this.t.outbox.values()]
            .filter((m) => m.status === 'pending')
            .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || a.id - b.id)
            .slice(0, limit),
        ),
      forRequest: async (requestId) =>
        copy([...this.t.outbox.values()].filter((m) => m.requestId === requestId).sort((a, b) => a.id - b.id)),
      claimDue: async (now, leaseUntil, limit) => {
        const heads = new Map<string, OutboxMessage>();
        for (const m of [...this.t.outbox.values()].sort((a, b) => a.id - b.id)) {
          if (m.status === 'pending' && !heads.has(m.destination)) heads.set(m.destination, m);
        }
        const due = [...heads.values()]
          .filter((m) => m.nextAttemptAt <= now && (m.claimedUntil === null || m.claimedUntil < now))
          .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || a.id - b.id)
          .slice(0, Math.max(0, Math.floor(limit)));
        return due.map((m) => {
          const claimed = { ...m, claimedUntil: new Date(leaseUntil.getTime()) };
          this.t.outbox.set(m.id, claimed);
          return copy(claimed);
        });
      },
      markSent: async (id, revision, at, externalId) => {
        const row = this.t.outbox.get(id);
        if (!row) return;
        const current = row.revision === revision;
        this.t.outbox.set(id, {
          ...row,
          externalId: externalId ?? row.externalId,
          claimedUntil: null,
          attempts: current ? row.attempts + 1 : row.attempts,
          lastError: current ? null : row.lastError,
          sentAt: current ? new Date(at.getTime()) : row.sentAt,
          status: current ? 'sent' : row.status,
        });
      },
      markFailed: async (id, error, retryAt, _at, options = {}) => {
        const row = this.t.outbox.get(id);
        if (!row || row.status !== 'pending') return;
        this.t.outbox.set(id, {
          ...row,
          attempts: row.attempts + (options.countAttempt === false ? 0 : 1),
          lastError: error,
          claimedUntil: null,
          status: retryAt === null ? 'failed' : 'pending',
          nextAttemptAt: retryAt === null ? row.nextAttemptAt : new Date(retryAt.getTime()),
        });
      },
    };

    const problems: ProblemRepository = {
      create: async (report) => {
        this.requireRow('requests', report.requestId, 'request');
        this.requireRow('people', report.reporterId, 'person');
        const row: ProblemReport = { ...copy(report), id: this.next('problems') };
        this.t.problems.set(row.id, row);
        return copy(row);
      },
      forRequest: async (requestId) =>
        copy([...this.t.problems.values()].filter((p) => p.requestId === requestId).sort((a, b) => a.id - b.id)),
      recent: async (limit) =>
        copy([...this.t.problems.values()].sort((a, b) => b.at.getTime() - a.at.getTime() || b.id - a.id).slice(0, Math.max(0, limit))),
    };

    const records: RecordsRepository = {
      upsert: async (batch, onProgress) => this.upsert(copy(batch), onProgress),
    };

    const findSecret = (requestId: number, name: string): SecretRow | undefined =>
      [...this.t.secrets.values()].find((row) => row.requestId === requestId && row.name === name);
    const secrets: SecretRepository = {
      put: async (requestId, name, sealed, at) => {
        this.requireRow('requests', requestId, 'request');
        const found = findSecret(requestId, name);
        const row: SecretRow = {
          id: found?.id ?? this.next('secrets'),
          requestId,
          name,
          sealed: copy(sealed),
          createdAt: new Date(at.getTime()),
          purgedAt: null,
        };
        this.t.secrets.set(row.id, row);
      },
      get: async (requestId, name) => {
        const found = findSecret(requestId, name);
        return found && found.purgedAt === null ? copy(found.sealed) : null;
      },
      purge: async (requestId, at) => {
        let erased = 0;
        for (const row of [...this.t.secrets.values()]) {
          if (row.requestId !== requestId || row.purgedAt !== null) continue;
          this.t.secrets.set(row.id, { ...row, sealed: null, purgedAt: new Date(at.getTime()) });
          erased += 1;
        }
        return erased;
      },
    };

    const inboundMail: InboundMailRepository = {
      claim: async (mail) => {
        if ([...this.t.inboundMail.values()].some((row) => row.messageId === mail.messageId)) return null;
        const row: InboundMail = {
          id: this.next('inboundMail'),
          messageId: mail.messageId,
          fromAddress: mail.fromAddress,
          subject: mail.subject,
          receivedAt: new Date(mail.receivedAt.getTime()),
          outcome: null,
          requestRef: null,
          authentication: null,
          note: null,
        };
        this.t.inboundMail.set(row.id, row);
        return copy(row);
      },
      settle: async (id, result) => {
        const row = this.t.inboundMail.get(id);
        if (row) this.t.inboundMail.set(id, { ...row, ...copy(result) });
      },
      byMessageId: async (messageId) => {
        const row = [...this.t.inboundMail.values()].find((r) => r.messageId === messageId);
        return row ? copy(row) : null;
      },
      forRequest: async (ref) => [...this.t.inboundMail.values()].filter((r) => r.requestRef === ref).map(copy),
    };
    const approvalLinks: ApprovalLinkRepository = {
      create: async (link) => {
        if (this.t.approvalLinks.has(link.id)) throw new Error(`approval link ${link.id} exists`);
        this.t.approvalLinks.set(link.id, { ...copy(link), usedAt: null, decision: null });
      },
      byId: async (id) => {
        const row = this.t.approvalLinks.get(id);
        return row ? copy(row) : null;
      },
      use: async (id, at, decision) => {
        const row = this.t.approvalLinks.get(id);
        if (!row || row.usedAt !== null) return false;
        this.t.approvalLinks.set(id, { ...row, usedAt: new Date(at.getTime()), decision });
        return true;
      },
      forRequest: async (requestId) =>
        [...this.t.approvalLinks.values()]
          .filter((r) => r.requestId === requestId)
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id))
          .map(copy),
    };
    const signInLinks: SignInLinkRepository = {
      create: async (link) => {
        if (this.t.signInLinks.has(link.id)) throw new Error(`sign-in link ${link.id} exists`);
        this.requireRow('people', link.personId, 'person');
        this.t.signInLinks.set(link.id, { ...copy(link), usedAt: null });
      },
      byId: async (id) => copy(this.t.signInLinks.get(id) ?? null),
      use: async (id, at) => {
        const row = this.t.signInLinks.get(id);
        if (!row || row.usedAt !== null) return false;
        this.t.signInLinks.set(id, { ...row, usedAt: new Date(at.getTime()) });
        return true;
      },
      deleteExpired: async (before) => {
        let deleted = 0;
        for (const [id, row] of [...this.t.signInLinks]) {
          if (row.expiresAt.getTime() < before.getTime()) {
            this.t.signInLinks.delete(id);
            deleted += 1;
          }
        }
        return deleted;
      },
    };
    const leases: LeaseRepository = {
      tryAcquire: async (name, holder, now, ttlMs) => {
        if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`lease time to live must be positive, got ${ttlMs}`);
        const row = this.t.leases.get(name);
        if (row && row.holder !== holder && row.expiresAt.getTime() > now.getTime()) return false;
        const acquiredAt = row && row.holder === holder ? row.acquiredAt : now;
        this.t.leases.set(name, { name, holder, acquiredAt: new Date(acquiredAt.getTime()), expiresAt: new Date(now.getTime() + ttlMs) });
        return true;
      },
      release: async (name, holder) => {
        if (this.t.leases.get(name)?.holder !== holder) return false;
        this.t.leases.delete(name);
        return true;
      },
      holder: async (name) => copy(this.t.leases.get(name) ?? null),
    };
    return { customers, people, devices, releases, windows, requests, runs, audit, outbox, problems, records, secrets, inboundMail, approvalLinks, signInLinks, leases };
  }

  /** Stores a new outbox message unless its dedupe key is taken; true when stored. */
  private storeOutbox(message: NewOutboxMessage): boolean {
    if ([...this.t.outbox.values()].some((m) => m.dedupeKey === message.dedupeKey)) return false;
    if (message.requestId !== null) this.requireRow('requests', message.requestId, 'request');
    const row: OutboxMessage = {
      ...copy(message),
      id: this.next('outbox'),
      status: 'pending',
      attempts: 0,
      nextAttemptAt: new Date(message.createdAt.getTime()),
      sentAt: null,
      externalId: null,
      revision: 0,
      lastError: null,
      claimedUntil: null,
    };
    this.t.outbox.set(row.id, row);
    return true;
  }

  /** Same rules as the database store: natural keys, duplicate keys and unknown customers throw. */
  private upsert(batch: RecordsBatch, onProgress?: (done: number, total: number) => void): ImportSummary {
    const total =
      batch.customers.length + batch.people.length + batch.devices.length + batch.releases.length + batch.windows.length;
    let done = 0;
    onProgress?.(0, total);

    const apply = <T extends { id: number }>(
      kind: string,
      table: Map<number, T>,
      seq: keyof Tables['seq'],
      rows: Omit<T, 'id'>[],
      keyOf: (row: Omit<T, 'id'>) => string,
    ): UpsertCounts => {
      const counts: UpsertCounts = { created: 0, updated: 0, unchanged: 0 };
      const existing = new Map<string, T>();
      for (const row of [...table.values()].sort((a, b) => a.id - b.id)) existing.set(keyOf(row), row);
      const seen = new Set<string>();
      for (const row of rows) {
        const key = keyOf(row);
        if (seen.has(key)) throw new Error(`records batch lists ${kind} "${key}" more than once`);
        seen.add(key);
        const found = existing.get(key);
        if (!found) {
          const id = this.next(seq);
          table.set(id, { ...row, id } as T);
          counts.created += 1;
        } else if (Object.keys(row).every((k) => sameValue((row as Record<string, unknown>)[k], (found as Record<string, unknown>)[k]))) {
          counts.unchanged += 1;
        } else {
          table.set(found.id, { ...row, id: found.id } as T);
          counts.updated += 1;
        }
        done += 1;
        if (done % 1000 === 0) onProgress?.(done, total);
      }
      return counts;
    };

    const customerCounts = apply<Customer>(
      'customer',
      this.t.customers,
      'customers',
      batch.customers.map((c) => ({
        name: c.name,
        email: c.email,
        phone: c.phone,
        timezone: c.timezone,
        lowTraffic: c.lowTraffic ?? null,
        partner: c.partner ?? null,
        slackChannel: c.slackChannel ?? null,
        discordChannel: c.discordChannel ?? null,
        notifyEmails: [...(c.notifyEmails ?? [])],
      })),
      (c) => c.name.toLowerCase(),
    );
    const byName = new Map([...this.t.customers.values()].sort((a, b) => b.id - a.id).map((c) => [c.name.toLowerCase(), c.id]));
    const customerId = (name: string, what: string): number => {
      const id = byName.get(name.toLowerCase());
      if (id === undefined) throw new Error(`unknown customer "${name}" (referenced by ${what}); import or create it first`);
      return id;
    };

    const peopleCounts = apply<Person>(
      'person',
      this.t.people,
      'people',
      batch.people.map((p) => ({
        name: p.name,
        email: p.email.trim().toLowerCase(),
        phone: p.phone ?? null,
        customerId: p.customer === null ? null : customerId(p.customer, `person ${p.email}`),
        roles: [...p.roles],
        slackUserId: p.slackUserId ?? null,
        discordUserId: p.discordUserId ?? null,
        partner: p.partner ?? null,
      })),
      (p) => p.email,
    );
    this.assertUnique('person', this.t.people, (p) => p.slackUserId, 'slackUserId');
    this.assertUnique('person', this.t.people, (p) => p.discordUserId, 'discordUserId');

    const deviceCounts = apply<Device>(
      'device',
      this.t.devices,
      'devices',
      batch.devices.map((d) => ({
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
      })),
      (d) => d.serial,
    );
    this.assertUnique('device', this.t.devices, (d) => `${d.customerId}/${d.name}`, '(customerId, name)');

    const releaseCounts = apply<Release>(
      'release',
      this.t.releases,
      'releases',
      batch.releases.map((r) => ({
        product: r.product,
        version: r.version,
        downtimeMinutes: [r.downtimeMinutes[0], r.downtimeMinutes[1]],
        prerequisites: [...r.prerequisites],
        impact: r.impact,
        postUpgradeTasks: [...r.postUpgradeTasks],
      })),
      (r) => `${r.product}\u0000${r.version}`,
    );

    type WindowFields = Omit<MaintenanceWindow, 'id'> | Omit<UpgradeSlot, 'id'>;
    const windowCounts = apply<Window>(
      'window',
      this.t.windows,
      'windows',
      batch.windows.map(
        (w): WindowFields =>
          w.kind === 'maintenance'
            ? { kind: 'maintenance', start: w.start, end: w.end, reason: w.reason }
            : {
                kind: 'upgrade',
                cron: w.cron,
                timezone: w.timezone,
                durationMinutes: w.durationMinutes,
                customerId: w.customer === null ? null : customerId(w.customer, `upgrade slot "${w.cron}"`),
              },
      ) as Omit<Window, 'id'>[],
      (row) => {
        const w = row as WindowFields;
        return w.kind === 'maintenance'
          ? `maintenance ${w.start.toISOString()}–${w.end.toISOString()}`
          : `upgrade ${w.cron} ${w.timezone} customer ${String(w.customerId ?? 'any')}`;
      },
    );

    onProgress?.(total, total);
    return {
      customers: customerCounts,
      people: peopleCounts,
      devices: deviceCounts,
      releases: releaseCounts,
      windows: windowCounts,
    };
  }

  private assertUnique<T>(kind: string, table: Map<number, T>, keyOf: (row: T) => string | null, what: string): void {
    const seen = new Set<string>();
    for (const row of table.values()) {
      const key = keyOf(row);
      if (key === null) continue;
      if (seen.has(key)) throw new Error(`unique violation: two ${kind} rows share ${what} "${key}"`);
      seen.add(key);
    }
  }
}
