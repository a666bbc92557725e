import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { intColumn, jsonColumn, stringColumn, textColumn } from './columns.js';

/** A version of a product that devices can be upgraded to (SPEC §2); (product, version) unique. */
@Entity('releases')
@Index('uq_releases_product_version', ['product', 'version'], { unique: true })
export class ReleaseEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(stringColumn(100))
  product: string;

  @Column(stringColumn(64))
  version: string;

  @Column(intColumn())
  downtimeMinMinutes: number;

  @Column(intColumn())
  downtimeMaxMinutes: number;

  /** JSON array of strings. */
  @Column(jsonColumn())
  prerequisites: string[];

  @Column(textColumn())
  impact: string;

  /** JSON array of strings. */
  @Column(jsonColumn())
  postUpgradeTasks: string[];
}
