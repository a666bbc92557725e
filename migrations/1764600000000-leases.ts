/**
 * Leases for scale-out: `leases` holds named, expiring claims that several bot processes on one
 * database compete for (today the Discord gateway connection, which only one process may hold).
 * A row names the holder and until when it holds; an expired row is taken over by the next
 * process that asks. Written with the schema API so it runs on SQLite and PostgreSQL.
 */
import { Table } from 'typeorm';
import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';

export class Leases1764600000000 implements MigrationInterface {
  name = 'Leases1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.dataSource.driver.options.type === 'postgres';
    const time = (name: string): TableColumnOptions => ({
      name,
      type: postgres ? 'timestamp with time zone' : 'datetime',
      isNullable: false,
    });
    await queryRunner.createTable(
      new Table({
        name: 'leases',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'holder', type: 'varchar', length: '200', isNullable: false },
          time('acquiredAt'),
          time('expiresAt'),
        ],
      }),
      false,
      true,
      true,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('leases', true, true, true);
  }
}
