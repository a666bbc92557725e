/**
 * The manager password [003] as the rest of the system reads it: stored sealed under one name per
 * request, opened only on demand. Whoever holds the result must never log, post or audit it.
 */
import type { Finding } from '../domain/types.js';
import type { Repositories, SecretBox } from '../ports.js';

/** The name the manager password of a request is stored under in `secrets`. */
export const MANAGER_PASSWORD = 'manager_password';

/**
 * The decrypted manager password of a request, or null when none was given or it was purged.
 * Throws (from `SecretBox.open`) when the stored secret was altered or sealed under another key.
 */
export async function readManagerPassword(tx: Repositories, box: SecretBox, requestId: number): Promise<string | null> {
  const sealed = await tx.secrets.get(requestId, MANAGER_PASSWORD);
  return sealed ? box.open(sealed) : null;
}

/** The findings without the `missing_manager_password` warning (the same array when it was absent). */
export function withoutMissingPassword(findings: Finding[]): Finding[] {
  const kept = findings.filter((f) => f.code !== 'missing_manager_password');
  return kept.length === findings.length ? findings : kept;
}
