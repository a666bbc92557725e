/**
 * Consent bound to the hardware and the post-upgrade check: approvals keep the device
 * fingerprints the representative consented to, runs keep the result of the status-URL check.
 * Both JSON kept as text, nullable so existing rows stay valid.
 */
import { TableColumn } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ConsentFingerprintAndPostCheck1763813000000 implements MigrationInterface {
  name = 'ConsentFingerprintAndPostCheck1763813000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('approvals', new TableColumn({ name: 'fingerprint', type: 'text', isNullable: true }));
    await queryRunner.addColumn('runs', new TableColumn({ name: 'postCheck', type: 'text', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('runs', 'postCheck');
    await queryRunner.dropColumn('approvals', 'fingerprint');
  }
}
