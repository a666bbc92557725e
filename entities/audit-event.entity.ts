import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { jsonColumn, stringColumn, timeColumn } from './columns.js';

/** An audit trail entry: who did what to which entity (records edits, decisions, admin actions). */
@Entity('audit_events')
@Index('idx_audit_events_entity_entity_id', ['entity', 'entityId'])
@Index('idx_audit_events_action', ['action'])
export class AuditEventEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(timeColumn())
  occurredAt: Date;

  /** The person's e-mail, or "system". */
  @Column(stringColumn(320))
  actor: string;

  @Column(stringColumn(100))
  action: string;

  @Column(stringColumn(100))
  entity: string;

  @Column(stringColumn(100))
  entityId: string;

  /** JSON object. */
  @Column(jsonColumn())
  data: Record<string, unknown>;

  @Column(stringColumn(100, { nullable: true }))
  invocationId: string | null;
}
