/**
 * Suggestions while a person types a command (Discord autocomplete, form pickers): their own
 * company's devices, and the versions those devices can go to. Read-only; a person sees only
 * their company's records (staff name the company first), and nothing is suggested to someone
 * the records do not know.
 */
import type { Deps } from '../core/command.js';
import type { Device, Person } from '../domain/types.js';
import { compareVersions, sortVersions } from '../domain/versions.js';

/** One suggestion: what the person sees, and the value it fills in. */
export interface Suggestion {
  label: string;
  value: string;
}

/** What has been typed so far. */
export interface SuggestionInput {
  /** The text of the field being typed. */
  typed: string;
  /** A company named in the same command (staff only: others always see their own). */
  company?: string;
  /** The device named in the same command, to suggest its product's versions. */
  device?: string;
}

async function devicesOf(deps: Deps, person: Person, company: string | undefined): Promise<Device[]> {
  const customerId = person.customerId ?? (company ? ((await deps.store.customers.byName(company))?.id ?? null) : null);
  return customerId === null ? [] : deps.store.devices.forCustomer(customerId);
}

/** Orders two versions; a version the records hold in an unreadable form counts as older. */
function compare(a: string, b: string): number {
  try {
    return compareVersions(a, b);
  } catch {
    return 1;
  }
}

function matches(typed: string, ...values: string[]): boolean {
  const t = typed.trim().toLowerCase();
  return t === '' || values.some((v) => v.toLowerCase().includes(t));
}

/** Devices of the person's company whose name or serial contains the typed text, by name. */
export async function suggestDevices(deps: Deps, person: Person, input: SuggestionInput, max = 25): Promise<Suggestion[]> {
  const devices = await devicesOf(deps, person, input.company);
  return devices
    .filter((d) => matches(input.typed, d.name, d.serial))
    .sort((a, b) => a.name.localeCompare(b.name))
    .slice(0, max)
    .map((d) => ({ label: `${d.name} · ${d.product} ${d.version} · ${d.serial}`, value: d.name }));
}

/**
 * Completes the last entry of a comma-separated device list (`/upgrade bulk devices=…`), and
 * offers the `status:` and `product:` selections of the company's devices.
 */
export async function suggestDeviceList(deps: Deps, person: Person, input: SuggestionInput, max = 25): Promise<Suggestion[]> {
  const comma = input.typed.lastIndexOf(',');
  const head = comma === -1 ? '' : `${input.typed.slice(0, comma + 1)}`;
  const last = input.typed.slice(comma + 1).trim();
  const devices = await devicesOf(deps, person, input.company);
  const chosen = new Set(head.split(',').map((s) => s.trim().toLowerCase()));
  const out: Suggestion[] = [];
  if (head === '') {
    const selections = [
      ...[...new Set(devices.map((d) => d.status))].map((s) => `status:${s}`),
      ...[...new Set(devices.map((d) => d.product))].map((p) => `product:${p}`),
    ];
    for (const s of selections.sort()) if (matches(last, s)) out.push({ label: `${s} (${devices.filter((d) => `status:${d.status}` === s || `product:${d.product}` === s).length} devices)`, value: s });
  }
  for (const d of [...devices].sort((a, b) => a.name.localeCompare(b.name))) {
    if (chosen.has(d.name.toLowerCase()) || !matches(last, d.name, d.serial)) continue;
    out.push({ label: `${head}${d.name}`, value: `${head}${d.name}` });
  }
  return out.slice(0, max);
}

/**
 * Versions the named device (or, without one, any device of the company) can be asked for:
 * newer than the device's version first, newest first; the device's own version is left out.
 */
export async function suggestVersions(deps: Deps, person: Person, input: SuggestionInput, max = 25): Promise<Suggestion[]> {
  const devices = await devicesOf(deps, person, input.company);
  const named = input.device?.trim().toLowerCase();
  const device = named ? devices.find((d) => d.name.toLowerCase() === named || d.serial.toLowerCase() === named) : undefined;
  const products = device ? [device.product] : [...new Set(devices.map((d) => d.product))].sort();
  const out: Suggestion[] = [];
  for (const product of products) {
    const versions = sortVersions((await deps.store.releases.forProduct(product)).map((r) => r.version)).reverse();
    for (const v of versions) {
      if (device && compare(v, device.version) === 0) continue;
      if (!matches(input.typed, v)) continue;
      const note = device ? (compare(v, device.version) < 0 ? ' (older: a downgrade)' : '') : '';
      out.push({ label: `${v} · ${product}${note}`, value: v });
    }
  }
  const newer = out.filter((s) => !s.label.includes('downgrade'));
  return [...newer, ...out.filter((s) => s.label.includes('downgrade'))].slice(0, max);
}
