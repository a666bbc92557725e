import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '../../src/infra/data-source.js';
import { TypeOrmStore, openTypeOrmStore } from '../../src/infra/typeorm-store.js';
import { bulkDevicesContract, schemaContract } from './schema-contract.js';
import { storeContract } from './store-contract.js';

const dir = mkdtempSync(path.join(tmpdir(), 'upgrade-desk-sqlite-'));
let files = 0;
const nextFile = (): string => path.join(dir, `store-${++files}.sqlite`);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

storeContract(
  'SQLite file (better-sqlite3)',
  () => openTypeOrmStore({ sqlitePath: nextFile() }),
  (store) => store.close(),
);

async function migrated(): Promise<DataSource> {
  const ds = createDataSource({ sqlitePath: nextFile() });
  await ds.initialize();
  await runMigrations(ds);
  return ds;
}

schemaContract('SQLite', migrated);
bulkDevicesContract('SQLite', async () => new TypeOrmStore(await migrated()));

describe('SQLite data source', () => {
  it('runs in WAL journal mode with foreign keys on and a busy timeout', async () => {
    const ds = await migrated();
    try {
      expect(await ds.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
      expect(await ds.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }]);
      expect(await ds.query('PRAGMA busy_timeout')).toEqual([{ timeout: 5000 }]);
    } finally {
      await ds.destroy();
    }
  });

  it('creates the directory of the database file when it is missing', async () => {
    const file = path.join(dir, 'nested', 'deeper', 'db.sqlite');
    const store = await openTypeOrmStore({ sqlitePath: file });
    try {
      expect(await store.customers.count()).toBe(0);
    } finally {
      await store.close();
    }
  });
});
