import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '../../src/infra/data-source.js';
import { TypeOrmStore } from '../../src/infra/typeorm-store.js';
import { pgClusterAvailability, startPgCluster } from './pg-cluster.js';
import type { PgCluster } from './pg-cluster.js';
import { bulkDevicesContract, schemaContract } from './schema-contract.js';
import { storeContract } from './store-contract.js';

const availability = pgClusterAvailability();
if (!availability.ok) {
  console.warn(`Skipping the PostgreSQL store tests: ${availability.reason}`);
}
const describePg = availability.ok ? describe : describe.skip;

describePg('PostgreSQL (throwaway cluster on 127.0.0.1)', () => {
  let cluster: PgCluster | undefined;

  beforeAll(async () => {
    cluster = await startPgCluster();
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  /** A data source on an emptied `public` schema with the migrations applied. */
  async function migrated(): Promise<DataSource> {
    if (!cluster) throw new Error('cluster not started');
    const ds = createDataSource({ url: cluster.url });
    await ds.initialize();
    await ds.query('DROP SCHEMA public CASCADE');
    await ds.query('CREATE SCHEMA public');
    await runMigrations(ds);
    return ds;
  }

  storeContract(
    'PostgreSQL',
    async () => new TypeOrmStore(await migrated()),
    (store) => store.close(),
  );

  schemaContract('PostgreSQL', migrated);
  bulkDevicesContract('PostgreSQL', async () => new TypeOrmStore(await migrated()));

  it('stores points in time as timestamptz and keeps them exact whatever the session time zone', async () => {
    const ds = await migrated();
    try {
      const columns: { data_type: string }[] = await ds.query(
        `SELECT data_type FROM information_schema.columns WHERE table_name = 'upgrade_requests' AND column_name = 'createdAt'`,
      );
      expect(columns).toEqual([{ data_type: 'timestamp with time zone' }]);
      await ds.query(`SET TIME ZONE 'Pacific/Kiritimati'`);
      const store = new TypeOrmStore(ds);
      const added = await store.windows.addMaintenance({
        start: new Date('2026-12-01T00:00:00.123Z'),
        end: new Date('2026-12-01T06:00:00Z'),
        reason: 'tz',
      });
      expect((await store.windows.maintenanceById(added.id))?.start).toEqual(new Date('2026-12-01T00:00:00.123Z'));
    } finally {
      await ds.destroy();
    }
  });
});
