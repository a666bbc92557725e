import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { UpgradeRequestEntity } from './upgrade-request.entity.js';
import { intColumn, jsonColumn, stringColumn, textColumn, timeColumn } from './columns.js';

/** A notice waiting to be (or already) delivered; `dedupeKey` unique so a notice is stored once. */
@Entity('outbox_messages')
@Index('uq_outbox_messages_dedupe_key', ['dedupeKey'], { unique: true })
@Index('idx_outbox_messages_status_next_attempt_at', ['status', 'nextAttemptAt'])
@Index('idx_outbox_messages_request_id', ['requestId'])
@Index('idx_outbox_messages_status_destination_id', ['status', 'destination', 'id'])
export class OutboxMessageEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(stringColumn(500))
  dedupeKey: string;

  @Column(intColumn({ nullable: true }))
  requestId: number | null;

  @ManyToOne('UpgradeRequestEntity', { nullable: true, onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'requestId' })
  request?: Relation<UpgradeRequestEntity> | null;

  @Column(stringColumn(32))
  kind: string;

  /** e.g. "slack:C0ACME", "email:jane@acme.example", "ops". */
  @Column(stringColumn(400))
  destination: string;

  /** JSON: a serialized Reply. */
  @Column(jsonColumn())
  payload: unknown;

  @Column(stringColumn(16))
  status: 'pending' | 'sent' | 'failed';

  @Column(intColumn())
  attempts: number;

  @Column(textColumn({ nullable: true }))
  lastError: string | null;

  @Column(timeColumn())
  createdAt: Date;

  @Column(timeColumn())
  nextAttemptAt: Date;

  @Column(timeColumn({ nullable: true }))
  sentAt: Date | null;

  /** The platform's id of the posted message (Slack ts, Discord id, Message-ID), for edits. */
  @Column(stringColumn(200, { nullable: true }))
  externalId: string | null;

  /** 0 when first stored; each in-place edit adds 1. */
  @Column({ ...intColumn(), default: 0 })
  revision: number;

  /** A worker holds the message until then; null when unclaimed. */
  @Column(timeColumn({ nullable: true }))
  claimedUntil: Date | null;
}
