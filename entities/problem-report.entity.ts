import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { Channel } from '../src/domain/types.js';
import type { PersonEntity } from './person.entity.js';
import type { UpgradeRequestEntity } from './upgrade-request.entity.js';
import { intColumn, stringColumn, textColumn, timeColumn } from './columns.js';

/** A problem reported after an upgrade, linked back to its request [003]. */
@Entity('problem_reports')
@Index('idx_problem_reports_request_id', ['requestId'])
export class ProblemReportEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(intColumn())
  requestId: number;

  @ManyToOne('UpgradeRequestEntity', { nullable: false, onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'requestId' })
  request?: Relation<UpgradeRequestEntity>;

  @Column(intColumn())
  reporterId: number;

  @ManyToOne('PersonEntity', { nullable: false, onDelete: 'NO ACTION', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'reporterId' })
  reporter?: Relation<PersonEntity>;

  @Column(textColumn())
  text: string;

  @Column(stringColumn(16))
  via: Channel;

  @Column(timeColumn())
  reportedAt: Date;
}
