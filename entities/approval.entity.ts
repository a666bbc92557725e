import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { Channel, Decision, FindingCode, DeviceFingerprint } from '../src/domain/types.js';
import type { PersonEntity } from './person.entity.js';
import type { UpgradeRequestEntity } from './upgrade-request.entity.js';
import { intColumn, jsonColumn, stringColumn, textColumn, timeColumn } from './columns.js';

/** A recorded consent decision: who, when, through which channel [003]. */
@Entity('approvals')
@Index('idx_approvals_request_id', ['requestId'])
export class ApprovalEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(intColumn())
  requestId: number;

  @ManyToOne('UpgradeRequestEntity', 'approvals', { nullable: false, onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'requestId' })
  request?: Relation<UpgradeRequestEntity>;

  @Column(intColumn())
  personId: number;

  @ManyToOne('PersonEntity', { nullable: false, onDelete: 'NO ACTION', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'personId' })
  person?: Relation<PersonEntity>;

  /** Display form of who decided, "Jane Doe <jane@acme.example>". */
  @Column(stringColumn(600))
  decidedBy: string;

  @Column(stringColumn(16))
  decision: Decision;

  @Column(stringColumn(16))
  via: Channel;

  @Column(timeColumn())
  decidedAt: Date;

  @Column(textColumn({ nullable: true }))
  reason: string | null;

  /** JSON array of the warning codes accepted with the decision. */
  @Column(jsonColumn())
  acknowledged: FindingCode[];

  /** JSON array of the device fingerprints consented to; null on rows from before it existed. */
  @Column(jsonColumn({ nullable: true }))
  fingerprint: DeviceFingerprint[] | null;
}
