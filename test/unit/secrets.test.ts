import { afterAll, describe, expect, it } from '@jest/globals';
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SecretOpenError, createSecretBox, loadSecretBox } from '../../src/infra/secrets.js';
import type { SealedSecret } from '../../src/ports.js';
import { MemoryLogger } from '../fakes/memory-logger.js';

const root = mkdtempSync(path.join(tmpdir(), 'upgrade-desk-secrets-'));
let dirs = 0;
const freshDir = (): string => path.join(root, `data-${++dirs}`, 'nested');

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Flips one bit of a base64 part. */
function flip(b64: string, byte = 0): string {
  const buf = Buffer.from(b64, 'base64');
  buf[byte] = (buf[byte] as number) ^ 0x01;
  return buf.toString('base64');
}

const posix = process.platform !== 'win32';

describe('the secret box', () => {
  const box = createSecretBox(randomBytes(32));

  it('opens what it sealed, including empty and non-ASCII text', () => {
    for (const plain of ['Manager#2026', '', 'pässwörd 🔑 with spaces']) {
      expect(box.open(box.seal(plain))).toBe(plain);
    }
  });

  it('seals with AES-256-GCM parts in base64: a 12-byte IV, a 16-byte tag, no plain text', () => {
    const sealed = box.seal('Manager#2026');
    expect(Buffer.from(sealed.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(sealed.authTag, 'base64')).toHaveLength(16);
    expect(Buffer.from(sealed.ciphertext, 'base64')).toHaveLength('Manager#2026'.length);
    expect(JSON.stringify(sealed)).not.toContain('Manager');
  });

  it('uses a new IV for every seal, so the same password never gives the same ciphertext', () => {
    const a = box.seal('same');
    const b = box.seal('same');
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it.each<[string, (s: SealedSecret) => SealedSecret]>([
    ['a flipped ciphertext bit', (s) => ({ ...s, ciphertext: flip(s.ciphertext) })],
    ['a flipped IV bit', (s) => ({ ...s, iv: flip(s.iv) })],
    ['a flipped tag bit', (s) => ({ ...s, authTag: flip(s.authTag, 15) })],
    ['a truncated tag', (s) => ({ ...s, authTag: Buffer.from(s.authTag, 'base64').subarray(0, 8).toString('base64') })],
    ['an IV that is not base64', (s) => ({ ...s, iv: 'not base64!' })],
  ])('refuses a tampered secret (%s) with a clear error that holds no secret', (_what, tamper) => {
    const sealed = box.seal('Manager#2026');
    let thrown: unknown;
    try {
      box.open(tamper(sealed));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(SecretOpenError);
    expect((thrown as Error).message).toMatch(/cannot be decrypted/);
    expect((thrown as Error).message).not.toContain('Manager');
  });

  it('refuses a secret sealed under another key, naming the likely cause', () => {
    const sealed = createSecretBox(randomBytes(32)).seal('Manager#2026');
    expect(() => box.open(sealed)).toThrow(SecretOpenError);
    expect(() => box.open(sealed)).toThrow(/different key/);
  });

  it('accepts only 32-byte keys', () => {
    expect(() => createSecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });

  it('is not affected when the caller later changes the key buffer it passed', () => {
    const key = randomBytes(32);
    const own = createSecretBox(key);
    const sealed = own.seal('kept');
    key.fill(0);
    expect(own.open(sealed)).toBe('kept');
  });
});

describe('signatures of the secret box', () => {
  it('signs the same data the same way under one key, and verifies only that signature', () => {
    const key = randomBytes(32);
    const box = createSecretBox(key);
    const signature = box.sign('approval-link:abc');
    expect(signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createSecretBox(key).sign('approval-link:abc')).toBe(signature);
    expect(box.verify('approval-link:abc', signature)).toBe(true);
    expect(box.verify('approval-link:abd', signature)).toBe(false);
    expect(box.verify('approval-link:abc', signature.slice(0, -1) + (signature.endsWith('A') ? 'B' : 'A'))).toBe(false);
    expect(box.verify('approval-link:abc', '')).toBe(false);
    expect(createSecretBox(randomBytes(32)).verify('approval-link:abc', signature)).toBe(false);
  });

  it('does not sign with the encryption key itself', () => {
    const key = randomBytes(32);
    const plainHmac = createHmac('sha256', key).update('x').digest('base64url');
    expect(createSecretBox(key).sign('x')).not.toBe(plainHmac);
  });
});

describe('loading the secrets key', () => {
  it('generates a key file with mode 0600 (creating the data directory) and warns where it is and why it matters', async () => {
    const dataDir = freshDir();
    const log = new MemoryLogger();
    const box = await loadSecretBox({ dataDir, log });
    const file = path.join(dataDir, 'secrets.key');
    expect(readFileSync(file, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    if (posix) expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(log.entries).toHaveLength(1);
    const [entry] = log.entries;
    expect(entry?.level).toBe('warn');
    expect(entry?.obj).toEqual({ path: file });
    expect(entry?.msg).toContain(file);
    expect(entry?.msg).toMatch(/unreadable/);
    expect(entry?.msg).toContain('SECRETS_KEY');
    expect(box.open(box.seal('x'))).toBe('x');
  });

  it('reuses the key file on the next start, quietly, so earlier secrets still open', async () => {
    const dataDir = freshDir();
    const first = await loadSecretBox({ dataDir, log: new MemoryLogger() });
    const sealed = first.seal('Manager#2026');
    const before = readFileSync(path.join(dataDir, 'secrets.key'), 'utf8');
    const log = new MemoryLogger();
    const second = await loadSecretBox({ dataDir, log });
    expect(second.open(sealed)).toBe('Manager#2026');
    expect(readFileSync(path.join(dataDir, 'secrets.key'), 'utf8')).toBe(before);
    expect(log.entries).toEqual([]);
  });

  it('gives loaders that start at once the same key: the first writer wins, nobody overwrites', async () => {
    const dataDir = freshDir();
    const boxes = await Promise.all(Array.from({ length: 8 }, () => loadSecretBox({ dataDir, log: new MemoryLogger() })));
    const sealed = boxes[0]!.seal('shared');
    for (const b of boxes) expect(b.open(sealed)).toBe('shared');
  });

  it('uses SECRETS_KEY when set, ignoring and never creating a key file', async () => {
    const dataDir = freshDir();
    const key = randomBytes(32);
    const log = new MemoryLogger();
    const box = await loadSecretBox({ secretsKey: key, dataDir, log });
    expect(() => statSync(path.join(dataDir, 'secrets.key'))).toThrow();
    expect(log.entries).toEqual([]);
    expect(createSecretBox(key).open(box.seal('from env'))).toBe('from env');
  });

  it('lets SECRETS_KEY win over an existing key file', async () => {
    const dataDir = freshDir();
    const fromFile = await loadSecretBox({ dataDir, log: new MemoryLogger() });
    const key = randomBytes(32);
    const fromEnv = await loadSecretBox({ secretsKey: key, dataDir, log: new MemoryLogger() });
    const sealed = fromEnv.seal('env wins');
    expect(createSecretBox(key).open(sealed)).toBe('env wins');
    expect(() => fromFile.open(sealed)).toThrow(SecretOpenError);
  });

  it('reads a key file written as base64, like SECRETS_KEY', async () => {
    const dataDir = freshDir();
    const key = randomBytes(32);
    await loadSecretBox({ dataDir, log: new MemoryLogger() });
    const file = path.join(dataDir, 'secrets.key');
    writeFileSync(file, key.toString('base64'), { mode: 0o600 });
    const box = await loadSecretBox({ dataDir, log: new MemoryLogger() });
    expect(createSecretBox(key).open(box.seal('b64'))).toBe('b64');
  });

  (posix ? it : it.skip)('warns when an existing key file is readable by group or others', async () => {
    const dataDir = freshDir();
    await loadSecretBox({ dataDir, log: new MemoryLogger() });
    const file = path.join(dataDir, 'secrets.key');
    chmodSync(file, 0o644);
    const log = new MemoryLogger();
    await loadSecretBox({ dataDir, log });
    expect(log.entries).toEqual([
      expect.objectContaining({ level: 'warn', obj: { path: file, mode: '0644' }, msg: expect.stringContaining('chmod 600') }),
    ]);
  });

  it('refuses a key file that holds no key instead of replacing it', async () => {
    const dataDir = freshDir();
    await loadSecretBox({ dataDir, log: new MemoryLogger() });
    const file = path.join(dataDir, 'secrets.key');
    writeFileSync(file, 'not a key\n');
    await expect(loadSecretBox({ dataDir, log: new MemoryLogger() })).rejects.toThrow(/does not hold a 32-byte key/);
    expect(readFileSync(file, 'utf8')).toBe('not a key\n');
  });
});
