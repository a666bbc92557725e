/**
 * Consent bound to the hardware: an approval records each device as the representative saw it
 * (serial, MAC, IP, version, status). When the run starts, the records are compared with that
 * fingerprint; any difference voids the consent and is shown when consent is asked again.
 */
import type { Device, DeviceFingerprint } from './types.js';

/** The fingerprint of a device as it is on record now. */
export function fingerprintOf(device: Device): DeviceFingerprint {
  return {
    deviceId: device.id,
    name: device.name,
    serial: device.serial,
    mac: device.mac,
    ip: device.ip,
    version: device.version,
    status: device.status,
  };
}

/** One difference between what was consented to and the records now. */
export interface FingerprintChange {
  device: string;
  field: 'serial' | 'mac' | 'ip' | 'version' | 'status' | 'device';
  consented: string;
  now: string;
}

const FIELDS = ['serial', 'mac', 'ip', 'version', 'status'] as const;

/**
 * Every difference between the consented fingerprints and the current devices (looked up by id);
 * a device that no longer exists is one change of field `device`. Empty when nothing changed.
 */
export function compareFingerprints(
  consented: readonly DeviceFingerprint[],
  current: ReadonlyMap<number, Device>,
): FingerprintChange[] {
  const changes: FingerprintChange[] = [];
  for (const fp of consented) {
    const device = current.get(fp.deviceId);
    if (!device) {
      changes.push({ device: fp.name, field: 'device', consented: 'on record', now: 'no longer on record' });
      continue;
    }
    const now = fingerprintOf(device);
    for (const field of FIELDS) {
      if (fp[field] !== now[field]) changes.push({ device: fp.name, field, consented: fp[field], now: now[field] });
    }
  }
  return changes;
}

/** "edge-01: IP 203.0.113.10 → 203.0.113.99" lines for a message. */
export function describeChanges(changes: readonly FingerprintChange[]): string[] {
  const label: Record<FingerprintChange['field'], string> = {
    serial: 'serial',
    mac: 'MAC',
    ip: 'IP',
    version: 'version',
    status: 'status',
    device: 'device',
  };
  return changes.map((c) => `${c.device}: ${label[c.field]} ${c.consented} → ${c.now}`);
}
