import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { PostgresJobRepository } from '@agendajs/postgres-backend';
import { createAgenda, createAgendaBackend } from '../../src/infra/agenda/create-agenda.js';
import { createDataSource, runMigrations } from '../../src/infra/data-source.js';
import { agendaBackendContract, sleep } from './agenda-backend-contract.js';
import { pgClusterAvailability, startPgCluster } from './pg-cluster.js';
import type { PgCluster } from './pg-cluster.js';

const availability = pgClusterAvailability();
if (!availability.ok) {
  console.warn(`Skipping the PostgreSQL Agenda backend tests: ${availability.reason}`);
}
const describePg = availability.ok ? describe : describe.skip;

describePg('PostgreSQL Agenda backend (throwaway cluster on 127.0.0.1)', () => {
  let cluster: PgCluster | undefined;
  let databases = 0;

  beforeAll(async () => {
    cluster = await startPgCluster();
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  /** Runs one statement on the cluster's `postgres` database. */
  async function admin(sql: string): Promise<void> {
    if (!cluster) throw new Error('cluster not started');
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  /** A new empty database on the cluster; returns its URL. */
  async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
    if (!cluster) throw new Error('cluster not started');
    const name = `agenda_${process.pid}_${++databases}`;
    await admin(`CREATE DATABASE "${name}"`);
    const url = new URL(cluster.url);
    url.pathname = `/${name}`;
    // Closed pools can leave server sessions behind for a moment: wait for them before FORCE.
    const drop = async (): Promise<void> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        try {
          return await admin(`DROP DATABASE IF EXISTS "${name}"`);
        } catch (error) {
          if (Date.now() >= deadline) return admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
          if ((error as { code?: string }).code !== '55006') throw error;
          await sleep(50);
        }
      }
    };
    return { url: url.toString(), drop };
  }

  agendaBackendContract('PostgreSQL', {
    notifies: true,
    async fresh() {
      const { url, drop } = await freshDatabase();
      return { backend: () => createAgendaBackend({ kind: 'postgres', url }), dispose: drop };
    },
  });

  it("reports errors of idle pool connections (e.g. a server restart) as the Agenda's error event", async () => {
    const { url, drop } = await freshDatabase();
    const backend = createAgendaBackend({ kind: 'postgres', url });
    const agenda = createAgenda(backend, { defaultLockLifetime: 1000 });
    try {
      await agenda.ready;
      const heard: string[] = [];
      agenda.on('error', (error: Error) => {
        heard.push(error.message);
      });
      (backend.repository as PostgresJobRepository).getPool().emit('error', new Error('terminating connection'));
      expect(heard).toEqual(['terminating connection']);
    } finally {
      await backend.disconnect();
      await drop();
    }
  });

  it("the migration leaves agenda_jobs to @agendajs/postgres-backend, which creates it on connect", async () => {
    const { url, drop } = await freshDatabase();
    try {
      const ds = createDataSource({ url });
      await ds.initialize();
      try {
        await runMigrations(ds);
        const exists = async (): Promise<unknown> =>
          ((await ds.query(`SELECT to_regclass('public.agenda_jobs') AS t`)) as { t: unknown }[])[0]?.t;
        expect(await exists()).toBeNull();
        const backend = createAgendaBackend({ kind: 'postgres', url });
        await backend.connect();
        await backend.disconnect();
        expect(await exists()).toBe('agenda_jobs');
      } finally {
        await ds.destroy();
      }
    } finally {
      await drop();
    }
  });
});
