/**
 * The domain vocabulary of Upgrade Desk (SPEC §1–§5): plain data, no behaviour, no I/O.
 * Every other layer speaks in these shapes; entities and repositories map to and from them.
 */

/** Roles a person may hold (SPEC §1). */
export const ROLES = ['requester', 'authorized_representative', 'agent', 'platform_admin', 'partner_admin'] as const;
export type Role = (typeof ROLES)[number];

/** Device statuses as the records carry them (SPEC §8, [000]). */
export const DEVICE_STATUSES = [
  'created',
  'provisioned',
  'configured',
  'upgrade_required',
  'provision_failed',
  'activation_failed',
] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** Request statuses of the lifecycle (SPEC §4). */
export const REQUEST_STATUSES = [
  'received',
  'rejected',
  'awaiting_consent',
  'approved',
  'scheduled',
  'in_progress',
  'completed',
  'completed_with_issues',
  'failed',
  'aborted',
  'cancelled',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** Statuses in which a request still occupies its devices ("open"). */
export const OPEN_REQUEST_STATUSES: readonly RequestStatus[] = [
  'received',
  'awaiting_consent',
  'approved',
  'scheduled',
  'in_progress',
];

/** Stable finding codes (SPEC §3). */
export const FINDING_CODES = [
  'unknown_requester',
  'customer_mismatch',
  'unknown_device',
  'hardware_mismatch',
  'device_status_blocked',
  'upgrade_required',
  'unknown_release',
  'version_jump_too_large',
  'downgrade',
  'same_version',
  'device_busy',
  'replication_enabled',
  'load_balancer_group_incomplete',
  'blackout_conflict',
  'past_time',
  'outside_low_traffic',
  'missing_manager_password',
  'not_authorized',
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];

export type Severity = 'error' | 'warning';

/** One result of a validation rule. `device` names the device for bulk requests, `field` the form field. */
export interface Finding {
  code: FindingCode;
  severity: Severity;
  message: string;
  device?: string;
  field?: string;
}

/** Where an invocation came from, and so where replies and consent are recorded as coming from. */
export const CHANNELS = ['slack', 'discord', 'console', 'email', 'web', 'api'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface Customer {
  id: number;
  name: string;
  email: string;
  phone: string;
  /** IANA zone, e.g. America/New_York. */
  timezone: string;
  /** Preferred low-traffic window, e.g. "Sun 01:00-05:00" or "Sat-Sun 22:00-04:00" (customer's timezone). */
  lowTraffic: string | null;
  partner: string | null;
  slackChannel: string | null;
  discordChannel: string | null;
  /** Extra addresses that receive the customer's e-mail notices. */
  notifyEmails: string[];
}

export interface Person {
  id: number;
  name: string;
  /** Lower-cased. */
  email: string;
  phone: string | null;
  /** null for support staff and partner admins. */
  customerId: number | null;
  roles: Role[];
  slackUserId: string | null;
  discordUserId: string | null;
  /** For partner admins: the partner whose customers they follow. */
  partner: string | null;
}

export interface Device {
  id: number;
  customerId: number;
  name: string;
  product: string;
  serial: string;
  /** Canonical form aa:bb:cc:dd:ee:ff (lower case). */
  mac: string;
  /** Canonical form (IPv4 dotted quad, IPv6 RFC 5952). */
  ip: string;
  version: string;
  status: DeviceStatus;
  replication: boolean;
  loadBalancerGroup: string | null;
  databasePrimary: boolean;
  statusUrl: string | null;
}

export interface Release {
  id: number;
  product: string;
  version: string;
  /** [min, max] minutes of expected downtime; [30, 60] by default [003]. */
  downtimeMinutes: [number, number];
  prerequisites: string[];
  impact: string;
  postUpgradeTasks: string[];
}

/** A platform maintenance window: a blackout no upgrade may overlap [001]. */
export interface MaintenanceWindow {
  id: number;
  kind: 'maintenance';
  start: Date;
  end: Date;
  reason: string;
}

/** A recurring upgrade slot, e.g. cron "0 1 * * 0" for Sundays 01:00, in `timezone`, lasting `durationMinutes`. */
export interface UpgradeSlot {
  id: number;
  kind: 'upgrade';
  cron: string;
  timezone: string;
  durationMinutes: number;
  /** null: the slot applies to every customer. */
  customerId: number | null;
}

export type Window = MaintenanceWindow | UpgradeSlot;

export type ScheduleMode = 'now' | 'window' | 'at';

/** When a request should run. `at` is the planned start (null until known for `window`). */
export interface Schedule {
  mode: ScheduleMode;
  at: Date | null;
}

/** Options of [001]. */
export interface RequestOptions {
  forced: boolean;
  redeploy: boolean;
  notifyPartner: boolean;
  notifyCustomer: boolean;
}

/** States of an upgrade run [004] (SPEC §5). */
export const RUN_STATES = [
  'idle',
  'prepare_split',
  'split',
  'prepare_merge',
  'merge',
  'commit',
  'finish',
  'abort',
  'done',
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** Operational condition of a run; nothing advances while busy or broken [004]. */
export type RunCondition = 'ok' | 'busy' | 'broken';

export type RunOutcome = 'pending' | 'completed' | 'completed_with_issues' | 'failed' | 'aborted';

export interface Run {
  id: number;
  requestItemId: number;
  state: RunState;
  condition: RunCondition;
  /** How many times the current state has been attempted. */
  attempt: number;
  outcome: RunOutcome;
  agentId: number | null;
  issues: string[];
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
  /** The post-upgrade check after finish, once made. */
  postCheck: PostCheck | null;
}

export interface RunEvent {
  id: number;
  runId: number;
  from: RunState;
  to: RunState;
  event: string;
  actor: string;
  message: string;
  at: Date;
}

/** One device of a request (a single request has one item; a bulk request many; a step path one per step). */
export interface RequestItem {
  id: number;
  requestId: number;
  deviceId: number;
  deviceName: string;
  /** Order among the items; steps of one device run in this order. */
  seq: number;
  fromVersion: string;
  targetVersion: string;
  findings: Finding[];
  run: Run | null;
}

export type Decision = 'approved' | 'declined';

export interface Approval {
  id: number;
  requestId: number;
  personId: number;
  /** Display form of who decided: "Jane Doe <jane@acme.example>". */
  by: string;
  decision: Decision;
  via: Channel;
  at: Date;
  reason: string | null;
  /** Warning codes the representative saw and accepted with this decision. */
  acknowledged: FindingCode[];
  /** The devices as the representative consented to them (empty for a decline). */
  fingerprint: DeviceFingerprint[];
}

/** What a representative consented to about one device: if any of it changes, consent is void. */
export interface DeviceFingerprint {
  deviceId: number;
  name: string;
  serial: string;
  mac: string;
  ip: string;
  version: string;
  status: DeviceStatus;
}

/** The result of the post-upgrade check of a device's status URL [002]. */
export interface PostCheck {
  /** The status URL answered with success. */
  ok: boolean;
  /** The version the device reported, when it said. */
  version: string | null;
  message: string;
  at: Date;
}

export interface UpgradeRequest {
  id: number;
  /** UPG-000123 */
  ref: string;
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
  /** The address feedback goes to [003]: the form's e-mail, else the requester's. */
  contactEmail: string;
  assignedAgentId: number | null;
  statusReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  items: RequestItem[];
  approvals: Approval[];
}

/** Formats a numeric id as a request reference, UPG-000123. */
export function formatRef(id: number): string {
  return `UPG-${String(id).padStart(6, '0')}`;
}

/** Reads UPG-000123 (case-insensitive, zeros optional) back to its id; null when it is not a reference. */
export function parseRef(text: string): number | null {
  const m = /^UPG-?(\d{1,9})$/i.exec(text.trim());
  if (!m) return null;
  const id = Number(m[1]);
  return id > 0 ? id : null;
}
