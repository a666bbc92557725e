import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { PersonEntity } from './person.entity.js';
import type { UpgradeRequestEntity } from './upgrade-request.entity.js';
import { intColumn, stringColumn, timeColumn } from './columns.js';

/**
 * A one-time e-mail approval link: bound to one request and one authorized representative,
 * expiring, and used at most once (usedAt and decision are set together, once).
 */
@Entity('approval_links')
@Index('idx_approval_links_request_id', ['requestId'])
export class ApprovalLinkEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

  @Column(intColumn())
  requestId: number;

  @ManyToOne('UpgradeRequestEntity', { nullable: false, onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'requestId' })
  request?: Relation<UpgradeRequestEntity>;

  @Column(intColumn())
  personId: number;

  @ManyToOne('PersonEntity', { nullable: false, onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'personId' })
  person?: Relation<PersonEntity>;

  @Column(timeColumn())
  createdAt: Date;

  @Column(timeColumn())
  expiresAt: Date;

  @Column(timeColumn({ nullable: true }))
  usedAt: Date | null;

  @Column(stringColumn(16, { nullable: true }))
  decision: string | null;
}
