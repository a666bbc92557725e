import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { UpgradeRequestEntity } from './upgrade-request.entity.js';
import { intColumn, stringColumn, textColumn, timeColumn } from './columns.js';

/**
 * An encrypted secret of a request (the manager password [003]): AES-GCM parts as base64 text.
 * Purging clears ciphertext, iv and authTag and sets purgedAt; (requestId, name) unique.
 */
@Entity('secrets')
@Index('uq_secrets_request_id_name', ['requestId', 'name'], { unique: true })
export class SecretEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(intColumn())
  requestId: number;

  @ManyToOne('UpgradeRequestEntity', { nullable: false, onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'requestId' })
  request?: Relation<UpgradeRequestEntity>;

  @Column(stringColumn(100))
  name: string;

  @Column(textColumn({ nullable: true }))
  ciphertext: string | null;

  @Column(stringColumn(64, { nullable: true }))
  iv: string | null;

  @Column(stringColumn(64, { nullable: true }))
  authTag: string | null;

  @Column(timeColumn())
  createdAt: Date;

  @Column(timeColumn({ nullable: true }))
  purgedAt: Date | null;
}
