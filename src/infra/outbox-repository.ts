/**
 * The outbox repository over TypeORM (SQLite and PostgreSQL). Every state change is one SQL
 * statement, so several workers, in one process or many, can share the table: `claimDue` takes
 * the due head of each destination with a lease (PostgreSQL: row locks with SKIP LOCKED; SQLite:
 * one UPDATE … RETURNING under the database's write lock), and `markSent` / `markFailed` /
 * `upsertEditable` are conditional updates that cannot lose a concurrent edit.
 *
 * "Oldest" means first stored (lowest id): the order in which services enqueued the notices.
 */
import type { EntityManager, QueryDeepPartialEntity } from 'typeorm';
import { OutboxMessageEntity } from '../../entities/outbox-message.entity.js';
import type { NewOutboxMessage, OutboxRepository } from '../ports.js';
import { copyDate, toOutboxMessage } from './entity-mappers.js';

const TABLE = 'outbox_messages';

/** Runs a statement with `:named` parameters and returns the rows it produced (RETURNING / SELECT). */
async function rowsOf(m: EntityManager, sql: string, params: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  const [query, values] = m.dataSource.driver.escapeQueryWithParameters(sql, params);
  const runner = m.queryRunner ?? m.dataSource.createQueryRunner();
  try {
    const result = await runner.query(query, values, true);
    return (result.records ?? []) as Record<string, unknown>[];
  } finally {
    if (!m.queryRunner) await runner.release();
  }
}

function idsOf(rows: Record<string, unknown>[]): number[] {
  return rows.map((r) => Number(r.id));
}

/** The values of a freshly stored message. */
function newRow(message: NewOutboxMessage): QueryDeepPartialEntity<OutboxMessageEntity> {
  return {
    dedupeKey: message.dedupeKey,
    requestId: message.requestId,
    kind: message.kind,
    destination: message.destination,
    payload: structuredClone(message.payload) as QueryDeepPartialEntity<OutboxMessageEntity>['payload'],
    status: 'pending',
    attempts: 0,
    lastError: null,
    createdAt: copyDate(message.createdAt),
    nextAttemptAt: copyDate(message.createdAt),
    sentAt: null,
    externalId: null,
    revision: 0,
    claimedUntil: null,
  };
}

/** INSERT … ON CONFLICT DO NOTHING RETURNING id: true only when the row was stored. */
async function insertUnlessDuplicate(m: EntityManager, message: NewOutboxMessage): Promise<boolean> {
  const [sql, params] = m
    .createQueryBuilder()
    .insert()
    .into(OutboxMessageEntity)
    .values(newRow(message))
    .orIgnore()
    .updateEntity(false)
    .getQueryAndParameters();
  // ON CONFLICT DO NOTHING + RETURNING (SQLite ≥ 3.35 and PostgreSQL): a row comes back only when stored.
  const rows: unknown = await m.query(`${sql.trimEnd()} RETURNING "id"`, params);
  return Array.isArray(rows) && rows.length > 0;
}

/**
 * Pending messages that are the oldest pending one of their destination, due, and not leased.
 * `:now`, `:limit` are parameters; PostgreSQL appends row locking. The heads come from the index
 * on (status, destination, id) alone, so a claim stays cheap when thousands of messages wait for
 * a few slow destinations (asking, for each pending message, whether an older one waits read the
 * table once per pending message).
 */
const DUE_HEADS = `
  SELECT o."id" FROM "${TABLE}" o
  INNER JOIN (
    SELECT MIN(p."id") AS "id" FROM "${TABLE}" p WHERE p."status" = 'pending' GROUP BY p."destination"
  ) head ON head."id" = o."id"
  WHERE o."nextAttemptAt" <= :now
    AND (o."claimedUntil" IS NULL OR o."claimedUntil" < :now)
  ORDER BY o."nextAttemptAt" ASC, o."id" ASC
  LIMIT :limit`;

/** The outbox repository bound to one EntityManager (the data source's, or a transaction's). */
export function outboxRepositoryFor(m: EntityManager): OutboxRepository {
  const postgres = m.dataSource.driver.options.type === 'postgres';

  return {
    async enqueue(message) {
      return insertUnlessDuplicate(m, message);
    },

    async upsertEditable(message, at) {
      if (await insertUnlessDuplicate(m, message)) return true;
      // Same payload: nothing to edit. A message still waiting keeps its attempts and backoff (the
      // new payload simply goes out with the next attempt); a delivered or abandoned one starts over.
      // The lease is kept, so an in-flight delivery of the old revision is not overtaken.
      const changed = await rowsOf(
        m,
        `UPDATE "${TABLE}" SET
           "payload" = :payload,
           "revision" = "revision" + 1,
           "attempts" = CASE WHEN "status" = 'pending' THEN "attempts" ELSE 0 END,
           "lastError" = CASE WHEN "status" = 'pending' THEN "lastError" ELSE NULL END,
           "nextAttemptAt" = CASE WHEN "status" = 'pending' THEN "nextAttemptAt" ELSE :at END,
           "status" = 'pending'
         WHERE "dedupeKey" = :dedupeKey AND "payload" <> :payload
         RETURNING "id"`,
        { payload: JSON.stringify(message.payload), at: copyDate(at), dedupeKey: message.dedupeKey },
      );
      return changed.length > 0;
    },

    async pending(limit = 100) {
      return (
        await m.find(OutboxMessageEntity, {
          where: { status: 'pending' },
          order: { nextAttemptAt: 'ASC', id: 'ASC' },
          take: limit,
        })
      ).map(toOutboxMessage);
    },

    async forRequest(requestId) {
      return (await m.find(OutboxMessageEntity, { where: { requestId }, order: { id: 'ASC' } })).map(toOutboxMessage);
    },

    async claimDue(now, leaseUntil, limit) {
      if (limit <= 0) return [];
      // One statement: PostgreSQL locks the chosen heads (skipping rows another worker is locking);
      // SQLite runs the whole UPDATE under its single write lock.
      const heads = postgres ? `${DUE_HEADS} FOR UPDATE OF o SKIP LOCKED` : DUE_HEADS;
      const claimed = idsOf(
        await rowsOf(m, `UPDATE "${TABLE}" SET "claimedUntil" = :lease WHERE "id" IN (${heads}) RETURNING "id"`, {
          lease: copyDate(leaseUntil),
          now: copyDate(now),
          limit: Math.floor(limit),
        }),
      );
      if (claimed.length === 0) return [];
      const rows = await m
        .createQueryBuilder(OutboxMessageEntity, 'o')
        .where('o.id IN (:...ids)', { ids: claimed })
        .orderBy('o.nextAttemptAt', 'ASC')
        .addOrderBy('o.id', 'ASC')
        .getMany();
      return rows.map(toOutboxMessage);
    },

    async markSent(id, revision, at, externalId) {
      // Delivered the current revision: sent. Edited meanwhile: stays pending so the newer payload
      // goes out as an edit of the message just posted (whose id is kept either way).
      await rowsOf(
        m,
        `UPDATE "${TABLE}" SET
           "externalId" = COALESCE(:externalId, "externalId"),
           "claimedUntil" = NULL,
           "attempts" = CASE WHEN "revision" = :revision THEN "attempts" + 1 ELSE "attempts" END,
           "lastError" = CASE WHEN "revision" = :revision THEN NULL ELSE "lastError" END,
           "sentAt" = CASE WHEN "revision" = :revision THEN :at ELSE "sentAt" END,
           "status" = CASE WHEN "revision" = :revision THEN 'sent' ELSE "status" END
         WHERE "id" = :id`,
        { externalId, revision: Math.floor(revision), at: copyDate(at), id },
      );
    },

    async markFailed(id, error, retryAt, _at, options = {}) {
      // Only a pending message: a late report from a worker whose lease ran out must not undo a
      // delivery another worker has recorded since. The time of the attempt has no column (yet).
      // A give-up applies to the row as it is now, including an edit made during the attempt.
      const params = { id, error, retryAt: retryAt === null ? null : copyDate(retryAt), counted: options.countAttempt === false ? 0 : 1 };
      const sql =
        retryAt === null
          ? `UPDATE "${TABLE}" SET "status" = 'failed', "attempts" = "attempts" + :counted, "lastError" = :error,
               "claimedUntil" = NULL
             WHERE "id" = :id AND "status" = 'pending'`
          : `UPDATE "${TABLE}" SET "attempts" = "attempts" + :counted, "lastError" = :error, "nextAttemptAt" = :retryAt,
               "claimedUntil" = NULL
             WHERE "id" = :id AND "status" = 'pending'`;
      await rowsOf(m, sql, params);
    },
  };
}
