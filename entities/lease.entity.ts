import { Column, Entity, PrimaryColumn } from 'typeorm';
import { stringColumn, timeColumn } from './columns.js';

/**
 * A named, expiring claim that one process holds at a time (e.g. the Discord gateway connection
 * when several bot processes share one database). The holder renews it before `expiresAt`; once
 * that has passed, any process may take it over.
 */
@Entity('leases')
export class LeaseEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name: string;

  @Column(stringColumn(200))
  holder: string;

  @Column(timeColumn())
  acquiredAt: Date;

  @Column(timeColumn())
  expiresAt: Date;
}
