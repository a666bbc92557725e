/**
 * Encryption of request secrets (the manager password [003]) with AES-256-GCM, and the one place
 * the key comes from: SECRETS_KEY, else `<dataDir>/secrets.key` (generated once, mode 0600).
 * The key stays inside the box; nothing here ever logs or throws a secret.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { decodeKey } from '../config.js';
import type { Logger } from '../core/command.js';
import type { SealedSecret, SecretBox } from '../ports.js';

const ALGORITHM = 'aes-256-gcm';
/** Key length of AES-256. */
export const KEY_BYTES = 32;
/** A fresh 96-bit IV per seal, the size GCM is designed for. */
export const IV_BYTES = 12;
/** Full-length authentication tag. */
export const TAG_BYTES = 16;
/** Name of the generated key file inside the data directory. */
export const KEY_FILE_NAME = 'secrets.key';

/** Thrown by `open` when a sealed secret cannot be decrypted; the message never contains secret material. */
export class SecretOpenError extends Error {
  constructor(reason: string) {
    super(`The stored secret cannot be decrypted: ${reason}.`);
    this.name = 'SecretOpenError';
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes one base64 part, checking its shape (and length when given) before any crypto runs. */
function part(value: unknown, name: string, length?: number): Buffer {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) {
    throw new SecretOpenError(`its ${name} is not base64`);
  }
  const buf = Buffer.from(value, 'base64');
  if (length !== undefined && buf.length !== length) {
    throw new SecretOpenError(`its ${name} has ${buf.length} bytes instead of ${length}`);
  }
  return buf;
}

/**
 * A SecretBox over a 32-byte key: each `seal` uses a new random 12-byte IV and yields a 16-byte
 * tag; `open` throws SecretOpenError when any part was altered or the key is another one.
 */
export function createSecretBox(key: Buffer): SecretBox {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new Error(`A secrets key must be exactly ${KEY_BYTES} bytes.`);
  }
  const secretKey = Buffer.from(key);
  // Signing uses its own key, derived from the secrets key, so a signature never exposes the encryption key.
  const signingKey = Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), 'upgrade-desk signing', 32));
  const sign = (data: string) => createHmac('sha256', signingKey).update(data, 'utf8').digest('base64url');
  return {
    sign,
    verify(data: string, signature: string): boolean {
      const expected = Buffer.from(sign(data));
      const given = Buffer.from(signature);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
    seal(plain: string): SealedSecret {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, secretKey, iv, { authTagLength: TAG_BYTES });
      const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return {
        ciphertext: ciphertext.toString('base64'),
        iv: iv.toString('base64'),
        authTag: cipher.getAuthTag().toString('base64'),
      };
    },
    open(sealed: SealedSecret): string {
      const iv = part(sealed.iv, 'IV', IV_BYTES);
      const tag = part(sealed.authTag, 'authentication tag', TAG_BYTES);
      const ciphertext = part(sealed.ciphertext, 'ciphertext');
      const decipher = createDecipheriv(ALGORITHM, secretKey, iv, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretOpenError(
          'it was altered, or it was sealed under a different key (check SECRETS_KEY or the secrets.key file)',
        );
      }
    },
  };
}

/** Where `loadSecretBox` takes the key from. */
export interface SecretKeySource {
  /** SECRETS_KEY, already decoded by the config (32 bytes); wins over any key file. */
  secretsKey?: Buffer;
  /** The data directory that holds (or will hold) `secrets.key`. */
  dataDir: string;
  log: Logger;
}

/**
 * The SecretBox of this installation: SECRETS_KEY when set; otherwise the key in
 * `<dataDir>/secrets.key`, generated (32 random bytes, mode 0600, never overwritten) when missing,
 * with a warning that losing it makes stored passwords unreadable. Warns when an existing key file
 * is readable by group or others; throws, rather than replacing it, when the file is not a key.
 */
export async function loadSecretBox(source: SecretKeySource): Promise<SecretBox> {
  if (source.secretsKey) return createSecretBox(source.secretsKey);
  const file = path.join(source.dataDir, KEY_FILE_NAME);
  const existing = await readKeyFile(file, source.log);
  if (existing) return createSecretBox(existing);
  await mkdir(source.dataDir, { recursive: true });
  const { key, created } = await createKeyFile(file);
  if (created) {
    source.log.warn(
      { path: file },
      `Generated a new secrets key in ${file} because SECRETS_KEY is not set. Stored manager passwords can only be ` +
        'decrypted with this key: if the file is lost or replaced, they become unreadable. Back it up, or in production ' +
        'set SECRETS_KEY (64 hex characters, e.g. `openssl rand -hex 32`) from your secret store.',
    );
  } else {
    await warnIfExposed(file, source.log);
  }
  return createSecretBox(key);
}

/** The key in `file`, or null when there is no such file. */
async function readKeyFile(file: string, log: Logger): Promise<Buffer | null> {
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const key = parseKey(content);
  if (!key) {
    throw new Error(
      `${file} does not hold a ${KEY_BYTES}-byte key (64 hex characters or base64). It is left as it is: ` +
        'restore it from a backup or set SECRETS_KEY; a new key could not decrypt the passwords already stored.',
    );
  }
  await warnIfExposed(file, log);
  return key;
}

/** A key written as text (hex or base64, as SECRETS_KEY) or as 32 raw bytes. */
function parseKey(content: Buffer): Buffer | null {
  const text = content.toString('utf8').trim();
  const decoded = text ? decodeKey(text) : null;
  if (decoded) return decoded;
  return content.length === KEY_BYTES ? Buffer.from(content) : null;
}

/** Warns when the key file may be read by group or others (POSIX permissions only). */
async function warnIfExposed(file: string, log: Logger): Promise<void> {
  if (process.platform === 'win32') return;
  const mode = (await stat(file)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    log.warn(
      { path: file, mode: `0${mode.toString(8)}` },
      `The secrets key file ${file} is readable by other users (mode 0${mode.toString(8)}); run \`chmod 600 ${file}\`.`,
    );
  }
}

/**
 * Writes a new key to `file` without ever exposing a half-written file or overwriting one: the
 * key goes to a private temporary file (opened with `wx`, mode 0600) that is then hard-linked into
 * place, which fails when another process got there first, in which case its key is used.
 */
async function createKeyFile(file: string): Promise<{ key: Buffer; created: boolean }> {
  const key = randomBytes(KEY_BYTES);
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${key.toString('hex')}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, file);
    return { key, created: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      const theirs = await readFile(file);
      const parsed = parseKey(theirs);
      if (!parsed) throw new Error(`${file} appeared meanwhile but does not hold a key; restore it or set SECRETS_KEY.`);
      return { key: parsed, created: false };
    }
    // File systems without hard links: create the file exclusively instead.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP') {
      return createKeyFileExclusively(file, key);
    }
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function createKeyFileExclusively(file: string, key: Buffer): Promise<{ key: Buffer; created: boolean }> {
  let handle;
  try {
    handle = await open(file, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const parsed = parseKey(await readFile(file));
    if (!parsed) throw new Error(`${file} appeared meanwhile but does not hold a key; restore it or set SECRETS_KEY.`);
    return { key: parsed, created: false };
  }
  try {
    await handle.writeFile(`${key.toString('hex')}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(file, 0o600);
  return { key, created: true };
}
