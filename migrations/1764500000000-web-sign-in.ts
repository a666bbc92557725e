/**
 * Staff sign-in for the web pages: `sign_in_links` holds the single-use, expiring links e-mailed to
 * staff members on record (the ops dashboard has no passwords). Each row names the person and when
 * the link expires and was used; the signature the link also carries is never stored. Written with
 * the schema API so it runs on SQLite and PostgreSQL.
 */
import { Table, TableForeignKey, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';

export class WebSignIn1764500000000 implements MigrationInterface {
  name = 'WebSignIn1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.dataSource.driver.options.type === 'postgres';
    const time = (name: string, nullable = false): TableColumnOptions => ({
      name,
      type: postgres ? 'timestamp with time zone' : 'datetime',
      isNullable: nullable,
    });
    await queryRunner.createTable(
      new Table({
        name: 'sign_in_links',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'personId', type: 'integer', isNullable: false },
          time('createdAt'),
          time('expiresAt'),
          time('usedAt', true),
        ],
        indices: [
          new TableIndex({ name: 'idx_sign_in_links_person_id', columnNames: ['personId'] }),
          new TableIndex({ name: 'idx_sign_in_links_expires_at', columnNames: ['expiresAt'] }),
        ],
        foreignKeys: [
          new TableForeignKey({ columnNames: ['personId'], referencedTableName: 'people', referencedColumnNames: ['id'], onDelete: 'CASCADE', onUpdate: 'NO ACTION' }),
        ],
      }),
      false,
      true,
      true,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('sign_in_links', true, true, true);
  }
}
