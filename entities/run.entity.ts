import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { PostCheck, RunCondition, RunOutcome, RunState } from '../src/domain/types.js';
import type { PersonEntity } from './person.entity.js';
import type { RequestItemEntity } from './request-item.entity.js';
import { intColumn, jsonColumn, stringColumn, timeColumn } from './columns.js';

/** The upgrade run of one request item [004]; at most one per item. */
@Entity('runs')
@Index('uq_runs_request_item_id', ['requestItemId'], { unique: true })
export class RunEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(intColumn())
  requestItemId: number;

  @ManyToOne('RequestItemEntity', { nullable: false, onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'requestItemId' })
  requestItem?: Relation<RequestItemEntity>;

  @Column(stringColumn(32))
  state: RunState;

  @Column(stringColumn(16))
  condition: RunCondition;

  @Column(intColumn())
  attempt: number;

  @Column(stringColumn(32))
  outcome: RunOutcome;

  @Column(intColumn({ nullable: true }))
  agentId: number | null;

  @ManyToOne('PersonEntity', { nullable: true, onDelete: 'NO ACTION', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'agentId' })
  agent?: Relation<PersonEntity> | null;

  /** JSON array of issue texts. */
  @Column(jsonColumn())
  issues: string[];

  @Column(timeColumn({ nullable: true }))
  startedAt: Date | null;

  @Column(timeColumn({ nullable: true }))
  finishedAt: Date | null;

  @Column(timeColumn())
  createdAt: Date;

  @Column(timeColumn())
  updatedAt: Date;

  /** JSON: the post-upgrade check [002], once made. */
  @Column(jsonColumn({ nullable: true }))
  postCheck: PostCheck | null;
}
