import { describe, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { createAgendaBackend } from '../../src/infra/agenda/create-agenda.js';
import { agendaBackendContract } from './agenda-backend-contract.js';

const url = process.env.MONGODB_URL?.trim();

/**
 * `base` with its database replaced by `name`. Credentials keep authenticating against the
 * database they named (or admin) through authSource.
 */
function withDatabase(base: string, name: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/.exec(base);
  if (!match) throw new Error('MONGODB_URL must look like mongodb://HOST[:PORT][/DB][?OPTIONS]');
  const [, prefix, database, query] = match;
  const params = new URLSearchParams(query ?? '');
  if (prefix!.includes('@') && !params.has('authSource')) params.set('authSource', database || 'admin');
  const search = params.toString();
  return `${prefix}/${name}${search ? `?${search}` : ''}`;
}

if (!url) {
  console.warn('Skipping the MongoDB Agenda backend tests: MONGODB_URL is not set (e.g. mongodb://127.0.0.1:27017)');
  describe('MongoDB Agenda backend', () => {
    it.skip('runs the Agenda backend contract when MONGODB_URL names a MongoDB server', () => undefined);
  });
} else {
  let databases = 0;
  agendaBackendContract('MongoDB', {
    notifies: false,
    async fresh() {
      const databaseUrl = withDatabase(url, `upgrade_desk_agenda_${process.pid}_${++databases}`);
      return {
        backend: () => createAgendaBackend({ kind: 'mongodb', url: databaseUrl }),
        async dispose() {
          const client = await MongoClient.connect(databaseUrl, { serverSelectionTimeoutMS: 10_000 });
          try {
            await client.db().dropDatabase();
          } finally {
            await client.close();
          }
        },
      };
    },
  });
}
