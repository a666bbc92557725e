/**
 * Generated records for the benchmarks, in the records file format of SPEC §8: one customer with
 * one authorized representative and many devices of one product, each with its own serial, MAC
 * and IP. The releases and windows come from the demo records the bot loads on first start.
 */
import { writeFileSync } from 'node:fs';

export interface FleetOptions {
  customer: string;
  /** The customer's Slack channel, or null. */
  slackChannel: string | null;
  rep: { name: string; email: string; slackUserId: string | null };
  devices: number;
  /** Prefix of device names and serials, e.g. "fleet" → fleet-00001, SN-FLEET-00001. */
  prefix: string;
  version: string;
  statusUrl: string;
}

/** A records batch (as JSON-ready objects) for one customer's fleet. */
export function fleetRecords(o: FleetOptions): Record<string, unknown[]> {
  const devices = Array.from({ length: o.devices }, (_, i) => {
    const n = i + 1;
    const hex = n.toString(16).padStart(6, '0');
    return {
      name: `${o.prefix}-${String(n).padStart(5, '0')}`,
      customer: o.customer,
      product: 'SysMaster',
      serial: `SN-${o.prefix.toUpperCase()}-${String(n).padStart(5, '0')}`,
      mac: `02:00:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`,
      ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
      version: o.version,
      status: 'configured',
      replication: false,
      loadBalancerGroup: null,
      databasePrimary: false,
      statusUrl: o.statusUrl,
    };
  });
  return {
    customers: [
      {
        name: o.customer,
        email: `it@${o.prefix}.example`,
        phone: '+1 555 0199',
        timezone: 'UTC',
        lowTraffic: 'Sun 01:00-05:00',
        partner: null,
        slackChannel: o.slackChannel,
        discordChannel: null,
        notifyEmails: [],
      },
    ],
    people: [
      {
        name: o.rep.name,
        email: o.rep.email,
        phone: '+1 555 0198',
        customer: o.customer,
        roles: ['authorized_representative'],
        slackUserId: o.rep.slackUserId,
        discordUserId: null,
      },
    ],
    devices,
    releases: [],
    windows: [],
  };
}

/** Writes the batch as a records JSON file. */
export function writeRecordsFile(file: string, records: Record<string, unknown[]>): void {
  writeFileSync(file, JSON.stringify(records));
}
