/**
 * The Store contract: one shared suite that every Store implementation (in-memory, SQLite,
 * PostgreSQL) must pass, so that fast command tests on the fake mean the same on a real database.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { REQUEST_STATUSES } from '../../src/domain/types.js';
import type { Finding } from '../../src/domain/types.js';
import { ConcurrentChangeError, StaleRunError } from '../../src/ports.js';
import type { NewOutboxMessage, NewRequest, RecordsBatch, Repositories, Store } from '../../src/ports.js';

const at = (iso: string): Date => new Date(iso);

/** A small records batch: two customers, staff, devices (one load-balancer group), releases, windows. */
export function sampleRecords(): RecordsBatch {
  return {
    customers: [
      {
        name: 'Acme Corp',
        email: 'it@acme.example',
        phone: '+1 555 0100',
        timezone: 'America/New_York',
        lowTraffic: 'Sun 01:00-05:00',
        partner: 'Northwind',
        slackChannel: 'C0ACME',
        discordChannel: '1100',
        notifyEmails: ['ops@acme.example'],
      },
      {
        name: 'Globex',
        email: 'it@globex.example',
        phone: '+49 30 0000',
        timezone: 'Europe/Berlin',
        lowTraffic: null,
        partner: null,
        slackChannel: null,
        discordChannel: null,
        notifyEmails: [],
      },
    ],
    people: [
      {
        name: 'Jane Doe',
        email: 'Jane@Acme.example',
        phone: '+1 555 0101',
        customer: 'acme corp',
        roles: ['authorized_representative'],
        slackUserId: 'U0JANE',
        discordUserId: '2200',
        partner: null,
      },
      {
        name: 'Bob Roe',
        email: 'bob@acme.example',
        phone: null,
        customer: 'Acme Corp',
        roles: ['requester'],
        slackUserId: null,
        discordUserId: null,
        partner: null,
      },
      {
        name: 'Greta Gold',
        email: 'greta@globex.example',
        phone: null,
        customer: 'Globex',
        roles: ['authorized_representative'],
        slackUserId: 'U0GRETA',
        discordUserId: null,
        partner: null,
      },
      {
        name: 'Alex Agent',
        email: 'alex@upgradedesk.example',
        phone: null,
        customer: null,
        roles: ['agent'],
        slackUserId: 'U0ALEX',
        discordUserId: '3300',
        partner: null,
      },
      {
        name: 'Pat Admin',
        email: 'pat@upgradedesk.example',
        phone: null,
        customer: null,
        roles: ['agent', 'platform_admin'],
        slackUserId: null,
        discordUserId: null,
        partner: null,
      },
    ],
    devices: [
      device('edge-01', 'Acme Corp', 'SN-1001', null),
      device('edge-02', 'Acme Corp', 'SN-1002', 'lb-a'),
      device('edge-03', 'ACME CORP', 'SN-1003', 'lb-a'),
      device('gx-01', 'Globex', 'SN-2001', 'lb-a'),
    ],
    releases: [
      {
        product: 'SysMaster',
        version: '7.1.0',
        downtimeMinutes: [30, 60],
        prerequisites: ['Open ports 22, 80, 8081'],
        impact: 'Calls drop during the switch-over.',
        postUpgradeTasks: ['Reset the manager password'],
      },
      {
        product: 'SysMaster',
        version: '9.0.0',
        downtimeMinutes: [45, 90],
        prerequisites: [],
        impact: 'Longer restart.',
        postUpgradeTasks: [],
      },
      {
        product: 'EdgeOS',
        version: '1.0.0',
        downtimeMinutes: [10, 20],
        prerequisites: [],
        impact: 'Short.',
        postUpgradeTasks: [],
      },
    ],
    windows: [
      { kind: 'maintenance', start: at('2026-12-01T00:00:00Z'), end: at('2026-12-01T06:00:00Z'), reason: 'Platform maintenance' },
      { kind: 'upgrade', cron: '0 1 * * 0', timezone: 'UTC', durationMinutes: 240, customer: null },
      { kind: 'upgrade', cron: '0 22 * * 6', timezone: 'America/New_York', durationMinutes: 180, customer: 'Acme Corp' },
    ],
  };
}

function device(name: string, customer: string, serial: string, group: string | null): RecordsBatch['devices'][number] {
  return {
    name,
    customer,
    product: 'SysMaster',
    serial,
    mac: '00:1a:2b:3c:4d:5e',
    ip: '203.0.113.10',
    version: '5.2.0',
    status: 'configured',
    replication: false,
    loadBalancerGroup: group,
    databasePrimary: name === 'edge-02',
    statusUrl: `http://${name}.example:7751/status`,
  };
}

const FINDING: Finding = { code: 'downgrade', severity: 'warning', message: 'Older target', device: 'edge-01' };

interface Seeded {
  acme: number;
  globex: number;
  jane: number;
  bob: number;
  greta: number;
  alex: number;
  edge01: number;
  edge02: number;
  edge03: number;
  gx01: number;
}

async function seed(store: Store): Promise<Seeded> {
  await store.records.upsert(sampleRecords());
  const id = async <T extends { id: number }>(p: Promise<T | null>, what: string): Promise<number> => {
    const found = await p;
    if (!found) throw new Error(`seed: ${what} missing`);
    return found.id;
  };
  const acme = await id(store.customers.byName('Acme Corp'), 'Acme');
  const globex = await id(store.customers.byName('Globex'), 'Globex');
  return {
    acme,
    globex,
    jane: await id(store.people.byEmail('jane@acme.example'), 'jane'),
    bob: await id(store.people.byEmail('bob@acme.example'), 'bob'),
    greta: await id(store.people.byEmail('greta@globex.example'), 'greta'),
    alex: await id(store.people.byEmail('alex@upgradedesk.example'), 'alex'),
    edge01: await id(store.devices.findForCustomer(acme, 'edge-01'), 'edge-01'),
    edge02: await id(store.devices.findForCustomer(acme, 'edge-02'), 'edge-02'),
    edge03: await id(store.devices.findForCustomer(acme, 'edge-03'), 'edge-03'),
    gx01: await id(store.devices.findForCustomer(globex, 'gx-01'), 'gx-01'),
  };
}

function draft(s: Seeded, overrides: Partial<NewRequest> = {}): NewRequest {
  return {
    status: 'awaiting_consent',
    customerId: s.acme,
    requesterId: s.jane,
    targetVersion: '7.1.0',
    schedule: { mode: 'window', at: null },
    options: { forced: false, redeploy: false, notifyPartner: true, notifyCustomer: false },
    note: 'please hurry',
    bulk: false,
    findings: [FINDING],
    via: 'slack',
    contactEmail: 'jane@acme.example',
    statusReason: null,
    createdAt: at('2026-11-21T12:00:00.123Z'),
    items: [
      {
        deviceId: s.edge01,
        deviceName: 'edge-01',
        seq: 0,
        fromVersion: '5.2.0',
        targetVersion: '7.1.0',
        findings: [FINDING],
      },
    ],
    ...overrides,
  };
}

/** Runs the Store contract against the stores `open` returns (a fresh, empty one per test). */
export function storeContract(name: string, open: () => Promise<Store>, close: (store: Store) => Promise<void>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      await close(store);
    });

    describe('records import', () => {
      it('imports a records batch and reports every record as created', async () => {
        const summary = await store.records.upsert(sampleRecords());
        expect(summary).toEqual({
          customers: { created: 2, updated: 0, unchanged: 0 },
          people: { created: 5, updated: 0, unchanged: 0 },
          devices: { created: 4, updated: 0, unchanged: 0 },
          releases: { created: 3, updated: 0, unchanged: 0 },
          windows: { created: 3, updated: 0, unchanged: 0 },
        });
        expect(await store.customers.count()).toBe(2);
      });

      it('reports every record as unchanged when the same batch is imported again', async () => {
        await store.records.upsert(sampleRecords());
        const again = await store.records.upsert(sampleRecords());
        expect(again).toEqual({
          customers: { created: 0, updated: 0, unchanged: 2 },
          people: { created: 0, updated: 0, unchanged: 5 },
          devices: { created: 0, updated: 0, unchanged: 4 },
          releases: { created: 0, updated: 0, unchanged: 3 },
          windows: { created: 0, updated: 0, unchanged: 3 },
        });
      });

      it('counts only the records whose values changed as updated, and adds the new ones', async () => {
        await store.records.upsert(sampleRecords());
        const batch = sampleRecords();
        batch.customers[1]!.notifyEmails = ['noc@globex.example'];
        batch.people[1]!.roles = ['requester', 'authorized_representative'];
        batch.devices[0]!.version = '7.1.0';
        batch.devices.push(device('edge-04', 'Acme Corp', 'SN-1004', null));
        batch.releases[0]!.downtimeMinutes = [20, 40];
        batch.windows[0] = { ...batch.windows[0]!, reason: 'Moved datacenter' } as RecordsBatch['windows'][number];
        const summary = await store.records.upsert(batch);
        expect(summary).toEqual({
          customers: { created: 0, updated: 1, unchanged: 1 },
          people: { created: 0, updated: 1, unchanged: 4 },
          devices: { created: 1, updated: 1, unchanged: 3 },
          releases: { created: 0, updated: 1, unchanged: 2 },
          windows: { created: 0, updated: 1, unchanged: 2 },
        });
        const globex = await store.customers.byName('globex');
        expect(globex?.notifyEmails).toEqual(['noc@globex.example']);
        const bob = await store.people.byEmail('bob@acme.example');
        expect(bob?.roles).toEqual(['requester', 'authorized_representative']);
        const acme = await store.customers.byName('Acme Corp');
        const edge01 = await store.devices.findForCustomer(acme!.id, 'edge-01');
        expect(edge01?.version).toBe('7.1.0');
        expect((await store.releases.find('SysMaster', '7.1.0'))?.downtimeMinutes).toEqual([20, 40]);
        expect((await store.windows.maintenance()).map((w) => w.reason)).toEqual(['Moved datacenter']);
        expect(await store.devices.forCustomer(acme!.id)).toHaveLength(4);
      });

      it('matches customers by name regardless of case and keeps their id', async () => {
        await store.records.upsert(sampleRecords());
        const before = await store.customers.byName('Acme Corp');
        const batch = sampleRecords();
        batch.customers[0]!.name = 'ACME Corp';
        const summary = await store.records.upsert(batch);
        expect(summary.customers).toEqual({ created: 0, updated: 1, unchanged: 1 });
        expect(await store.customers.count()).toBe(2);
        const after = await store.customers.byName('acme corp');
        expect(after?.id).toBe(before?.id);
        expect(after?.name).toBe('ACME Corp');
      });

      it('refuses a record that names an unknown customer and writes nothing', async () => {
        const batch = sampleRecords();
        batch.devices.push(device('ghost-01', 'Initech', 'SN-9999', null));
        await expect(store.records.upsert(batch)).rejects.toThrow(/Initech/);
        expect(await store.customers.count()).toBe(0);
        expect(await store.people.byEmail('jane@acme.example')).toBeNull();
      });

      it('refuses a batch that lists the same natural key twice', async () => {
        const batch = sampleRecords();
        batch.devices.push({ ...batch.devices[0]!, name: 'edge-01-copy' });
        await expect(store.records.upsert(batch)).rejects.toThrow(/SN-1001/);
        expect(await store.customers.count()).toBe(0);
      });

      it('reports progress that ends at the total number of records', async () => {
        const calls: [number, number][] = [];
        await store.records.upsert(sampleRecords(), (done, total) => calls.push([done, total]));
        expect(calls.length).toBeGreaterThan(0);
        expect(calls.at(-1)).toEqual([17, 17]);
        for (const [done, total] of calls) expect(done).toBeLessThanOrEqual(total);
      });
    });

    describe('customers, people, devices and releases', () => {
      let s: Seeded;
      beforeEach(async () => {
        s = await seed(store);
      });

      it('finds customers by id and by name regardless of case, lists and counts them', async () => {
        const acme = await store.customers.byId(s.acme);
        expect(acme).toEqual({
          id: s.acme,
          name: 'Acme Corp',
          email: 'it@acme.example',
          phone: '+1 555 0100',
          timezone: 'America/New_York',
          lowTraffic: 'Sun 01:00-05:00',
          partner: 'Northwind',
          slackChannel: 'C0ACME',
          discordChannel: '1100',
          notifyEmails: ['ops@acme.example'],
        });
        expect((await store.customers.byName('  aCmE cOrP '))?.id).toBe(s.acme);
        expect(await store.customers.byName('Acme')).toBeNull();
        expect(await store.customers.byId(9999)).toBeNull();
        expect((await store.customers.list()).map((c) => c.name)).toEqual(['Acme Corp', 'Globex']);
        expect(await store.customers.count()).toBe(2);
      });

      it('stores e-mail addresses lower-cased and finds people by e-mail regardless of case', async () => {
        const jane = await store.people.byEmail('JANE@acme.EXAMPLE');
        expect(jane).toEqual({
          id: s.jane,
          name: 'Jane Doe',
          email: 'jane@acme.example',
          phone: '+1 555 0101',
          customerId: s.acme,
          roles: ['authorized_representative'],
          slackUserId: 'U0JANE',
          discordUserId: '2200',
          partner: null,
        });
        expect((await store.people.byId(s.jane))?.email).toBe('jane@acme.example');
        expect(await store.people.byEmail('nobody@acme.example')).toBeNull();
      });

      it('finds people by Slack and by Discord user id', async () => {
        expect((await store.people.bySlackUserId('U0JANE'))?.id).toBe(s.jane);
        expect((await store.people.byDiscordUserId('3300'))?.id).toBe(s.alex);
        expect(await store.people.bySlackUserId('u0jane')).toBeNull();
        expect(await store.people.byDiscordUserId('0000')).toBeNull();
      });

      it('lists the people of one customer, the staff without a customer, and people by role', async () => {
        expect((await store.people.list({ customerId: s.acme })).map((p) => p.email)).toEqual([
          'jane@acme.example',
          'bob@acme.example',
        ]);
        expect((await store.people.list({ customerId: null })).map((p) => p.email)).toEqual([
          'alex@upgradedesk.example',
          'pat@upgradedesk.example',
        ]);
        expect((await store.people.list({ role: 'agent' })).map((p) => p.email)).toEqual([
          'alex@upgradedesk.example',
          'pat@upgradedesk.example',
        ]);
        expect((await store.people.list({ customerId: s.acme, role: 'authorized_representative' })).map((p) => p.id)).toEqual([
          s.jane,
        ]);
        expect(await store.people.list()).toHaveLength(5);
      });

      it('finds a device of a customer by name regardless of case, or by exact serial', async () => {
        const edge = await store.devices.findForCustomer(s.acme, 'EDGE-02');
        expect(edge).toEqual({
          id: s.edge02,
          customerId: s.acme,
          name: 'edge-02',
          product: 'SysMaster',
          serial: 'SN-1002',
          mac: '00:1a:2b:3c:4d:5e',
          ip: '203.0.113.10',
          version: '5.2.0',
          status: 'configured',
          replication: false,
          loadBalancerGroup: 'lb-a',
          databasePrimary: true,
          statusUrl: 'http://edge-02.example:7751/status',
        });
        expect((await store.devices.findForCustomer(s.acme, 'SN-1003'))?.id).toBe(s.edge03);
        expect(await store.devices.findForCustomer(s.acme, 'sn-1003')).toBeNull();
        expect((await store.devices.byId(s.gx01))?.name).toBe('gx-01');
      });

      it("does not find another customer's device", async () => {
        expect(await store.devices.findForCustomer(s.acme, 'gx-01')).toBeNull();
        expect(await store.devices.findForCustomer(s.globex, 'SN-1001')).toBeNull();
      });

      it("lists a customer's devices and the members of one of its load-balancer groups", async () => {
        expect((await store.devices.forCustomer(s.acme)).map((d) => d.name)).toEqual(['edge-01', 'edge-02', 'edge-03']);
        expect((await store.devices.inGroup(s.acme, 'lb-a')).map((d) => d.name)).toEqual(['edge-02', 'edge-03']);
        expect((await store.devices.inGroup(s.globex, 'lb-a')).map((d) => d.name)).toEqual(['gx-01']);
        expect(await store.devices.inGroup(s.acme, 'lb-z')).toEqual([]);
        const [first] = await store.devices.inGroup(s.acme, 'lb-a');
        await store.devices.recordVersion(first!.id, '9.9.9');
        expect((await store.devices.byId(first!.id))?.version).toBe('9.9.9');
      });

      it('finds devices by a list of ids, leaving out unknown ones, and lists the devices of a customer in any group', async () => {
        const found = await store.devices.byIds([s.edge03, s.gx01, 999999, s.edge03]);
        expect(found.map((d) => d.name).sort()).toEqual(['edge-03', 'gx-01']);
        expect(found.find((d) => d.id === s.gx01)).toEqual(await store.devices.byId(s.gx01));
        expect(await store.devices.byIds([])).toEqual([]);
        expect((await store.devices.grouped(s.acme)).map((d) => d.name)).toEqual(['edge-02', 'edge-03']);
        expect((await store.devices.grouped(s.globex)).map((d) => d.name)).toEqual(['gx-01']);
      });

      it('finds releases by product, by product and version, and lists them all', async () => {
        expect((await store.releases.forProduct('SysMaster')).map((r) => r.version).sort()).toEqual(['7.1.0', '9.0.0']);
        const release = await store.releases.find('SysMaster', '7.1.0');
        expect(release).toEqual({
          id: expect.any(Number),
          product: 'SysMaster',
          version: '7.1.0',
          downtimeMinutes: [30, 60],
          prerequisites: ['Open ports 22, 80, 8081'],
          impact: 'Calls drop during the switch-over.',
          postUpgradeTasks: ['Reset the manager password'],
        });
        expect(await store.releases.find('SysMaster', '8.0.0')).toBeNull();
        expect(await store.releases.list()).toHaveLength(3);
      });
    });

    describe('windows', () => {
      let s: Seeded;
      beforeEach(async () => {
        s = await seed(store);
      });

      it('lists maintenance windows in start order and finds one by id', async () => {
        const added = await store.windows.addMaintenance({
          start: at('2026-11-25T02:00:00.250Z'),
          end: at('2026-11-25T04:00:00Z'),
          reason: 'Kernel patch',
        });
        expect(added).toEqual({
          id: expect.any(Number),
          kind: 'maintenance',
          start: at('2026-11-25T02:00:00.250Z'),
          end: at('2026-11-25T04:00:00Z'),
          reason: 'Kernel patch',
        });
        const all = await store.windows.maintenance();
        expect(all.map((w) => w.reason)).toEqual(['Kernel patch', 'Platform maintenance']);
        expect(await store.windows.maintenanceById(added.id)).toEqual(added);
        expect(await store.windows.maintenanceById(9999)).toBeNull();
      });

      it('removes a maintenance window once and reports false for an unknown one', async () => {
        const [first] = await store.windows.maintenance();
        expect(await store.windows.removeMaintenance(first!.id)).toBe(true);
        expect(await store.windows.removeMaintenance(first!.id)).toBe(false);
        expect(await store.windows.maintenance()).toEqual([]);
      });

      it('does not treat an upgrade slot as a maintenance window', async () => {
        const [slot] = await store.windows.slots(null);
        expect(await store.windows.maintenanceById(slot!.id)).toBeNull();
        expect(await store.windows.removeMaintenance(slot!.id)).toBe(false);
        expect(await store.windows.slots(null)).toHaveLength(1);
      });

      it('gives a customer its own upgrade slots plus the global ones', async () => {
        const acme = await store.windows.slots(s.acme);
        expect(acme).toEqual([
          { id: expect.any(Number), kind: 'upgrade', cron: '0 1 * * 0', timezone: 'UTC', durationMinutes: 240, customerId: null },
          {
            id: expect.any(Number),
            kind: 'upgrade',
            cron: '0 22 * * 6',
            timezone: 'America/New_York',
            durationMinutes: 180,
            customerId: s.acme,
          },
        ]);
        expect((await store.windows.slots(s.globex)).map((w) => w.cron)).toEqual(['0 1 * * 0']);
        expect((await store.windows.slots(null)).map((w) => w.cron)).toEqual(['0 1 * * 0']);
      });
    });

    describe('requests', () => {
      let s: Seeded;
      beforeEach(async () => {
        s = await seed(store);
      });

      it('creates a request with a sequential reference, its items, and no runs or approvals yet', async () => {
        const first = await store.requests.create(draft(s));
        const second = await store.requests.create(draft(s, { items: [] }));
        expect(second.id).toBe(first.id + 1);
        expect(first.ref).toBe(`UPG-${String(first.id).padStart(6, '0')}`);
        expect(first).toEqual({
          id: first.id,
          ref: first.ref,
          status: 'awaiting_consent',
          customerId: s.acme,
          requesterId: s.jane,
          targetVersion: '7.1.0',
          schedule: { mode: 'window', at: null },
          options: { forced: false, redeploy: false, notifyPartner: true, notifyCustomer: false },
          note: 'please hurry',
          bulk: false,
          findings: [FINDING],
          via: 'slack',
          contactEmail: 'jane@acme.example',
          assignedAgentId: null,
          statusReason: null,
          createdAt: at('2026-11-21T12:00:00.123Z'),
          updatedAt: at('2026-11-21T12:00:00.123Z'),
          items: [
            {
              id: expect.any(Number),
              requestId: first.id,
              deviceId: s.edge01,
              deviceName: 'edge-01',
              seq: 0,
              fromVersion: '5.2.0',
              targetVersion: '7.1.0',
              findings: [FINDING],
              run: null,
            },
          ],
          approvals: [],
        });
        expect(second.items).toEqual([]);
      });

      it('keeps the items of a bulk request in sequence order', async () => {
        const bulk = await store.requests.create(
          draft(s, {
            bulk: true,
            items: [s.edge03, s.edge01, s.edge02].map((deviceId, i) => ({
              deviceId,
              deviceName: `d${2 - i}`,
              seq: 2 - i,
              fromVersion: '5.2.0',
              targetVersion: '7.1.0',
              findings: [],
            })),
          }),
        );
        expect(bulk.items.map((i) => i.seq)).toEqual([0, 1, 2]);
        expect(bulk.items.map((i) => i.deviceId)).toEqual([s.edge02, s.edge01, s.edge03]);
      });

      it('finds requests by id and by reference, reading references leniently', async () => {
        const created = await store.requests.create(draft(s));
        expect(await store.requests.byId(created.id)).toEqual(created);
        expect(await store.requests.byRef(created.ref)).toEqual(created);
        expect(await store.requests.byRef(created.ref.toLowerCase())).toEqual(created);
        expect(await store.requests.byRef(`UPG-${created.id}`)).toEqual(created);
        expect(await store.requests.byRef('UPG-999999')).toBeNull();
        expect(await store.requests.byRef('nonsense')).toBeNull();
        expect(await store.requests.byId(999999)).toBeNull();
      });

      it('lists requests most recent first, filtered by customer and status, up to the limit', async () => {
        const a = await store.requests.create(draft(s, { createdAt: at('2026-11-20T10:00:00Z') }));
        const b = await store.requests.create(
          draft(s, { createdAt: at('2026-11-22T10:00:00Z'), status: 'rejected', items: [] }),
        );
        const c = await store.requests.create(
          draft(s, {
            createdAt: at('2026-11-21T10:00:00Z'),
            customerId: s.globex,
            requesterId: s.greta,
            items: [{ deviceId: s.gx01, deviceName: 'gx-01', seq: 0, fromVersion: '5.2.0', targetVersion: '7.1.0', findings: [] }],
          }),
        );
        expect((await store.requests.list()).map((r) => r.id)).toEqual([b.id, c.id, a.id]);
        expect((await store.requests.list({ customerId: s.acme })).map((r) => r.id)).toEqual([b.id, a.id]);
        expect((await store.requests.list({ statuses: ['awaiting_consent'] })).map((r) => r.id)).toEqual([c.id, a.id]);
        expect((await store.requests.list({ statuses: [] })).map((r) => r.id)).toEqual([]);
        expect((await store.requests.list({ limit: 1 })).map((r) => r.id)).toEqual([b.id]);
        const [listed] = await store.requests.list({ customerId: s.globex });
        expect(listed?.items.map((i) => i.deviceName)).toEqual(['gx-01']);
      });

      it("maps each device with an open request to that request's reference", async () => {
        const open = await store.requests.create(draft(s));
        const closed = await store.requests.create(
          draft(s, {
            status: 'completed',
            items: [{ deviceId: s.edge02, deviceName: 'edge-02', seq: 0, fromVersion: '5.2.0', targetVersion: '7.1.0', findings: [] }],
          }),
        );
        expect(closed.status).toBe('completed');
        const map = await store.requests.openForDevices([s.edge01, s.edge02, s.edge03, s.edge01]);
        expect([...map.entries()]).toEqual([[s.edge01, open.ref]]);
        expect((await store.requests.openForDevices([])).size).toBe(0);
      });

      it('applies a patch and keeps the fields the patch does not mention', async () => {
        const created = await store.requests.create(draft(s));
        const updated = await store.requests.update(
          created.id,
          {
            status: 'scheduled',
            schedule: { mode: 'window', at: at('2026-11-29T06:00:00.500Z') },
            assignedAgentId: s.alex,
            findings: [],
            updatedAt: at('2026-11-21T13:00:00Z'),
          },
          'awaiting_consent',
        );
        expect(updated).toEqual({
          ...created,
          status: 'scheduled',
          schedule: { mode: 'window', at: at('2026-11-29T06:00:00.500Z') },
          assignedAgentId: s.alex,
          findings: [],
          updatedAt: at('2026-11-21T13:00:00Z'),
        });
        const reason = await store.requests.update(created.id, { statusReason: 'moved', updatedAt: at('2026-11-21T14:00:00Z') });
        expect(reason.status).toBe('scheduled');
        expect(reason.statusReason).toBe('moved');
        expect(reason.assignedAgentId).toBe(s.alex);
        expect(await store.requests.byId(created.id)).toEqual(reason);
      });

      it('throws ConcurrentChangeError and changes nothing when the status moved meanwhile', async () => {
        const created = await store.requests.create(draft(s));
        await store.requests.update(created.id, { status: 'approved', updatedAt: at('2026-11-21T13:00:00Z') }, 'awaiting_consent');
        const stale = store.requests.update(
          created.id,
          { status: 'cancelled', statusReason: 'changed my mind', updatedAt: at('2026-11-21T13:00:01Z') },
          'awaiting_consent',
        );
        await expect(stale).rejects.toBeInstanceOf(ConcurrentChangeError);
        await expect(
          store.requests.update(created.id, { status: 'cancelled', updatedAt: at('2026-11-21T13:00:01Z') }, 'awaiting_consent'),
        ).rejects.toThrow(created.ref);
        const current = await store.requests.byId(created.id);
        expect(current?.status).toBe('approved');
        expect(current?.statusReason).toBeNull();
        expect(current?.updatedAt).toEqual(at('2026-11-21T13:00:00Z'));
      });

      it('throws when asked to update a request that does not exist', async () => {
        await expect(store.requests.update(424242, { updatedAt: at('2026-11-21T13:00:00Z') })).rejects.toThrow();
      });

      it('records approvals and returns them with the request', async () => {
        const created = await store.requests.create(draft(s));
        const approval = await store.requests.addApproval({
          requestId: created.id,
          personId: s.jane,
          by: 'Jane Doe <jane@acme.example>',
          decision: 'approved',
          via: 'discord',
          at: at('2026-11-21T12:30:00.001Z'),
          reason: null,
          acknowledged: ['downgrade'],
          fingerprint: [{ deviceId: 1, name: 'edge-01', serial: 'SN-1001', mac: '00:1a:2b:3c:4d:5e', ip: '203.0.113.10', version: '5.2.0', status: 'configured' }],
        });
        expect(approval).toEqual({
          id: expect.any(Number),
          requestId: created.id,
          personId: s.jane,
          by: 'Jane Doe <jane@acme.example>',
          decision: 'approved',
          via: 'discord',
          at: at('2026-11-21T12:30:00.001Z'),
          reason: null,
          acknowledged: ['downgrade'],
          fingerprint: [{ deviceId: 1, name: 'edge-01', serial: 'SN-1001', mac: '00:1a:2b:3c:4d:5e', ip: '203.0.113.10', version: '5.2.0', status: 'configured' }],
        });
        const second = await store.requests.addApproval({ ...approval, personId: s.bob, decision: 'declined', reason: 'no' });
        expect((await store.requests.byId(created.id))?.approvals).toEqual([approval, second]);
      });

      it('finds the scheduled requests whose planned start lies in [from, to)', async () => {
        const make = async (iso: string | null, status: 'scheduled' | 'approved' = 'scheduled') => {
          const r = await store.requests.create(draft(s, { items: [] }));
          return store.requests.update(r.id, {
            status,
            schedule: { mode: 'at', at: iso === null ? null : at(iso) },
            updatedAt: at('2026-11-21T12:00:00Z'),
          });
        };
        const atStart = await make('2026-11-22T00:00:00.000Z');
        const inside = await make('2026-11-22T05:59:59.999Z');
        await make('2026-11-22T06:00:00.000Z');
        await make('2026-11-21T23:59:59.999Z');
        await make('2026-11-22T03:00:00Z', 'approved');
        await make(null);
        const found = await store.requests.scheduledBetween(at('2026-11-22T00:00:00Z'), at('2026-11-22T06:00:00Z'));
        expect(found.map((r) => r.id)).toEqual([atStart.id, inside.id]);
      });

      it('counts the requests in each status, giving 0 for the statuses no request is in', async () => {
        const none = await store.requests.countByStatus();
        expect(Object.keys(none).sort()).toEqual([...REQUEST_STATUSES].sort());
        expect(Object.values(none).every((n) => n === 0)).toBe(true);
        await store.requests.create(draft(s, { items: [] }));
        await store.requests.create(draft(s, { items: [] }));
        await store.requests.create(draft(s, { items: [], status: 'rejected' }));
        const scheduled = await store.requests.create(draft(s, { items: [] }));
        await store.requests.update(scheduled.id, { status: 'scheduled', updatedAt: at('2026-11-21T12:00:00Z') });
        const counts = await store.requests.countByStatus();
        expect(counts).toEqual({ ...none, awaiting_consent: 2, rejected: 1, scheduled: 1 });
      });
    });

    describe('runs', () => {
      let s: Seeded;
      beforeEach(async () => {
        s = await seed(store);
      });

      it('creates one run per item, saves its progress and shows it on the request', async () => {
        const request = await store.requests.create(draft(s));
        const item = request.items[0]!;
        const run = await store.runs.create(item.id, at('2026-11-22T01:00:00Z'));
        expect(run).toEqual({
          id: expect.any(Number),
          requestItemId: item.id,
          state: 'idle',
          condition: 'ok',
          attempt: 0,
          outcome: 'pending',
          agentId: null,
          issues: [],
          startedAt: null,
          finishedAt: null,
          updatedAt: at('2026-11-22T01:00:00Z'),
          postCheck: null,
        });
        await expect(store.runs.create(item.id, at('2026-11-22T01:00:00Z'))).rejects.toThrow();
        const saved = await store.runs.save({
          ...run,
          state: 'split',
          condition: 'busy',
          attempt: 2,
          agentId: s.alex,
          issues: ['slow disk'],
          startedAt: at('2026-11-22T01:00:01.500Z'),
          updatedAt: at('2026-11-22T01:05:00Z'),
          postCheck: { ok: true, version: '7.1.0', message: 'reports 7.1.0', at: at('2026-11-22T01:04:00.250Z') },
        });
        expect(saved.state).toBe('split');
        expect(saved.postCheck).toEqual({ ok: true, version: '7.1.0', message: 'reports 7.1.0', at: at('2026-11-22T01:04:00.250Z') });
        expect(await store.runs.byId(run.id)).toEqual(saved);
        expect(await store.runs.forItem(item.id)).toEqual(saved);
        expect(await store.runs.forItem(999999)).toBeNull();
        expect((await store.requests.byId(request.id))?.items[0]?.run).toEqual(saved);
        await expect(store.runs.save({ ...saved, id: 999999 })).rejects.toThrow();
      });

      it('saves a run from an expected state and attempt only, and of two concurrent saves from one state exactly one', async () => {
        const request = await store.requests.create(draft(s));
        const run = await store.runs.create(request.items[0]!.id, at('2026-11-22T01:00:00Z'));
        const next = { ...run, state: 'prepare_split' as const, updatedAt: at('2026-11-22T01:00:01Z') };
        expect((await store.runs.save(next, { state: 'idle', attempt: 0 })).state).toBe('prepare_split');
        await expect(store.runs.save({ ...next, state: 'split' }, { state: 'idle', attempt: 0 })).rejects.toThrow(StaleRunError);
        await expect(store.runs.save({ ...next, state: 'split' }, { state: 'prepare_split', attempt: 1 })).rejects.toThrow(StaleRunError);
        expect((await store.runs.byId(run.id))?.state).toBe('prepare_split');
        await expect(store.runs.save({ ...next, id: 999999 }, { state: 'idle', attempt: 0 })).rejects.not.toThrow(StaleRunError);
        const saves = await Promise.allSettled(
          (['split', 'split'] as const).map((state) =>
            store.transaction(async (tx) => {
              const current = (await tx.runs.byId(run.id))!;
              return tx.runs.save({ ...current, state }, { state: 'prepare_split', attempt: 0 });
            }),
          ),
        );
        expect(saves.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(saves.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)).toEqual([expect.any(StaleRunError)]);
      });

      it('reads a request without its items, the item of a run, and items filtered and limited, in order, as byId shows them', async () => {
        const devices = [s.edge03, s.edge01, s.edge02, s.edge01];
        const request = await store.requests.create(
          draft(s, {
            bulk: true,
            items: devices.map((deviceId, i) => ({
              deviceId,
              deviceName: `d${i}`,
              seq: 3 - i,
              fromVersion: '5.2.0',
              targetVersion: '7.1.0',
              findings: i === 0 ? [FINDING] : [],
            })),
          }),
        );
        const [d3, d2, d1, d0] = request.items; // in seq order: seq 0 is the last drafted
        expect([d3, d2, d1, d0].map((i) => i!.deviceName)).toEqual(['d3', 'd2', 'd1', 'd0']);
        const started = await store.runs.save({ ...(await store.runs.create(d2!.id, at('2026-11-22T01:00:00Z'))), state: 'split', issues: ['slow'] });
        const done = await store.runs.save({
          ...(await store.runs.create(d1!.id, at('2026-11-22T01:00:00Z'))),
          state: 'done',
          outcome: 'completed',
          finishedAt: at('2026-11-22T01:30:00.250Z'),
          postCheck: { ok: true, version: '7.1.0', message: 'reports 7.1.0', at: at('2026-11-22T01:29:00.125Z') },
        });
        const whole = (await store.requests.byId(request.id))!;

        const { items: _items, approvals: _approvals, ...header } = whole;
        expect(await store.requests.header(request.id)).toEqual(header);
        expect(await store.requests.header(999999)).toBeNull();

        expect(await store.requests.items(request.id)).toEqual(whole.items);
        expect(await store.requests.items(request.id, { limit: 2 })).toEqual(whole.items.slice(0, 2));
        expect(await store.requests.items(request.id, { limit: 0 })).toEqual([]);
        expect((await store.requests.items(request.id, { active: true })).map((i) => i.run)).toEqual([started]);
        expect((await store.requests.items(request.id, { pending: true })).map((i) => i.deviceName)).toEqual(['d3', 'd0']);
        expect((await store.requests.items(request.id, { pending: true, limit: 1 })).map((i) => i.deviceName)).toEqual(['d3']);
        expect((await store.requests.items(request.id, { deviceIds: [s.edge01] })).map((i) => i.deviceName)).toEqual(['d3', 'd1']);
        expect(await store.requests.items(request.id, { deviceIds: [] })).toEqual([]);
        expect(await store.requests.items(999999)).toEqual([]);

        expect(await store.requests.itemOfRun(done.id)).toEqual(whole.items.find((i) => i.id === d1!.id));
        expect((await store.requests.itemOfRun(done.id))?.run).toEqual(done);
        expect(await store.requests.itemOfRun(999999)).toBeNull();

        expect(await store.requests.runTally(request.id)).toEqual({ items: 4, states: { split: 1, done: 1 } });
        expect(await store.requests.runTally(999999)).toEqual({ items: 0, states: {} });
        expect(await store.requests.repeatedDevices(request.id)).toEqual([s.edge01]);
        expect(await store.requests.repeatedDevices(999999)).toEqual([]);
      });

      it('holds a request read with lock until the transaction ends: another such read waits for it', async () => {
        const request = await store.requests.create(draft(s));
        const order: string[] = [];
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let locked!: () => void;
        const firstLocked = new Promise<void>((resolve) => (locked = resolve));
        const first = store.transaction(async (tx) => {
          expect((await tx.requests.header(request.id, { lock: true }))?.ref).toBe(request.ref);
          locked();
          await held;
          await tx.requests.update(request.id, { status: 'cancelled', statusReason: 'locked by the first', updatedAt: new Date() });
          order.push('first committed');
        });
        await firstLocked;
        const second = store.transaction(async (tx) => {
          const seen = await tx.requests.header(request.id, { lock: true });
          order.push(`second read ${seen?.status}`);
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
        order.push('first released');
        release();
        await Promise.all([first, second]);
        expect(order).toEqual(['first released', 'first committed', 'second read cancelled']);
      });

      it('lists request headers as list lists the requests, without items and approvals', async () => {
        const first = await store.requests.create(draft(s));
        const second = await store.requests.create(draft(s, { status: 'scheduled' }));
        for (const filter of [{}, { statuses: ['scheduled' as const] }, { customerId: s.acme, limit: 1 }, { statuses: [] }]) {
          const whole = await store.requests.list(filter);
          expect(await store.requests.headers(filter)).toEqual(whole.map(({ items: _items, approvals: _approvals, ...header }) => header));
        }
        expect((await store.requests.headers({ statuses: ['scheduled'] })).map((h) => h.id)).toEqual([second.id]);
        expect((await store.requests.headers()).map((h) => h.id)).toEqual([second.id, first.id]);
      });

      it('reads the items of a request larger than one page completely and in order', async () => {
        const many = Array.from({ length: 2300 }, (_, i) => ({
          deviceId: [s.edge01, s.edge02, s.edge03][i % 3]!,
          deviceName: `n${i}`,
          seq: 2299 - i,
          fromVersion: '5.2.0',
          targetVersion: '7.1.0',
          findings: [],
        }));
        const request = await store.requests.create(draft(s, { bulk: true, items: many }));
        expect(request.items.map((i) => i.seq)).toEqual(many.map((_, i) => i));
        const run = await store.runs.create(request.items[1500]!.id, at('2026-11-22T01:00:00Z'));
        const items = await store.requests.items(request.id);
        expect(items).toHaveLength(2300);
        expect(items.map((i) => i.seq)).toEqual(many.map((_, i) => i));
        expect(items[1500]!.run).toEqual(run);
        expect((await store.requests.items(request.id, { pending: true, limit: 1600 })).map((i) => i.seq)).toEqual(
          many.map((_, i) => i).filter((seq) => seq !== 1500).slice(0, 1600),
        );
        expect((await store.requests.runTally(request.id)).items).toBe(2300);
      });

      it("keeps a run's activity log in order", async () => {
        const request = await store.requests.create(draft(s));
        const run = await store.runs.create(request.items[0]!.id, at('2026-11-22T01:00:00Z'));
        const first = await store.runs.addEvent({
          runId: run.id,
          from: 'idle',
          to: 'prepare_split',
          event: 'next',
          actor: 'alex@upgradedesk.example',
          message: 'Preparing the split',
          at: at('2026-11-22T01:00:00.010Z'),
        });
        const second = await store.runs.addEvent({ ...first, from: 'prepare_split', to: 'split', message: 'Split' });
        expect(first.id).toBeLessThan(second.id);
        expect(await store.runs.events(run.id)).toEqual([first, second]);
        expect(await store.runs.events(999999)).toEqual([]);
      });
    });

    describe('audit, outbox and problem reports', () => {
      let s: Seeded;
      beforeEach(async () => {
        s = await seed(store);
      });

      it('lists audit events most recent first, filtered and limited', async () => {
        const base = { actor: 'pat@upgradedesk.example', entity: 'request', invocationId: 'inv-1' };
        await store.audit.record({ ...base, at: at('2026-11-21T10:00:00Z'), action: 'create', entityId: '1', data: { a: 1 } });
        await store.audit.record({ ...base, at: at('2026-11-21T11:00:00Z'), action: 'approve', entityId: '1', data: {} });
        await store.audit.record({
          ...base,
          at: at('2026-11-21T09:00:00Z'),
          action: 'create',
          entityId: '2',
          entity: 'window',
          data: { nested: { list: [1, 'two'] } },
          invocationId: null,
        });
        const all = await store.audit.list();
        expect(all.map((e) => e.action)).toEqual(['approve', 'create', 'create']);
        expect(all[2]).toEqual({
          id: expect.any(Number),
          at: at('2026-11-21T09:00:00Z'),
          actor: 'pat@upgradedesk.example',
          action: 'create',
          entity: 'window',
          entityId: '2',
          data: { nested: { list: [1, 'two'] } },
          invocationId: null,
        });
        expect((await store.audit.list({ entity: 'request', entityId: '1' })).map((e) => e.action)).toEqual(['approve', 'create']);
        expect((await store.audit.list({ action: 'create' })).map((e) => e.entityId)).toEqual(['1', '2']);
        expect(await store.audit.list({ limit: 1 })).toHaveLength(1);
      });

      it('stores a notice once per dedupe key', async () => {
        const request = await store.requests.create(draft(s));
        const message = {
          dedupeKey: `${request.ref}:approved:slack:C0ACME`,
          requestId: request.id,
          kind: 'approved' as const,
          destination: 'slack:C0ACME',
          payload: { text: 'Approved', fields: [{ label: 'By', value: 'Jane' }] },
          createdAt: at('2026-11-21T12:00:00.321Z'),
        };
        expect(await store.outbox.enqueue(message)).toBe(true);
        expect(await store.outbox.enqueue({ ...message, payload: { text: 'again' } })).toBe(false);
        const stored = await store.outbox.forRequest(request.id);
        expect(stored).toEqual([
          {
            id: expect.any(Number),
            dedupeKey: message.dedupeKey,
            requestId: request.id,
            kind: 'approved',
            destination: 'slack:C0ACME',
            payload: { text: 'Approved', fields: [{ label: 'By', value: 'Jane' }] },
            status: 'pending',
            attempts: 0,
            createdAt: at('2026-11-21T12:00:00.321Z'),
            nextAttemptAt: at('2026-11-21T12:00:00.321Z'),
            sentAt: null,
            externalId: null,
            revision: 0,
            lastError: null,
            claimedUntil: null,
          },
        ]);
      });

      it('lists pending messages oldest first, up to a limit, and the messages of one request', async () => {
        const request = await store.requests.create(draft(s));
        const base = { requestId: null, kind: 'maintenance_added' as const, destination: 'ops', payload: null };
        await store.outbox.enqueue({ ...base, dedupeKey: 'late', createdAt: at('2026-11-21T12:00:02Z') });
        await store.outbox.enqueue({ ...base, dedupeKey: 'early', createdAt: at('2026-11-21T12:00:01Z') });
        await store.outbox.enqueue({
          ...base,
          requestId: request.id,
          kind: 'scheduled',
          dedupeKey: 'mine',
          createdAt: at('2026-11-21T12:00:03Z'),
        });
        expect((await store.outbox.pending()).map((m) => m.dedupeKey)).toEqual(['early', 'late', 'mine']);
        expect((await store.outbox.pending(2)).map((m) => m.dedupeKey)).toEqual(['early', 'late']);
        expect((await store.outbox.forRequest(request.id)).map((m) => m.dedupeKey)).toEqual(['mine']);
        expect((await store.outbox.pending()).find((m) => m.dedupeKey === 'early')?.payload).toBeNull();
      });

      it('stores problem reports linked to their request', async () => {
        const request = await store.requests.create(draft(s));
        const report = await store.problems.create({
          requestId: request.id,
          reporterId: s.bob,
          text: 'Dashboard is blank since the upgrade',
          via: 'email',
          at: at('2026-11-23T08:00:00Z'),
        });
        expect(report).toEqual({
          id: expect.any(Number),
          requestId: request.id,
          reporterId: s.bob,
          text: 'Dashboard is blank since the upgrade',
          via: 'email',
          at: at('2026-11-23T08:00:00Z'),
        });
        expect(await store.problems.forRequest(request.id)).toEqual([report]);
        expect(await store.problems.forRequest(999999)).toEqual([]);
      });

      it('lists the latest problem reports of all requests, most recent first, up to the limit', async () => {
        expect(await store.problems.recent(10)).toEqual([]);
        const one = await store.requests.create(draft(s));
        const two = await store.requests.create(draft(s, { items: [] }));
        const report = (requestId: number, iso: string, text: string) =>
          store.problems.create({ requestId, reporterId: s.bob, text, via: 'slack', at: at(iso) });
        const older = await report(one.id, '2026-11-23T08:00:00Z', 'older');
        const newest = await report(two.id, '2026-11-24T08:00:00.500Z', 'newest');
        const sameTimeFirst = await report(one.id, '2026-11-23T09:00:00Z', 'same time, first');
        const sameTimeSecond = await report(two.id, '2026-11-23T09:00:00Z', 'same time, second');
        expect(await store.problems.recent(10)).toEqual([newest, sameTimeSecond, sameTimeFirst, older]);
        expect((await store.problems.recent(2)).map((r) => r.text)).toEqual(['newest', 'same time, second']);
      });
    });

    describe('secrets', () => {
      let s: Seeded;
      beforeEach(async () => {
        s = await seed(store);
      });

      const SEALED = { ciphertext: 'c2VhbGVkLW9uZQ==', iv: 'AAECAwQFBgcICQoL', authTag: 'AAECAwQFBgcICQoLDA0ODw==' };
      const OTHER = { ciphertext: 'c2VhbGVkLXR3bw==', iv: 'CwoJCAcGBQQDAgEA', authTag: 'Dw4NDAsKCQgHBgUEAwIBAA==' };

      it('stores a sealed secret per request and name, replaces it, and returns null for none', async () => {
        const request = await store.requests.create(draft(s));
        const other = await store.requests.create(draft(s, { items: [] }));
        expect(await store.secrets.get(request.id, 'manager_password')).toBeNull();
        await store.secrets.put(request.id, 'manager_password', SEALED, at('2026-11-21T12:00:00Z'));
        await store.secrets.put(request.id, 'api_key', OTHER, at('2026-11-21T12:00:00Z'));
        expect(await store.secrets.get(request.id, 'manager_password')).toEqual(SEALED);
        expect(await store.secrets.get(other.id, 'manager_password')).toBeNull();
        await store.secrets.put(request.id, 'manager_password', OTHER, at('2026-11-21T12:05:00Z'));
        expect(await store.secrets.get(request.id, 'manager_password')).toEqual(OTHER);
        expect(await store.secrets.get(request.id, 'api_key')).toEqual(OTHER);
      });

      it('hands out copies callers cannot change', async () => {
        const request = await store.requests.create(draft(s));
        const given = { ...SEALED };
        await store.secrets.put(request.id, 'manager_password', given, at('2026-11-21T12:00:00Z'));
        given.ciphertext = 'changed';
        const read = await store.secrets.get(request.id, 'manager_password');
        read!.iv = 'changed';
        expect(await store.secrets.get(request.id, 'manager_password')).toEqual(SEALED);
      });

      it('purges every secret of one request, counting what it erased, after which get returns null', async () => {
        const request = await store.requests.create(draft(s));
        const other = await store.requests.create(draft(s, { items: [] }));
        await store.secrets.put(request.id, 'manager_password', SEALED, at('2026-11-21T12:00:00Z'));
        await store.secrets.put(request.id, 'api_key', OTHER, at('2026-11-21T12:00:00Z'));
        await store.secrets.put(other.id, 'manager_password', OTHER, at('2026-11-21T12:00:00Z'));
        expect(await store.secrets.purge(request.id, at('2026-11-22T03:00:00Z'))).toBe(2);
        expect(await store.secrets.get(request.id, 'manager_password')).toBeNull();
        expect(await store.secrets.get(request.id, 'api_key')).toBeNull();
        expect(await store.secrets.get(other.id, 'manager_password')).toEqual(OTHER);
        expect(await store.secrets.purge(request.id, at('2026-11-22T04:00:00Z'))).toBe(0);
        expect(await store.secrets.purge(999999, at('2026-11-22T04:00:00Z'))).toBe(0);
      });

      it('stores a secret again after a purge when one is put anew', async () => {
        const request = await store.requests.create(draft(s));
        await store.secrets.put(request.id, 'manager_password', SEALED, at('2026-11-21T12:00:00Z'));
        await store.secrets.purge(request.id, at('2026-11-22T03:00:00Z'));
        await store.secrets.put(request.id, 'manager_password', OTHER, at('2026-11-22T05:00:00Z'));
        expect(await store.secrets.get(request.id, 'manager_password')).toEqual(OTHER);
        expect(await store.secrets.purge(request.id, at('2026-11-22T06:00:00Z'))).toBe(1);
      });

      it('refuses a secret for a request that does not exist', async () => {
        await expect(store.secrets.put(999999, 'manager_password', SEALED, at('2026-11-21T12:00:00Z'))).rejects.toThrow();
      });

      it('keeps nothing of a transaction that stored a secret and then threw', async () => {
        const request = await store.requests.create(draft(s));
        await expect(
          store.transaction(async (tx) => {
            await tx.secrets.put(request.id, 'manager_password', SEALED, at('2026-11-21T12:00:00Z'));
            expect(await tx.secrets.get(request.id, 'manager_password')).toEqual(SEALED);
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(await store.secrets.get(request.id, 'manager_password')).toBeNull();
        expect(await store.secrets.purge(request.id, at('2026-11-21T12:01:00Z'))).toBe(0);
      });

      it('restores a purged secret when the purging transaction rolls back', async () => {
        const request = await store.requests.create(draft(s));
        await store.secrets.put(request.id, 'manager_password', SEALED, at('2026-11-21T12:00:00Z'));
        await expect(
          store.transaction(async (tx) => {
            expect(await tx.secrets.purge(request.id, at('2026-11-22T03:00:00Z'))).toBe(1);
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(await store.secrets.get(request.id, 'manager_password')).toEqual(SEALED);
      });
    });

    describe('received e-mail and approval links', () => {
      let s: Seeded;
      beforeEach(async () => {
        s = await seed(store);
      });

      const mail = (messageId: string) => ({
        messageId,
        fromAddress: 'jane@acme.example',
        subject: 'Upgrade request',
        receivedAt: at('2026-11-21T12:00:00Z'),
      });

      it('claims a Message-ID once, settles it, and finds it by Message-ID and by request', async () => {
        const claimed = await store.inboundMail.claim(mail('<a1@mail.acme.example>'));
        expect(claimed).toEqual({ id: expect.any(Number), ...mail('<a1@mail.acme.example>'), outcome: null, requestRef: null, authentication: null, note: null });
        expect(await store.inboundMail.claim(mail('<a1@mail.acme.example>'))).toBeNull();
        const auth = { spf: 'pass', dkim: 'none', dmarc: 'fail' };
        await store.inboundMail.settle(claimed!.id, { outcome: 'filed', requestRef: 'UPG-000001', authentication: auth, note: null });
        expect(await store.inboundMail.byMessageId('<a1@mail.acme.example>')).toMatchObject({ outcome: 'filed', requestRef: 'UPG-000001', authentication: auth });
        expect((await store.inboundMail.forRequest('UPG-000001')).map((m) => m.messageId)).toEqual(['<a1@mail.acme.example>']);
        expect(await store.inboundMail.byMessageId('<none@x>')).toBeNull();
      });

      it('lets only one of two concurrent claims of one Message-ID win', async () => {
        const results = await Promise.all([store.inboundMail.claim(mail('<race@x>')), store.inboundMail.claim(mail('<race@x>'))]);
        expect(results.filter((r) => r !== null)).toHaveLength(1);
      });

      it('forgets a claim whose transaction rolled back, so the message is handled when it comes again', async () => {
        await expect(
          store.transaction(async (tx) => {
            await tx.inboundMail.claim(mail('<rolled-back@x>'));
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(await store.inboundMail.claim(mail('<rolled-back@x>'))).not.toBeNull();
      });

      it('uses an approval link once, with its decision, and lists the links of a request', async () => {
        const request = await store.requests.create(draft(s));
        const link = { id: 'k'.repeat(43), requestId: request.id, personId: s.jane, createdAt: at('2026-11-21T12:00:00Z'), expiresAt: at('2026-11-24T12:00:00Z') };
        await store.approvalLinks.create(link);
        expect(await store.approvalLinks.byId(link.id)).toEqual({ ...link, usedAt: null, decision: null });
        expect(await store.approvalLinks.use(link.id, at('2026-11-21T13:00:00Z'), 'approved')).toBe(true);
        expect(await store.approvalLinks.use(link.id, at('2026-11-21T13:01:00Z'), 'declined')).toBe(false);
        expect(await store.approvalLinks.byId(link.id)).toEqual({ ...link, usedAt: at('2026-11-21T13:00:00Z'), decision: 'approved' });
        expect(await store.approvalLinks.use('unknown', at('2026-11-21T13:00:00Z'), 'approved')).toBe(false);
        expect((await store.approvalLinks.forRequest(request.id)).map((l) => l.id)).toEqual([link.id]);
        expect(await store.approvalLinks.byId('unknown')).toBeNull();
      });

      it('lets only one of two concurrent uses of a link win', async () => {
        const request = await store.requests.create(draft(s));
        const link = { id: 'race-link', requestId: request.id, personId: s.jane, createdAt: at('2026-11-21T12:00:00Z'), expiresAt: at('2026-11-24T12:00:00Z') };
        await store.approvalLinks.create(link);
        const uses = await Promise.all([
          store.approvalLinks.use(link.id, at('2026-11-21T13:00:00Z'), 'approved'),
          store.approvalLinks.use(link.id, at('2026-11-21T13:00:00Z'), 'declined'),
        ]);
        expect(uses.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('sign-in links', () => {
      let s: Seeded;
      beforeEach(async () => {
        s = await seed(store);
      });

      const link = (id: string, personId: number, expiresIso = '2026-11-21T12:15:00Z') => ({
        id,
        personId,
        createdAt: at('2026-11-21T12:00:00Z'),
        expiresAt: at(expiresIso),
      });

      it('stores a link unused, uses it once, and finds nothing for an unknown id', async () => {
        const given = link('s'.repeat(32), s.alex);
        await store.signInLinks.create(given);
        expect(await store.signInLinks.byId(given.id)).toEqual({ ...given, usedAt: null });
        expect(await store.signInLinks.use(given.id, at('2026-11-21T12:05:00.250Z'))).toBe(true);
        expect(await store.signInLinks.use(given.id, at('2026-11-21T12:06:00Z'))).toBe(false);
        expect(await store.signInLinks.byId(given.id)).toEqual({ ...given, usedAt: at('2026-11-21T12:05:00.250Z') });
        expect(await store.signInLinks.use('unknown', at('2026-11-21T12:05:00Z'))).toBe(false);
        expect(await store.signInLinks.byId('unknown')).toBeNull();
      });

      it('lets only one of two concurrent uses of a link win', async () => {
        await store.signInLinks.create(link('race-sign-in', s.alex));
        const uses = await Promise.all([
          store.signInLinks.use('race-sign-in', at('2026-11-21T12:01:00Z')),
          store.signInLinks.use('race-sign-in', at('2026-11-21T12:01:00Z')),
        ]);
        expect(uses.filter(Boolean)).toHaveLength(1);
      });

      it('refuses a second link with the same id and a link for a person who does not exist', async () => {
        await store.signInLinks.create(link('twice', s.alex));
        await expect(store.signInLinks.create(link('twice', s.alex))).rejects.toThrow();
        await expect(store.signInLinks.create(link('nobody', 999999))).rejects.toThrow();
      });

      it('deletes the links that expired before a time, used or not, and keeps the others', async () => {
        await store.signInLinks.create(link('old-unused', s.alex, '2026-11-21T12:15:00Z'));
        await store.signInLinks.create(link('old-used', s.alex, '2026-11-21T12:20:00Z'));
        await store.signInLinks.use('old-used', at('2026-11-21T12:10:00Z'));
        await store.signInLinks.create(link('at-the-limit', s.alex, '2026-11-21T12:30:00Z'));
        await store.signInLinks.create(link('fresh', s.alex, '2026-11-21T12:45:00Z'));
        expect(await store.signInLinks.deleteExpired(at('2026-11-21T12:30:00Z'))).toBe(2);
        expect(await store.signInLinks.byId('old-unused')).toBeNull();
        expect(await store.signInLinks.byId('old-used')).toBeNull();
        expect(await store.signInLinks.byId('at-the-limit')).not.toBeNull();
        expect(await store.signInLinks.byId('fresh')).not.toBeNull();
        expect(await store.signInLinks.deleteExpired(at('2026-11-21T12:30:00Z'))).toBe(0);
      });

      it('keeps no link of a transaction that threw', async () => {
        await expect(
          store.transaction(async (tx) => {
            await tx.signInLinks.create(link('rolled-back', s.alex));
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(await store.signInLinks.byId('rolled-back')).toBeNull();
      });
    });

    describe('leases', () => {
      const T = at('2026-11-21T12:00:00.000Z');
      const later = (ms: number) => new Date(T.getTime() + ms);

      it('takes a free lease, renews it for its holder keeping when it was taken, and refuses others until it expires', async () => {
        expect(await store.leases.holder('gateway')).toBeNull();
        expect(await store.leases.tryAcquire('gateway', 'a', T, 30_000)).toBe(true);
        expect(await store.leases.holder('gateway')).toEqual({ name: 'gateway', holder: 'a', acquiredAt: T, expiresAt: later(30_000) });
        expect(await store.leases.tryAcquire('gateway', 'b', later(10_000), 30_000)).toBe(false);
        expect(await store.leases.tryAcquire('gateway', 'a', later(10_000), 30_000)).toBe(true);
        expect(await store.leases.holder('gateway')).toEqual({ name: 'gateway', holder: 'a', acquiredAt: T, expiresAt: later(40_000) });
        expect(await store.leases.tryAcquire('gateway', 'b', later(39_999), 30_000)).toBe(false);
        expect((await store.leases.holder('gateway'))?.holder).toBe('a');
      });

      it('lets another holder take a lease over once it expired, to the millisecond', async () => {
        await store.leases.tryAcquire('gateway', 'a', T, 1000);
        expect(await store.leases.tryAcquire('gateway', 'b', later(999), 5000)).toBe(false);
        expect(await store.leases.tryAcquire('gateway', 'b', later(1000), 5000)).toBe(true);
        expect(await store.leases.holder('gateway')).toEqual({ name: 'gateway', holder: 'b', acquiredAt: later(1000), expiresAt: later(6000) });
        // The old holder's renewal comes too late: it has lost the lease.
        expect(await store.leases.tryAcquire('gateway', 'a', later(1001), 1000)).toBe(false);
      });

      it('releases a lease only for its holder, after which anyone may take it at once', async () => {
        await store.leases.tryAcquire('gateway', 'a', T, 60_000);
        expect(await store.leases.release('gateway', 'b')).toBe(false);
        expect((await store.leases.holder('gateway'))?.holder).toBe('a');
        expect(await store.leases.release('gateway', 'a')).toBe(true);
        expect(await store.leases.holder('gateway')).toBeNull();
        expect(await store.leases.release('gateway', 'a')).toBe(false);
        expect(await store.leases.tryAcquire('gateway', 'b', later(1), 60_000)).toBe(true);
        expect((await store.leases.holder('gateway'))?.holder).toBe('b');
      });

      it('keeps leases of different names apart', async () => {
        expect(await store.leases.tryAcquire('one', 'a', T, 1000)).toBe(true);
        expect(await store.leases.tryAcquire('two', 'b', T, 1000)).toBe(true);
        expect((await store.leases.holder('one'))?.holder).toBe('a');
        expect((await store.leases.holder('two'))?.holder).toBe('b');
      });

      it('refuses a time to live that is not positive', async () => {
        await expect(store.leases.tryAcquire('gateway', 'a', T, 0)).rejects.toThrow(/positive/);
      });

      it('gives a free lease to exactly one of several holders racing for it', async () => {
        const holders = ['p1', 'p2', 'p3', 'p4', 'p5'];
        const won = await Promise.all(holders.map((h) => store.leases.tryAcquire('race', h, T, 30_000)));
        expect(won.filter(Boolean)).toHaveLength(1);
        expect((await store.leases.holder('race'))?.holder).toBe(holders[won.indexOf(true)]);
      });

      it('gives an expired lease to exactly one of several holders racing to take it over', async () => {
        await store.leases.tryAcquire('race', 'dead', T, 1000);
        const holders = ['p1', 'p2', 'p3', 'p4', 'p5'];
        const won = await Promise.all(holders.map((h) => store.leases.tryAcquire('race', h, later(5000), 30_000)));
        expect(won.filter(Boolean)).toHaveLength(1);
        const lease = await store.leases.holder('race');
        expect(lease).toEqual({ name: 'race', holder: holders[won.indexOf(true)], acquiredAt: later(5000), expiresAt: later(35_000) });
      });
    });

    describe('transactions', () => {
      let s: Seeded;
      beforeEach(async () => {
        s = await seed(store);
      });

      const writeEverything = async (tx: Repositories, tag: string): Promise<number> => {
        const request = await tx.requests.create(draft(s));
        await tx.requests.update(request.id, { status: 'approved', updatedAt: at('2026-11-21T12:10:00Z') });
        await tx.requests.addApproval({
          requestId: request.id,
          personId: s.jane,
          by: 'Jane',
          decision: 'approved',
          via: 'slack',
          at: at('2026-11-21T12:10:00Z'),
          reason: null,
          acknowledged: [],
          fingerprint: [],
        });
        await tx.runs.create(request.items[0]!.id, at('2026-11-21T12:10:00Z'));
        await tx.outbox.enqueue({
          dedupeKey: `k-${tag}`,
          requestId: request.id,
          kind: 'approved',
          destination: 'ops',
          payload: {},
          createdAt: at('2026-11-21T12:10:00Z'),
        });
        await tx.audit.record({
          at: at('2026-11-21T12:10:00Z'),
          actor: 'system',
          action: tag,
          entity: 'request',
          entityId: String(request.id),
          data: {},
          invocationId: null,
        });
        await tx.windows.addMaintenance({ start: at('2027-01-01T00:00:00Z'), end: at('2027-01-01T01:00:00Z'), reason: tag });
        return request.id;
      };

      it('commits every write of a transaction together and returns its result', async () => {
        const id = await store.transaction((tx) => writeEverything(tx, 'commit'));
        const request = await store.requests.byId(id);
        expect(request?.status).toBe('approved');
        expect(request?.approvals).toHaveLength(1);
        expect(request?.items[0]?.run?.state).toBe('idle');
        expect(await store.outbox.forRequest(id)).toHaveLength(1);
        expect(await store.audit.list({ action: 'commit' })).toHaveLength(1);
      });

      it('rolls back every write of a transaction that throws and rethrows the error', async () => {
        let createdId = 0;
        await expect(
          store.transaction(async (tx) => {
            createdId = await writeEverything(tx, 'rollback');
            await tx.records.upsert({ ...sampleRecords(), customers: [], people: [], releases: [], windows: [] });
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(createdId).toBeGreaterThan(0);
        expect(await store.requests.byId(createdId)).toBeNull();
        expect(await store.requests.list()).toEqual([]);
        expect(await store.outbox.pending()).toEqual([]);
        expect(await store.audit.list({ action: 'rollback' })).toEqual([]);
        expect(await store.windows.maintenance()).toHaveLength(1);
        expect(await store.requests.openForDevices([s.edge01])).toEqual(new Map());
      });

      it('rolls back a failed records import inside a transaction', async () => {
        const batch = sampleRecords();
        batch.customers.push({ ...batch.customers[1]!, name: 'Initrode' });
        batch.devices.push(device('ghost-01', 'Nobody Inc', 'SN-9999', null));
        await expect(store.transaction((tx) => tx.records.upsert(batch))).rejects.toThrow(/Nobody Inc/);
        expect(await store.customers.byName('Initrode')).toBeNull();
        expect(await store.customers.count()).toBe(2);
      });

      it('rolls back only a nested transaction that throws when the outer one carries on', async () => {
        await store.transaction(async (tx) => {
          await tx.windows.addMaintenance({ start: at('2027-01-01T00:00:00Z'), end: at('2027-01-01T01:00:00Z'), reason: 'outer' });
          await expect(
            store.transaction(async (inner) => {
              await inner.windows.addMaintenance({
                start: at('2027-02-01T00:00:00Z'),
                end: at('2027-02-01T01:00:00Z'),
                reason: 'inner',
              });
              throw new Error('inner failure');
            }),
          ).rejects.toThrow('inner failure');
        });
        expect((await store.windows.maintenance()).map((w) => w.reason)).toEqual(['Platform maintenance', 'outer']);
      });

      it('keeps a write made outside a transaction while that transaction was open and later rolled back', async () => {
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const failing = store.transaction(async (tx) => {
          await tx.windows.addMaintenance({ start: at('2027-01-01T00:00:00Z'), end: at('2027-01-01T01:00:00Z'), reason: 'doomed' });
          await gate;
          throw new Error('late failure');
        });
        const outside = store.windows.addMaintenance({
          start: at('2027-03-01T00:00:00Z'),
          end: at('2027-03-01T01:00:00Z'),
          reason: 'independent',
        });
        release();
        await expect(failing).rejects.toThrow('late failure');
        await outside;
        expect((await store.windows.maintenance()).map((w) => w.reason)).toEqual(['Platform maintenance', 'independent']);
      });
    });

    describe('outbox delivery', () => {
      const T0 = '2026-11-21T12:00:00Z';
      const message = (dedupeKey: string, destination: string, createdAt = T0, payload: unknown = { text: dedupeKey }): NewOutboxMessage => ({
        dedupeKey,
        requestId: null,
        kind: 'scheduled',
        destination,
        payload,
        createdAt: at(createdAt),
      });
      const plus = (iso: string, seconds: number): Date => new Date(at(iso).getTime() + seconds * 1000);
      /** Claims at `iso` with a 60 s lease; returns the dedupe keys claimed. */
      const claim = async (iso: string, limit = 10, leaseSeconds = 60): Promise<string[]> =>
        (await store.outbox.claimDue(at(iso), plus(iso, leaseSeconds), limit)).map((m) => m.dedupeKey);
      const byKey = async (key: string) => (await store.outbox.pending(1000)).find((m) => m.dedupeKey === key);

      it('stores a new message with no platform id, revision 0, no error and no lease, and dedupes it', async () => {
        expect(await store.outbox.enqueue(message('k1', 'slack:C0ACME'))).toBe(true);
        expect(await store.outbox.enqueue(message('k1', 'slack:C0ACME', T0, { text: 'again' }))).toBe(false);
        expect(await store.outbox.pending()).toEqual([
          {
            id: expect.any(Number),
            dedupeKey: 'k1',
            requestId: null,
            kind: 'scheduled',
            destination: 'slack:C0ACME',
            payload: { text: 'k1' },
            status: 'pending',
            attempts: 0,
            createdAt: at(T0),
            nextAttemptAt: at(T0),
            sentAt: null,
            externalId: null,
            revision: 0,
            lastError: null,
            claimedUntil: null,
          },
        ]);
      });

      it('claims only the oldest pending message of a destination, then the next once it is sent', async () => {
        // Stored order decides, not createdAt.
        await store.outbox.enqueue(message('a1', 'slack:A', '2026-11-21T12:00:02Z'));
        await store.outbox.enqueue(message('a2', 'slack:A', '2026-11-21T12:00:01Z'));
        await store.outbox.enqueue(message('a3', 'slack:A', '2026-11-21T12:00:03Z'));
        const claimed = await store.outbox.claimDue(at('2026-11-21T12:01:00Z'), plus('2026-11-21T12:01:00Z', 60), 10);
        expect(claimed.map((m) => [m.dedupeKey, m.claimedUntil])).toEqual([['a1', plus('2026-11-21T12:01:00Z', 60)]]);
        expect(await claim('2026-11-21T12:01:01Z')).toEqual([]);
        await store.outbox.markSent(claimed[0]!.id, 0, at('2026-11-21T12:01:02Z'), 'ts-1');
        expect((await store.outbox.pending()).map((m) => m.dedupeKey)).toEqual(['a2', 'a3']);
        expect(await claim('2026-11-21T12:01:03Z')).toEqual(['a2']);
      });

      it('claims nothing behind a head that is backing off, but keeps other destinations going', async () => {
        await store.outbox.enqueue(message('a1', 'slack:A'));
        await store.outbox.enqueue(message('a2', 'slack:A'));
        await store.outbox.enqueue(message('b1', 'discord:B'));
        await store.outbox.enqueue(message('b2', 'discord:B'));
        await store.outbox.enqueue(message('c1', 'ops'));
        expect((await claim('2026-11-21T12:00:10Z')).sort()).toEqual(['a1', 'b1', 'c1']);
        const a1 = (await byKey('a1'))!;
        const b1 = (await byKey('b1'))!;
        await store.outbox.markFailed(a1.id, 'HTTP 429', at('2026-11-21T12:05:00Z'), at('2026-11-21T12:00:11Z'));
        await store.outbox.markSent(b1.id, 0, at('2026-11-21T12:00:11Z'), null);
        // a1 waits until 12:05 and a2 may not overtake it; b2 is B's new head; c1 is still leased.
        expect(await claim('2026-11-21T12:00:20Z')).toEqual(['b2']);
        // Leases of b2 and c1 have run out by then, so they come back too; a2 still waits behind a1.
        expect((await claim('2026-11-21T12:05:00Z')).sort()).toEqual(['a1', 'b2', 'c1']);
      });

      it('hands out at most `limit` messages, the longest waiting first', async () => {
        await store.outbox.enqueue(message('x', 'email:x@acme.example', '2026-11-21T12:00:03Z'));
        await store.outbox.enqueue(message('y', 'email:y@acme.example', '2026-11-21T12:00:01Z'));
        await store.outbox.enqueue(message('z', 'email:z@acme.example', '2026-11-21T12:00:02Z'));
        expect(await claim('2026-11-21T12:00:00Z')).toEqual([]);
        expect(await claim('2026-11-21T12:01:00Z', 2)).toEqual(['y', 'z']);
        expect(await claim('2026-11-21T12:01:00Z', 0)).toEqual([]);
        expect(await claim('2026-11-21T12:01:00Z', 2)).toEqual(['x']);
      });

      it('lets another worker claim a message again once its lease has run out', async () => {
        await store.outbox.enqueue(message('a1', 'slack:A'));
        expect(await claim('2026-11-21T12:00:00Z', 10, 30)).toEqual(['a1']);
        expect(await claim('2026-11-21T12:00:29Z')).toEqual([]);
        expect(await claim('2026-11-21T12:00:31Z')).toEqual(['a1']);
        expect((await byKey('a1'))?.claimedUntil).toEqual(plus('2026-11-21T12:00:31Z', 60));
      });

      it('records a failed attempt and makes the message due again at retryAt', async () => {
        await store.outbox.enqueue(message('a1', 'slack:A'));
        await claim(T0);
        const a1 = (await byKey('a1'))!;
        await store.outbox.markFailed(a1.id, 'HTTP 500 from slack', at('2026-11-21T12:00:30Z'), at('2026-11-21T12:00:01Z'));
        expect(await byKey('a1')).toMatchObject({
          status: 'pending',
          attempts: 1,
          lastError: 'HTTP 500 from slack',
          nextAttemptAt: at('2026-11-21T12:00:30Z'),
          claimedUntil: null,
        });
        expect(await claim('2026-11-21T12:00:29Z')).toEqual([]);
        expect(await claim('2026-11-21T12:00:30Z')).toEqual(['a1']);
        await store.outbox.markSent(a1.id, 0, at('2026-11-21T12:00:31Z'), 'ts-7');
        expect(await store.outbox.pending()).toEqual([]);
      });

      it('gives up on a message when retryAt is null, and its destination moves on', async () => {
        await store.outbox.enqueue(message('a1', 'slack:A'));
        await store.outbox.enqueue(message('a2', 'slack:A'));
        await claim(T0);
        const a1 = (await byKey('a1'))!;
        await store.outbox.markFailed(a1.id, 'channel_not_found', null, at('2026-11-21T12:00:01Z'));
        expect(await byKey('a1')).toBeUndefined();
        expect(await claim('2026-11-21T12:00:02Z')).toEqual(['a2']);
        // A late report from a worker whose lease ran out changes nothing once a message is settled.
        await store.outbox.markFailed(a1.id, 'late', at('2026-11-21T12:10:00Z'), at('2026-11-21T12:00:03Z'));
        expect(await byKey('a1')).toBeUndefined();
      });

      it('upserts an editable message: new, unchanged, then edited after delivery (revision bumped, pending again)', async () => {
        const progress = (percent: number): NewOutboxMessage => message('UPG-1:progress:slack:A', 'slack:A', T0, { text: `${percent}%` });
        expect(await store.outbox.upsertEditable(progress(10), at(T0))).toBe(true);
        expect(await store.outbox.upsertEditable(progress(10), at('2026-11-21T12:00:01Z'))).toBe(false);
        const [first] = await store.outbox.claimDue(at('2026-11-21T12:00:02Z'), plus('2026-11-21T12:00:02Z', 60), 10);
        expect(first).toMatchObject({ revision: 0, externalId: null, payload: { text: '10%' } });
        await store.outbox.markSent(first!.id, 0, at('2026-11-21T12:00:03Z'), 'ts-100');
        expect(await store.outbox.pending()).toEqual([]);
        expect(await store.outbox.upsertEditable(progress(50), at('2026-11-21T12:10:00Z'))).toBe(true);
        const [edit] = await store.outbox.claimDue(at('2026-11-21T12:10:00Z'), plus('2026-11-21T12:10:00Z', 60), 10);
        expect(edit).toMatchObject({
          id: first!.id,
          revision: 1,
          externalId: 'ts-100',
          payload: { text: '50%' },
          status: 'pending',
          attempts: 0,
          nextAttemptAt: at('2026-11-21T12:10:00Z'),
        });
        // An edit the sink answers without an id keeps the id of the posted message.
        await store.outbox.markSent(edit!.id, 1, at('2026-11-21T12:10:01Z'), null);
        expect(await store.outbox.pending()).toEqual([]);
        expect(await store.outbox.upsertEditable(progress(90), at('2026-11-21T12:20:00Z'))).toBe(true);
        expect((await store.outbox.pending())[0]).toMatchObject({ revision: 2, externalId: 'ts-100' });
      });

      it('keeps an edit made during delivery pending: markSent of a stale revision only stores the platform id', async () => {
        const progress = (percent: number): NewOutboxMessage => message('UPG-2:progress:ops', 'ops', T0, { text: `${percent}%` });
        await store.outbox.upsertEditable(progress(10), at(T0));
        const [inFlight] = await store.outbox.claimDue(at(T0), plus(T0, 60), 10);
        expect(await store.outbox.upsertEditable(progress(20), at('2026-11-21T12:00:01Z'))).toBe(true);
        // Still leased: the edit waits for the delivery in flight.
        expect(await claim('2026-11-21T12:00:02Z')).toEqual([]);
        await store.outbox.markSent(inFlight!.id, 0, at('2026-11-21T12:00:03Z'), 'ts-200');
        expect(await byKey('UPG-2:progress:ops')).toMatchObject({
          status: 'pending',
          revision: 1,
          externalId: 'ts-200',
          claimedUntil: null,
          payload: { text: '20%' },
        });
        const [edit] = await store.outbox.claimDue(at('2026-11-21T12:00:04Z'), plus('2026-11-21T12:00:04Z', 60), 10);
        expect(edit).toMatchObject({ revision: 1, externalId: 'ts-200' });
        await store.outbox.markSent(edit!.id, 1, at('2026-11-21T12:00:05Z'), 'ts-200');
        expect(await store.outbox.pending()).toEqual([]);
      });

      it('re-pends a message it had given up on when its payload is edited', async () => {
        const progress = (percent: number): NewOutboxMessage => message('UPG-3:progress:ops', 'ops', T0, { text: `${percent}%` });
        await store.outbox.upsertEditable(progress(10), at(T0));
        const [claimed] = await store.outbox.claimDue(at(T0), plus(T0, 60), 10);
        await store.outbox.markFailed(claimed!.id, 'gave up', null, at(T0));
        expect(await store.outbox.upsertEditable(progress(30), at('2026-11-21T12:30:00Z'))).toBe(true);
        expect(await byKey('UPG-3:progress:ops')).toMatchObject({
          status: 'pending',
          revision: 1,
          attempts: 0,
          lastError: null,
          nextAttemptAt: at('2026-11-21T12:30:00Z'),
        });
      });
    });

    describe('dates', () => {
      it('round-trips times to the millisecond and hands out copies callers cannot change', async () => {
        const start = at('2026-11-25T02:00:00.987Z');
        const added = await store.windows.addMaintenance({ start, end: at('2026-11-25T04:00:00.001Z'), reason: 'x' });
        start.setUTCFullYear(2000);
        added.end.setUTCFullYear(2000);
        const [read] = await store.windows.maintenance();
        expect(read?.start).toEqual(at('2026-11-25T02:00:00.987Z'));
        expect(read?.end).toEqual(at('2026-11-25T04:00:00.001Z'));
        read!.start.setUTCFullYear(1999);
        const [again] = await store.windows.maintenance();
        expect(again?.start).toEqual(at('2026-11-25T02:00:00.987Z'));
      });
    });
  });
}
