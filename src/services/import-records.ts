/**
 * The "import records" use case (SPEC §2, §8): reads the records file (JSON, or CSV with one file
 * per kind, or a directory of such CSV files), validates every row before anything is written and
 * reports every bad row with its file and position, then upserts everything in one transaction
 * together with one audit event. A file with any bad row imports nothing.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { parse as parseCsvText } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { normalizeIp, normalizeMac, normalizeSerial } from '../domain/hardware.js';
import { err, ok } from '../domain/result.js';
import type { Result } from '../domain/result.js';
import { isValidCron, isValidTimezone, parseLowTraffic } from '../domain/time.js';
import { DEVICE_STATUSES, ROLES } from '../domain/types.js';
import type { DeviceStatus, Role } from '../domain/types.js';
import type {
  CustomerRecord,
  DeviceRecord,
  ImportSummary,
  PersonRecord,
  RecordsBatch,
  ReleaseRecord,
  Repositories,
  Store,
  WindowRecord,
} from '../ports.js';
import { parseVersion } from '../domain/versions.js';

/** The kinds of records, in the order they are imported and reported. */
export const RECORD_KINDS = ['customers', 'people', 'devices', 'releases', 'windows'] as const satisfies readonly (keyof RecordsBatch)[];

/** One kind of records: a top-level key of the JSON file, or the kind of one CSV file. */
export type RecordKind = (typeof RECORD_KINDS)[number];

/** One bad row (or a problem with a file as a whole), saying where it is, what is wrong and what is expected. */
export interface ImportProblem {
  /** The file name, e.g. "devices.csv". */
  source: string;
  /** The kind of records concerned; null for a problem with the file as a whole (unreadable, not JSON, unknown key). */
  kind: keyof RecordsBatch | null;
  /** "devices[12]" in JSON, "line 14" in CSV (the physical line, header = line 1), "file" for the whole file. */
  position: string;
  /** The field or column concerned, when there is one. */
  field?: string;
  /** What is wrong and what is expected. */
  reason: string;
}

/** Thrown by `importRecords` when the batch names customers that are neither in it nor in the database; nothing was written. */
export class RecordsImportError extends Error {
  constructor(readonly problems: ImportProblem[]) {
    super(`records not imported:\n${formatImportProblems(problems)}`);
    this.name = 'RecordsImportError';
  }
}

/** Who imports and when, for the audit event; every field has a default. */
export interface ImportOptions {
  /** Shown in the audit event; defaults to the files the batch was parsed from. */
  source?: string;
  /** The person's e-mail, or "system" (the default). */
  actor?: string;
  /** The time recorded in the audit event; defaults to the current time. */
  now?: Date;
  invocationId?: string | null;
}

/** The release downtime when the records give none [003]. */
export const DEFAULT_DOWNTIME_MINUTES: readonly [number, number] = [30, 60];

/** The most problems `formatImportProblems` lists before summing up the rest. */
export const MAX_LISTED_PROBLEMS = 50;

// ---------------------------------------------------------------------------------------------
// Field checks. Each takes the raw value (JSON value, or CSV cell with empty cells as undefined)
// and returns the stored form or a reason that names the field, says what is wrong and what is
// expected. JSON and CSV share them: a list may also be written "a;b", a yes/no value as text.

type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };
type Check<T> = (value: unknown) => Checked<T>;

const good = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = (reason: string): Checked<never> => ({ ok: false, reason });

/** Shows a raw value in a message: text in quotes, long values shortened. */
function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** Names the JSON type of a value for "must be text, got …" messages. */
function typeOf(value: unknown): string {
  if (Array.isArray(value)) return `the list ${show(value)}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `the ${typeof value} ${show(value)}`;
}

const isMissing = (value: unknown): boolean => value === undefined || value === null || (typeof value === 'string' && value.trim() === '');

/** Required text, trimmed. Numbers are refused: ids and phone numbers lose digits and signs as JSON numbers. */
function requiredText(field: string, example?: string): Check<string> {
  return (value) => {
    const hint = example ? ` (expected e.g. ${example})` : '';
    if (isMissing(value)) return bad(`${field} is required${hint}`);
    if (typeof value !== 'string') return bad(`${field} must be text in quotes, got ${typeOf(value)}${hint}`);
    return good(value.trim());
  };
}

/** Optional text, trimmed; missing or empty is null. */
function optionalText(field: string): Check<string | null> {
  return (value) => {
    if (isMissing(value)) return good(null);
    if (typeof value !== 'string') return bad(`${field} must be text in quotes or empty, got ${typeOf(value)}`);
    return good(value.trim());
  };
}

/** Required text that `read` turns into its stored form (null: not such a value, with `expected` explaining). */
function requiredValue<T>(field: string, what: string, example: string, read: (text: string) => T | null): Check<T> {
  const base = requiredText(field, example);
  return (value) => {
    const text = base(value);
    if (!text.ok) return text;
    const read_ = read(text.value);
    return read_ === null ? bad(`${field} ${show(text.value)} is not ${what} (expected e.g. ${example})`) : good(read_);
  };
}

const YES = new Set(['true', 'yes', 'y', '1']);
const NO = new Set(['false', 'no', 'n', '0']);

/** true/false/yes/no/1/0 (any case); missing is `fallback`. */
function yesNo(field: string, fallback: boolean): Check<boolean> {
  return (value) => {
    if (isMissing(value)) return good(fallback);
    if (typeof value === 'boolean') return good(value);
    const text = typeof value === 'string' ? value.trim().toLowerCase() : typeof value === 'number' ? String(value) : '';
    if (YES.has(text)) return good(true);
    if (NO.has(text)) return good(false);
    return bad(`${field} ${show(value)} is not a yes/no value (expected true, false, yes, no, 1 or 0)`);
  };
}

/** A whole number ≥ 1, as a JSON number or digits. */
function positiveInteger(field: string, unit: string): Check<number> {
  return (value) => {
    const expected = `expected a whole number of ${unit} greater than 0, e.g. 240`;
    if (isMissing(value)) return bad(`${field} is required (${expected})`);
    const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) return bad(`${field} ${show(value)} is not valid (${expected})`);
    return good(n);
  };
}

/** A list of texts: a JSON array, or one text with items separated by ";". Missing is []. Items are trimmed, empty ones dropped. */
function textList(field: string): Check<string[]> {
  return (value) => {
    if (isMissing(value)) return good([]);
    if (typeof value === 'string') return good(value.split(';').map((s) => s.trim()).filter((s) => s !== ''));
    if (!Array.isArray(value)) return bad(`${field} must be a list of texts (or one text with items separated by ";"), got ${typeOf(value)}`);
    const items: string[] = [];
    for (const [i, item] of value.entries()) {
      if (typeof item !== 'string') return bad(`${field}[${i}] must be text in quotes, got ${typeOf(item)}`);
      if (item.trim() !== '') items.push(item.trim());
    }
    return good(items);
  };
}

/** True for a syntactically valid e-mail address. */
function isEmail(text: string): boolean {
  return z.email().safeParse(text).success;
}

/** A required e-mail address, stored lower-case. */
function email(field: string): Check<string> {
  return requiredValue(field, 'an e-mail address', 'name@example.com', (t) => (isEmail(t) ? t.toLowerCase() : null));
}

/** A list of e-mail addresses, stored lower-case without repeats. */
function emailList(field: string): Check<string[]> {
  const list = textList(field);
  return (value) => {
    const items = list(value);
    if (!items.ok) return items;
    const invalid = items.value.find((t) => !isEmail(t));
    if (invalid !== undefined) return bad(`${field}: ${show(invalid)} is not an e-mail address (expected addresses such as name@example.com, separated by ";")`);
    return good([...new Set(items.value.map((t) => t.toLowerCase()))]);
  };
}

const TIMEZONE_EXAMPLE = 'Europe/Berlin, America/New_York or UTC';

/** A required IANA timezone name. */
function timezone(field: string): Check<string> {
  const base = requiredText(field, TIMEZONE_EXAMPLE);
  return (value) => {
    const text = base(value);
    if (!text.ok) return text;
    return isValidTimezone(text.value) ? text : bad(`${field} ${show(text.value)} is not an IANA timezone (expected e.g. ${TIMEZONE_EXAMPLE})`);
  };
}

/** An optional low-traffic window the schedule policy can read; stored as written. */
function lowTraffic(field: string): Check<string | null> {
  const base = optionalText(field);
  return (value) => {
    const text = base(value);
    if (!text.ok || text.value === null) return text;
    return parseLowTraffic(text.value)
      ? text
      : bad(`${field} ${show(text.value)} is not a low-traffic window (expected e.g. "Sun 01:00-05:00", "Sat-Sun 22:00-04:00" or "daily 01:00-05:00")`);
  };
}

/** Lower-case with spaces and dashes as underscores: "Provision Failed" and "UPGRADE-REQUIRED" read as the codes. */
const asCode = (text: string): string => text.trim().toLowerCase().replace(/[\s-]+/g, '_');

/** One or more roles from ROLES, without repeats. */
function roles(field: string): Check<Role[]> {
  const list = textList(field);
  const expected = `expected one or more of ${ROLES.join(', ')}, separated by ";" in CSV`;
  return (value) => {
    const items = list(value);
    if (!items.ok) return items;
    if (items.value.length === 0) return bad(`${field} is required (${expected})`);
    const out = new Set<Role>();
    for (const item of items.value) {
      const code = asCode(item);
      if (!(ROLES as readonly string[]).includes(code)) return bad(`${field}: ${show(item)} is not a role (${expected})`);
      out.add(code as Role);
    }
    return good([...out]);
  };
}

/** A device status from DEVICE_STATUSES. */
function deviceStatus(field: string): Check<DeviceStatus> {
  const expected = `expected one of ${DEVICE_STATUSES.join(', ')}`;
  const base = requiredText(field);
  return (value) => {
    const text = base(value);
    if (!text.ok) return bad(`${field} is required (${expected})`);
    const code = asCode(text.value);
    return (DEVICE_STATUSES as readonly string[]).includes(code)
      ? good(code as DeviceStatus)
      : bad(`${field} ${show(text.value)} is not a device status (${expected})`);
  };
}

/** A version x[.y[.z]] as the version policy reads it; stored as written, without a leading "v". */
function version(field: string): Check<string> {
  return requiredValue(field, 'a version', '7.1.0', (t) => (parseVersion(t) ? t.replace(/^v/i, '') : null));
}

/** [min, max] downtime minutes: a JSON [30, 60], or "30-60"; missing is the default [30, 60] [003]. */
function downtime(field: string): Check<[number, number]> {
  const expected = 'expected minimum and maximum minutes such as 30-60 in CSV or [30, 60] in JSON, minimum ≤ maximum, both greater than 0';
  return (value) => {
    if (isMissing(value)) return good([DEFAULT_DOWNTIME_MINUTES[0], DEFAULT_DOWNTIME_MINUTES[1]]);
    let pair: unknown[] | null = null;
    if (Array.isArray(value)) pair = value;
    else if (typeof value === 'string') {
      const m = /^\s*\[?\s*(\d+)\s*(?:-|–|,|\.\.)\s*(\d+)\s*\]?\s*$/.exec(value);
      if (m) pair = [Number(m[1]), Number(m[2])];
    }
    if (!pair || pair.length !== 2 || !pair.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n > 0)) {
      return bad(`${field} ${show(value)} is not a downtime range (${expected})`);
    }
    const [min, max] = pair as [number, number];
    if (min > max) return bad(`${field} ${show(value)}: the minimum ${min} is greater than the maximum ${max} (${expected})`);
    return good([min, max]);
  };
}

/** An optional http(s) URL. */
function httpUrl(field: string): Check<string | null> {
  const base = optionalText(field);
  return (value) => {
    const text = base(value);
    if (!text.ok || text.value === null) return text;
    let url: URL | null = null;
    try {
      url = new URL(text.value);
    } catch {
      url = null;
    }
    return url && (url.protocol === 'http:' || url.protocol === 'https:')
      ? text
      : bad(`${field} ${show(text.value)} is not an http(s) URL (expected e.g. http://203.0.113.10:7751/ManagementServer/deployment/status.aspx)`);
  };
}

const OFFSET_AT_END = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** An ISO date and time with an offset, e.g. 2026-12-01T00:00:00Z. */
function instant(field: string): Check<Date> {
  const example = '2026-12-01T00:00:00Z or 2026-12-01T01:00:00+01:00';
  return requiredValue(field, 'an ISO date and time with an offset', example, (t) => {
    if (!t.includes('T') || !OFFSET_AT_END.test(t)) return null;
    const dt = DateTime.fromISO(t, { setZone: true });
    return dt.isValid ? dt.toJSDate() : null;
  });
}

/** A cron expression of 5 fields (6 with seconds first) or a @-shortcut, that cron-parser accepts. */
function cron(field: string): Check<string> {
  return requiredValue(field, 'a cron expression', '"0 1 * * 0" for Sundays 01:00', (t) => {
    const text = t.replace(/\s+/g, ' ');
    const fields = text.split(' ').length;
    const shape = text.startsWith('@') ? fields === 1 : fields === 5 || fields === 6;
    return shape && isValidCron(text) ? text : null;
  });
}

// ---------------------------------------------------------------------------------------------
// Row schemas: a strict zod object of checked fields per kind (unknown fields are an error).

/** A zod schema that runs one check and reports its reason at the field. */
function fieldSchema<T>(check: Check<T>) {
  return z.unknown().optional().transform((value, ctx): T => {
    const checked = check(value);
    if (checked.ok) return checked.value;
    ctx.addIssue({ code: 'custom', message: checked.reason, input: value });
    return z.NEVER;
  });
}

const customerSchema = z.strictObject({
  name: fieldSchema(requiredText('name', 'Acme Corp')),
  email: fieldSchema(email('email')),
  phone: fieldSchema(requiredText('phone', '+1 555 0100')),
  timezone: fieldSchema(timezone('timezone')),
  lowTraffic: fieldSchema(lowTraffic('lowTraffic')),
  partner: fieldSchema(optionalText('partner')),
  slackChannel: fieldSchema(optionalText('slackChannel')),
  discordChannel: fieldSchema(optionalText('discordChannel')),
  notifyEmails: fieldSchema(emailList('notifyEmails')),
});

const personSchema = z.strictObject({
  name: fieldSchema(requiredText('name', 'Jane Doe')),
  email: fieldSchema(email('email')),
  phone: fieldSchema(optionalText('phone')),
  customer: fieldSchema(optionalText('customer')),
  roles: fieldSchema(roles('roles')),
  slackUserId: fieldSchema(optionalText('slackUserId')),
  discordUserId: fieldSchema(optionalText('discordUserId')),
  partner: fieldSchema(optionalText('partner')),
});

const deviceSchema = z.strictObject({
  name: fieldSchema(requiredText('name', 'edge-01')),
  customer: fieldSchema(requiredText('customer', 'Acme Corp')),
  product: fieldSchema(requiredText('product', 'SysMaster')),
  serial: fieldSchema(requiredValue('serial', 'a serial number', 'SN-1001', (t) => normalizeSerial(t) || null)),
  mac: fieldSchema(requiredValue('mac', 'a MAC address', '00:1A:2B:3C:4D:5E', normalizeMac)),
  ip: fieldSchema(requiredValue('ip', 'an IP address', '203.0.113.10', normalizeIp)),
  version: fieldSchema(version('version')),
  status: fieldSchema(deviceStatus('status')),
  replication: fieldSchema(yesNo('replication', false)),
  loadBalancerGroup: fieldSchema(optionalText('loadBalancerGroup')),
  databasePrimary: fieldSchema(yesNo('databasePrimary', false)),
  statusUrl: fieldSchema(httpUrl('statusUrl')),
});

const releaseSchema = z.strictObject({
  product: fieldSchema(requiredText('product', 'SysMaster')),
  version: fieldSchema(version('version')),
  downtimeMinutes: fieldSchema(downtime('downtimeMinutes')),
  prerequisites: fieldSchema(textList('prerequisites')),
  impact: fieldSchema(optionalText('impact')),
  postUpgradeTasks: fieldSchema(textList('postUpgradeTasks')),
});

const maintenanceSchema = z.strictObject({
  kind: z.literal('maintenance'),
  start: fieldSchema(instant('start')),
  end: fieldSchema(instant('end')),
  reason: fieldSchema(requiredText('reason', 'Platform maintenance')),
});

const upgradeSlotSchema = z.strictObject({
  kind: z.literal('upgrade'),
  cron: fieldSchema(cron('cron')),
  timezone: fieldSchema(timezone('timezone')),
  durationMinutes: fieldSchema(positiveInteger('durationMinutes', 'minutes')),
  customer: fieldSchema(optionalText('customer')),
});

/** The fields (JSON keys, CSV columns) of each kind, in their canonical order. */
export const RECORD_FIELDS: { readonly [K in RecordKind]: readonly string[] } = {
  customers: Object.keys(customerSchema.shape),
  people: Object.keys(personSchema.shape),
  devices: Object.keys(deviceSchema.shape),
  releases: Object.keys(releaseSchema.shape),
  windows: ['kind', ...Object.keys(maintenanceSchema.shape).slice(1), ...Object.keys(upgradeSlotSchema.shape).slice(1)],
};

/** Columns a CSV file of each kind must have. */
const REQUIRED_COLUMNS: { readonly [K in RecordKind]: readonly string[] } = {
  customers: ['name', 'email', 'phone', 'timezone'],
  people: ['name', 'email', 'roles'],
  devices: ['name', 'customer', 'product', 'serial', 'mac', 'ip', 'version', 'status'],
  releases: ['product', 'version'],
  windows: ['kind'],
};

const CUSTOMER_ROLES: readonly Role[] = ['requester', 'authorized_representative'];
const STAFF_ROLES: readonly Role[] = ['agent', 'platform_admin', 'partner_admin'];

type RowIssue = { field?: string; reason: string };
type RowResult<T> = { ok: true; value: T } | { ok: false; issues: RowIssue[] };

/** Runs a row schema and turns zod issues into row issues, one per field (and one per unknown field). */
function runSchema<T>(schema: z.ZodType<T>, row: Record<string, unknown>, kind: RecordKind, misplaced?: (key: string) => string | null): RowResult<T> {
  const parsed = schema.safeParse(row);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues: RowIssue[] = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const reason = misplaced?.(key) ?? `unknown field ${show(key)} (expected some of ${RECORD_FIELDS[kind].join(', ')})`;
        issues.push({ field: key, reason });
      }
      continue;
    }
    const field = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
    issues.push(field === undefined ? { reason: issue.message } : { field, reason: issue.message });
  }
  return { ok: false, issues };
}

/** Validates one row of any kind; the row is a plain object of raw values (missing fields absent or undefined). */
function validateRow(kind: RecordKind, row: Record<string, unknown>): RowResult<RecordsBatch[RecordKind][number]> {
  switch (kind) {
    case 'customers':
      return runSchema<CustomerRecord>(customerSchema, row, kind);
    case 'people': {
      const result = runSchema<PersonRecord>(personSchema, row, kind);
      if (!result.ok) return result;
      const issues = checkPersonRoles(result.value);
      return issues.length > 0 ? { ok: false, issues } : result;
    }
    case 'devices':
      return runSchema<DeviceRecord>(deviceSchema, row, kind);
    case 'releases': {
      const result = runSchema(releaseSchema, row, kind);
      if (!result.ok) return result;
      const release: ReleaseRecord = { ...result.value, impact: result.value.impact ?? '' };
      return { ok: true, value: release };
    }
    case 'windows':
      return validateWindow(row);
  }
}

/** Staff (agents, platform and partner admins) have no customer; requesters and representatives need one; partner admins name their partner. */
function checkPersonRoles(person: PersonRecord): RowIssue[] {
  const customerRoles = person.roles.filter((r) => CUSTOMER_ROLES.includes(r));
  const staffRoles = person.roles.filter((r) => STAFF_ROLES.includes(r));
  const issues: RowIssue[] = [];
  if (customerRoles.length > 0 && staffRoles.length > 0) {
    issues.push({
      field: 'roles',
      reason: `roles ${customerRoles.join(', ')} (a customer's contact) and ${staffRoles.join(', ')} (staff, no customer) cannot be combined`,
    });
  } else if (customerRoles.length > 0 && person.customer === null) {
    issues.push({ field: 'customer', reason: `customer is required for a ${customerRoles.join(' / ')} (expected the name of a customer)` });
  } else if (staffRoles.length > 0 && person.customer !== null) {
    issues.push({
      field: 'customer',
      reason: `customer must be empty for ${staffRoles.join(' / ')}: staff and partner admins belong to no customer (got ${show(person.customer)})`,
    });
  }
  if (person.roles.includes('partner_admin') && person.partner === null) {
    issues.push({ field: 'partner', reason: 'partner is required for a partner_admin (expected the partner whose customers they follow, e.g. Northwind)' });
  }
  return issues;
}

const MAINTENANCE_FIELDS = Object.keys(maintenanceSchema.shape);
const UPGRADE_FIELDS = Object.keys(upgradeSlotSchema.shape);

/** A window row: `kind` chooses the schema; empty fields of the other kind are ignored, filled ones refused. */
function validateWindow(row: Record<string, unknown>): RowResult<WindowRecord> {
  const kind = typeof row.kind === 'string' ? row.kind.trim().toLowerCase() : row.kind;
  if (kind !== 'maintenance' && kind !== 'upgrade') {
    const reason = isMissing(row.kind)
      ? 'kind is required (expected maintenance or upgrade)'
      : `kind ${show(row.kind)} is not a kind of window (expected maintenance or upgrade)`;
    return { ok: false, issues: [{ field: 'kind', reason }] };
  }
  const own = kind === 'maintenance' ? MAINTENANCE_FIELDS : UPGRADE_FIELDS;
  const other = kind === 'maintenance' ? UPGRADE_FIELDS : MAINTENANCE_FIELDS;
  const cleaned: Record<string, unknown> = { kind };
  for (const [key, value] of Object.entries(row)) {
    if (key === 'kind' || (!own.includes(key) && other.includes(key) && isMissing(value))) continue;
    cleaned[key] = value;
  }
  const misplaced = (key: string): string | null =>
    other.includes(key) ? `${key} does not apply to ${kind === 'maintenance' ? 'a maintenance window' : 'an upgrade slot'} (leave it empty)` : null;
  if (kind === 'upgrade') return runSchema<WindowRecord>(upgradeSlotSchema, cleaned, 'windows', misplaced);
  const result = runSchema<WindowRecord>(maintenanceSchema, cleaned, 'windows', misplaced);
  if (result.ok && result.value.kind === 'maintenance' && result.value.start.getTime() >= result.value.end.getTime()) {
    const { start, end } = result.value;
    return { ok: false, issues: [{ field: 'end', reason: `end ${end.toISOString()} must be after start ${start.toISOString()}` }] };
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Collecting rows from files and checking them against each other.

interface Location {
  source: string;
  kind: RecordKind | null;
  position: string;
  /** Report order: the order rows (and file problems) were met. */
  order: number;
}

interface KeyedProblem {
  problem: ImportProblem;
  order: number;
  seq: number;
}

type Located<K extends RecordKind> = { record: RecordsBatch[K][number]; at: Location };

/** Where each parsed record came from, so later checks (e.g. against the database) can point at it. */
const recordLocations = new WeakMap<object, Location>();
/** The file names each parsed batch came from. */
const batchSources = new WeakMap<RecordsBatch, string>();

let problemSeq = 0;

/** Accumulates rows and problems over any number of files, then checks the rows against each other. */
class Collector {
  private order = 0;
  private readonly sources: string[] = [];
  readonly problems: KeyedProblem[] = [];
  readonly rows: { [K in RecordKind]: Located<K>[] } = { customers: [], people: [], devices: [], releases: [], windows: [] };

  /** A new location in report order. */
  at(source: string, kind: RecordKind | null, position: string): Location {
    return { source, kind, position, order: this.order++ };
  }

  problem(at: Location, reason: string, field?: string): void {
    const problem: ImportProblem = { source: at.source, kind: at.kind, position: at.position, reason };
    if (field !== undefined) problem.field = field;
    this.problems.push({ problem, order: at.order, seq: problemSeq++ });
  }

  addSource(source: string): void {
    if (!this.sources.includes(source)) this.sources.push(source);
  }

  /** Validates one raw row and keeps it, or reports every issue it has. */
  row(kind: RecordKind, raw: Record<string, unknown>, at: Location): void {
    const result = validateRow(kind, raw);
    if (!result.ok) {
      for (const issue of result.issues) this.problem(at, issue.reason, issue.field);
      return;
    }
    recordLocations.set(result.value, at);
    (this.rows[kind] as Located<RecordKind>[]).push({ record: result.value, at });
  }

  /** Reads a records file in the JSON format of SPEC §8. */
  addJson(text: string, source: string): void {
    this.addSource(source);
    let data: unknown;
    try {
      data = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const offset = /position (\d+)/.exec(message);
      const line = offset ? text.slice(0, Number(offset[1])).split('\n').length : null;
      this.problem(this.at(source, null, line === null ? 'file' : `line ${line}`), `not valid JSON: ${message}`);
      return;
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      this.problem(this.at(source, null, 'file'), `the file must hold one JSON object with some of the keys ${RECORD_KINDS.join(', ')}, got ${typeOf(data)}`);
      return;
    }
    for (const [key, value] of Object.entries(data)) {
      if (!(RECORD_KINDS as readonly string[]).includes(key)) {
        this.problem(this.at(source, null, key), `unknown top-level key ${show(key)} (expected some of ${RECORD_KINDS.join(', ')})`);
        continue;
      }
      const kind = key as RecordKind;
      if (value === null) continue;
      if (!Array.isArray(value)) {
        this.problem(this.at(source, kind, kind), `${kind} must be a list of records ([{…}, …]), got ${typeOf(value)}`);
        continue;
      }
      value.forEach((row: unknown, i) => {
        const at = this.at(source, kind, `${kind}[${i}]`);
        if (typeof row !== 'object' || row === null || Array.isArray(row)) {
          this.problem(at, `each of ${kind} must be an object with fields such as ${RECORD_FIELDS[kind].slice(0, 3).join(', ')}, got ${typeOf(row)}`);
        } else {
          this.row(kind, row as Record<string, unknown>, at);
        }
      });
    }
  }

  /** Reads one CSV file of one kind: a header row of field names, then one record per row. */
  addCsv(kind: RecordKind, text: string, source: string): void {
    this.addSource(source);
    type CsvRow = { record: string[]; info: { lines: number } };
    let rows: CsvRow[];
    try {
      // csv-parse counts a CRLF inside a quoted cell as two lines; plain LFs keep line numbers physical.
      rows = parseCsvText(text.replace(/\r\n?/g, '\n'), {
        bom: true,
        info: true,
        relax_column_count: true,
        skip_empty_lines: true,
        trim: true,
      }) as unknown as CsvRow[];
    } catch (e) {
      const lines = (e as { lines?: unknown }).lines;
      const position = typeof lines === 'number' ? `line ${lines}` : 'file';
      this.problem(this.at(source, kind, position), `not valid CSV: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const fields = RECORD_FIELDS[kind];
    const header = rows[0];
    if (!header) {
      this.problem(this.at(source, kind, 'file'), `the file is empty (expected a header row with the columns ${fields.join(', ')})`);
      return;
    }
    const headerAt = this.at(source, kind, `line ${header.info.lines}`);
    const columns: (string | null)[] = [];
    let headerOk = true;
    for (const cell of header.record) {
      const column = fields.find((f) => f.toLowerCase() === cell.toLowerCase()) ?? null;
      if (cell === '') {
        // A trailing comma in the header (spreadsheet exports): the column must stay empty.
      } else if (column === null) {
        this.problem(headerAt, `unknown column ${show(cell)} (expected some of ${fields.join(', ')})`, cell);
        headerOk = false;
      } else if (columns.includes(column)) {
        this.problem(headerAt, `column ${show(column)} appears twice`, column);
        headerOk = false;
      }
      columns.push(column);
    }
    for (const required of REQUIRED_COLUMNS[kind]) {
      if (!columns.includes(required)) {
        this.problem(headerAt, `column ${show(required)} is missing (${kind} need the columns ${REQUIRED_COLUMNS[kind].join(', ')})`, required);
        headerOk = false;
      }
    }
    if (!headerOk) return; // every row would repeat the header's problem
    for (const row of rows.slice(1)) {
      const embeddedNewlines = row.record.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0);
      const at = this.at(source, kind, `line ${row.info.lines - embeddedNewlines}`);
      if (row.record.length !== columns.length) {
        this.problem(at, `the row has ${row.record.length} cells but the header has ${columns.length} columns (check for a missing or extra comma; quote cells that contain commas)`);
        continue;
      }
      const raw: Record<string, unknown> = {};
      let stray = false;
      row.record.forEach((cell, i) => {
        const column = columns[i];
        if (cell === '') return;
        if (column) raw[column] = cell;
        else stray = true;
      });
      if (stray) {
        this.problem(at, `the row has a value in a column without a name in the header (expected empty cells there)`);
        continue;
      }
      this.row(kind, raw, at);
    }
  }

  /** Checks natural keys for duplicates and resolves customer names within the collected rows. */
  finish(): { batch: RecordsBatch; problems: KeyedProblem[] } {
    const where = (first: Location, at: Location): string =>
      first.source === at.source ? first.position : `${first.source} ${first.position}`;
    /** Reports every record whose natural key repeats an earlier one's, at the later record. */
    const unique = <K extends RecordKind>(
      kind: K,
      rule: string,
      key: (r: RecordsBatch[K][number]) => string | null,
      describe: (r: RecordsBatch[K][number]) => { field: string; label: string },
    ): void => {
      const seen = new Map<string, Location>();
      for (const { record, at } of this.rows[kind]) {
        const k = key(record);
        if (k === null) continue;
        const first = seen.get(k);
        if (first === undefined) {
          seen.set(k, at);
          continue;
        }
        const { field, label } = describe(record);
        this.problem(at, `${label} appears more than once (first at ${where(first, at)}); ${rule}`, field);
      }
    };
    unique('customers', 'customer names must be unique', (c) => c.name.toLowerCase(), (c) => ({ field: 'name', label: `customer ${show(c.name)}` }));

    const customerNames = new Map(this.rows.customers.map(({ record }) => [record.name.toLowerCase(), record.name]));
    const canonical = (name: string): string => customerNames.get(name.toLowerCase()) ?? name;
    for (const { record } of this.rows.people) if (record.customer !== null) record.customer = canonical(record.customer);
    for (const { record } of this.rows.devices) record.customer = canonical(record.customer);
    for (const { record } of this.rows.windows) if (record.kind === 'upgrade' && record.customer !== null) record.customer = canonical(record.customer);

    unique('people', 'each person needs their own e-mail address', (p) => p.email, (p) => ({ field: 'email', label: `email ${show(p.email)}` }));
    unique('people', 'a Slack user is one person', (p) => p.slackUserId, (p) => ({ field: 'slackUserId', label: `slackUserId ${show(p.slackUserId)}` }));
    unique('people', 'a Discord user is one person', (p) => p.discordUserId, (p) => ({ field: 'discordUserId', label: `discordUserId ${show(p.discordUserId)}` }));
    unique('devices', 'serial numbers must be unique', (d) => d.serial, (d) => ({ field: 'serial', label: `serial ${show(d.serial)}` }));
    unique(
      'devices',
      'device names must be unique within a customer',
      (d) => `${d.customer.toLowerCase()}\u0000${d.name.toLowerCase()}`,
      (d) => ({ field: 'name', label: `device ${show(d.name)} of ${show(d.customer)}` }),
    );
    unique(
      'releases',
      'each version of a product is listed once',
      (r) => {
        const v = parseVersion(r.version);
        return `${r.product.toLowerCase()}\u0000${v ? `${v.major}.${v.minor}.${v.patch}` : r.version}`;
      },
      (r) => ({ field: 'version', label: `release ${r.product} ${r.version}` }),
    );
    unique(
      'windows',
      'each window is listed once',
      (w) =>
        w.kind === 'maintenance'
          ? `maintenance\u0000${w.start.getTime()}\u0000${w.end.getTime()}`
          : `upgrade\u0000${w.cron}\u0000${w.timezone}\u0000${w.customer?.toLowerCase() ?? ''}`,
      (w) =>
        w.kind === 'maintenance'
          ? { field: 'start', label: `maintenance window ${w.start.toISOString()} to ${w.end.toISOString()}` }
          : { field: 'cron', label: `upgrade slot ${show(w.cron)} in ${w.timezone}${w.customer ? ` for ${w.customer}` : ' for all customers'}` },
    );

    const batch: RecordsBatch = {
      customers: this.rows.customers.map((r) => r.record),
      people: this.rows.people.map((r) => r.record),
      devices: this.rows.devices.map((r) => r.record),
      releases: this.rows.releases.map((r) => r.record),
      windows: this.rows.windows.map((r) => r.record),
    };
    batchSources.set(batch, this.sources.join(', '));
    return { batch, problems: this.problems };
  }
}

/** Problems in report order (file by file, row by row), without the sort keys. */
function sorted(problems: KeyedProblem[]): ImportProblem[] {
  return [...problems].sort((a, b) => a.order - b.order || a.seq - b.seq).map((p) => p.problem);
}

/** The batch, or every problem found. */
function outcome(collector: Collector): Result<RecordsBatch, ImportProblem[]> {
  const { batch, problems } = collector.finish();
  return problems.length > 0 ? err(sorted(problems)) : ok(batch);
}

/** Parses and validates a records file in the JSON format of SPEC §8; every bad row is reported. */
export function parseRecordsJson(text: string, source: string): Result<RecordsBatch, ImportProblem[]> {
  const collector = new Collector();
  collector.addJson(text, source);
  return outcome(collector);
}

/** Parses and validates one CSV file of one kind (header row of field names; lists ";"-separated); every bad row is reported. */
export function parseRecordsCsv(kind: keyof RecordsBatch, text: string, source: string): Result<RecordsBatch, ImportProblem[]> {
  const collector = new Collector();
  collector.addCsv(kind, text, source);
  return outcome(collector);
}

const SINGULAR: Record<string, RecordKind> = { customer: 'customers', person: 'people', device: 'devices', release: 'releases', window: 'windows' };

/** The kind of records a CSV file holds, from its name: devices.csv, acme-devices.csv, acme_devices.csv; null when the name says none. */
export function csvKindFromFileName(fileName: string): RecordKind | null {
  const stem = basename(fileName).replace(/\.csv$/i, '').toLowerCase();
  const last = stem.split(/[-_.\s]/).pop() ?? '';
  if ((RECORD_KINDS as readonly string[]).includes(last)) return last as RecordKind;
  // Own keys only: a file named constructor.csv must not find Object's constructor.
  return Object.hasOwn(SINGULAR, last) ? (SINGULAR[last] ?? null) : null;
}

/** Reads one file (by its extension: .json or .csv; otherwise by its content) into the collector. */
async function addFile(collector: Collector, path: string): Promise<void> {
  const source = basename(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    collector.problem(collector.at(source, null, 'file'), `cannot read the file: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.json' || (ext !== '.csv' && text.trimStart().startsWith('{'))) {
    collector.addJson(text, source);
    return;
  }
  const kind = csvKindFromFileName(path);
  if (ext !== '.csv' || kind === null) {
    collector.problem(
      collector.at(source, null, 'file'),
      ext !== '.csv'
        ? 'unsupported file: expected a .json records file, a .csv file of one kind, or a directory of .csv files'
        : `cannot tell the kind of records from the file name (expected ${RECORD_KINDS.map((k) => `${k}.csv`).join(', ')}, optionally with a prefix such as acme-devices.csv)`,
    );
    return;
  }
  collector.addCsv(kind, text, source);
}

/** Reads a file, or every .csv file of a directory (customers first, then people, devices, releases, windows). */
async function addPath(collector: Collector, path: string): Promise<void> {
  let isDirectory = false;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (e) {
    collector.problem(collector.at(basename(path), null, 'file'), `cannot read the file: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  if (!isDirectory) {
    await addFile(collector, path);
    return;
  }
  const names = (await readdir(path)).filter((n) => n.toLowerCase().endsWith('.csv'));
  if (names.length === 0) {
    collector.problem(collector.at(basename(path), null, 'file'), `the directory holds no .csv files (expected ${RECORD_KINDS.map((k) => `${k}.csv`).join(', ')})`);
    return;
  }
  const rank = (n: string): number => {
    const kind = csvKindFromFileName(n);
    return kind === null ? RECORD_KINDS.length : RECORD_KINDS.indexOf(kind);
  };
  names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const name of names) await addFile(collector, join(path, name));
}

/** Parses and validates records from files and directories of CSV files taken together (references may cross files). */
export async function parseRecordsFiles(paths: readonly string[]): Promise<Result<RecordsBatch, ImportProblem[]>> {
  const collector = new Collector();
  for (const path of paths) await addPath(collector, path);
  return outcome(collector);
}

/** Parses and validates a records file: JSON, a CSV file named after its kind, or a directory of such CSV files. */
export async function parseRecordsFile(path: string): Promise<Result<RecordsBatch, ImportProblem[]>> {
  return parseRecordsFiles([path]);
}

// ---------------------------------------------------------------------------------------------
// References to customers already in the database, and the import itself.

/**
 * Resolves customer names that are not in the batch against the database (case-insensitive) and
 * rewrites every reference to the customer's exact name; one problem per record naming no customer.
 */
async function resolveCustomers(
  repos: Pick<Repositories, 'customers'>,
  batch: RecordsBatch,
  source: string,
): Promise<{ batch: RecordsBatch; problems: KeyedProblem[] }> {
  const known = new Map<string, string | null>(batch.customers.map((c) => [c.name.toLowerCase(), c.name]));
  const problems: KeyedProblem[] = [];
  const lookup = async (name: string): Promise<string | null> => {
    const key = name.toLowerCase();
    if (!known.has(key)) known.set(key, (await repos.customers.byName(name))?.name ?? null);
    return known.get(key) ?? null;
  };
  const resolve = async <T extends { customer: string | null }>(kind: RecordKind, records: readonly T[]): Promise<T[]> => {
    const out: T[] = [];
    for (const [i, record] of records.entries()) {
      if (record.customer === null) {
        out.push(record);
        continue;
      }
      const name = await lookup(record.customer);
      const at = recordLocations.get(record) ?? { source, kind, position: `${kind}[${i}]`, order: Number.MAX_SAFE_INTEGER };
      if (name === null) {
        problems.push({
          problem: {
            source: at.source,
            kind,
            position: at.position,
            field: 'customer',
            reason: `customer ${show(record.customer)} is neither in the file nor in the database (expected the name of a customer)`,
          },
          order: at.order,
          seq: problemSeq++,
        });
        out.push(record);
      } else if (name !== record.customer) {
        const renamed = { ...record, customer: name };
        recordLocations.set(renamed, at);
        out.push(renamed);
      } else {
        out.push(record);
      }
    }
    return out;
  };
  const people = await resolve('people', batch.people);
  const devices = await resolve('devices', batch.devices);
  const upgradeSlots = batch.windows.filter((w): w is Extract<WindowRecord, { kind: 'upgrade' }> => w.kind === 'upgrade');
  const resolvedSlots = await resolve('windows', upgradeSlots);
  let next = 0;
  const windows = batch.windows.map((w) => (w.kind === 'upgrade' ? (resolvedSlots[next++] ?? w) : w));
  const resolved: RecordsBatch = { ...batch, people, devices, windows };
  return { batch: resolved, problems };
}

/** Total number of records in a batch. */
function countRecords(batch: RecordsBatch): number {
  return RECORD_KINDS.reduce((n, kind) => n + batch[kind].length, 0);
}

/**
 * Imports a validated batch in one transaction: checks that every customer it names is in the
 * batch or the database (else throws RecordsImportError and writes nothing), upserts every record
 * and writes one "records_imported" audit event with the counts and source.
 */
export async function importRecords(
  store: Store,
  batch: RecordsBatch,
  onProgress?: (done: number, total: number) => void,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const source = options.source ?? batchSources.get(batch) ?? 'records';
  return store.transaction(async (tx) => {
    const resolved = await resolveCustomers(tx, batch, source);
    if (resolved.problems.length > 0) throw new RecordsImportError(sorted(resolved.problems));
    const summary = await tx.records.upsert(resolved.batch, onProgress);
    await tx.audit.record({
      at: options.now ?? new Date(),
      actor: options.actor ?? 'system',
      action: 'records_imported',
      entity: 'records',
      entityId: source,
      data: { source, records: countRecords(batch), counts: summary },
      invocationId: options.invocationId ?? null,
    });
    return summary;
  });
}

/**
 * Parses the files and imports them: every problem in the files and every unknown customer is
 * reported together, and nothing is written unless there are none. For `upgrade-desk import`.
 */
export async function importRecordsFiles(
  store: Store,
  paths: readonly string[],
  options: ImportOptions & { onProgress?: (done: number, total: number) => void } = {},
): Promise<Result<{ summary: ImportSummary; source: string }, ImportProblem[]>> {
  const collector = new Collector();
  for (const path of paths) await addPath(collector, path);
  const { batch, problems } = collector.finish();
  const source = options.source ?? batchSources.get(batch) ?? paths.map((p) => basename(p)).join(', ');
  if (problems.length > 0) {
    const references = await resolveCustomers(store, batch, source);
    return err(sorted([...problems, ...references.problems]));
  }
  try {
    const summary = await importRecords(store, batch, options.onProgress, { ...options, source });
    return ok({ summary, source });
  } catch (e) {
    if (e instanceof RecordsImportError) return err(e.problems);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering.

/** One line per problem ("devices.csv line 14: mac … (expected …)"), at most 50, then "… and N more". */
export function formatImportProblems(problems: readonly ImportProblem[]): string {
  const lines = problems
    .slice(0, MAX_LISTED_PROBLEMS)
    .map((p) => (p.position === 'file' ? `${p.source}: ${p.reason}` : `${p.source} ${p.position}: ${p.reason}`));
  if (problems.length > MAX_LISTED_PROBLEMS) lines.push(`… and ${problems.length - MAX_LISTED_PROBLEMS} more`);
  return lines.join('\n');
}

/** A small aligned table: one row per kind with created, updated and unchanged counts, then the totals. */
export function formatImportSummary(summary: ImportSummary): string {
  const header = ['kind', 'created', 'updated', 'unchanged'];
  const total = { created: 0, updated: 0, unchanged: 0 };
  const rows = RECORD_KINDS.map((kind) => {
    const c = summary[kind];
    total.created += c.created;
    total.updated += c.updated;
    total.unchanged += c.unchanged;
    return [kind, String(c.created), String(c.updated), String(c.unchanged)];
  });
  rows.push(['total', String(total.created), String(total.updated), String(total.unchanged)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
