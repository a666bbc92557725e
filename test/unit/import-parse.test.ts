import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import type { Result } from '../../src/domain/result.js';
import type { RecordsBatch } from '../../src/ports.js';
import {
  csvKindFromFileName,
  formatImportProblems,
  formatImportSummary,
  parseRecordsCsv,
  parseRecordsFile,
  parseRecordsFiles,
  parseRecordsJson,
} from '../../src/services/import-records.js';
import type { ImportProblem } from '../../src/services/import-records.js';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));

const ACME = { name: 'Acme Corp', email: 'it@acme.example', phone: '+1 555 0100', timezone: 'America/New_York' };
const JANE = { name: 'Jane Doe', email: 'jane@acme.example', customer: 'Acme Corp', roles: ['authorized_representative'] };
const EDGE = {
  name: 'edge-01',
  customer: 'Acme Corp',
  product: 'SysMaster',
  serial: 'SN-1001',
  mac: '00:1A:2B:3C:4D:5E',
  ip: '203.0.113.10',
  version: '5.2.0',
  status: 'configured',
};
const RELEASE = { product: 'SysMaster', version: '7.1.0' };
const MAINTENANCE = { kind: 'maintenance', start: '2026-12-01T00:00:00Z', end: '2026-12-01T06:00:00Z', reason: 'Platform maintenance' };
const SLOT = { kind: 'upgrade', cron: '0 1 * * 0', timezone: 'UTC', durationMinutes: 240, customer: null };

/** A JSON records file with Acme as the only customer plus the given rows. */
function json(rows: Partial<Record<keyof RecordsBatch, unknown[]>> & Record<string, unknown>): string {
  return JSON.stringify({ customers: [ACME], ...rows });
}

function expectOk(result: Result<RecordsBatch, ImportProblem[]>): RecordsBatch {
  if (!result.ok) throw new Error(`expected no problems, got:\n${formatImportProblems(result.error)}`);
  return result.value;
}

function expectProblems(result: Result<RecordsBatch, ImportProblem[]>): ImportProblem[] {
  if (result.ok) throw new Error('expected problems, got none');
  return result.error;
}

describe('parsing the JSON records file', () => {
  it('reads the demo records without a problem', async () => {
    const batch = expectOk(await parseRecordsFile(join(examples, 'demo-records.json')));
    expect(batch.customers.map((c) => c.name)).toEqual(['Acme Corp', 'Globex GmbH']);
    expect(batch.people.map((p) => p.email)).toEqual([
      'jane@acme.example',
      'bob@acme.example',
      'greta@globex.example',
      'alex@upgradedesk.example',
      'pat@upgradedesk.example',
      'nora@northwind.example',
    ]);
    expect(batch.devices).toHaveLength(8);
    expect(batch.releases).toHaveLength(8);
    expect(batch.windows).toHaveLength(3);
    expect(batch.devices[0]).toMatchObject({ serial: 'SN-1001', mac: '00:1a:2b:3c:4d:5e', ip: '203.0.113.10' });
    expect(batch.releases.find((r) => r.version === '8.0.0' && r.product === 'SysMaster')?.downtimeMinutes).toEqual([45, 90]);
    expect(batch.windows[0]).toEqual({
      kind: 'maintenance',
      start: new Date('2026-12-01T00:00:00Z'),
      end: new Date('2026-12-01T06:00:00Z'),
      reason: 'Platform maintenance',
    });
  });

  it('fills in the defaults of every optional field', () => {
    const batch = expectOk(
      parseRecordsJson(
        json({
          people: [{ name: 'Alex Agent', email: 'alex@upgradedesk.example', roles: ['agent'] }],
          devices: [EDGE],
          releases: [RELEASE],
          windows: [{ kind: 'upgrade', cron: '0 1 * * 0', timezone: 'UTC', durationMinutes: 240 }],
        }),
        'records.json',
      ),
    );
    expect(batch.customers[0]).toEqual({ ...ACME, lowTraffic: null, partner: null, slackChannel: null, discordChannel: null, notifyEmails: [] });
    expect(batch.people[0]).toEqual({
      name: 'Alex Agent',
      email: 'alex@upgradedesk.example',
      phone: null,
      customer: null,
      roles: ['agent'],
      slackUserId: null,
      discordUserId: null,
      partner: null,
    });
    expect(batch.devices[0]).toMatchObject({ replication: false, loadBalancerGroup: null, databasePrimary: false, statusUrl: null });
    expect(batch.releases[0]).toEqual({ ...RELEASE, downtimeMinutes: [30, 60], prerequisites: [], impact: '', postUpgradeTasks: [] });
    expect(batch.windows[0]).toEqual({ kind: 'upgrade', cron: '0 1 * * 0', timezone: 'UTC', durationMinutes: 240, customer: null });
  });

  it('accepts an empty object and missing kinds as no records', () => {
    expect(expectOk(parseRecordsJson('{}', 'empty.json'))).toEqual({ customers: [], people: [], devices: [], releases: [], windows: [] });
  });

  it.each([
    ['00-1a-2b-3c-4d-5e', '00:1a:2b:3c:4d:5e'],
    ['001A.2B3C.4D5E', '00:1a:2b:3c:4d:5e'],
    ['001A2B3C4D5E', '00:1a:2b:3c:4d:5e'],
    [' 00:1A:2B:3C:4D:5E ', '00:1a:2b:3c:4d:5e'],
  ])('stores the MAC address %j as %s', (mac, stored) => {
    const batch = expectOk(parseRecordsJson(json({ devices: [{ ...EDGE, mac }] }), 'records.json'));
    expect(batch.devices[0]?.mac).toBe(stored);
  });

  it.each([
    ['203.000.113.010', '203.0.113.10'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
  ])('stores the IP address %j as %s', (ip, stored) => {
    const batch = expectOk(parseRecordsJson(json({ devices: [{ ...EDGE, ip }] }), 'records.json'));
    expect(batch.devices[0]?.ip).toBe(stored);
  });

  it('stores serial numbers upper-case, e-mails lower-case, versions without a "v" and statuses and roles as codes', () => {
    const batch = expectOk(
      parseRecordsJson(
        json({
          people: [{ ...JANE, email: 'Jane@ACME.example', roles: ['Authorized Representative', 'requester'] }],
          devices: [{ ...EDGE, serial: ' sn-1001 ', status: 'UPGRADE-REQUIRED', version: 'v5.2.0' }],
        }),
        'records.json',
      ),
    );
    expect(batch.people[0]?.email).toBe('jane@acme.example');
    expect(batch.people[0]?.roles).toEqual(['authorized_representative', 'requester']);
    expect(batch.devices[0]?.serial).toBe('SN-1001');
    expect(batch.devices[0]?.status).toBe('upgrade_required');
    expect(batch.devices[0]?.version).toBe('5.2.0');
  });

  it('writes references to a customer of the file with the customer’s own spelling', () => {
    const batch = expectOk(
      parseRecordsJson(json({ people: [{ ...JANE, customer: 'ACME corp' }], devices: [{ ...EDGE, customer: 'acme corp' }] }), 'records.json'),
    );
    expect(batch.people[0]?.customer).toBe('Acme Corp');
    expect(batch.devices[0]?.customer).toBe('Acme Corp');
  });

  it('leaves customers that are not in the file to the import, which checks the database', () => {
    const batch = expectOk(parseRecordsJson(JSON.stringify({ devices: [{ ...EDGE, customer: 'Initech' }] }), 'records.json'));
    expect(batch.devices[0]?.customer).toBe('Initech');
  });

  it('accepts the downtime as [min, max] or as "min-max" text', () => {
    const batch = expectOk(
      parseRecordsJson(
        json({ releases: [{ ...RELEASE, downtimeMinutes: [45, 90] }, { ...RELEASE, version: '7.3.0', downtimeMinutes: '20-40' }] }),
        'records.json',
      ),
    );
    expect(batch.releases.map((r) => r.downtimeMinutes)).toEqual([
      [45, 90],
      [20, 40],
    ]);
  });

  it.each<[string, Record<string, unknown[]>, string, string, RegExp]>([
    ['a customer without a name', { customers: [ACME, { ...ACME, name: '' }] }, 'customers[1]', 'name', /^name is required/],
    ['a bad customer e-mail', { customers: [{ ...ACME, email: 'it-at-acme' }] }, 'customers[0]', 'email', /^email "it-at-acme" is not an e-mail address \(expected e\.g\. name@example\.com\)$/],
    ['an unknown timezone', { customers: [{ ...ACME, timezone: 'Mars/Olympus' }] }, 'customers[0]', 'timezone', /^timezone "Mars\/Olympus" is not an IANA timezone \(expected e\.g\. /],
    ['an unreadable low-traffic window', { customers: [{ ...ACME, lowTraffic: 'Sunday night' }] }, 'customers[0]', 'lowTraffic', /^lowTraffic "Sunday night" is not a low-traffic window \(expected e\.g\. "Sun 01:00-05:00"/],
    ['a bad notification address', { customers: [{ ...ACME, notifyEmails: ['ops@acme.example', 'nobody'] }] }, 'customers[0]', 'notifyEmails', /^notifyEmails: "nobody" is not an e-mail address/],
    ['a phone number written as a number', { customers: [{ ...ACME, phone: 15550100 }] }, 'customers[0]', 'phone', /^phone must be text in quotes, got the number 15550100/],
    ['an unknown role', { people: [{ ...JANE, roles: ['boss'] }] }, 'people[0]', 'roles', /^roles: "boss" is not a role \(expected one or more of requester, authorized_representative, agent, platform_admin, partner_admin/],
    ['a person without roles', { people: [{ ...JANE, roles: [] }] }, 'people[0]', 'roles', /^roles is required/],
    ['a requester without a customer', { people: [{ ...JANE, customer: null, roles: ['requester'] }] }, 'people[0]', 'customer', /^customer is required for a requester/],
    ['an agent with a customer', { people: [{ ...JANE, roles: ['agent'] }] }, 'people[0]', 'customer', /^customer must be empty for agent/],
    ['a partner admin without a partner', { people: [{ ...JANE, customer: null, roles: ['partner_admin'] }] }, 'people[0]', 'partner', /^partner is required for a partner_admin/],
    ['a device without a serial', { devices: [{ ...EDGE, serial: undefined }] }, 'devices[0]', 'serial', /^serial is required \(expected e\.g\. SN-1001\)$/],
    ['a short MAC address', { devices: [{ ...EDGE, mac: '00:1A:2B' }] }, 'devices[0]', 'mac', /^mac "00:1A:2B" is not a MAC address \(expected e\.g\. 00:1A:2B:3C:4D:5E\)$/],
    ['an IP address out of range', { devices: [{ ...EDGE, ip: '203.0.113.300' }] }, 'devices[0]', 'ip', /^ip "203\.0\.113\.300" is not an IP address \(expected e\.g\. 203\.0\.113\.10\)$/],
    ['an unknown device status', { devices: [{ ...EDGE, status: 'broken' }] }, 'devices[0]', 'status', /^status "broken" is not a device status \(expected one of created, provisioned, configured/],
    ['a version that is not x.y.z', { devices: [{ ...EDGE, version: 'latest' }] }, 'devices[0]', 'version', /^version "latest" is not a version \(expected e\.g\. 7\.1\.0\)$/],
    ['a yes/no field that is neither', { devices: [{ ...EDGE, replication: 'maybe' }] }, 'devices[0]', 'replication', /^replication "maybe" is not a yes\/no value \(expected true, false, yes, no, 1 or 0\)$/],
    ['a status URL that is not http', { devices: [{ ...EDGE, statusUrl: 'ftp://203.0.113.10/status' }] }, 'devices[0]', 'statusUrl', /^statusUrl "ftp:\/\/203\.0\.113\.10\/status" is not an http\(s\) URL/],
    ['a downtime whose minimum exceeds its maximum', { releases: [{ ...RELEASE, downtimeMinutes: [60, 30] }] }, 'releases[0]', 'downtimeMinutes', /^downtimeMinutes \[60,30\]: the minimum 60 is greater than the maximum 30/],
    ['a downtime of zero minutes', { releases: [{ ...RELEASE, downtimeMinutes: [0, 30] }] }, 'releases[0]', 'downtimeMinutes', /^downtimeMinutes \[0,30\] is not a downtime range/],
    ['a release version that is not x.y.z', { releases: [{ ...RELEASE, version: '7.1.0.4' }] }, 'releases[0]', 'version', /^version "7\.1\.0\.4" is not a version/],
    ['a prerequisite that is not text', { releases: [{ ...RELEASE, prerequisites: ['Open ports', 8081] }] }, 'releases[0]', 'prerequisites', /^prerequisites\[1\] must be text in quotes, got the number 8081$/],
    ['a maintenance window that ends before it starts', { windows: [{ ...MAINTENANCE, end: '2026-11-30T23:00:00Z' }] }, 'windows[0]', 'end', /^end 2026-11-30T23:00:00\.000Z must be after start 2026-12-01T00:00:00\.000Z$/],
    ['a maintenance window without an offset', { windows: [{ ...MAINTENANCE, start: '2026-12-01T00:00:00' }] }, 'windows[0]', 'start', /^start "2026-12-01T00:00:00" is not an ISO date and time with an offset/],
    ['a maintenance window with a cron', { windows: [{ ...MAINTENANCE, cron: '0 1 * * 0' }] }, 'windows[0]', 'cron', /^cron does not apply to a maintenance window \(leave it empty\)$/],
    ['an upgrade slot with a bad cron', { windows: [{ ...SLOT, cron: '0 25 * * 0' }] }, 'windows[0]', 'cron', /^cron "0 25 \* \* 0" is not a cron expression \(expected e\.g\. "0 1 \* \* 0" for Sundays 01:00\)$/],
    ['an upgrade slot with too few cron fields', { windows: [{ ...SLOT, cron: '0 1 *' }] }, 'windows[0]', 'cron', /^cron "0 1 \*" is not a cron expression/],
    ['an upgrade slot with an unknown timezone', { windows: [{ ...SLOT, timezone: 'Berlin' }] }, 'windows[0]', 'timezone', /^timezone "Berlin" is not an IANA timezone/],
    ['an upgrade slot of zero minutes', { windows: [{ ...SLOT, durationMinutes: 0 }] }, 'windows[0]', 'durationMinutes', /^durationMinutes 0 is not valid \(expected a whole number of minutes greater than 0/],
    ['a window of an unknown kind', { windows: [{ ...SLOT, kind: 'blackout' }] }, 'windows[0]', 'kind', /^kind "blackout" is not a kind of window \(expected maintenance or upgrade\)$/],
    ['an unknown field in a row', { devices: [{ ...EDGE, serail: 'SN-1' }] }, 'devices[0]', 'serail', /^unknown field "serail" \(expected some of name, customer, product, serial/],
  ])('reports %s at its position', (_what, rows, position, field, reason) => {
    const problems = expectProblems(parseRecordsJson(json(rows), 'records.json'));
    expect(problems).toHaveLength(1);
    const [problem] = problems;
    expect(problem).toMatchObject({ source: 'records.json', kind: position.replace(/\[\d+\]$/, ''), position, field });
    expect(problem?.reason).toMatch(reason);
  });

  it.each<[string, Record<string, unknown[]>, string, string, RegExp]>([
    ['customer names', { customers: [ACME, { ...ACME, name: 'ACME CORP' }] }, 'customers[1]', 'name', /^customer "ACME CORP" appears more than once \(first at customers\[0\]\)/],
    ['person e-mails', { people: [JANE, { ...JANE, email: 'JANE@acme.example', slackUserId: 'U1' }] }, 'people[1]', 'email', /^email "jane@acme\.example" appears more than once \(first at people\[0\]\)/],
    ['Slack user ids', { people: [{ ...JANE, slackUserId: 'U0JANE' }, { ...JANE, email: 'j2@acme.example', slackUserId: 'U0JANE' }] }, 'people[1]', 'slackUserId', /^slackUserId "U0JANE" appears more than once/],
    ['Discord user ids', { people: [{ ...JANE, discordUserId: '2200' }, { ...JANE, email: 'j2@acme.example', discordUserId: '2200' }] }, 'people[1]', 'discordUserId', /^discordUserId "2200" appears more than once/],
    ['device serials', { devices: [EDGE, { ...EDGE, name: 'edge-02', serial: 'sn-1001' }] }, 'devices[1]', 'serial', /^serial "SN-1001" appears more than once \(first at devices\[0\]\); serial numbers must be unique$/],
    ['device names within a customer', { devices: [EDGE, { ...EDGE, name: 'EDGE-01', serial: 'SN-9' }] }, 'devices[1]', 'name', /^device "EDGE-01" of "Acme Corp" appears more than once/],
    ['release versions of a product', { releases: [RELEASE, { ...RELEASE, version: '7.1' }] }, 'releases[1]', 'version', /^release SysMaster 7\.1 appears more than once \(first at releases\[0\]\)/],
    ['maintenance windows', { windows: [MAINTENANCE, { ...MAINTENANCE, reason: 'again' }] }, 'windows[1]', 'start', /^maintenance window 2026-12-01T00:00:00\.000Z to 2026-12-01T06:00:00\.000Z appears more than once/],
    ['upgrade slots', { windows: [SLOT, { ...SLOT, durationMinutes: 60 }] }, 'windows[1]', 'cron', /^upgrade slot "0 1 \* \* 0" in UTC for all customers appears more than once/],
  ])('reports repeated %s at the repeat', (_what, rows, position, field, reason) => {
    const problems = expectProblems(parseRecordsJson(json(rows), 'records.json'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ position, field });
    expect(problems[0]?.reason).toMatch(reason);
  });

  it('allows the same device name at two customers', () => {
    const globex = { ...ACME, name: 'Globex GmbH', email: 'it@globex.example' };
    const batch = expectOk(
      parseRecordsJson(json({ customers: [ACME, globex], devices: [EDGE, { ...EDGE, customer: 'Globex GmbH', serial: 'SN-2' }] }), 'records.json'),
    );
    expect(batch.devices).toHaveLength(2);
  });

  it('reports every bad row and every bad field of a row, in file order', () => {
    const problems = expectProblems(
      parseRecordsJson(
        json({
          devices: [
            { ...EDGE, mac: 'nope' },
            EDGE,
            { ...EDGE, serial: 'SN-2', name: 'edge-02', ip: 'x', status: 'on' },
          ],
          people: [{ ...JANE, email: 'bad' }],
        }),
        'records.json',
      ),
    );
    expect(problems.map((p) => [p.position, p.field])).toEqual([
      ['devices[0]', 'mac'],
      ['devices[2]', 'ip'],
      ['devices[2]', 'status'],
      ['people[0]', 'email'],
    ]);
  });

  it('refuses unknown top-level keys', () => {
    const problems = expectProblems(parseRecordsJson(JSON.stringify({ customers: [ACME], devicez: [] }), 'records.json'));
    expect(problems).toEqual([
      {
        source: 'records.json',
        kind: null,
        position: 'devicez',
        reason: 'unknown top-level key "devicez" (expected some of customers, people, devices, releases, windows)',
      },
    ]);
  });

  it('refuses a kind that is not a list', () => {
    const problems = expectProblems(parseRecordsJson(JSON.stringify({ devices: { name: 'edge-01' } }), 'records.json'));
    expect(problems[0]).toMatchObject({ kind: 'devices', position: 'devices', reason: expect.stringMatching(/^devices must be a list of records/) });
  });

  it('reports text that is not JSON with its line', () => {
    const problems = expectProblems(parseRecordsJson('{\n  "customers": [],\n}', 'records.json'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: null, position: 'line 3', reason: expect.stringMatching(/^not valid JSON: /) });
  });
});

describe('parsing CSV records files', () => {
  it('reads each kind of the example CSV files', async () => {
    const batch = expectOk(
      await parseRecordsFiles(['customers', 'people', 'devices', 'releases', 'windows'].map((k) => join(examples, 'csv', `${k}.csv`))),
    );
    expect(batch.customers).toHaveLength(2);
    expect(batch.customers[1]).toMatchObject({ name: 'Globex GmbH', partner: null, notifyEmails: [] });
    expect(batch.people.find((p) => p.email === 'nora@northwind.example')).toMatchObject({ customer: null, partner: 'Northwind', roles: ['partner_admin'] });
    expect(batch.devices.map((d) => d.mac)).toEqual([
      '00:1a:2b:3c:4d:5e',
      '00:1a:2b:3c:4d:5f',
      '00:1a:2b:3c:4d:60',
      '00:1a:2b:3c:4d:61',
      '00:1a:2b:3c:5e:01',
    ]);
    expect(batch.devices[2]).toMatchObject({ loadBalancerGroup: 'core', databasePrimary: true, replication: false });
    expect(batch.releases[1]?.prerequisites).toEqual([
      'Open firewall ports 22, 80 and 8081 to the support network',
      'Disable replication on the master and all subscribers',
    ]);
    expect(batch.releases[2]?.downtimeMinutes).toEqual([45, 90]);
    expect(batch.releases[3]?.downtimeMinutes).toEqual([30, 60]);
    expect(batch.windows.map((w) => w.kind)).toEqual(['maintenance', 'upgrade', 'upgrade']);
    expect(batch.windows[2]).toEqual({ kind: 'upgrade', cron: '0 0 * * 6', timezone: 'Europe/Berlin', durationMinutes: 360, customer: 'Globex GmbH' });
  });

  it('reads a directory of CSV files as one set of records', async () => {
    const batch = expectOk(await parseRecordsFile(join(examples, 'csv')));
    expect([batch.customers.length, batch.people.length, batch.devices.length, batch.releases.length, batch.windows.length]).toEqual([2, 6, 5, 4, 3]);
  });

  it('takes the kind from the file name, with or without a prefix', () => {
    expect(csvKindFromFileName('devices.csv')).toBe('devices');
    expect(csvKindFromFileName('/tmp/acme-devices.csv')).toBe('devices');
    expect(csvKindFromFileName('Globex_People.CSV')).toBe('people');
    expect(csvKindFromFileName('release.csv')).toBe('releases');
    expect(csvKindFromFileName('inventory.csv')).toBeNull();
    // Names of Object's own properties are no kind either (they once found Object.prototype's).
    for (const name of ['constructor.csv', 'acme-__proto__.csv', 'toString.csv', 'hasOwnProperty.csv']) expect(csvKindFromFileName(name)).toBeNull();
  });

  it('reads prefixed files of a directory and resolves customers across files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'records-'));
    try {
      await writeFile(join(dir, 'customers.csv'), 'name,email,phone,timezone\nAcme Corp,it@acme.example,+1 555 0100,America/New_York\n');
      await writeFile(join(dir, 'acme-devices.csv'), 'name,customer,product,serial,mac,ip,version,status\nedge-01,acme corp,SysMaster,SN-1001,001a2b3c4d5e,203.0.113.10,5.2,configured\n');
      await writeFile(join(dir, 'notes.txt'), 'not records');
      const batch = expectOk(await parseRecordsFile(dir));
      expect(batch.devices).toEqual([
        {
          name: 'edge-01',
          customer: 'Acme Corp',
          product: 'SysMaster',
          serial: 'SN-1001',
          mac: '00:1a:2b:3c:4d:5e',
          ip: '203.0.113.10',
          version: '5.2',
          status: 'configured',
          replication: false,
          loadBalancerGroup: null,
          databasePrimary: false,
          statusUrl: null,
        },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a CSV file whose name names no kind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'records-'));
    try {
      await writeFile(join(dir, 'inventory.csv'), 'name\nx\n');
      const problems = expectProblems(await parseRecordsFile(join(dir, 'inventory.csv')));
      expect(problems[0]).toMatchObject({ source: 'inventory.csv', kind: null, position: 'file', reason: expect.stringMatching(/^cannot tell the kind of records from the file name/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing file', async () => {
    const problems = expectProblems(await parseRecordsFile(join(examples, 'no-such-records.json')));
    expect(problems[0]).toMatchObject({ source: 'no-such-records.json', position: 'file', reason: expect.stringMatching(/^cannot read the file/) });
  });

  it('reads yes/no cells, ";"-separated lists, "min-max" downtimes and empty cells as defaults', () => {
    const people = expectOk(
      parseRecordsCsv('people', 'name,email,customer,roles,phone\nJane Doe,jane@acme.example,Acme Corp,authorized_representative; requester,\n', 'people.csv'),
    );
    expect(people.people[0]).toMatchObject({ roles: ['authorized_representative', 'requester'], phone: null, slackUserId: null });
    const devices = expectOk(
      parseRecordsCsv(
        'devices',
        'name,customer,product,serial,mac,ip,version,status,replication,databasePrimary\n' +
          'a,Acme Corp,SysMaster,S1,00:1A:2B:3C:4D:01,203.0.113.1,7.1.0,configured,Yes,1\n' +
          'b,Acme Corp,SysMaster,S2,00:1A:2B:3C:4D:02,203.0.113.2,7.1.0,configured,false,no\n' +
          'c,Acme Corp,SysMaster,S3,00:1A:2B:3C:4D:03,203.0.113.3,7.1.0,configured,,\n',
        'devices.csv',
      ),
    );
    expect(devices.devices.map((d) => [d.replication, d.databasePrimary])).toEqual([
      [true, true],
      [false, false],
      [false, false],
    ]);
    const releases = expectOk(parseRecordsCsv('releases', 'product,version,downtimeMinutes\nSysMaster,7.1.0,45-90\nSysMaster,7.3.0,"[30,60]"\n', 'releases.csv'));
    expect(releases.releases.map((r) => r.downtimeMinutes)).toEqual([
      [45, 90],
      [30, 60],
    ]);
  });

  it('reports bad rows by their physical line, counting the header and multi-line cells', () => {
    const text =
      'product,version,impact,downtimeMinutes\n' +
      'SysMaster,7.1.0,"Offline\nfor a while",30-60\n' +
      '\n' +
      'SysMaster,7.3.0,Offline,90-45\n' +
      'SysMaster,x.y,Offline,30-60\n';
    const problems = expectProblems(parseRecordsCsv('releases', text, 'releases.csv'));
    expect(problems.map((p) => [p.source, p.kind, p.position, p.field])).toEqual([
      ['releases.csv', 'releases', 'line 5', 'downtimeMinutes'],
      ['releases.csv', 'releases', 'line 6', 'version'],
    ]);
    expect(problems[0]?.reason).toBe(
      'downtimeMinutes "90-45": the minimum 90 is greater than the maximum 45 (expected minimum and maximum minutes such as 30-60 in CSV or [30, 60] in JSON, minimum ≤ maximum, both greater than 0)',
    );
  });

  it('reports duplicates in CSV with the line of the first occurrence', () => {
    const text = 'name,email,phone,timezone\nAcme Corp,it@acme.example,1,UTC\nGlobex,it@globex.example,2,UTC\nacme corp,x@acme.example,3,UTC\n';
    const problems = expectProblems(parseRecordsCsv('customers', text, 'customers.csv'));
    expect(problems).toEqual([
      {
        source: 'customers.csv',
        kind: 'customers',
        position: 'line 4',
        field: 'name',
        reason: 'customer "acme corp" appears more than once (first at line 2); customer names must be unique',
      },
    ]);
  });

  it('reports unknown and missing columns once, at the header', () => {
    const problems = expectProblems(parseRecordsCsv('devices', 'name,customer,product,serial,mac,ip,version,colour\nx,y,z,1,2,3,4,red\n', 'devices.csv'));
    expect(problems.map((p) => [p.position, p.field, p.reason])).toEqual([
      ['line 1', 'colour', expect.stringMatching(/^unknown column "colour" \(expected some of name, customer/)],
      ['line 1', 'status', expect.stringMatching(/^column "status" is missing/)],
    ]);
  });

  it('ignores a header cell left empty by a trailing comma unless a row fills that column', () => {
    const text = 'product,version,\nSysMaster,7.1.0,\nSysMaster,7.3.0,oops\n';
    const problems = expectProblems(parseRecordsCsv('releases', text, 'releases.csv'));
    expect(problems.map((p) => [p.position, p.reason])).toEqual([
      ['line 3', 'the row has a value in a column without a name in the header (expected empty cells there)'],
    ]);
  });

  it('matches column names case-insensitively', () => {
    const batch = expectOk(parseRecordsCsv('releases', 'Product,VERSION,DowntimeMinutes\nSysMaster,7.1.0,10-20\n', 'releases.csv'));
    expect(batch.releases[0]).toMatchObject({ product: 'SysMaster', version: '7.1.0', downtimeMinutes: [10, 20] });
  });

  it('reports a row with more or fewer cells than the header', () => {
    const problems = expectProblems(parseRecordsCsv('releases', 'product,version\nSysMaster,7.1.0,extra\nSysMaster\n', 'releases.csv'));
    expect(problems.map((p) => p.position)).toEqual(['line 2', 'line 3']);
    expect(problems[0]?.reason).toMatch(/^the row has 3 cells but the header has 2 columns/);
  });

  it('refuses a filled field of the other kind of window but ignores empty ones', () => {
    const text =
      'kind,start,end,reason,cron,timezone,durationMinutes,customer\n' +
      'maintenance,2026-12-01T00:00:00Z,2026-12-01T06:00:00Z,Platform maintenance,,,,\n' +
      'maintenance,2026-12-02T00:00:00+01:00,2026-12-02T06:00:00+01:00,Platform maintenance,,,240,\n' +
      'upgrade,,,,0 1 * * 0,UTC,,\n';
    const problems = expectProblems(parseRecordsCsv('windows', text, 'windows.csv'));
    expect(problems.map((p) => [p.position, p.field, p.reason])).toEqual([
      ['line 3', 'durationMinutes', 'durationMinutes does not apply to a maintenance window (leave it empty)'],
      ['line 4', 'durationMinutes', expect.stringMatching(/^durationMinutes is required/)],
    ]);
  });

  it('reports an empty file', () => {
    const problems = expectProblems(parseRecordsCsv('people', '', 'people.csv'));
    expect(problems[0]).toMatchObject({ position: 'file', reason: expect.stringMatching(/^the file is empty \(expected a header row/) });
  });
});

describe('rendering import problems and summaries', () => {
  it('prints one line per problem with its file and position', () => {
    const text = formatImportProblems([
      { source: 'devices.csv', kind: 'devices', position: 'line 14', field: 'mac', reason: 'mac "00:1A:2B" is not a MAC address' },
      { source: 'records.json', kind: null, position: 'file', reason: 'not valid JSON' },
    ]);
    expect(text).toBe('devices.csv line 14: mac "00:1A:2B" is not a MAC address\nrecords.json: not valid JSON');
  });

  it('lists at most 50 problems and counts the rest', () => {
    const problems: ImportProblem[] = Array.from({ length: 53 }, (_, i) => ({
      source: 'devices.csv',
      kind: 'devices',
      position: `line ${i + 2}`,
      reason: 'bad',
    }));
    const lines = formatImportProblems(problems).split('\n');
    expect(lines).toHaveLength(51);
    expect(lines[49]).toBe('devices.csv line 51: bad');
    expect(lines[50]).toBe('… and 3 more');
  });

  it('prints the counts as an aligned table with totals', () => {
    const counts = (created: number, updated: number, unchanged: number) => ({ created, updated, unchanged });
    const text = formatImportSummary({
      customers: counts(2, 0, 0),
      people: counts(6, 0, 0),
      devices: counts(10000, 2, 0),
      releases: counts(0, 1, 7),
      windows: counts(0, 0, 3),
    });
    expect(text.split('\n')).toEqual([
      'kind       created  updated  unchanged',
      'customers        2        0          0',
      'people           6        0          0',
      'devices      10000        2          0',
      'releases         0        1          7',
      'windows          0        0          3',
      'total        10008        3         10',
    ]);
  });
});
