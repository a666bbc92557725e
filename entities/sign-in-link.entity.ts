import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { PersonEntity } from './person.entity.js';
import { intColumn, timeColumn } from './columns.js';

/**
 * A single-use sign-in link e-mailed to a staff member for the ops dashboard: bound to one person,
 * expiring after minutes, used at most once (usedAt is set once). No password is ever stored; the
 * link itself also carries a signature of its id, which is not stored here.
 */
@Entity('sign_in_links')
@Index('idx_sign_in_links_person_id', ['personId'])
@Index('idx_sign_in_links_expires_at', ['expiresAt'])
export class SignInLinkEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

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
}
