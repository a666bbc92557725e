/**
 * E-mail intake and approval links: `inbound_mail` remembers every received message by its
 * Message-ID (a delivery repeated by the sender's server creates nothing twice) and what became of
 * it; `approval_links` holds the one-time, expiring links that let an authorized representative
 * decide from an e-mail. Written with the schema API so it runs on SQLite and PostgreSQL.
 */
import { Table, TableForeignKey, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';

export class EmailIntake1764400000000 implements MigrationInterface {
  name = 'EmailIntake1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.dataSource.driver.options.type === 'postgres';
    const time = (name: string, nullable = false): TableColumnOptions => ({
      name,
      type: postgres ? 'timestamp with time zone' : 'datetime',
      isNullable: nullable,
    });
    const str = (name: string, length: number, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isNullable: nullable });
    const fk = (column: string, table: string) =>
      new TableForeignKey({ columnNames: [column], referencedTableName: table, referencedColumnNames: ['id'], onDelete: 'CASCADE', onUpdate: 'NO ACTION' });
    await queryRunner.createTable(
      new Table({
        name: 'inbound_mail',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          str('messageId', 998),
          str('fromAddress', 320),
          str('subject', 300),
          time('receivedAt'),
          str('outcome', 16, true),
          str('requestRef', 16, true),
          { name: 'authentication', type: 'text', isNullable: true },
          { name: 'note', type: 'text', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'uq_inbound_mail_message_id', columnNames: ['messageId'], isUnique: true }),
          new TableIndex({ name: 'idx_inbound_mail_request_ref', columnNames: ['requestRef'] }),
        ],
      }),
      false,
      true,
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: 'approval_links',
        columns: [
          { ...str('id', 64), isPrimary: true },
          { name: 'requestId', type: 'integer', isNullable: false },
          { name: 'personId', type: 'integer', isNullable: false },
          time('createdAt'),
          time('expiresAt'),
          time('usedAt', true),
          str('decision', 16, true),
        ],
        indices: [new TableIndex({ name: 'idx_approval_links_request_id', columnNames: ['requestId'] })],
        foreignKeys: [fk('requestId', 'upgrade_requests'), fk('personId', 'people')],
      }),
      false,
      true,
      true,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('approval_links', true, true, true);
    await queryRunner.dropTable('inbound_mail', true, true, true);
  }
}
