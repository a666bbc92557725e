/**
 * Validation of an upgrade request (SPEC §3): every rule yields a Finding with a stable code, a
 * severity and a message that says what to do. Messages never echo the record's value of a field
 * the requester got wrong: they name the field, not what we have on file.
 */
import { compareHardware } from './hardware.js';
import type { HardwareField, HardwareProblem } from './hardware.js';
import { formatSuggestions, suggestStarts } from './schedule.js';
import { formatInZone, formatLocalTime, formatWhen, overlaps, parseLowTraffic, withinLowTraffic } from './time.js';
import type { Customer, Device, Finding, FindingCode, MaintenanceWindow, Release, Severity, UpgradeSlot } from './types.js';
import { compareVersions, majorJump, MAX_MAJOR_JUMP, parseVersion, sortVersions, stepPath } from './versions.js';

/** The severity of every finding code: warnings are shown and acknowledged, errors reject the request. */
export const SEVERITY: Record<FindingCode, Severity> = {
  unknown_requester: 'error',
  customer_mismatch: 'error',
  unknown_device: 'error',
  hardware_mismatch: 'error',
  device_status_blocked: 'error',
  upgrade_required: 'warning',
  unknown_release: 'error',
  version_jump_too_large: 'error',
  downgrade: 'warning',
  same_version: 'error',
  device_busy: 'error',
  replication_enabled: 'error',
  load_balancer_group_incomplete: 'warning',
  blackout_conflict: 'error',
  past_time: 'error',
  outside_low_traffic: 'warning',
  missing_manager_password: 'warning',
  not_authorized: 'error',
};

/** Builds a finding with the severity of its code. */
export function findingFor(code: FindingCode, message: string, extra?: { device?: string; field?: string }): Finding {
  const finding: Finding = { code, severity: SEVERITY[code], message };
  if (extra?.device !== undefined) finding.device = extra.device;
  if (extra?.field !== undefined) finding.field = extra.field;
  return finding;
}

/** True when any finding is an error (the request is rejected). */
export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

/** The warnings among the findings (to show and have acknowledged). */
export function warnings(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'warning');
}

/** The maintenance windows that the downtime [start, start + minutes) would overlap [001]. */
export function blackoutConflicts(start: Date, minutes: number, maintenance: readonly MaintenanceWindow[]): MaintenanceWindow[] {
  const end = new Date(start.getTime() + minutes * 60_000);
  return maintenance.filter((w) => overlaps(start, end, w.start, w.end));
}

/** User-typed text cut to a length safe to quote back in a message. */
function clip(text: string, max = 64): string {
  const t = text.trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** Lists names as "a", "a and b", "a, b and c". */
function listNames(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Everything validateItem needs to judge one device of a request. */
export interface ItemContext {
  device: Device | null;
  /** What the requester typed to name the device (name or serial). */
  deviceQuery: string;
  /** Hardware confirmation as given; null for bulk requests, where it is not asked per device. */
  given: { mac?: string | null; ip?: string | null; serial?: string | null } | null;
  release: Release | null;
  targetVersion: string;
  /** Release versions of the device's product. */
  availableVersions: string[];
  /** File a too-large jump as consecutive steps instead of refusing it. */
  allowSteps: boolean;
  /** The reference of the device's open request, if any. */
  openRequestRef: string | null;
  /** The other devices of the device's load-balancer group; [] if none. */
  groupMembers: Device[];
  /** Ids of all devices in this request. */
  requestedDeviceIds: number[];
}

const HARDWARE_LABELS: Record<HardwareField, string> = { mac: 'MAC address', ip: 'IP address', serial: 'serial number' };
const HARDWARE_EXAMPLES: Record<HardwareField, string> = { mac: '00:1a:2b:3c:4d:5e', ip: '203.0.113.10', serial: 'SN-1001' };

/** The hardware_mismatch message for one problem; never contains the record's value. */
function hardwareMessage(problem: HardwareProblem, deviceName: string): string {
  const label = HARDWARE_LABELS[problem.field];
  switch (problem.reason) {
    case 'missing':
      return `The ${label} of ${deviceName} is required to confirm the device [003]. ` +
        `Add ${problem.field}=… with the value shown in System Configuration and try again.`;
    case 'invalid':
      return `"${clip(problem.given)}" is not a valid ${label}. Give it like ${HARDWARE_EXAMPLES[problem.field]}, ` +
        'as shown in System Configuration, and try again.';
    case 'mismatch':
      return `The ${label} you gave (${clip(problem.given)}) does not match our record for ${deviceName}. ` +
        'Check it in System Configuration and try again.';
  }
}

const BLOCKED_STATUS_HINTS: Partial<Record<Device['status'], string>> = {
  created: 'It has not been provisioned yet; provision and configure it first.',
  provision_failed: 'Its provisioning failed; fix the provisioning (or contact support) first.',
  activation_failed: 'Its activation failed; fix the activation (or contact support) first.',
};

/**
 * Checks one device of a request: unknown_device, hardware_mismatch (one per bad field),
 * device_status_blocked, upgrade_required, same_version, unknown_release, downgrade,
 * version_jump_too_large, device_busy, replication_enabled, load_balancer_group_incomplete.
 * `steps` is [targetVersion], or the consecutive step path when allowSteps lets a large jump through.
 */
export function validateItem(ctx: ItemContext): { findings: Finding[]; steps: string[] } {
  const findings: Finding[] = [];
  let steps = [ctx.targetVersion];
  const device = ctx.device;
  if (!device) {
    findings.push(findingFor(
      'unknown_device',
      `No device of your company is called "${clip(ctx.deviceQuery)}" or has that serial number. ` +
        'Check the device name or serial number in System Configuration and try again.',
      { device: clip(ctx.deviceQuery) },
    ));
    return { findings, steps };
  }
  const name = device.name;
  const add = (code: FindingCode, message: string, field?: string): void => {
    findings.push(findingFor(code, message, field === undefined ? { device: name } : { device: name, field }));
  };

  if (ctx.given !== null) {
    for (const problem of compareHardware(device, ctx.given)) add('hardware_mismatch', hardwareMessage(problem, name), problem.field);
  }

  const hint = BLOCKED_STATUS_HINTS[device.status];
  if (hint !== undefined) {
    add('device_status_blocked', `${name} cannot be upgraded while its status is ${device.status} [000]. ${hint}`);
  } else if (device.status === 'upgrade_required') {
    add('upgrade_required', `${name} has status upgrade_required: this upgrade is mandatory [000]. Schedule it soon.`);
  }

  const current = parseVersion(device.version);
  const target = parseVersion(ctx.targetVersion);
  const releasesHint = `See /upgrade releases ${device.product}.`;
  if (current && target && compareVersions(device.version, ctx.targetVersion) === 0) {
    add('same_version', `${name} is already on ${device.version}; there is nothing to upgrade. Pick a newer version. ${releasesHint}`);
  } else if (!ctx.release) {
    const known = sortVersions(ctx.availableVersions);
    const shown = known.length > 8 ? ['…', ...known.slice(-8)] : known;
    add(
      'unknown_release',
      `There is no release ${clip(ctx.targetVersion)} for ${device.product}. ` +
        (shown.length > 0 ? `Available: ${shown.join(', ')}. ` : 'No releases are available for it yet. ') + releasesHint,
    );
  } else if (!current || !target) {
    // A record with an unreadable version: nothing to compare; support has to fix the record.
  } else if (compareVersions(ctx.targetVersion, device.version) < 0) {
    add(
      'downgrade',
      `${ctx.targetVersion} is older than ${name}'s current version ${device.version}: compatibility with older versions ` +
        'cannot be guaranteed [001]. Acknowledge only if you really mean to downgrade.',
    );
  } else {
    const jump = majorJump(device.version, ctx.targetVersion);
    if (jump > MAX_MAJOR_JUMP) {
      const path = stepPath(device.version, ctx.targetVersion, ctx.availableVersions);
      const intro = `${device.version} → ${ctx.targetVersion} is a jump of ${jump} major versions; ` +
        `at most ${MAX_MAJOR_JUMP} are supported in one step [002].`;
      if (path === null) {
        add('version_jump_too_large', `${intro} No release path with steps of at most ${MAX_MAJOR_JUMP} major versions exists; ` +
          `pick a nearer target version. ${releasesHint}`);
      } else if (ctx.allowSteps) {
        steps = path;
      } else {
        add('version_jump_too_large', `${intro} Upgrade in steps: ${[device.version, ...path].join(' → ')}. ` +
          'Add `steps` to the request to file it as consecutive steps.');
      }
    }
  }

  if (ctx.openRequestRef !== null) {
    add('device_busy', `${name} already has an open request, ${ctx.openRequestRef}; a device takes one request at a time. ` +
      `Wait for ${ctx.openRequestRef} to finish, or cancel it with /upgrade cancel ${ctx.openRequestRef}.`);
  }

  if (device.replication) {
    add('replication_enabled', `Replication is enabled on ${name}, and upgrades cannot run while it is. ` +
      'Disable replication on the master and all subscribers first [002], then file the request again.');
  }

  if (device.loadBalancerGroup !== null) {
    const others = ctx.groupMembers.filter((m) => m.id !== device.id);
    const missing = others.filter((m) => !ctx.requestedDeviceIds.includes(m.id));
    if (missing.length > 0) {
      const primary = [device, ...others].find((m) => m.databasePrimary);
      const all = [device, ...others].map((m) => m.name);
      add(
        'load_balancer_group_incomplete',
        `${name} is in load-balancer group ${device.loadBalancerGroup}, but ${listNames(missing.map((m) => m.name))} ` +
          `${missing.length === 1 ? 'is' : 'are'} not in this request. A load-balanced group is upgraded together with all ` +
          `members offline, the database primary${primary ? ` (${primary.name})` : ''} first [002]. ` +
          `Include them with /upgrade bulk devices=${all.join(',')}, or acknowledge to go ahead.`,
      );
    }
  }
  return { findings, steps };
}

/** Everything validateRequestLevel needs to judge the request as a whole. */
export interface RequestContext {
  requesterKnown: boolean;
  customer: Customer | null;
  /** Company details typed on the form; only the fields given are checked. */
  form: { company?: string | null; email?: string | null; phone?: string | null };
  schedule: { mode: 'now' | 'window' | 'at'; at: Date | null };
  /** The largest expected downtime of the request, minutes. */
  downtimeMaxMinutes: number;
  maintenance: MaintenanceWindow[];
  /** The customer's upgrade slots (its own and the global ones): past_time and blackout_conflict offer the next free ones. */
  slots: readonly UpgradeSlot[];
  /** The customer's low-traffic window text, e.g. "Sun 01:00-05:00". */
  lowTraffic: string | null;
  /** The customer's IANA timezone. */
  timezone: string;
  now: Date;
  hasManagerPassword: boolean;
  /** The requester's own e-mail and phone: also accepted on the form besides the company's (optional). */
  requesterContact?: { email: string | null; phone: string | null } | null;
}

/** Company name compared case- and whitespace-insensitively. */
function sameCompany(a: string, b: string): boolean {
  return a.replace(/\s+/g, '').toLowerCase() === b.replace(/\s+/g, '').toLowerCase();
}

/** E-mail compared case-insensitively. */
function sameEmail(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** Phone numbers compared by their digits only. */
function samePhone(a: string, b: string): boolean {
  const da = a.replace(/\D/g, '');
  return da !== '' && da === b.replace(/\D/g, '');
}

/** Given when a form field holds some text. */
function given(value: string | null | undefined): value is string {
  return value !== undefined && value !== null && value.trim() !== '';
}

/**
 * Checks the request as a whole: unknown_requester, customer_mismatch (one per given field that
 * differs), past_time, blackout_conflict (one per overlapped maintenance window; skipped for
 * `window`, whose slot is chosen outside blackouts), outside_low_traffic and missing_manager_password.
 */
export function validateRequestLevel(ctx: RequestContext): Finding[] {
  if (!ctx.requesterKnown) {
    return [findingFor(
      'unknown_requester',
      'We could not find you in our records: this account or address is not registered as a contact of any customer [003]. ' +
        'Ask your company\'s authorized representative or support to add you, then try again.',
    )];
  }
  const findings: Finding[] = [];
  const customer = ctx.customer;
  if (customer) {
    const contact = ctx.requesterContact ?? null;
    const notOnRecord = 'does not match the records of your company. Give it exactly as registered with us, or ask support to update the records.';
    if (given(ctx.form.company) && !sameCompany(ctx.form.company, customer.name)) {
      findings.push(findingFor('customer_mismatch', `The company name you gave ("${clip(ctx.form.company)}") ${notOnRecord}`, { field: 'company' }));
    }
    if (given(ctx.form.email)) {
      const accepted = [customer.email, ...customer.notifyEmails, ...(contact?.email ? [contact.email] : [])];
      if (!accepted.some((e) => sameEmail(e, ctx.form.email as string))) {
        findings.push(findingFor('customer_mismatch', `The e-mail address you gave (${clip(ctx.form.email)}) ${notOnRecord}`, { field: 'email' }));
      }
    }
    if (given(ctx.form.phone)) {
      const accepted = [customer.phone, ...(contact?.phone ? [contact.phone] : [])];
      if (!accepted.some((p) => samePhone(p, ctx.form.phone as string))) {
        findings.push(findingFor('customer_mismatch', `The phone number you gave (${clip(ctx.form.phone)}) ${notOnRecord}`, { field: 'phone' }));
      }
    }
  }

  const { mode, at } = ctx.schedule;
  const start = mode === 'now' ? ctx.now : mode === 'at' ? at : null;
  const isPast = mode === 'at' && at !== null && at.getTime() < ctx.now.getTime();
  /** The next free slots from `from` and how to take one, in the customer's timezone; `fallback` when there are none. */
  const offer = (from: Date, alternatives: string, fallback: string): string => {
    const starts = suggestStarts({ now: ctx.now, from, downtimeMaxMinutes: ctx.downtimeMaxMinutes, maintenance: ctx.maintenance, slots: ctx.slots });
    const first = starts[0];
    if (!first) return fallback;
    return `${formatSuggestions(starts, ctx.timezone)} File again with one of them (e.g. when=${formatWhen(first, ctx.timezone)}) or with ${alternatives}.`;
  };
  if (isPast && at) {
    findings.push(findingFor(
      'past_time',
      `The time you asked for, ${formatLocalTime(at, ctx.timezone)}, has already passed. ` +
        offer(ctx.now, 'when=now or when=window', 'Pick a future time, or use when=now or when=window.'),
    ));
  }
  if (start && !isPast) {
    const conflicts = blackoutConflicts(start, ctx.downtimeMaxMinutes, ctx.maintenance);
    conflicts.forEach((w, i) => {
      // The free slots are offered once, after the last conflict.
      const advice = i < conflicts.length - 1 ? '' : ` ${offer(start, 'when=window', 'Pick a time after the maintenance ends, or use when=window.')}`;
      findings.push(findingFor(
        'blackout_conflict',
        `Up to ${ctx.downtimeMaxMinutes} min of downtime from ${formatLocalTime(start, ctx.timezone)} would overlap the platform ` +
          `maintenance "${w.reason}" (${formatLocalTime(w.start, ctx.timezone)} to ${formatLocalTime(w.end, ctx.timezone)}).${advice}`,
      ));
    });
    const window = mode === 'at' && ctx.lowTraffic ? parseLowTraffic(ctx.lowTraffic) : null;
    const end = new Date(start.getTime() + ctx.downtimeMaxMinutes * 60_000);
    if (window && !withinLowTraffic(window, ctx.timezone, start, end)) {
      findings.push(findingFor(
        'outside_low_traffic',
        `The upgrade would run ${formatInZone(start, ctx.timezone)} for up to ${ctx.downtimeMaxMinutes} min, outside your ` +
          `low-traffic window (${window.text}, ${ctx.timezone}) [003]. Upgrades cause downtime; consider a time inside the ` +
          'window or when=window, or acknowledge to keep this time.',
      ));
    }
  }

  if (!ctx.hasManagerPassword) {
    findings.push(findingFor(
      'missing_manager_password',
      'The manager password has not been provided. The support agent needs it to log in and apply the upgrade before ' +
        'the run starts [003]: find it in the System Configuration menu, verify that it is valid, and provide it.',
    ));
  }
  return findings;
}
