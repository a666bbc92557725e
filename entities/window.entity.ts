import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { CustomerEntity } from './customer.entity.js';
import { intColumn, stringColumn, textColumn, timeColumn } from './columns.js';

/**
 * A platform maintenance window (kind "maintenance": startsAt, endsAt, reason) or a recurring
 * upgrade slot (kind "upgrade": cron, timezone, durationMinutes, customerId) in one table.
 */
@Entity('windows')
@Index('idx_windows_kind', ['kind'])
export class WindowEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(stringColumn(16))
  kind: 'maintenance' | 'upgrade';

  @Column(timeColumn({ nullable: true }))
  startsAt: Date | null;

  @Column(timeColumn({ nullable: true }))
  endsAt: Date | null;

  @Column(textColumn({ nullable: true }))
  reason: string | null;

  @Column(stringColumn(100, { nullable: true }))
  cron: string | null;

  @Column(stringColumn(64, { nullable: true }))
  timezone: string | null;

  @Column(intColumn({ nullable: true }))
  durationMinutes: number | null;

  /** Upgrade slots only; null: the slot applies to every customer. */
  @Column(intColumn({ nullable: true }))
  customerId: number | null;

  @ManyToOne('CustomerEntity', { nullable: true, onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'customerId' })
  customer?: Relation<CustomerEntity> | null;
}
