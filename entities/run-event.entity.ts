import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { RunState } from '../src/domain/types.js';
import type { RunEntity } from './run.entity.js';
import { intColumn, stringColumn, textColumn, timeColumn } from './columns.js';

/** One line of a run's activity log: a state transition and who caused it. */
@Entity('run_events')
@Index('idx_run_events_run_id', ['runId'])
export class RunEventEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(intColumn())
  runId: number;

  @ManyToOne('RunEntity', { nullable: false, onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'runId' })
  run?: Relation<RunEntity>;

  @Column(stringColumn(32))
  fromState: RunState;

  @Column(stringColumn(32))
  toState: RunState;

  @Column(stringColumn(64))
  event: string;

  @Column(stringColumn(320))
  actor: string;

  @Column(textColumn())
  message: string;

  @Column(timeColumn())
  occurredAt: Date;
}
