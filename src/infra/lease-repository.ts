/**
 * TypeORM repository of leases: named, expiring claims that several processes on one database
 * compete for. Taking, renewing and taking over a lease is one `INSERT … ON CONFLICT DO UPDATE …
 * WHERE … RETURNING` (SQLite 3.35+ and PostgreSQL alike): the row is written only when it is new,
 * already ours, or expired, so of several processes asking at once exactly one gets it.
 */
import type { EntityManager } from 'typeorm';
import { LeaseEntity } from '../../entities/lease.entity.js';
import type { Lease, LeaseRepository } from '../ports.js';
import { copyDate } from './entity-mappers.js';

function toLease(e: LeaseEntity): Lease {
  return { name: e.name, holder: e.holder, acquiredAt: copyDate(e.acquiredAt), expiresAt: copyDate(e.expiresAt) };
}

/** The lease repository on one entity manager (a transaction's or the data source's). */
export function leaseRepositoryFor(m: EntityManager): LeaseRepository {
  const postgres = m.connection.options.type === 'postgres';
  const placeholder = (i: number) => (postgres ? `$${i}` : '?');
  /** A time as the driver stores it (SQLite: UTC text that sorts like the time; PostgreSQL: timestamptz). */
  const stored = (time: Date): unknown => {
    const column = m.connection.getMetadata(LeaseEntity).findColumnWithPropertyName('expiresAt');
    if (!column) throw new Error('leases: no expiresAt column');
    return m.connection.driver.preparePersistentValue(new Date(time.getTime()), column);
  };
  const upsert =
    `INSERT INTO "leases" ("name", "holder", "acquiredAt", "expiresAt") VALUES (${[1, 2, 3, 4].map(placeholder).join(', ')}) ` +
    'ON CONFLICT ("name") DO UPDATE SET ' +
    '"holder" = excluded."holder", ' +
    '"acquiredAt" = CASE WHEN "leases"."holder" = excluded."holder" THEN "leases"."acquiredAt" ELSE excluded."acquiredAt" END, ' +
    '"expiresAt" = excluded."expiresAt" ' +
    'WHERE "leases"."holder" = excluded."holder" OR "leases"."expiresAt" <= excluded."acquiredAt" ' +
    'RETURNING "holder"';
  return {
    async tryAcquire(name, holder, now, ttlMs) {
      if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`lease time to live must be positive, got ${ttlMs}`);
      const rows: unknown = await m.query(upsert, [name, holder, stored(now), stored(new Date(now.getTime() + ttlMs))]);
      return Array.isArray(rows) && rows.length > 0;
    },
    async release(name, holder) {
      const result = await m.createQueryBuilder().delete().from(LeaseEntity).where({ name, holder }).execute();
      return (result.affected ?? 0) > 0;
    },
    async holder(name) {
      const e = await m.findOne(LeaseEntity, { where: { name } });
      return e ? toLease(e) : null;
    },
  };
}
