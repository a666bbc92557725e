import { Entity, Index, PrimaryGeneratedColumn, Column } from 'typeorm';
import { jsonColumn, stringColumn } from './columns.js';

/** A customer company (SPEC §2); the name is unique and looked up case-insensitively. */
@Entity('customers')
@Index('uq_customers_name', ['name'], { unique: true })
export class CustomerEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(stringColumn(200))
  name: string;

  @Column(stringColumn(320))
  email: string;

  @Column(stringColumn(64))
  phone: string;

  @Column(stringColumn(64))
  timezone: string;

  @Column(stringColumn(100, { nullable: true }))
  lowTraffic: string | null;

  @Column(stringColumn(200, { nullable: true }))
  partner: string | null;

  @Column(stringColumn(64, { nullable: true }))
  slackChannel: string | null;

  @Column(stringColumn(64, { nullable: true }))
  discordChannel: string | null;

  /** JSON array of e-mail addresses. */
  @Column(jsonColumn())
  notifyEmails: string[];
}
