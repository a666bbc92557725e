import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { RecordsBatch } from '../../src/ports.js';
import {
  RecordsImportError,
  formatImportProblems,
  importRecords,
  importRecordsFiles,
  parseRecordsJson,
} from '../../src/services/import-records.js';
import { MemoryStore } from '../fakes/memory-store.js';

const demoFile = fileURLToPath(new URL('../../examples/demo-records.json', import.meta.url));
const csvDir = fileURLToPath(new URL('../../examples/csv/', import.meta.url));

const ACME = { name: 'Acme Corp', email: 'it@acme.example', phone: '+1 555 0100', timezone: 'America/New_York' };

/** A device row of Acme (or `customer`) numbered `i`, with a unique serial, MAC and IP. */
function deviceRow(i: number, customer = 'Acme Corp'): Record<string, unknown> {
  const hex = i.toString(16).padStart(6, '0');
  return {
    name: `node-${i}`,
    customer,
    product: 'SysMaster',
    serial: `SN-${100000 + i}`,
    mac: `02:00:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`,
    ip: `198.51.100.${i % 256}`,
    version: '7.1.0',
    status: 'configured',
  };
}

const none = { created: 0, updated: 0, unchanged: 0 };

describe('importing records into the store', () => {
  let store: MemoryStore;
  let dir: string;

  beforeEach(async () => {
    store = new MemoryStore();
    dir = await mkdtemp(join(tmpdir(), 'import-records-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes a file into the test's directory and returns its path. */
  async function file(name: string, content: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  }

  it('imports the demo records cleanly', async () => {
    const result = await importRecordsFiles(store, [demoFile]);
    if (!result.ok) throw new Error(formatImportProblems(result.error));
    expect(result.value.summary).toEqual({
      customers: { created: 2, updated: 0, unchanged: 0 },
      people: { created: 6, updated: 0, unchanged: 0 },
      devices: { created: 8, updated: 0, unchanged: 0 },
      releases: { created: 8, updated: 0, unchanged: 0 },
      windows: { created: 3, updated: 0, unchanged: 0 },
    });
    const acme = await store.customers.byName('acme corp');
    expect(acme).toMatchObject({ name: 'Acme Corp', timezone: 'America/New_York', slackChannel: 'C0ACME' });
    const jane = await store.people.byEmail('JANE@acme.example');
    expect(jane).toMatchObject({ customerId: acme?.id, roles: ['authorized_representative'], slackUserId: 'U0JANE' });
    expect(await store.people.byEmail('pat@upgradedesk.example')).toMatchObject({ customerId: null, roles: ['platform_admin'] });
    const edge = await store.devices.findForCustomer(acme?.id ?? -1, 'edge-01');
    expect(edge).toMatchObject({ serial: 'SN-1001', mac: '00:1a:2b:3c:4d:5e', ip: '203.0.113.10', version: '5.2.0' });
    expect((await store.releases.forProduct('SysMaster')).map((r) => r.version).sort()).toEqual(['5.2.0', '6.0.0', '7.1.0', '7.3.0', '8.0.0', '9.1.0']);
    expect(await store.windows.maintenance()).toHaveLength(1);
    const globex = await store.customers.byName('Globex GmbH');
    expect((await store.windows.slots(globex?.id ?? null)).map((s) => s.cron).sort()).toEqual(['0 0 * * 6', '0 1 * * 0']);
  });

  it('writes one audit event with the counts and the source', async () => {
    const result = await importRecordsFiles(store, [demoFile], { actor: 'pat@upgradedesk.example', now: new Date('2026-11-01T10:00:00Z') });
    if (!result.ok) throw new Error(formatImportProblems(result.error));
    const events = await store.audit.list({ action: 'records_imported' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: 'pat@upgradedesk.example',
      action: 'records_imported',
      entity: 'records',
      entityId: 'demo-records.json',
      at: new Date('2026-11-01T10:00:00Z'),
      data: { source: 'demo-records.json', records: 27, counts: result.value.summary },
    });
  });

  it('counts an unchanged re-import as unchanged and a changed record as updated', async () => {
    await importRecordsFiles(store, [demoFile]);
    const again = await importRecordsFiles(store, [demoFile]);
    if (!again.ok) throw new Error(formatImportProblems(again.error));
    expect(again.value.summary).toEqual({
      customers: { created: 0, updated: 0, unchanged: 2 },
      people: { created: 0, updated: 0, unchanged: 6 },
      devices: { created: 0, updated: 0, unchanged: 8 },
      releases: { created: 0, updated: 0, unchanged: 8 },
      windows: { created: 0, updated: 0, unchanged: 3 },
    });

    const devices = await file(
      'devices.csv',
      'name,customer,product,serial,mac,ip,version,status,statusUrl\n' +
        'edge-01,Acme Corp,SysMaster,SN-1001,00-1A-2B-3C-4D-5E,203.0.113.10,7.1.0,configured,http://203.0.113.10:7751/ManagementServer/deployment/status.aspx\n' +
        'edge-02,Acme Corp,SysMaster,sn-1002,001a.2b3c.4d5f,203.0.113.11,7.1.0,upgrade_required,http://203.0.113.11:7751/ManagementServer/deployment/status.aspx\n',
    );
    const changed = await importRecordsFiles(store, [devices]);
    if (!changed.ok) throw new Error(formatImportProblems(changed.error));
    expect(changed.value.summary.devices).toEqual({ created: 0, updated: 1, unchanged: 1 });
    const acme = await store.customers.byName('Acme Corp');
    expect((await store.devices.findForCustomer(acme?.id ?? -1, 'SN-1001'))?.version).toBe('7.1.0');
    expect(await store.audit.list({ action: 'records_imported' })).toHaveLength(3);
  });

  it('resets optional fields a re-import leaves empty to their defaults', async () => {
    await importRecordsFiles(store, [demoFile]);
    const devices = await file('devices.csv', 'name,customer,product,serial,mac,ip,version,status\ncore-db,Acme Corp,SysMaster,SN-1003,00:1A:2B:3C:4D:60,203.0.113.12,7.1.0,configured\n');
    const result = await importRecordsFiles(store, [devices]);
    if (!result.ok) throw new Error(formatImportProblems(result.error));
    expect(result.value.summary.devices).toEqual({ created: 0, updated: 1, unchanged: 0 });
    const acme = await store.customers.byName('Acme Corp');
    expect(await store.devices.findForCustomer(acme?.id ?? -1, 'core-db')).toMatchObject({ loadBalancerGroup: null, databasePrimary: false, statusUrl: null });
  });

  it('imports nothing from a file with one bad row', async () => {
    const devices = [deviceRow(1), deviceRow(2), { ...deviceRow(3), mac: '00:1A:2B' }, deviceRow(4)];
    const path = await file('records.json', JSON.stringify({ customers: [ACME], devices }));
    const result = await importRecordsFiles(store, [path]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toEqual([
      {
        source: 'records.json',
        kind: 'devices',
        position: 'devices[2]',
        field: 'mac',
        reason: 'mac "00:1A:2B" is not a MAC address (expected e.g. 00:1A:2B:3C:4D:5E)',
      },
    ]);
    expect(await store.customers.count()).toBe(0);
    expect(await store.audit.list()).toEqual([]);
  });

  it('resolves a customer that is already in the database, whatever the case', async () => {
    await importRecordsFiles(store, [demoFile]);
    const path = await file('acme-devices.csv', 'name,customer,product,serial,mac,ip,version,status\nnew-01,ACME CORP,SysMaster,SN-9001,001a2b3c9001,203.0.113.90,7.1.0,created\n');
    const result = await importRecordsFiles(store, [path]);
    if (!result.ok) throw new Error(formatImportProblems(result.error));
    expect(result.value.summary).toEqual({ customers: none, people: none, devices: { created: 1, updated: 0, unchanged: 0 }, releases: none, windows: none });
    const acme = await store.customers.byName('Acme Corp');
    expect(await store.devices.findForCustomer(acme?.id ?? -1, 'new-01')).toMatchObject({ serial: 'SN-9001', mac: '00:1a:2b:3c:90:01' });
  });

  it('refuses records naming a customer that is neither in the file nor in the database, and writes nothing', async () => {
    const customers = await file('customers.csv', 'name,email,phone,timezone\nInitrode,it@initrode.example,+1 555 0200,UTC\n');
    const devices = await file('devices.csv', `name,customer,product,serial,mac,ip,version,status\nx-1,Initech,SysMaster,SN-1,00:00:5e:00:53:01,203.0.113.1,7.1.0,configured\n`);
    const people = await file('people.csv', 'name,email,customer,roles\nPeter,peter@initech.example,Initech,requester\nIna,ina@initrode.example,initrode,requester\n');
    const result = await importRecordsFiles(store, [customers, people, devices]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.map((p) => [p.source, p.position, p.field, p.reason])).toEqual([
      ['people.csv', 'line 2', 'customer', 'customer "Initech" is neither in the file nor in the database (expected the name of a customer)'],
      ['devices.csv', 'line 2', 'customer', 'customer "Initech" is neither in the file nor in the database (expected the name of a customer)'],
    ]);
    expect(await store.customers.count()).toBe(0);
    expect(await store.audit.list()).toEqual([]);
  });

  it('reports bad rows and unknown customers of one import together', async () => {
    const path = await file('records.json', JSON.stringify({ devices: [deviceRow(1, 'Initech'), { ...deviceRow(2), ip: 'nowhere' }] }));
    const result = await importRecordsFiles(store, [path]);
    expect(result.ok ? [] : result.error.map((p) => [p.position, p.field])).toEqual([
      ['devices[0]', 'customer'],
      ['devices[1]', 'ip'],
    ]);
  });

  it('throws from importRecords, writing nothing, when a batch names an unknown customer', async () => {
    const parsed = parseRecordsJson(JSON.stringify({ customers: [ACME], devices: [deviceRow(1), deviceRow(2, 'Initech')] }), 'records.json');
    if (!parsed.ok) throw new Error(formatImportProblems(parsed.error));
    const attempt = importRecords(store, parsed.value);
    await expect(attempt).rejects.toBeInstanceOf(RecordsImportError);
    await expect(attempt).rejects.toMatchObject({
      problems: [{ source: 'records.json', kind: 'devices', position: 'devices[1]', field: 'customer' }],
    });
    expect(await store.customers.count()).toBe(0);
  });

  it('imports a batch built in code and records who imported it', async () => {
    const batch: RecordsBatch = {
      customers: [{ ...ACME, lowTraffic: null, partner: null, slackChannel: null, discordChannel: null, notifyEmails: [] }],
      people: [],
      devices: [],
      releases: [],
      windows: [{ kind: 'upgrade', cron: '0 2 * * 0', timezone: 'UTC', durationMinutes: 120, customer: 'acme corp' }],
    };
    const summary = await importRecords(store, batch, undefined, { source: 'admin edit', actor: 'pat@upgradedesk.example' });
    expect(summary.windows).toEqual({ created: 1, updated: 0, unchanged: 0 });
    const acme = await store.customers.byName('Acme Corp');
    expect((await store.windows.slots(acme?.id ?? null)).map((s) => s.customerId)).toEqual([acme?.id]);
    expect(await store.audit.list({ action: 'records_imported' })).toMatchObject([{ actor: 'pat@upgradedesk.example', entityId: 'admin edit' }]);
  });

  it('imports the example CSV directory', async () => {
    const result = await importRecordsFiles(store, [csvDir]);
    if (!result.ok) throw new Error(formatImportProblems(result.error));
    expect(result.value.source).toBe('customers.csv, people.csv, devices.csv, releases.csv, windows.csv');
    expect(Object.values(result.value.summary).map((c) => c.created)).toEqual([2, 6, 5, 4, 3]);
  });

  it('imports a generated file of 10,000 devices', async () => {
    const devices = Array.from({ length: 10_000 }, (_, i) => deviceRow(i));
    const path = await file('fleet.json', JSON.stringify({ customers: [ACME], devices }));
    const progress: Array<[number, number]> = [];
    const result = await importRecordsFiles(store, [path], { onProgress: (done, total) => progress.push([done, total]) });
    if (!result.ok) throw new Error(formatImportProblems(result.error));
    expect(result.value.summary.devices).toEqual({ created: 10_000, updated: 0, unchanged: 0 });
    expect(progress.every(([done, total]) => done <= total)).toBe(true);
    const acme = await store.customers.byName('Acme Corp');
    expect((await store.devices.forCustomer(acme?.id ?? -1)).length).toBe(10_000);
    expect(await store.devices.findForCustomer(acme?.id ?? -1, 'node-9999')).toMatchObject({ serial: 'SN-109999', mac: '02:00:00:00:27:0f' });
  });
});
