/** A device on record for pure tests; `patch` changes what a test is about. */
import type { Device } from '../../src/domain/types.js';

export function aDevice(patch: Partial<Device> = {}): Device {
  return {
    id: 7,
    customerId: 1,
    name: 'edge-01',
    product: 'SysMaster',
    serial: 'SN-1001',
    mac: '00:1a:2b:3c:4d:5e',
    ip: '203.0.113.10',
    version: '5.2.0',
    status: 'configured',
    replication: false,
    loadBalancerGroup: null,
    databasePrimary: false,
    statusUrl: null,
    ...patch,
  };
}
