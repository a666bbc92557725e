/**
 * Hardware identity rules [003]: MAC, IP and serial number are normalised to one canonical form
 * so that any common notation matches the record, and all three must match before an upgrade.
 */

/** The hardware fields a requester must confirm [003]. */
export type HardwareField = 'mac' | 'ip' | 'serial';

/** Why a hardware field failed: absent, not readable as such a value, or different from the record. */
export type HardwareProblemReason = 'mismatch' | 'invalid' | 'missing';

/** One failed hardware field; `expected` is the record's value and must never be shown to a requester. */
export interface HardwareProblem {
  field: HardwareField;
  given: string;
  expected: string;
  reason: HardwareProblemReason;
}

const HEX = '[0-9a-fA-F]';
const MAC_SEPARATED = new RegExp(`^(${HEX}{2})([:-])(${HEX}{2})\\2(${HEX}{2})\\2(${HEX}{2})\\2(${HEX}{2})\\2(${HEX}{2})$`);
const MAC_CISCO = new RegExp(`^(${HEX}{4})\\.(${HEX}{4})\\.(${HEX}{4})$`);
const MAC_BARE = new RegExp(`^${HEX}{12}$`);

/** Reads a MAC address in colon, dash, Cisco dotted or bare notation; returns aa:bb:cc:dd:ee:ff (lower case) or null. */
export function normalizeMac(input: string): string | null {
  const text = input.trim();
  let hex: string | null = null;
  const separated = MAC_SEPARATED.exec(text);
  if (separated) {
    hex = [separated[1], separated[3], separated[4], separated[5], separated[6], separated[7]].join('');
  } else {
    const cisco = MAC_CISCO.exec(text);
    if (cisco) hex = `${cisco[1]}${cisco[2]}${cisco[3]}`;
    else if (MAC_BARE.test(text)) hex = text;
  }
  if (hex === null) return null;
  const lower = hex.toLowerCase();
  const pairs: string[] = [];
  for (let i = 0; i < 12; i += 2) pairs.push(lower.slice(i, i + 2));
  return pairs.join(':');
}

/** Parses a dotted-quad IPv4 address (leading zeros allowed, octets 0-255) into its four octets. */
function parseIpv4(text: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const octets = [m[1], m[2], m[3], m[4]].map((o) => Number(o));
  return octets.every((o) => o <= 255) ? octets : null;
}

/** Parses the groups on one side of "::" (may end in a dotted quad when `allowV4`); null when invalid. */
function parseIpv6Groups(part: string, allowV4: boolean): number[] | null {
  if (part === '') return [];
  const pieces = part.split(':');
  const groups: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] ?? '';
    if (allowV4 && i === pieces.length - 1 && piece.includes('.')) {
      const v4 = parseIpv4(piece);
      if (!v4) return null;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
    groups.push(parseInt(piece, 16));
  }
  return groups;
}

/** Parses an IPv6 address into its eight 16-bit groups; null when invalid. */
function parseIpv6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  if (halves.length === 2) {
    const head = parseIpv6Groups(halves[0] ?? '', false);
    const tail = parseIpv6Groups(halves[1] ?? '', true);
    if (!head || !tail) return null;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    return [...head, ...new Array<number>(missing).fill(0), ...tail];
  }
  const groups = parseIpv6Groups(text, true);
  return groups && groups.length === 8 ? groups : null;
}

/** Formats eight groups as RFC 5952 text; IPv4-mapped addresses (::ffff:0:0/96) keep the dotted tail. */
function formatIpv6(groups: number[]): string {
  const isMapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (isMapped) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  // Longest run of at least two zero groups; the first one wins a tie (RFC 5952 §4.2.3).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Reads an IPv4 or IPv6 address; returns its canonical text (IPv4 without leading zeros, IPv6 per RFC 5952) or null. */
export function normalizeIp(input: string): string | null {
  const text = input.trim();
  if (text === '') return null;
  if (!text.includes(':')) {
    const v4 = parseIpv4(text);
    return v4 ? v4.join('.') : null;
  }
  const v6 = parseIpv6(text);
  return v6 ? formatIpv6(v6) : null;
}

/** Canonical serial number: trimmed and upper case. */
export function normalizeSerial(input: string): string {
  return input.trim().toUpperCase();
}

/** Canonical form of one hardware field, null when the text is not such a value. */
export function normalizeHardware(field: HardwareField, input: string): string | null {
  if (field === 'mac') return normalizeMac(input);
  if (field === 'ip') return normalizeIp(input);
  const serial = normalizeSerial(input);
  return serial === '' ? null : serial;
}

/** The hardware fields in the order they are checked and reported. */
export const HARDWARE_FIELDS: readonly HardwareField[] = ['mac', 'ip', 'serial'];

/** Compares the given MAC, IP and serial with the device record; every field is required [003], one problem per bad field. */
export function compareHardware(
  device: { mac: string; ip: string; serial: string },
  given: { mac?: string | null; ip?: string | null; serial?: string | null },
): HardwareProblem[] {
  const problems: HardwareProblem[] = [];
  for (const field of HARDWARE_FIELDS) {
    const expectedRaw = device[field];
    const expected = normalizeHardware(field, expectedRaw) ?? expectedRaw;
    const raw = given[field];
    if (raw === undefined || raw === null || raw.trim() === '') {
      problems.push({ field, given: '', expected, reason: 'missing' });
      continue;
    }
    const normalized = normalizeHardware(field, raw);
    if (normalized === null) {
      problems.push({ field, given: raw.trim(), expected, reason: 'invalid' });
    } else if (normalized !== expected) {
      problems.push({ field, given: normalized, expected, reason: 'mismatch' });
    }
  }
  return problems;
}
