import { Column, Entity, Index, JoinColumn, ManyToOne, OneToMany, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { Channel, Finding, RequestStatus, ScheduleMode } from '../src/domain/types.js';
import type { ApprovalEntity } from './approval.entity.js';
import type { CustomerEntity } from './customer.entity.js';
import type { PersonEntity } from './person.entity.js';
import type { RequestItemEntity } from './request-item.entity.js';
import { boolColumn, intColumn, jsonColumn, stringColumn, textColumn, timeColumn } from './columns.js';

/** An upgrade request (SPEC §4); `ref` (UPG-000123) is unique and set right after the insert. */
@Entity('upgrade_requests')
@Index('uq_upgrade_requests_ref', ['ref'], { unique: true })
@Index('idx_upgrade_requests_status', ['status'])
@Index('idx_upgrade_requests_customer_id', ['customerId'])
export class UpgradeRequestEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  /** Null only inside the creating transaction, before the id is known. */
  @Column(stringColumn(20, { nullable: true }))
  ref: string | null;

  @Column(stringColumn(32))
  status: RequestStatus;

  @Column(intColumn())
  customerId: number;

  @ManyToOne('CustomerEntity', { nullable: false, onDelete: 'NO ACTION', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'customerId' })
  customer?: Relation<CustomerEntity>;

  @Column(intColumn())
  requesterId: number;

  @ManyToOne('PersonEntity', { nullable: false, onDelete: 'NO ACTION', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'requesterId' })
  requester?: Relation<PersonEntity>;

  @Column(stringColumn(64))
  targetVersion: string;

  @Column(stringColumn(16))
  scheduleMode: ScheduleMode;

  @Column(timeColumn({ nullable: true }))
  scheduleAt: Date | null;

  @Column(boolColumn())
  forced: boolean;

  @Column(boolColumn())
  redeploy: boolean;

  @Column(boolColumn())
  notifyPartner: boolean;

  @Column(boolColumn())
  notifyCustomer: boolean;

  @Column(textColumn({ nullable: true }))
  note: string | null;

  @Column(boolColumn())
  bulk: boolean;

  /** JSON array of findings. */
  @Column(jsonColumn())
  findings: Finding[];

  @Column(stringColumn(16))
  via: Channel;

  @Column(stringColumn(320))
  contactEmail: string;

  @Column(intColumn({ nullable: true }))
  assignedAgentId: number | null;

  @ManyToOne('PersonEntity', { nullable: true, onDelete: 'NO ACTION', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'assignedAgentId' })
  assignedAgent?: Relation<PersonEntity> | null;

  @Column(textColumn({ nullable: true }))
  statusReason: string | null;

  @Column(timeColumn())
  createdAt: Date;

  @Column(timeColumn())
  updatedAt: Date;

  @OneToMany('RequestItemEntity', 'request')
  items?: Relation<RequestItemEntity[]>;

  @OneToMany('ApprovalEntity', 'request')
  approvals?: Relation<ApprovalEntity[]>;
}
