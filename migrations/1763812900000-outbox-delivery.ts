/**
 * Outbox delivery state: the platform's id of a posted message (for edits in place), a revision
 * counter for those edits, and a lease (`claimedUntil`) so that several workers can share one
 * outbox. The index serves the per-destination "oldest pending message" lookup of `claimDue`.
 */
import { TableColumn, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'outbox_messages';
const HEAD_INDEX = 'idx_outbox_messages_status_destination_id';

/** Adds externalId, revision and claimedUntil to outbox_messages; down() removes them again. */
export class OutboxDelivery1763812900000 implements MigrationInterface {
  name = 'OutboxDelivery1763812900000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.dataSource.driver.options.type === 'postgres';
    await queryRunner.addColumns(TABLE, [
      new TableColumn({ name: 'externalId', type: 'varchar', length: '200', isNullable: true }),
      new TableColumn({ name: 'revision', type: 'integer', isNullable: false, default: 0 }),
      new TableColumn({
        name: 'claimedUntil',
        type: postgres ? 'timestamp with time zone' : 'datetime',
        isNullable: true,
      }),
    ]);
    await queryRunner.createIndex(
      TABLE,
      new TableIndex({ name: HEAD_INDEX, columnNames: ['status', 'destination', 'id'] }),
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex(TABLE, HEAD_INDEX);
    await queryRunner.dropColumns(TABLE, ['claimedUntil', 'revision', 'externalId']);
  }
}
