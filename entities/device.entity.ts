import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import type { DeviceStatus } from '../src/domain/types.js';
import type { CustomerEntity } from './customer.entity.js';
import { boolColumn, intColumn, stringColumn, textColumn } from './columns.js';

/** A customer's server, site or tenant (SPEC §2); serial unique, name unique per customer. */
@Entity('devices')
@Index('uq_devices_serial', ['serial'], { unique: true })
@Index('uq_devices_customer_id_name', ['customerId', 'name'], { unique: true })
export class DeviceEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(intColumn())
  customerId: number;

  @ManyToOne('CustomerEntity', { nullable: false, onDelete: 'NO ACTION', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'customerId' })
  customer?: Relation<CustomerEntity>;

  @Column(stringColumn(200))
  name: string;

  @Column(stringColumn(100))
  product: string;

  @Column(stringColumn(100))
  serial: string;

  /** Canonical aa:bb:cc:dd:ee:ff. */
  @Column(stringColumn(64))
  mac: string;

  /** Canonical IPv4 / RFC 5952 IPv6. */
  @Column(stringColumn(64))
  ip: string;

  @Column(stringColumn(64))
  version: string;

  @Column(stringColumn(32))
  status: DeviceStatus;

  @Column(boolColumn())
  replication: boolean;

  @Column(stringColumn(100, { nullable: true }))
  loadBalancerGroup: string | null;

  @Column(boolColumn())
  databasePrimary: boolean;

  @Column(textColumn({ nullable: true }))
  statusUrl: string | null;
}
