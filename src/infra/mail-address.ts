/**
 * E-mail addresses as the bot handles them: the bare address of a mailbox written with a display
 * name, the display name itself, and the check that an address is safe to put in a header.
 */

/** A plain address: no display name, no spaces, commas, quotes, angle brackets or line breaks. */
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The address if it is a sane one to put in a header, else null (CR/LF, several addresses, display names…). */
export function checkedAddress(value: string): string | null {
  const address = value.trim();
  return address.length <= 254 && ADDRESS.test(address) ? address : null;
}

/** The bare address of a From value: "Upgrade Desk <upgrades@example.com>" → "upgrades@example.com". */
export function bareAddress(from: string): string {
  return (/<([^<>]+)>\s*$/.exec(from)?.[1] ?? from).trim();
}

/** The display name of a From value, if any. */
export function displayName(from: string): string | undefined {
  const m = /^\s*"?([^"<]*?)"?\s*<[^<>]+>\s*$/.exec(from);
  return m?.[1] ? m[1] : undefined;
}
