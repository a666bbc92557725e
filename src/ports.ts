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
  PostCheck,
  Release,
  RequestItem,
  RequestOptions,
  RequestStatus,
  Role,
  Run,
  RunEvent,
  RunState,
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
  /** The devices with these ids, in no particular order; unknown ids are left out. Reads them a chunk at a time. */
  byIds(ids: readonly number[]): Promise<Device[]>;
  /** A device of this customer whose name (case-insensitive) or serial (exact) is `nameOrSerial`. */
  findForCustomer(customerId: number, nameOrSerial: string): Promise<Device | null>;
  forCustomer(customerId: number): Promise<Device[]>;
  /** Devices of a customer that belong to any load-balancer group. */
  grouped(customerId: number): Promise<Device[]>;
  /** Devices of a customer in one load-balancer group. */
  inGroup(customerId: number, group: string): Promise<Device[]>;
  /** Records the version a device verifiably runs after an upgrade. */
  recordVersion(id: number, version: string): Promise<void>;
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

/**
 * Thrown by `RunRepository.save` when the run is no longer in the state and attempt the caller
 * expected: another worker moved it meanwhile (e.g. the same step performed by two processes).
 */
export class StaleRunError extends Error {
  constructor(readonly runId: number) {
    super(`run ${runId} was moved on by someone else meanwhile`);
    this.name = 'StaleRunError';
  }
}

/**
 * A request without its items and approvals: what a run step, a progress update or the queue
 * needs to know of it, at the same cost for one device as for ten thousand.
 */
export type RequestHeader = Omit<UpgradeRequest, 'items' | 'approvals'>;

/** How far the runs of a request are, counted by the store without loading the items. */
export interface RunTally {
  /** Items of the request. */
  items: number;
  /** Runs per state; a state no run is in is absent. Items without a run are not counted. */
  states: Partial<Record<RunState, number>>;
}

/** How `RequestRepository.header` reads. */
export interface HeaderOptions {
  /**
   * Inside a transaction: hold the request's row until it ends, so that changes to one request's
   * runs made in several transactions at once (several processes on PostgreSQL) follow one
   * another, and the one that finishes the last run sees every other run done. (SQLite runs one
   * writing transaction at a time anyway.)
   */
  lock?: boolean;
}

/** Which items `RequestRepository.items` returns (all conditions given must hold). */
export interface ItemsFilter {
  /** Only items whose run exists and is not done (the runs under way). */
  active?: boolean;
  /** Only items without a run yet. */
  pending?: boolean;
  /** Only items of these devices. */
  deviceIds?: readonly number[];
  /** At most this many, the first in order. */
  limit?: number;
}

export interface RequestRepository {
  create(draft: NewRequest): Promise<UpgradeRequest>;
  byId(id: number): Promise<UpgradeRequest | null>;
  /** The request without its items and approvals (one row, whatever the request's size); null when none. */
  header(id: number, options?: HeaderOptions): Promise<RequestHeader | null>;
  /** Items of a request with their runs, in order (seq, then id), as `byId` lists them. */
  items(requestId: number, filter?: ItemsFilter): Promise<RequestItem[]>;
  /** The item run `runId` belongs to, with that run; null when there is no such run. */
  itemOfRun(runId: number): Promise<RequestItem | null>;
  /** Counts the items of a request and its runs by state. */
  runTally(requestId: number): Promise<RunTally>;
  /** Devices that more than one item of the request upgrades (steps of one device), ascending. */
  repeatedDevices(requestId: number): Promise<number[]>;
  byRef(ref: string): Promise<UpgradeRequest | null>;
  list(filter?: RequestFilter): Promise<UpgradeRequest[]>;
  /** The requests `list` gives for the same filter, without their items and approvals. */
  headers(filter?: RequestFilter): Promise<RequestHeader[]>;
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
  /** How many requests are in each status (every status present, 0 when none). */
  countByStatus(): Promise<Record<RequestStatus, number>>;
}

export interface RunRepository {
  byId(id: number): Promise<Run | null>;
  forItem(requestItemId: number): Promise<Run | null>;
  create(requestItemId: number, at: Date): Promise<Run>;
  /**
   * Stores the run's new values. With `expected`, atomically: only when the stored run is still in
   * that state and attempt, else nothing changes and StaleRunError is thrown (of two concurrent
   * saves from the same state, exactly one succeeds).
   */
  save(run: Run, expected?: Pick<Run, 'state' | 'attempt'>): Promise<Run>;
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
  /** The platform's id of the posted message (Slack ts, Discord id, Message-ID), for edits. */
  externalId: string | null;
  /** 0 when first stored; each in-place edit adds 1. */
  revision: number;
  lastError: string | null;
  /** A worker holds the message until then (null: unclaimed). */
  claimedUntil: Date | null;
}

/** What `enqueue` takes: the rest is set by the repository. */
export type NewOutboxMessage = Omit<
  OutboxMessage,
  'id' | 'status' | 'attempts' | 'sentAt' | 'nextAttemptAt' | 'externalId' | 'revision' | 'lastError' | 'claimedUntil'
>;

export interface OutboxRepository {
  /** Stores the message unless one with the same dedupeKey exists; true when stored. */
  enqueue(message: NewOutboxMessage): Promise<boolean>;
  /**
   * For messages edited in place (the progress message): stores the message when new, otherwise
   * replaces its payload, bumps `revision` and makes it pending again so the sink edits the
   * message it posted before (`externalId`). True when something changed.
   */
  upsertEditable(message: NewOutboxMessage, at: Date): Promise<boolean>;
  /** Pending messages, oldest first (any destination); for inspection and tests. */
  pending(limit?: number): Promise<OutboxMessage[]>;
  forRequest(requestId: number): Promise<OutboxMessage[]>;
  /**
   * Atomically claims, for each destination, its oldest pending message when that message is due
   * (`nextAttemptAt` <= now) and not claimed by a live worker (`claimedUntil` < now), setting
   * `claimedUntil` = leaseUntil. Destinations are independent; within one destination order is
   * kept because only the head can be claimed. At most `limit` messages.
   */
  claimDue(now: Date, leaseUntil: Date, limit: number): Promise<OutboxMessage[]>;
  /** Marks a claimed message delivered, remembering the platform's message id for later edits. */
  markSent(id: number, revision: number, at: Date, externalId: string | null): Promise<void>;
  /**
   * Records a failed attempt: `retryAt` null gives up (status failed), otherwise pending again then.
   * `countAttempt: false` (a rate limit: the platform said when to come back) leaves `attempts` as it is.
   */
  markFailed(id: number, error: string, retryAt: Date | null, at: Date, options?: { countAttempt?: boolean }): Promise<void>;
}

/** An encrypted secret as stored: AES-256-GCM parts, base64. */
export interface SealedSecret {
  ciphertext: string;
  iv: string;
  authTag: string;
}

/** Encrypted secrets of requests (the manager password [003]). */
export interface SecretRepository {
  /** Stores or replaces the secret `name` of a request. */
  put(requestId: number, name: string, sealed: SealedSecret, at: Date): Promise<void>;
  /** The sealed secret, or null when none was given or it was purged. */
  get(requestId: number, name: string): Promise<SealedSecret | null>;
  /** Erases every secret of the request (keeps a purged marker); returns how many were erased. */
  purge(requestId: number, at: Date): Promise<number>;
}

/** What mailauth concluded about a received e-mail: each verdict as it says it ("pass", "fail", "none", "temperror", …). */
export interface MailAuthentication {
  spf: string;
  dkim: string;
  dmarc: string;
}

/** An e-mail the intake received, remembered by its Message-ID. */
export interface InboundMail {
  id: number;
  messageId: string;
  fromAddress: string;
  subject: string;
  receivedAt: Date;
  /** What became of it: filed, rejected, help, unknown_sender, dropped, failed; null while it is being handled. */
  outcome: string | null;
  requestRef: string | null;
  authentication: MailAuthentication | null;
  note: string | null;
}

export interface InboundMailRepository {
  /**
   * Records a message the first time its Message-ID is seen and returns it; null when that
   * Message-ID was recorded before (a repeated delivery: nothing is to be done).
   */
  claim(mail: Pick<InboundMail, 'messageId' | 'fromAddress' | 'subject' | 'receivedAt'>): Promise<InboundMail | null>;
  /** Records what became of a claimed message. */
  settle(id: number, result: Pick<InboundMail, 'outcome' | 'requestRef' | 'authentication' | 'note'>): Promise<void>;
  byMessageId(messageId: string): Promise<InboundMail | null>;
  /** The received mails that filed or concern a request, oldest first. */
  forRequest(ref: string): Promise<InboundMail[]>;
}

/** A one-time e-mail approval link for one representative and one request. */
export interface ApprovalLink {
  /** Random and unguessable; the link carries it with a signature. */
  id: string;
  requestId: number;
  personId: number;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  decision: 'approved' | 'declined' | null;
}

export interface ApprovalLinkRepository {
  create(link: Pick<ApprovalLink, 'id' | 'requestId' | 'personId' | 'createdAt' | 'expiresAt'>): Promise<void>;
  byId(id: string): Promise<ApprovalLink | null>;
  /** Marks an unused link used with the decision; false when it was used already (at most one caller wins). */
  use(id: string, at: Date, decision: 'approved' | 'declined'): Promise<boolean>;
  /** The links of a request, oldest first. */
  forRequest(requestId: number): Promise<ApprovalLink[]>;
}

/** A single-use sign-in link e-mailed to a staff member for the ops dashboard (no passwords anywhere). */
export interface SignInLink {
  /** Random and unguessable; the link carries it with a signature, which is not stored. */
  id: string;
  personId: number;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
}

export interface SignInLinkRepository {
  create(link: Pick<SignInLink, 'id' | 'personId' | 'createdAt' | 'expiresAt'>): Promise<void>;
  byId(id: string): Promise<SignInLink | null>;
  /** Marks an unused link used; false when it was used already or does not exist (at most one caller wins). */
  use(id: string, at: Date): Promise<boolean>;
  /** Deletes every link (used or not) that expired before `before`; returns how many. */
  deleteExpired(before: Date): Promise<number>;
}

/** A named, expiring claim held by one process at a time (e.g. the Discord gateway connection). */
export interface Lease {
  name: string;
  /** Who holds it: an id of one process (random, plus host and pid). */
  holder: string;
  /** When the current holder took it (kept by renewals). */
  acquiredAt: Date;
  /** Until when it is held; after that any process may take it over. */
  expiresAt: Date;
}

export interface LeaseRepository {
  /**
   * Takes, renews or takes over lease `name` for `holder` until `now + ttlMs`, in one atomic
   * statement: it is taken when no one holds it, renewed when `holder` holds it already, and taken
   * over when the other holder let it expire (`expiresAt <= now`). True when `holder` holds it
   * afterwards; of several holders asking at once, exactly one wins.
   */
  tryAcquire(name: string, holder: string, now: Date, ttlMs: number): Promise<boolean>;
  /** Gives lease `name` up when `holder` holds it (another may take it at once); true when it did. */
  release(name: string, holder: string): Promise<boolean>;
  /** The lease as stored (possibly expired), or null when no one has held it or it was released. */
  holder(name: string): Promise<Lease | null>;
}

/** Encrypts and decrypts secrets (src/infra/secrets.ts); the key never leaves it. */
export interface SecretBox {
  seal(plain: string): SealedSecret;
  /** Throws when the secret was tampered with or sealed under another key. */
  open(sealed: SealedSecret): string;
  /** A signature of `data` (HMAC-SHA256 under a key derived from the secrets key), base64url. */
  sign(data: string): string;
  /** True when `signature` is sign(data); compared in constant time. */
  verify(data: string, signature: string): boolean;
}

/**
 * The queue as services see it. Jobs are derived from stored state: after a change commits, the
 * service asks the scheduler to bring a request's jobs in line (idempotent, safe to repeat; a
 * periodic sweep repeats it, so a crash between commit and sync loses nothing).
 */
export interface Scheduler {
  /** (Re)schedules or removes the jobs of one request to match its stored status and schedule. */
  syncRequest(requestId: number): Promise<void>;
  /** Wakes the outbox worker (new messages were committed). */
  kickOutbox(): void;
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
  /** The latest reports of all requests, most recent first (by time, then id), at most `limit`. */
  recent(limit: number): Promise<ProblemReport[]>;
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
  secrets: SecretRepository;
  inboundMail: InboundMailRepository;
  approvalLinks: ApprovalLinkRepository;
  signInLinks: SignInLinkRepository;
  leases: LeaseRepository;
}

/** Repositories plus transactions: inside `transaction`, all writes commit together or not at all. */
export interface Store extends Repositories {
  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Everything an executor needs to perform one step of a device's upgrade run. */
export interface StepContext {
  /** The request the run belongs to (its header: the step does not load every item of a bulk request). */
  request: RequestHeader;
  item: RequestItem;
  device: Device;
  run: Run;
  /** The state the run is about to enter (`next`), or the state being retried (`retry`). */
  target: RunState;
  /** The decrypted manager password [003], or null when none was given. Never log it. */
  managerPassword: string | null;
  /** Aborted when the process shuts down; executors stop and report `transient`. */
  signal: AbortSignal;
}

/** What performing a step came to. */
export type StepResult =
  /** The step's work is done; the run enters `target`. `holdMs`: how long it stays there before the next step. */
  | { outcome: 'done'; message: string; holdMs?: number }
  /** A transient failure: the step is retried with backoff. */
  | { outcome: 'transient'; message: string }
  /** The device is busy: the run is marked busy and nothing advances until it is cleared. */
  | { outcome: 'busy'; message: string }
  /** A permanent failure: the run is marked broken for an agent to look at. */
  | { outcome: 'broken'; message: string }
  /** Nothing automatic: an agent moves the run (the manual executor). */
  | { outcome: 'waiting' };

/** Drives a run's steps: manual, script or simulate (SPEC §5). */
export interface Executor {
  readonly kind: 'manual' | 'script' | 'simulate';
  perform(ctx: StepContext): Promise<StepResult>;
}

/** The result of the post-upgrade check [002] (a domain type, re-exported for adapters). */
export type { PostCheck };

/** Fetches a device's status URL after `finish` [002]. */
export interface StatusChecker {
  check(device: Device, expectedVersion: string): Promise<PostCheck>;
}
