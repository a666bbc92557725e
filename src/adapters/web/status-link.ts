/**
 * The signed link to a request's status page (the "job link" of [000]): `/requests/<ref>?key=<sig>`,
 * where the key is an HMAC of the reference under the bot's signing key. Anyone holding the link
 * may read that one request's status page (as anyone in the customer's channel may read its
 * notices); it decides nothing. A new secrets key invalidates every link.
 */
import type { SecretBox } from '../../ports.js';

/** The path prefix of status pages. */
export const STATUS_PATH = '/requests/';

function keyFor(secretBox: SecretBox, ref: string): string {
  return secretBox.sign(`status:${ref}`);
}

/** The path (with its key) of the status page of `ref`. */
export function statusLinkPath(secretBox: SecretBox, ref: string): string {
  return `${STATUS_PATH}${encodeURIComponent(ref)}?key=${keyFor(secretBox, ref)}`;
}

/** Whether `key` opens the status page of `ref`. */
export function validStatusKey(secretBox: SecretBox, ref: string, key: string): boolean {
  return key.length > 0 && key.length <= 128 && secretBox.verify(`status:${ref}`, key);
}
