/**
 * Property tests of MAC and IP normalisation (src/domain/hardware.ts): every notation of one
 * address reads as the same canonical text, canonical text reads as itself, and anything else is
 * null without throwing. IPv6 canonical text is checked against the WHATWG URL parser's.
 */
import { isIP } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compareHardware, normalizeHardware, normalizeIp, normalizeMac } from '../../src/domain/hardware.js';
import type { HardwareField } from '../../src/domain/hardware.js';
import { fuzzParams, timeoutFor } from './fuzz-config.js';

const byte = fc.integer({ min: 0, max: 255 });
const macBytes = fc.array(byte, { minLength: 6, maxLength: 6 });
const hex2 = (b: number): string => b.toString(16).padStart(2, '0');

/** Upper-cases each letter of the text or not, as `mask` says. */
function mixCase(text: string, mask: readonly boolean[]): string {
  return [...text].map((ch, i) => (mask[i % mask.length] ? ch.toUpperCase() : ch.toLowerCase())).join('');
}

/** The MAC address in one of the accepted notations. */
function macIn(notation: 'colon' | 'dash' | 'cisco' | 'bare', bytes: readonly number[]): string {
  const hex = bytes.map(hex2);
  switch (notation) {
    case 'colon':
      return hex.join(':');
    case 'dash':
      return hex.join('-');
    case 'cisco':
      return [0, 2, 4].map((i) => `${hex[i]}${hex[i + 1]}`).join('.');
    case 'bare':
      return hex.join('');
  }
}

const notation = fc.constantFrom('colon' as const, 'dash' as const, 'cisco' as const, 'bare' as const);
const caseMask = fc.array(fc.boolean(), { minLength: 1, maxLength: 12 });
const padding = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r', '\u00A0'), maxLength: 3 });

const ADDRESS_CHARS = '0123456789abcdefABCDEFgG:.-% \t';

/** A valid address with one or two random edits (a character dropped, added or replaced): mostly invalid, sometimes another valid one. */
const nearAddress = fc
  .tuple(
    fc.oneof(fc.ipV4(), fc.ipV6(), fc.tuple(macBytes, fc.constantFrom('colon' as const, 'dash' as const, 'cisco' as const, 'bare' as const)).map(([b, n]) => macIn(n, b))),
    fc.array(fc.tuple(fc.nat(60), fc.constantFrom('drop', 'add', 'replace'), fc.constantFrom(...ADDRESS_CHARS)), { minLength: 1, maxLength: 2 }),
  )
  .map(([text, edits]) =>
    edits.reduce((t, [at, edit, ch]) => {
      const i = at % (t.length + 1);
      if (edit === 'drop') return t.slice(0, i) + t.slice(i + 1);
      if (edit === 'add') return t.slice(0, i) + ch + t.slice(i);
      return t.slice(0, i) + ch + t.slice(i + 1);
    }, text),
  );

/** Any text, biased to MAC and IP notation. */
const addressish = fc.oneof(
  { arbitrary: nearAddress, weight: 4 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...ADDRESS_CHARS), maxLength: 45 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 45 }), weight: 1 },
  { arbitrary: fc.string({ maxLength: 45 }), weight: 1 },
);

describe('MAC address normalisation', () => {
  it(
    'reads every notation of the same address, in any case and with surrounding white space, as the same aa:bb:cc:dd:ee:ff',
    () => {
      fc.assert(
        fc.property(macBytes, notation, notation, caseMask, caseMask, padding, padding, (bytes, n1, n2, case1, case2, pad1, pad2) => {
          const expected = bytes.map(hex2).join(':');
          expect(normalizeMac(`${pad1}${mixCase(macIn(n1, bytes), case1)}${pad2}`)).toBe(expected);
          expect(normalizeMac(mixCase(macIn(n2, bytes), case2))).toBe(expected);
          expect(normalizeHardware('mac', macIn(n1, bytes))).toBe(expected);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'is idempotent and never throws: any text gives null or a canonical address that reads as itself',
    () => {
      fc.assert(
        fc.property(addressish, (text) => {
          const mac = normalizeMac(text);
          if (mac === null) return;
          expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
          expect(normalizeMac(mac)).toBe(mac);
          // What it read really was the same twelve hex digits.
          expect(text.replace(/[^0-9a-fA-F]/g, '').toLowerCase()).toBe(mac.replace(/:/g, ''));
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'refuses mixed separators, a digit too many or too few, and a non-hex digit',
    () => {
      fc.assert(
        fc.property(macBytes, fc.nat(4), fc.constantFrom('drop', 'add', 'bad', 'mix'), (bytes, at, damage) => {
          const hex = bytes.map(hex2);
          let text: string;
          if (damage === 'mix') {
            text = hex.map((h, i) => (i === 0 ? h : `${i === at + 1 ? '-' : ':'}${h}`)).join('');
          } else if (damage === 'drop') {
            text = hex.join(':').slice(0, -1);
          } else if (damage === 'add') {
            text = `${hex.join('')}0`;
          } else {
            text = hex.map((h, i) => (i === at ? `g${h[1]}` : h)).join(':');
          }
          expect(normalizeMac(text)).toBeNull();
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );
});

/** The canonical text of an IPv6 address as the WHATWG URL parser writes it (RFC 5952 compression, lower case). */
function whatwgIpv6(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

const group = fc.integer({ min: 0, max: 0xffff });
/** Eight groups, often with runs of zeros so that :: compression matters. */
const groups = fc.array(fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: group, weight: 3 }), { minLength: 8, maxLength: 8 });

/** The groups written out in full, each padded to `pad` digits, or with one run of zero groups written as "::". */
function ipv6Text(gs: readonly number[], pad: number, compress: [number, number] | null, mask: readonly boolean[]): string {
  const hex = gs.map((g) => g.toString(16).padStart(pad, '0'));
  let text = hex.join(':');
  if (compress) {
    const [from, length] = compress;
    if (length >= 1 && gs.slice(from, from + length).every((g) => g === 0) && from + length <= 8) {
      text = `${hex.slice(0, from).join(':')}::${hex.slice(from + length).join(':')}`;
    }
  }
  return mixCase(text, mask);
}

describe('IP address normalisation', () => {
  it(
    'reads an IPv4 address with any leading zeros as its dotted decimal text',
    () => {
      fc.assert(
        fc.property(fc.array(byte, { minLength: 4, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }), padding, (octets, widths, pad) => {
          const text = octets.map((o, i) => String(o).padStart(widths[i] as number, '0')).join('.');
          const expected = octets.join('.');
          expect(normalizeIp(`${pad}${text}${pad}`)).toBe(expected);
          expect(normalizeIp(expected)).toBe(expected);
          expect(isIP(expected)).toBe(4);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'refuses an IPv4 octet over 255 or over three digits, and a wrong number of octets',
    () => {
      fc.assert(
        fc.property(fc.array(byte, { minLength: 4, maxLength: 4 }), fc.nat(3), fc.oneof(fc.integer({ min: 256, max: 999 }), fc.constantFrom('0000', '0255', '', '-1', '1e2', '1 1', '+1', '0x1')), fc.boolean(), (octets, at, bad, shorten) => {
          const parts = octets.map(String);
          if (shorten) parts.splice(at, 1);
          else parts[at] = String(bad);
          expect(normalizeIp(parts.join('.'))).toBeNull();
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'reads any notation of an IPv6 address (padding, case, :: anywhere it fits) as the RFC 5952 text the URL parser gives',
    () => {
      fc.assert(
        fc.property(groups, fc.integer({ min: 1, max: 4 }), fc.option(fc.tuple(fc.nat(7), fc.integer({ min: 1, max: 8 }))), caseMask, (gs, pad, compress, mask) => {
          const text = ipv6Text(gs, pad, compress, mask);
          const canonical = normalizeIp(text);
          const mapped = gs.slice(0, 5).every((g) => g === 0) && gs[5] === 0xffff;
          if (mapped) {
            // IPv4-mapped addresses keep their dotted tail (the URL parser writes them in hex).
            const v4 = [(gs[6] as number) >> 8, (gs[6] as number) & 255, (gs[7] as number) >> 8, (gs[7] as number) & 255].join('.');
            expect(canonical).toBe(`::ffff:${v4}`);
          } else {
            expect(canonical).toBe(whatwgIpv6(text));
          }
          expect(normalizeIp(canonical as string)).toBe(canonical);
          expect(isIP(canonical as string)).toBe(6);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'accepts every address fast-check writes, IPv4 and IPv6 (with dotted tails), and agrees with node:net that it is one',
    () => {
      fc.assert(
        fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
          const canonical = normalizeIp(text);
          expect(canonical).not.toBeNull();
          expect(isIP(canonical as string)).toBe(isIP(text));
          expect(normalizeIp(canonical as string)).toBe(canonical);
          if (isIP(text) === 6 && !(canonical as string).startsWith('::ffff:')) expect(canonical).toBe(whatwgIpv6(text));
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'is idempotent and never throws: any text gives null or an address node:net accepts',
    () => {
      fc.assert(
        fc.property(addressish, (text) => {
          const ip = normalizeIp(text);
          const pureHex = /^[0-9a-fA-F:]+$/.test(text.trim());
          if (pureHex && text.includes(':')) {
            // Whatever the URL parser takes as an IPv6 address is read here too, to the same text.
            let url: string | null = null;
            try {
              url = whatwgIpv6(text.trim());
            } catch {
              url = null;
            }
            if (url !== null && !/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(url)) expect(ip).toBe(url);
          }
          if (ip === null) return;
          expect(isIP(ip)).not.toBe(0);
          expect(normalizeIp(ip)).toBe(ip);
          // A canonical IPv6 address is what the URL parser makes of the same text (mapped ones aside).
          // (A dotted tail may have leading zeros here, which the URL parser refuses: only pure hex forms are compared.)
          if (ip.includes(':') && !ip.startsWith('::ffff:') && !text.includes('.')) expect(whatwgIpv6(text.trim())).toBe(ip);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );
});

describe('hardware comparison', () => {
  const serial = fc.string({ unit: fc.constantFrom(...'ABCxyz0189-_/'), minLength: 1, maxLength: 12 });
  const device = fc.record({ bytes: macBytes, octets: fc.array(byte, { minLength: 4, maxLength: 4 }), serial });

  it(
    'accepts the record’s own values written in any notation, case and padding',
    () => {
      fc.assert(
        fc.property(device, notation, notation, caseMask, padding, fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }), (d, recorded, typed, mask, pad, widths) => {
          const record = { mac: macIn(recorded, d.bytes), ip: d.octets.join('.'), serial: d.serial };
          const given = {
            mac: `${pad}${mixCase(macIn(typed, d.bytes), mask)}`,
            ip: d.octets.map((o, i) => String(o).padStart(widths[i] as number, '0')).join('.'),
            serial: `${pad}${mixCase(d.serial, mask)}${pad}`,
          };
          expect(compareHardware(record, given)).toEqual([]);
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );

  it(
    'never throws on any given text and reports each bad field once, in mac, ip, serial order, without the raw record in `given`',
    () => {
      const givenText = fc.option(addressish, { nil: undefined });
      fc.assert(
        fc.property(device, givenText, givenText, givenText, (d, mac, ip, s) => {
          const record = { mac: macIn('colon', d.bytes), ip: d.octets.join('.'), serial: d.serial };
          const problems = compareHardware(record, { mac, ip, serial: s });
          const fields = problems.map((p) => p.field);
          expect(fields).toEqual((['mac', 'ip', 'serial'] as HardwareField[]).filter((f) => fields.includes(f)));
          const given: Record<HardwareField, string | undefined> = { mac, ip, serial: s };
          for (const p of problems) {
            const raw = given[p.field];
            expect(p.expected).toBe(normalizeHardware(p.field, record[p.field]));
            if (raw === undefined || raw.trim() === '') {
              expect(p).toEqual({ field: p.field, given: '', expected: p.expected, reason: 'missing' });
            } else if (normalizeHardware(p.field, raw) === null) {
              expect(p).toEqual({ field: p.field, given: raw.trim(), expected: p.expected, reason: 'invalid' });
            } else {
              expect(p.reason).toBe('mismatch');
              expect(p.given).toBe(normalizeHardware(p.field, raw));
              expect(p.given).not.toBe(p.expected);
            }
          }
          // A field with no problem matched the record.
          for (const f of ['mac', 'ip', 'serial'] as HardwareField[]) {
            if (!fields.includes(f)) expect(normalizeHardware(f, given[f] ?? '')).toBe(normalizeHardware(f, record[f]));
          }
        }),
        fuzzParams('parser'),
      );
    },
    timeoutFor('parser'),
  );
});
