import { describe, expect, it } from '@jest/globals';
import { compareFingerprints, describeChanges, fingerprintOf } from '../../src/domain/consent.js';
import type { Device } from '../../src/domain/types.js';
import { aDevice } from '../fakes/device.js';

const edge: Device = aDevice();

describe('consent bound to the hardware fingerprint', () => {
  const consented = [fingerprintOf(edge)];

  it('finds no change when the records are as approved (fields outside the fingerprint may change)', () => {
    const now = new Map([[7, { ...edge, statusUrl: 'http://127.0.0.1/status', replication: true }]]);
    expect(compareFingerprints(consented, now)).toEqual([]);
  });

  it.each([
    ['ip', { ip: '203.0.113.99' }, 'edge-01: IP 203.0.113.10 → 203.0.113.99'],
    ['mac', { mac: '00:1a:2b:3c:4d:5f' }, 'edge-01: MAC 00:1a:2b:3c:4d:5e → 00:1a:2b:3c:4d:5f'],
    ['serial', { serial: 'SN-9999' }, 'edge-01: serial SN-1001 → SN-9999'],
    ['version', { version: '6.0.0' }, 'edge-01: version 5.2.0 → 6.0.0'],
    ['status', { status: 'upgrade_required' as const }, 'edge-01: status configured → upgrade_required'],
  ])('reports a changed %s', (_field, patch, line) => {
    const changes = compareFingerprints(consented, new Map([[7, { ...edge, ...patch }]]));
    expect(describeChanges(changes)).toEqual([line]);
  });

  it('reports a device that is no longer on record', () => {
    expect(describeChanges(compareFingerprints(consented, new Map()))).toEqual(['edge-01: device on record → no longer on record']);
  });

  it('reports every change of every device', () => {
    const other = { ...edge, id: 8, name: 'edge-02', serial: 'SN-1002' };
    const both = [fingerprintOf(edge), fingerprintOf(other)];
    const now = new Map([
      [7, { ...edge, ip: '203.0.113.11', version: '5.3.0' }],
      [8, { ...other, mac: 'aa:bb:cc:dd:ee:ff' }],
    ]);
    expect(compareFingerprints(both, now).map((c) => `${c.device}.${c.field}`)).toEqual(['edge-01.ip', 'edge-01.version', 'edge-02.mac']);
  });
});
