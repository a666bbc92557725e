import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { Finding } from '../src/domain/types.js';
import type { DeviceEntity } from './device.entity.js';
import type { UpgradeRequestEntity } from './upgrade-request.entity.js';
import { intColumn, jsonColumn, stringColumn } from './columns.js';

/** One device (or one step of a device's path) of a request; (requestId, seq) unique. */
@Entity('request_items')
@Index('uq_request_items_request_id_seq', ['requestId', 'seq'], { unique: true })
@Index('idx_request_items_device_id', ['deviceId'])
export class RequestItemEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(intColumn())
  requestId: number;

  @ManyToOne('UpgradeRequestEntity', 'items', { nullable: false, onDelete: 'CASCADE', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'requestId' })
  request?: Relation<UpgradeRequestEntity>;

  @Column(intColumn())
  deviceId: number;

  @ManyToOne('DeviceEntity', { nullable: false, onDelete: 'NO ACTION', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'deviceId' })
  device?: Relation<DeviceEntity>;

  /** The device name when the request was filed. */
  @Column(stringColumn(200))
  deviceName: string;

  @Column(intColumn())
  seq: number;

  @Column(stringColumn(64))
  fromVersion: string;

  @Column(stringColumn(64))
  targetVersion: string;

  /** JSON array of findings. */
  @Column(jsonColumn())
  findings: Finding[];
}
