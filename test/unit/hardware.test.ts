import { describe, expect, it } from '@jest/globals';
import { compareHardware, normalizeIp, normalizeMac, normalizeSerial } from '../../src/domain/hardware.js';

describe('MAC address normalisation', () => {
  it.each([
    ['00:1A:2B:3C:4D:5E', '00:1a:2b:3c:4d:5e'],
    ['00:1a:2b:3c:4d:5e', '00:1a:2b:3c:4d:5e'],
    ['00-1a-2b-3c-4d-5e', '00:1a:2b:3c:4d:5e'],
    ['00-1A-2B-3C-4D-5E', '00:1a:2b:3c:4d:5e'],
    ['001a.2b3c.4d5e', '00:1a:2b:3c:4d:5e'],
    ['001A.2B3C.4D5E', '00:1a:2b:3c:4d:5e'],
    ['001A2B3C4D5E', '00:1a:2b:3c:4d:5e'],
    ['  00:1A:2B:3C:4D:5E  ', '00:1a:2b:3c:4d:5e'],
    ['\tff-ff-ff-ff-ff-ff\n', 'ff:ff:ff:ff:ff:ff'],
  ])('reads %j as %s', (input, expected) => {
    expect(normalizeMac(input)).toBe(expected);
  });

  it.each([
    '',
    '00:1a:2b:3c:4d',
    '00:1a:2b:3c:4d:5e:6f',
    '00:1a:2b:3c:4d:5g',
    '00:1a-2b:3c:4d:5e',
    '001a.2b3c.4d5',
    '001a2b3c4d5',
    '001a2b3c4d5e6f',
    '0:1a:2b:3c:4d:5e',
    '203.0.113.10',
    'not a mac',
  ])('refuses %j as a MAC address', (input) => {
    expect(normalizeMac(input)).toBeNull();
  });
});

describe('IP address normalisation', () => {
  it.each([
    ['203.0.113.10', '203.0.113.10'],
    ['203.000.113.010', '203.0.113.10'],
    [' 10.0.0.1 ', '10.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['2001:DB8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::', '::'],
    ['1::', '1::'],
    ['fe80::0001', 'fe80::1'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::FFFF:203.000.113.010', '::ffff:203.0.113.10'],
    ['0:0:0:0:0:ffff:cb00:710a', '::ffff:203.0.113.10'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ])('reads %j as %s', (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });

  it.each([
    '',
    '256.0.0.1',
    '203.0.113',
    '203.0.113.10.5',
    '203.0.113.1000',
    '203.0.113.-1',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '12345::1',
    '1:2:3:4:5:6:7:8::',
    'g::1',
    '::ffff:1.2.3.256',
    '1.2.3.4::',
    'localhost',
  ])('refuses %j as an IP address', (input) => {
    expect(normalizeIp(input)).toBeNull();
  });
});

describe('serial number normalisation', () => {
  it.each([
    ['sn-1001', 'SN-1001'],
    ['  SN-1001 ', 'SN-1001'],
    ['Sn-1001\n', 'SN-1001'],
  ])('reads %j as %s', (input, expected) => {
    expect(normalizeSerial(input)).toBe(expected);
  });
});

describe('hardware comparison', () => {
  const device = { mac: '00:1a:2b:3c:4d:5e', ip: '203.0.113.10', serial: 'SN-1001' };

  it('accepts matching values in any notation', () => {
    expect(compareHardware(device, { mac: '001A.2B3C.4D5E', ip: '203.000.113.010', serial: ' sn-1001 ' })).toEqual([]);
  });

  it.each([
    [{ ip: '203.0.113.10', serial: 'SN-1001' }, 'mac', 'missing', ''],
    [{ mac: null, ip: '203.0.113.10', serial: 'SN-1001' }, 'mac', 'missing', ''],
    [{ mac: '   ', ip: '203.0.113.10', serial: 'SN-1001' }, 'mac', 'missing', ''],
    [{ mac: 'zz:zz', ip: '203.0.113.10', serial: 'SN-1001' }, 'mac', 'invalid', 'zz:zz'],
    [{ mac: '00-1a-2b-3c-4d-5f', ip: '203.0.113.10', serial: 'SN-1001' }, 'mac', 'mismatch', '00:1a:2b:3c:4d:5f'],
    [{ mac: '00:1a:2b:3c:4d:5e', serial: 'SN-1001' }, 'ip', 'missing', ''],
    [{ mac: '00:1a:2b:3c:4d:5e', ip: '300.1.1.1', serial: 'SN-1001' }, 'ip', 'invalid', '300.1.1.1'],
    [{ mac: '00:1a:2b:3c:4d:5e', ip: '203.0.113.11', serial: 'SN-1001' }, 'ip', 'mismatch', '203.0.113.11'],
    [{ mac: '00:1a:2b:3c:4d:5e', ip: '203.0.113.10' }, 'serial', 'missing', ''],
    [{ mac: '00:1a:2b:3c:4d:5e', ip: '203.0.113.10', serial: 'sn-1002' }, 'serial', 'mismatch', 'SN-1002'],
  ] as const)('GIVEN %j THEN reports %s as %s', (given, field, reason, givenValue) => {
    const problems = compareHardware(device, given);
    expect(problems).toEqual([{ field, reason, given: givenValue, expected: device[field] }]);
  });

  it('reports every bad field, in the order mac, ip, serial', () => {
    const problems = compareHardware(device, { serial: 'X', ip: 'bad' });
    expect(problems.map((p) => [p.field, p.reason])).toEqual([
      ['mac', 'missing'],
      ['ip', 'invalid'],
      ['serial', 'mismatch'],
    ]);
  });

  it('compares against a record kept in another notation', () => {
    const legacy = { mac: '00-1A-2B-3C-4D-5E', ip: '2001:0DB8::0001', serial: 'sn-1001' };
    expect(compareHardware(legacy, { mac: '00:1a:2b:3c:4d:5e', ip: '2001:db8::1', serial: 'SN-1001' })).toEqual([]);
  });
});
