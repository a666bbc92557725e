import { describe, expect, it } from '@jest/globals';
import {
  blackoutConflicts,
  findingFor,
  hasErrors,
  SEVERITY,
  validateItem,
  validateRequestLevel,
  warnings,
} from '../../src/domain/validation.js';
import type { ItemContext, RequestContext } from '../../src/domain/validation.js';
import { FINDING_CODES } from '../../src/domain/types.js';
import type { Customer, Device, Finding, FindingCode, MaintenanceWindow, Release, UpgradeSlot } from '../../src/domain/types.js';

function device(over: Partial<Device> = {}): Device {
  return {
    id: 1,
    customerId: 1,
    name: 'edge-01',
    product: 'SysMaster',
    serial: 'SN-1001',
    mac: '00:1a:2b:3c:4d:5e',
    ip: '203.0.113.10',
    version: '5.2.0',
    status: 'configured',
    replication: false,
    loadBalancerGroup: null,
    databasePrimary: false,
    statusUrl: null,
    ...over,
  };
}

function release(version: string): Release {
  return { id: 1, product: 'SysMaster', version, downtimeMinutes: [30, 60], prerequisites: [], impact: '', postUpgradeTasks: [] };
}

const VERSIONS = ['5.2.0', '6.0.0', '7.0.0', '7.1.0', '7.3.0', '8.1.0', '9.1.0'];
const GOOD_HARDWARE = { mac: '00-1A-2B-3C-4D-5E', ip: '203.0.113.10', serial: 'sn-1001' };

function item(over: Partial<ItemContext> = {}): ItemContext {
  const target = over.targetVersion ?? '7.1.0';
  return {
    device: device(),
    deviceQuery: 'edge-01',
    given: GOOD_HARDWARE,
    release: VERSIONS.includes(target) ? release(target) : null,
    targetVersion: target,
    availableVersions: VERSIONS,
    allowSteps: false,
    openRequestRef: null,
    groupMembers: [],
    requestedDeviceIds: [1],
    ...over,
  };
}

const customer: Customer = {
  id: 1,
  name: 'Acme Corp',
  email: 'it@acme.example',
  phone: '+1 555 0100',
  timezone: 'America/New_York',
  lowTraffic: 'Sun 01:00-05:00',
  partner: null,
  slackChannel: null,
  discordChannel: null,
  notifyEmails: ['ops@acme.example'],
};

const NOW = new Date('2026-12-01T12:00:00Z');
// Sunday 6 Dec 2026 01:00 in New York: inside the customer's low-traffic window.
const SUNDAY_1AM = new Date('2026-12-06T06:00:00Z');
const maintenance: MaintenanceWindow = {
  id: 7,
  kind: 'maintenance',
  start: new Date('2026-12-13T06:00:00Z'),
  end: new Date('2026-12-13T08:00:00Z'),
  reason: 'Platform maintenance',
};

// The customer's upgrade slot: Sundays 01:00-05:00 New York time.
const sundayNights: UpgradeSlot = { id: 3, kind: 'upgrade', cron: '0 1 * * 0', timezone: 'America/New_York', durationMinutes: 240, customerId: 1 };

function request(over: Partial<RequestContext> = {}): RequestContext {
  return {
    requesterKnown: true,
    customer,
    form: { company: 'Acme Corp', email: 'it@acme.example', phone: '+1 555 0100' },
    schedule: { mode: 'at', at: SUNDAY_1AM },
    downtimeMaxMinutes: 60,
    maintenance: [maintenance],
    slots: [sundayNights],
    lowTraffic: customer.lowTraffic,
    timezone: customer.timezone,
    now: NOW,
    hasManagerPassword: true,
    ...over,
  };
}

const codes = (findings: Finding[]): FindingCode[] => findings.map((f) => f.code);

describe('finding severities', () => {
  const WARNINGS: FindingCode[] = ['upgrade_required', 'downgrade', 'load_balancer_group_incomplete', 'outside_low_traffic', 'missing_manager_password'];

  it.each(FINDING_CODES.map((c) => [c, WARNINGS.includes(c) ? 'warning' : 'error'] as const))('%s is an %s', (code, severity) => {
    expect(SEVERITY[code]).toBe(severity);
    expect(findingFor(code, 'text')).toEqual({ code, severity, message: 'text' });
  });

  it('carries the device and field when given', () => {
    expect(findingFor('hardware_mismatch', 'm', { device: 'edge-01', field: 'mac' })).toEqual({
      code: 'hardware_mismatch',
      severity: 'error',
      message: 'm',
      device: 'edge-01',
      field: 'mac',
    });
  });

  it('tells errors from warnings', () => {
    const warning = findingFor('downgrade', 'w');
    const error = findingFor('same_version', 'e');
    expect(hasErrors([warning])).toBe(false);
    expect(hasErrors([warning, error])).toBe(true);
    expect(hasErrors([])).toBe(false);
    expect(warnings([warning, error])).toEqual([warning]);
  });
});

describe('validating one device', () => {
  it('finds nothing wrong with a good request and files one step', () => {
    expect(validateItem(item())).toEqual({ findings: [], steps: ['7.1.0'] });
  });

  it('finds nothing wrong with a bulk item, where hardware is not asked', () => {
    expect(validateItem(item({ given: null })).findings).toEqual([]);
  });

  it.each([
    ['an unknown device', { device: null, deviceQuery: 'edge-99' }, 'unknown_device', 'error', /edge-99/],
    ['a blocked status: created', { device: device({ status: 'created' }) }, 'device_status_blocked', 'error', /status is created/],
    ['a blocked status: provision_failed', { device: device({ status: 'provision_failed' }) }, 'device_status_blocked', 'error', /provision_failed/],
    ['a blocked status: activation_failed', { device: device({ status: 'activation_failed' }) }, 'device_status_blocked', 'error', /activation_failed/],
    ['status upgrade_required', { device: device({ status: 'upgrade_required' }) }, 'upgrade_required', 'warning', /mandatory/],
    ['a version with no release', { targetVersion: '7.2.0' }, 'unknown_release', 'error', /no release 7\.2\.0 for SysMaster.*Available: .*7\.3\.0/],
    ['the version it is on', { targetVersion: '5.2.0' }, 'same_version', 'error', /already on 5\.2\.0/],
    ['an older version', { device: device({ version: '7.3.0' }), targetVersion: '6.0.0' }, 'downgrade', 'warning', /compatibility/],
    ['a jump of four majors', { targetVersion: '9.1.0' }, 'version_jump_too_large', 'error', /5\.2\.0 → 7\.3\.0 → 9\.1\.0.*`steps`/],
    ['an open request on the device', { openRequestRef: 'UPG-000042' }, 'device_busy', 'error', /UPG-000042/],
    ['replication enabled', { device: device({ replication: true }) }, 'replication_enabled', 'error', /disable replication on the master and all subscribers/i],
  ] as Array<[string, Partial<ItemContext>, FindingCode, string, RegExp]>)(
    'GIVEN %s THEN reports that code',
    (_label, over, code, severity, message) => {
      const { findings } = validateItem(item(over));
      expect(codes(findings)).toEqual([code]);
      expect(findings[0]?.severity).toBe(severity);
      expect(findings[0]?.message).toMatch(message);
      expect(findings[0]?.device).toBe(over.device === null ? over.deviceQuery : (over.device ?? device()).name);
    },
  );

  it.each([
    ['provisioned', []],
    ['configured', []],
  ] as const)('accepts a device with status %s', (status, expected) => {
    expect(codes(validateItem(item({ device: device({ status }) })).findings)).toEqual(expected);
  });

  it('accepts a jump of exactly two majors', () => {
    expect(validateItem(item({ targetVersion: '7.3.0' }))).toEqual({ findings: [], steps: ['7.3.0'] });
  });

  it('files a large jump as consecutive steps when steps are allowed', () => {
    expect(validateItem(item({ targetVersion: '9.1.0', allowSteps: true }))).toEqual({ findings: [], steps: ['7.3.0', '9.1.0'] });
  });

  it('refuses a large jump with no step path even when steps are allowed', () => {
    const { findings, steps } = validateItem(item({ targetVersion: '9.1.0', allowSteps: true, availableVersions: ['9.1.0'] }));
    expect(codes(findings)).toEqual(['version_jump_too_large']);
    expect(findings[0]?.message).toMatch(/No release path/);
    expect(steps).toEqual(['9.1.0']);
  });

  describe('hardware confirmation', () => {
    it.each([
      ['a different MAC', { ...GOOD_HARDWARE, mac: '00:1a:2b:3c:4d:5f' }, 'mac', /The MAC address you gave \(00:1a:2b:3c:4d:5f\) does not match our record for edge-01/],
      ['a different IP', { ...GOOD_HARDWARE, ip: '203.0.113.11' }, 'ip', /The IP address you gave \(203\.0\.113\.11\) does not match/],
      ['a different serial', { ...GOOD_HARDWARE, serial: 'SN-9999' }, 'serial', /The serial number you gave \(SN-9999\) does not match/],
      ['an unreadable MAC', { ...GOOD_HARDWARE, mac: 'zz' }, 'mac', /"zz" is not a valid MAC address/],
      ['an unreadable IP', { ...GOOD_HARDWARE, ip: '999.1.1.1' }, 'ip', /not a valid IP address/],
      ['no MAC', { ip: GOOD_HARDWARE.ip, serial: GOOD_HARDWARE.serial }, 'mac', /MAC address of edge-01 is required/],
      ['no IP', { mac: GOOD_HARDWARE.mac, ip: null, serial: GOOD_HARDWARE.serial }, 'ip', /IP address of edge-01 is required/],
      ['no serial', { mac: GOOD_HARDWARE.mac, ip: GOOD_HARDWARE.ip, serial: '' }, 'serial', /serial number of edge-01 is required/],
    ] as Array<[string, ItemContext['given'], string, RegExp]>)('GIVEN %s THEN reports hardware_mismatch on that field', (_label, given, field, message) => {
      const { findings } = validateItem(item({ given }));
      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({ code: 'hardware_mismatch', severity: 'error', field, device: 'edge-01' });
      expect(findings[0]?.message).toMatch(message);
    });

    it('reports one finding per bad field', () => {
      const { findings } = validateItem(item({ given: { mac: '00:00:00:00:00:00', ip: '10.0.0.1', serial: 'X' } }));
      expect(findings.map((f) => f.field)).toEqual(['mac', 'ip', 'serial']);
    });

    it('never shows the record values of mismatched fields', () => {
      const { findings } = validateItem(item({ given: { mac: '00:00:00:00:00:00', ip: '10.0.0.1', serial: 'X' } }));
      const text = findings.map((f) => f.message).join('\n').toLowerCase();
      for (const secret of ['00:1a:2b:3c:4d:5e', '001a', '203.0.113.10', 'sn-1001']) expect(text).not.toContain(secret);
    });
  });

  describe('load-balancer groups', () => {
    const primary = device({ id: 2, name: 'db-01', loadBalancerGroup: 'lb-a', databasePrimary: true });
    const sibling = device({ id: 3, name: 'web-02', loadBalancerGroup: 'lb-a' });
    const member = device({ loadBalancerGroup: 'lb-a' });

    it('warns when members of the group are left out, naming them and the database primary', () => {
      const { findings } = validateItem(item({ device: member, groupMembers: [primary, sibling], requestedDeviceIds: [1, 3] }));
      expect(codes(findings)).toEqual(['load_balancer_group_incomplete']);
      expect(findings[0]?.severity).toBe('warning');
      expect(findings[0]?.message).toMatch(/db-01 is not in this request/);
      expect(findings[0]?.message).toMatch(/database primary \(db-01\) first/);
      expect(findings[0]?.message).not.toMatch(/web-02 is not/);
    });

    it('names every missing member', () => {
      const { findings } = validateItem(item({ device: member, groupMembers: [primary, sibling], requestedDeviceIds: [1] }));
      expect(findings[0]?.message).toMatch(/db-01 and web-02 are not in this request/);
    });

    it('is satisfied when the whole group is in the request', () => {
      const { findings } = validateItem(item({ device: member, groupMembers: [primary, sibling], requestedDeviceIds: [3, 1, 2] }));
      expect(findings).toEqual([]);
    });

    it('is satisfied by a group with no other members', () => {
      expect(validateItem(item({ device: member, groupMembers: [member] })).findings).toEqual([]);
    });
  });
});

describe('validating the request as a whole', () => {
  it('finds nothing wrong with a good request', () => {
    expect(validateRequestLevel(request())).toEqual([]);
  });

  it('reports an unknown requester and nothing else', () => {
    const findings = validateRequestLevel(request({ requesterKnown: false, customer: null, hasManagerPassword: false }));
    expect(findings).toEqual([expect.objectContaining({ code: 'unknown_requester', severity: 'error' })]);
  });

  describe('customer details', () => {
    it.each([
      ['company name in other case and spacing', { company: '  acme   CORP ' }],
      ['the company e-mail in upper case', { email: 'IT@ACME.EXAMPLE' }],
      ['a notification e-mail of the company', { email: 'ops@acme.example' }],
      ['the phone with other punctuation', { phone: '+1 (555) 01-00' }],
      ['no details at all', {}],
      ['empty details', { company: '', email: ' ', phone: null }],
    ])('accepts %s', (_label, form) => {
      expect(validateRequestLevel(request({ form }))).toEqual([]);
    });

    it('accepts the requester own e-mail and phone when known', () => {
      const form = { email: 'jane@acme.example', phone: '+1 555 0101' };
      expect(validateRequestLevel(request({ form, requesterContact: { email: 'jane@acme.example', phone: '+1-555-0101' } }))).toEqual([]);
      expect(codes(validateRequestLevel(request({ form })))).toEqual(['customer_mismatch', 'customer_mismatch']);
    });

    it.each([
      ['company', { company: 'Globex' }, /company name you gave \("Globex"\)/],
      ['email', { email: 'it@globex.example' }, /e-mail address you gave \(it@globex.example\)/],
      ['phone', { phone: '+1 555 0199' }, /phone number you gave \(\+1 555 0199\)/],
    ])('GIVEN a wrong %s THEN reports customer_mismatch on that field without the record value', (field, form, message) => {
      const findings = validateRequestLevel(request({ form }));
      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({ code: 'customer_mismatch', severity: 'error', field });
      expect(findings[0]?.message).toMatch(message);
      for (const secret of ['Acme Corp', 'it@acme.example', '555 0100']) expect(findings[0]?.message).not.toContain(secret);
    });

    it('reports one finding per wrong field', () => {
      const findings = validateRequestLevel(request({ form: { company: 'Globex', email: 'x@globex.example', phone: '1' } }));
      expect(findings.map((f) => f.field)).toEqual(['company', 'email', 'phone']);
    });
  });

  describe('time', () => {
    it('GIVEN a custom time in the past THEN reports past_time', () => {
      const findings = validateRequestLevel(request({ schedule: { mode: 'at', at: new Date('2026-11-29T06:00:00Z') } }));
      expect(codes(findings)).toEqual(['past_time']);
      expect(findings[0]?.severity).toBe('error');
      expect(findings[0]?.message).toMatch(/Sun 29 Nov 2026 01:00 EST \(UTC-05:00\), has already passed/);
    });

    it('GIVEN a custom time in the past THEN offers the next three free slots from now, skipping the maintenance', () => {
      const findings = validateRequestLevel(request({ schedule: { mode: 'at', at: new Date('2026-11-29T06:00:00Z') } }));
      expect(findings[0]?.message).toContain(
        'Next free upgrade slots: Sun 6 Dec 2026 01:00 EST (UTC-05:00); Sun 13 Dec 2026 03:00 EST (UTC-05:00); ' +
          'Sun 20 Dec 2026 01:00 EST (UTC-05:00). File again with one of them (e.g. when=2026-12-06T01:00-05:00) or with when=now or when=window.',
      );
    });

    it('GIVEN a blackout conflict THEN offers the next three free slots from the asked time, once', () => {
      const second = { ...maintenance, id: 8, start: new Date('2026-12-13T08:30:00Z'), end: new Date('2026-12-13T09:00:00Z') };
      const findings = validateRequestLevel(request({ schedule: { mode: 'at', at: new Date('2026-12-13T07:00:00Z') }, downtimeMaxMinutes: 120, maintenance: [maintenance, second], lowTraffic: null }));
      expect(findings.map((f) => f.message.includes('Next free upgrade slots'))).toEqual([false, true]);
      // After both windows the Sunday-13 slot has only 60 minutes left, so the offers are the following Sundays.
      expect(findings[1]?.message).toContain(
        'Next free upgrade slots: Sun 20 Dec 2026 01:00 EST (UTC-05:00); Sun 27 Dec 2026 01:00 EST (UTC-05:00); Sun 3 Jan 2027 01:00 EST (UTC-05:00).',
      );
    });

    it('GIVEN a blackout conflict and room left in the same slot THEN offers the time right after the maintenance first', () => {
      const findings = validateRequestLevel(request({ schedule: { mode: 'at', at: new Date('2026-12-13T07:00:00Z') }, lowTraffic: null }));
      expect(findings[0]?.message).toMatch(
        /^Up to 60 min of downtime from Sun 13 Dec 2026 02:00 EST \(UTC-05:00\) would overlap the platform maintenance "Platform maintenance" \(Sun 13 Dec 2026 01:00 EST \(UTC-05:00\) to Sun 13 Dec 2026 03:00 EST \(UTC-05:00\)\)\. Next free upgrade slots: Sun 13 Dec 2026 03:00 EST/,
      );
      expect(findings[0]?.message).not.toMatch(/\[\d{3}\]/);
    });

    it.each([
      ['past_time', { schedule: { mode: 'at', at: new Date('2026-11-29T06:00:00Z') } }, /Pick a future time, or use when=now or when=window\.$/],
      ['blackout_conflict', { schedule: { mode: 'at', at: new Date('2026-12-13T07:00:00Z') }, lowTraffic: null }, /Pick a time after the maintenance ends, or use when=window\.$/],
    ] as Array<[FindingCode, Partial<RequestContext>, RegExp]>)('GIVEN %s and no upgrade slots THEN gives the plain advice', (code, over, advice) => {
      const findings = validateRequestLevel(request({ ...over, slots: [] }));
      expect(codes(findings)).toEqual([code]);
      expect(findings[0]?.message).toMatch(advice);
      expect(findings[0]?.message).not.toContain('Next free');
    });

    it('GIVEN a custom time in the past and a slot in another timezone THEN lists the offers in the customer timezone', () => {
      const berlin: UpgradeSlot = { ...sundayNights, cron: '0 2 * * 6', timezone: 'Europe/Berlin' };
      const findings = validateRequestLevel(request({ schedule: { mode: 'at', at: new Date('2026-11-29T06:00:00Z') }, slots: [berlin] }));
      // Saturday 02:00 in Berlin is Friday 20:00 in New York.
      expect(findings[0]?.message).toContain('Next free upgrade slots: Fri 4 Dec 2026 20:00 EST (UTC-05:00); Fri 11 Dec 2026 20:00 EST (UTC-05:00);');
    });

    it('accepts a custom time equal to now', () => {
      const findings = validateRequestLevel(request({ schedule: { mode: 'at', at: NOW }, lowTraffic: null }));
      expect(findings).toEqual([]);
    });

    it.each([
      ['starts inside the maintenance', '2026-12-13T07:00:00Z', 60, true],
      ['runs into the maintenance', '2026-12-13T05:30:00Z', 60, true],
      ['ends exactly when the maintenance starts', '2026-12-13T05:00:00Z', 60, false],
      ['starts exactly when the maintenance ends', '2026-12-13T08:00:00Z', 60, false],
      ['would overlap only with its longest downtime', '2026-12-13T04:30:00Z', 120, true],
    ])('GIVEN an upgrade that %s THEN blackout_conflict is %s', (_label, at, minutes, conflict) => {
      const findings = validateRequestLevel(request({ schedule: { mode: 'at', at: new Date(at) }, downtimeMaxMinutes: minutes, lowTraffic: null }));
      expect(codes(findings)).toEqual(conflict ? ['blackout_conflict'] : []);
      if (conflict) {
        expect(findings[0]?.severity).toBe('error');
        expect(findings[0]?.message).toMatch(/Platform maintenance/);
      }
    });

    it('checks mode now against the current time', () => {
      const during = { ...maintenance, start: new Date('2026-12-01T12:30:00Z'), end: new Date('2026-12-01T14:00:00Z') };
      expect(codes(validateRequestLevel(request({ schedule: { mode: 'now', at: null }, maintenance: [during] })))).toEqual(['blackout_conflict']);
    });

    it('does not check blackouts or low traffic for window mode', () => {
      const during = { ...maintenance, start: new Date('2026-12-01T12:30:00Z'), end: new Date('2026-12-01T14:00:00Z') };
      expect(validateRequestLevel(request({ schedule: { mode: 'window', at: null }, maintenance: [during] }))).toEqual([]);
    });

    it('reports one blackout_conflict per overlapped maintenance window', () => {
      const second = { ...maintenance, id: 8, start: new Date('2026-12-13T08:30:00Z'), end: new Date('2026-12-13T09:00:00Z') };
      const findings = validateRequestLevel(request({ schedule: { mode: 'at', at: new Date('2026-12-13T07:00:00Z') }, downtimeMaxMinutes: 120, maintenance: [maintenance, second], lowTraffic: null }));
      expect(codes(findings)).toEqual(['blackout_conflict', 'blackout_conflict']);
    });

    it.each([
      ['inside the low-traffic window', '2026-12-06T06:00:00Z', 60, []],
      ['at Saturday noon', '2026-12-05T17:00:00Z', 60, ['outside_low_traffic']],
      ['running past the end of the window', '2026-12-06T09:30:00Z', 60, ['outside_low_traffic']],
    ])('GIVEN a custom time %s THEN reports %j', (_label, at, minutes, expected) => {
      const findings = validateRequestLevel(request({ schedule: { mode: 'at', at: new Date(at) }, downtimeMaxMinutes: minutes }));
      expect(codes(findings)).toEqual(expected);
      if (expected.length > 0) {
        expect(findings[0]?.severity).toBe('warning');
        expect(findings[0]?.message).toMatch(/Sun 01:00-05:00/);
      }
    });

    it.each([
      ['no low-traffic window is set', { lowTraffic: null }],
      ['the mode is now', { schedule: { mode: 'now', at: null } }],
      ['the mode is window', { schedule: { mode: 'window', at: null } }],
    ] as Array<[string, Partial<RequestContext>]>)('does not report outside_low_traffic when %s', (_label, over) => {
      const findings = validateRequestLevel(request({ schedule: { mode: 'at', at: new Date('2026-12-05T17:00:00Z') }, ...over }));
      expect(codes(findings)).not.toContain('outside_low_traffic');
    });
  });

  it('GIVEN no manager password THEN warns that the agent will need it before the run', () => {
    const findings = validateRequestLevel(request({ hasManagerPassword: false }));
    expect(codes(findings)).toEqual(['missing_manager_password']);
    expect(findings[0]?.severity).toBe('warning');
    expect(findings[0]?.message).toMatch(/before the run/);
    expect(findings[0]?.message).toMatch(/valid/);
  });
});

describe('blackout conflicts', () => {
  const a = { ...maintenance, id: 1, start: new Date('2026-12-13T06:00:00Z'), end: new Date('2026-12-13T08:00:00Z') };
  const b = { ...maintenance, id: 2, start: new Date('2026-12-14T06:00:00Z'), end: new Date('2026-12-14T08:00:00Z') };

  it.each([
    ['2026-12-13T05:00:00Z', 60, []],
    ['2026-12-13T05:00:00Z', 61, [1]],
    ['2026-12-13T07:59:00Z', 30, [1]],
    ['2026-12-13T08:00:00Z', 30, []],
    ['2026-12-13T07:00:00Z', 24 * 60, [1, 2]],
  ])('from %s for %i minutes hits windows %j', (start, minutes, ids) => {
    expect(blackoutConflicts(new Date(start), minutes, [a, b]).map((w) => w.id)).toEqual(ids);
  });
});
