/**
 * The interfaces services need from the outside world. Implemented by `src/infra` (TypeORM over
 * SQLite or PostgreSQL) and by the in-memory fakes in `test/fakes`; both pass one shared suite.
 */
import type {
  Approval,
  Channel,
  Customer,
  Device,
  Finding,
  MaintenanceWindow,
  Person,
  Release,
  RequestItem,
  RequestOptions,
  RequestStatus,
  Role,
  Run,
  RunEvent,
  Schedule,
  UpgradeRequest,
  UpgradeSlot,
} from './domain/types.js';

/** The source of "now"; a parameter everywhere so tests can hold time still. */
export interface Clock {
  now(): Date;
}

export interface CustomerRepository {
  byId(id: number): Promise<Customer | null>;
  /** Case-insensitive exact name. */
  byName(name: string): Promise<Customer | null>;
  list(): Promise<Customer[]>;
  count(): Promise<number>;
}

export interface PersonRepository {
  byId(id: number): Promise<Person | null>;
  /** Case-insensitive. */
  byEmail(email: string): Promise<Person | null>;
  bySlackUserId(id: string): Promise<Person | null>;
  byDiscordUserId(id: string): Promise<Person | null>;
  /** People of one customer (customerId) or, with customerId null, staff without a customer. */
  list(filter?: { customerId?: number | null; role?: Role }): Promise<Person[]>;
}

export interface DeviceRepository {
  byId(id: number): Promise<Device | null>;
  /** A device of this customer whose name (case-insensitive) or serial (exact) is `nameOrSerial`. */
  findForCustomer(customerId: number, nameOrSerial: string): Promise<Device | null>;
  forCustomer(customerId: number): Promise<Device[]>;
  /** Devices of a customer in one load-balancer group. */
  inGroup(customerId: number, group: string): Promise<Device[]>;
}

export interface ReleaseRepository {
  /** Releases of one product, any order. */
  forProduct(product: string): Promise<Release[]>;
  find(product: string, version: string): Promise<Release | null>;
  list(): Promise<Release[]>;
}

export interface WindowRepository {
  maintenance(): Promise<MaintenanceWindow[]>;
  maintenanceById(id: number): Promise<MaintenanceWindow | null>;
  /** Upgrade slots for this customer: its own plus the global ones (customerId null). */
  slots(customerId: number | null): Promise<UpgradeSlot[]>;
  addMaintenance(w: Omit<MaintenanceWindow, 'id' | 'kind'>): Promise<MaintenanceWindow>;
  /** Removes a maintenance window; false when there was none with that id. */
  removeMaintenance(id: number): Promise<boolean>;
}

/** What a service hands to `RequestRepository.create`; ids and the reference are assigned there. */
export interface NewRequest {
  status: RequestStatus;
  customerId: number;
  requesterId: number;
  targetVersion: string;
  schedule: Schedule;
  options: RequestOptions;
  note: string | null;
  bulk: boolean;
  findings: Finding[];
  via: Channel;
  contactEmail: string;
  statusReason: string | null;
  createdAt: Date;
  items: Omit<RequestItem, 'id' | 'requestId' | 'run'>[];
}

export interface RequestFilter {
  customerId?: number;
  statuses?: readonly RequestStatus[];
  /** Most recent first; default 50. */
  limit?: number;
}

/** Fields a service may change on a request. */
export type RequestPatch = Partial<
  Pick<UpgradeRequest, 'status' | 'schedule' | 'statusReason' | 'assignedAgentId' | 'findings'>
> & { updatedAt: Date };

/** Thrown by `update` when the request is not in the status the caller read (a concurrent change). */
export class ConcurrentChangeError extends Error {
  constructor(readonly ref: string) {
    super(`request ${ref} was changed by someone else meanwhile`);
    this.name = 'ConcurrentChangeError';
  }
}

export interface RequestRepository {
  create(draft: NewRequest): Promise<UpgradeRequest>;
  byId(id: number): Promise<UpgradeRequest | null>;
  byRef(ref: string): Promise<UpgradeRequest | null>;
  list(filter?: RequestFilter): Promise<UpgradeRequest[]>;
  /** For each given device that has an open request (OPEN_REQUEST_STATUSES): deviceId → that request's ref. */
  openForDevices(deviceIds: readonly number[]): Promise<Map<number, string>>;
  /**
   * Applies `patch`; when `expectedStatus` is given and the stored status differs, changes nothing
   * and throws ConcurrentChangeError.
   */
  update(id: number, patch: RequestPatch, expectedStatus?: RequestStatus): Promise<UpgradeRequest>;
  addApproval(approval: Omit<Approval, 'id'>): Promise<Approval>;
  /** Requests in status `scheduled` whose planned start lies in [from, to). */
  scheduledBetween(from: Date, to: Date): Promise<UpgradeRequest[]>;
}

export interface RunRepository {
  byId(id: number): Promise<Run | null>;
  forItem(requestItemId: number): Promise<Run | null>;
  create(requestItemId: number, at: Date): Promise<Run>;
  save(run: Run): Promise<Run>;
  addEvent(event: Omit<RunEvent, 'id'>): Promise<RunEvent>;
  events(runId: number): Promise<RunEvent[]>;
}

export interface AuditEvent {
  id: number;
  at: Date;
  /** The person's e-mail, or "system". */
  actor: string;
  action: string;
  entity: string;
  entityId: string;
  data: Record<string, unknown>;
  invocationId: string | null;
}

export interface AuditRepository {
  record(event: Omit<AuditEvent, 'id'>): Promise<void>;
  list(filter?: { entity?: string; entityId?: string; action?: string; limit?: number }): Promise<AuditEvent[]>;
}

/** Kinds of notices (SPEC §6). */
export type NoticeKind =
  | 'request_received'
  | 'consent_needed'
  | 'approved'
  | 'declined'
  | 'cancelled'
  | 'scheduled'
  | 'downtime'
  | 'progress'
  | 'completed'
  | 'follow_up'
  | 'problem_reported'
  | 'maintenance_added';

export interface OutboxMessage {
  id: number;
  /** Unique: the same notice to the same destination is stored once (request, kind, recipient). */
  dedupeKey: string;
  requestId: number | null;
  kind: NoticeKind;
  /** e.g. "slack:C0ACME", "discord:1100", "email:jane@acme.example", "ops". */
  destination: string;
  /** A serialized Reply (see src/core/reply.ts). */
  payload: unknown;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  createdAt: Date;
  nextAttemptAt: Date;
  sentAt: Date | null;
}

export interface OutboxRepository {
  /** Stores the message unless one with the same dedupeKey exists; true when stored. */
  enqueue(message: Omit<OutboxMessage, 'id' | 'status' | 'attempts' | 'sentAt' | 'nextAttemptAt'>): Promise<boolean>;
  pending(limit?: number): Promise<OutboxMessage[]>;
  forRequest(requestId: number): Promise<OutboxMessage[]>;
}

export interface ProblemReport {
  id: number;
  requestId: number;
  reporterId: number;
  text: string;
  via: Channel;
  at: Date;
}

export interface ProblemRepository {
  create(report: Omit<ProblemReport, 'id'>): Promise<ProblemReport>;
  forRequest(requestId: number): Promise<ProblemReport[]>;
}

/** Rows of the records file after validation, keyed by natural keys (SPEC §8). */
export type CustomerRecord = Omit<Customer, 'id'>;
export interface PersonRecord extends Omit<Person, 'id' | 'customerId'> {
  /** Customer name; null for staff. */
  customer: string | null;
}
export interface DeviceRecord extends Omit<Device, 'id' | 'customerId'> {
  customer: string;
}
export type ReleaseRecord = Omit<Release, 'id'>;
export type WindowRecord =
  | { kind: 'maintenance'; start: Date; end: Date; reason: string }
  | { kind: 'upgrade'; cron: string; timezone: string; durationMinutes: number; customer: string | null };

export interface RecordsBatch {
  customers: CustomerRecord[];
  people: PersonRecord[];
  devices: DeviceRecord[];
  releases: ReleaseRecord[];
  windows: WindowRecord[];
}

export interface UpsertCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export type ImportSummary = Record<keyof RecordsBatch, UpsertCounts>;

export interface RecordsRepository {
  /**
   * Upserts every record by natural key: customer name, person email, device serial, release
   * (product, version), maintenance window (start, end), upgrade slot (cron, timezone, customer).
   * Names of customers must exist in the batch or the database; call inside a transaction.
   * `onProgress(done, total)` is called now and then for large batches.
   */
  upsert(batch: RecordsBatch, onProgress?: (done: number, total: number) => void): Promise<ImportSummary>;
}

/** Everything a use case may read or write. */
export interface Repositories {
  customers: CustomerRepository;
  people: PersonRepository;
  devices: DeviceRepository;
  releases: ReleaseRepository;
  windows: WindowRepository;
  requests: RequestRepository;
  runs: RunRepository;
  audit: AuditRepository;
  outbox: OutboxRepository;
  problems: ProblemRepository;
  records: RecordsRepository;
}

/** Repositories plus transactions: inside `transaction`, all writes commit together or not at all. */
export interface Store extends Repositories {
  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
