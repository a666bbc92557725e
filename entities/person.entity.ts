import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { Role } from '../src/domain/types.js';
import type { CustomerEntity } from './customer.entity.js';
import { intColumn, jsonColumn, stringColumn } from './columns.js';

/** A contact of a customer or a staff member (SPEC §2); e-mail stored lower-cased and unique. */
@Entity('people')
@Index('uq_people_email', ['email'], { unique: true })
@Index('uq_people_slack_user_id', ['slackUserId'], { unique: true })
@Index('uq_people_discord_user_id', ['discordUserId'], { unique: true })
@Index('idx_people_customer_id', ['customerId'])
export class PersonEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(stringColumn(200))
  name: string;

  /** Lower-cased. */
  @Column(stringColumn(320))
  email: string;

  @Column(stringColumn(64, { nullable: true }))
  phone: string | null;

  @Column(intColumn({ nullable: true }))
  customerId: number | null;

  @ManyToOne('CustomerEntity', { nullable: true, onDelete: 'NO ACTION', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'customerId' })
  customer?: Relation<CustomerEntity> | null;

  /** JSON array of roles. */
  @Column(jsonColumn())
  roles: Role[];

  /** Unique where set (NULLs never collide in SQLite or PostgreSQL unique indexes). */
  @Column(stringColumn(64, { nullable: true }))
  slackUserId: string | null;

  @Column(stringColumn(64, { nullable: true }))
  discordUserId: string | null;

  @Column(stringColumn(200, { nullable: true }))
  partner: string | null;
}
