/**
 * Checks shared by the SQLite and PostgreSQL suites: the migrations build exactly the schema the
 * entities describe (and undo it), and the records upsert copes with 10,000 devices.
 */
import { describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { MIGRATIONS, runMigrations } from '../../src/infra/data-source.js';
import type { RecordsBatch, Store } from '../../src/ports.js';

async function pendingSchemaChanges(ds: DataSource): Promise<string[]> {
  const log = await ds.driver.createSchemaBuilder().log();
  return log.upQueries.map((q) => q.query);
}

async function existingTables(ds: DataSource): Promise<string[]> {
  const runner = ds.createQueryRunner();
  try {
    const present: string[] = [];
    for (const metadata of ds.entityMetadatas) {
      if (await runner.hasTable(metadata.tableName)) present.push(metadata.tableName);
    }
    return present;
  } finally {
    await runner.release();
  }
}

/** Migrations ↔ entities agreement, on a data source `migrated` returns freshly migrated. */
export function schemaContract(name: string, migrated: () => Promise<DataSource>): void {
  describe(`${name} schema`, () => {
    it('matches the entities exactly once the migrations have run', async () => {
      const ds = await migrated();
      try {
        expect(await pendingSchemaChanges(ds)).toEqual([]);
        expect(await ds.showMigrations()).toBe(false);
      } finally {
        await ds.destroy();
      }
    });

    it('drops every table when migrated down and rebuilds the same schema when migrated up again', async () => {
      const ds = await migrated();
      try {
        expect((await existingTables(ds)).length).toBe(ds.entityMetadatas.length);
        for (let i = 0; i < MIGRATIONS.length; i += 1) await ds.undoLastMigration({ transaction: 'each' });
        expect(await existingTables(ds)).toEqual([]);
        expect(await runMigrations(ds)).toEqual(MIGRATIONS.map((m) => m.name));
        expect(await pendingSchemaChanges(ds)).toEqual([]);
      } finally {
        await ds.destroy();
      }
    });
  });
}

function bulkBatch(count: number, version: (i: number) => string): RecordsBatch {
  return {
    customers: [
      {
        name: 'Bulk Co',
        email: 'it@bulk.example',
        phone: '+1 555 0199',
        timezone: 'UTC',
        lowTraffic: null,
        partner: null,
        slackChannel: null,
        discordChannel: null,
        notifyEmails: [],
      },
    ],
    people: [],
    releases: [],
    windows: [],
    devices: Array.from({ length: count }, (_, i) => ({
      name: `node-${String(i).padStart(5, '0')}`,
      customer: 'bulk co',
      product: 'SysMaster',
      serial: `BULK-${i}`,
      mac: `02:00:00:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
      ip: `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`,
      version: version(i),
      status: i % 7 === 0 ? 'upgrade_required' : 'configured',
      replication: i % 2 === 0,
      loadBalancerGroup: i % 10 === 0 ? `lb-${i % 3}` : null,
      databasePrimary: i % 10 === 0,
      statusUrl: `http://10.0.0.1:7751/status/${i}`,
    })),
  };
}

/** The 10,000-device import: counts only (no timing assertions). */
export function bulkDevicesContract(name: string, open: () => Promise<Store>): void {
  describe(`${name} bulk records import`, () => {
    it('imports 10,000 devices, then finds them unchanged, then counts 100 changed ones as updated', async () => {
      const store = await open();
      try {
        const progress: number[] = [];
        const first = await store.records.upsert(
          bulkBatch(10_000, () => '5.2.0'),
          (done) => progress.push(done),
        );
        expect(first.devices).toEqual({ created: 10_000, updated: 0, unchanged: 0 });
        expect(progress.at(-1)).toBe(10_001);
        const again = await store.records.upsert(bulkBatch(10_000, () => '5.2.0'));
        expect(again.devices).toEqual({ created: 0, updated: 0, unchanged: 10_000 });
        expect(again.customers).toEqual({ created: 0, updated: 0, unchanged: 1 });
        const changed = await store.records.upsert(bulkBatch(10_000, (i) => (i % 100 === 0 ? '7.1.0' : '5.2.0')));
        expect(changed.devices).toEqual({ created: 0, updated: 100, unchanged: 9_900 });
        const customer = await store.customers.byName('Bulk Co');
        const devices = await store.devices.forCustomer(customer!.id);
        expect(devices).toHaveLength(10_000);
        expect(devices.filter((d) => d.version === '7.1.0')).toHaveLength(100);
        expect(devices.find((d) => d.serial === 'BULK-10')?.loadBalancerGroup).toBe('lb-1');
        const open = await store.requests.openForDevices(devices.map((d) => d.id));
        expect(open.size).toBe(0);
      } finally {
        await store.close();
      }
    });
  });
}
