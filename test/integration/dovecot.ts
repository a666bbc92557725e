/**
 * A throwaway Dovecot IMAP server for integration tests: a minimal dovecot.conf in a temp
 * directory (IMAP only, 127.0.0.1 on a free port, no TLS, cleartext login allowed, one
 * passwd-file user with a {PLAIN} password, Maildir under the temp directory), started in the
 * foreground as a child process and stopped (SIGTERM, then SIGKILL) and deleted after. It never
 * reads /etc/dovecot and has its own base_dir, so a system Dovecot service does not matter.
 * As root, Dovecot's own processes run as `dovecot`/`dovenull` and the mailbox as `nobody`;
 * otherwise everything runs as the current user.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../fakes/free-port.js';

const run = promisify(execFile);

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** The first of these that exists (DOVECOT_BIN overrides): /usr/sbin is not on a normal user's PATH. */
function findBinary(name: string, override: string | undefined): string | null {
  if (override) return existsSync(override) ? override : null;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** The dovecot binary, or null. */
export const DOVECOT_BIN = findBinary('dovecot', process.env.DOVECOT_BIN);

/**
 * Whether a Dovecot can be started here and which version it is; `reason` says why not.
 * Synchronous, so that a suite can choose describe or describe.skip.
 */
export function dovecotAvailability(): { ok: true; version: string } | { ok: false; reason: string } {
  if (process.env.SKIP_IMAP_TESTS) return { ok: false, reason: 'SKIP_IMAP_TESTS is set' };
  if (!DOVECOT_BIN) return { ok: false, reason: 'the dovecot binary was not found (Debian package dovecot-imapd; .ci/run installs it; DOVECOT_BIN overrides)' };
  let version: string;
  try {
    version = execFileSync(DOVECOT_BIN, ['--version'], { stdio: 'pipe', timeout: 10_000 }).toString().trim();
  } catch (e) {
    return { ok: false, reason: `${DOVECOT_BIN} --version failed: ${(e as Error).message.split('\n')[0]}` };
  }
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return { ok: false, reason: `unrecognised dovecot version "${version}"` };
  if (Number(m[1]) !== 2 || Number(m[2]) < 3) return { ok: false, reason: `dovecot ${version} is too old (2.3 or 2.4 needed)` };
  if (isRoot()) {
    for (const user of ['dovecot', 'dovenull', 'nobody']) {
      if (!passwdEntry(user)) return { ok: false, reason: `running as root, but there is no "${user}" user for Dovecot's processes` };
    }
  }
  return { ok: true, version };
}

/** uid and gid of a system user, from /etc/passwd. */
function passwdEntry(name: string): { uid: number; gid: number } | null {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid === undefined || gid === undefined ? null : { uid: Number(uid), gid: Number(gid) };
}

/** Resolves once an IMAP greeting ("* OK") arrives on the port; rejects after `timeoutMs`. */
function greeting(port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error('no IMAP greeting')), timeoutMs);
    socket.once('error', (e) => done(e));
    socket.once('data', (chunk: Buffer) => (chunk.toString().startsWith('* OK') ? done() : done(new Error(`unexpected greeting ${chunk.toString().slice(0, 80)}`))));
  });
}

export interface DovecotOptions {
  /** The one IMAP user (default "tester"). */
  user?: string;
  /** Its password (default one with characters that need URL encoding); no ':' (passwd-file). */
  password?: string;
  /** Extra lines for dovecot.conf, e.g. `imap_capability = ...` to hide IDLE. */
  extraConfig?: string;
}

/** A running throwaway Dovecot. */
export interface Dovecot {
  version: string;
  host: string;
  port: number;
  user: string;
  password: string;
  /** imap://user:password@127.0.0.1:port with user and password URL-encoded. */
  url: string;
  /** The user's Maildir (cur/ and new/ hold INBOX's messages). */
  maildir: string;
  /** What Dovecot logged so far. */
  log(): string;
  /** Disconnects every IMAP session of the user (`doveadm kick`), as a server restart would. */
  kick(): Promise<void>;
  /** Stops the server (SIGTERM, SIGKILL after a bound) and deletes its directory. */
  stop(): Promise<void>;
}

/** dovecot.conf for the installed version (2.3 and 2.4 name several settings differently). */
function configFor(
  version: string,
  o: { dir: string; port: number; usersFile: string; internalUser: string; internalGroup: string | null; loginUser: string; firstValidUid: number; extra: string },
): string {
  const [major, minor] = version.split('.').map(Number);
  const v24 = (major ?? 0) > 2 || ((major ?? 0) === 2 && (minor ?? 0) >= 4);
  const common = [
    `base_dir = ${o.dir}/run`,
    `state_dir = ${o.dir}/state`,
    `log_path = ${o.dir}/dovecot.log`,
    `info_log_path = ${o.dir}/dovecot.log`,
    'protocols = imap',
    'listen = 127.0.0.1',
    'ssl = no',
    'auth_mechanisms = plain login',
    `default_internal_user = ${o.internalUser}`,
    `default_login_user = ${o.loginUser}`,
    ...(o.internalGroup ? [`default_internal_group = ${o.internalGroup}`] : []),
    `first_valid_uid = ${o.firstValidUid}`,
    // Only root can chroot the login processes.
    ...(isRoot() ? [] : ['service anvil {', '  chroot =', '}']),
    'service imap-login {',
    ...(isRoot() ? [] : ['  chroot =']),
    '  inet_listener imap {',
    `    port = ${o.port}`,
    '  }',
    '  inet_listener imaps {',
    '    port = 0',
    '  }',
    '}',
  ];
  if (v24) {
    return [
      // Must come first in 2.4.
      'dovecot_config_version = 2.4.0',
      'dovecot_storage_version = 2.4.0',
      ...common,
      'auth_allow_cleartext = yes',
      'mail_driver = maildir',
      'mail_path = ~/Maildir',
      'namespace inbox {',
      '  inbox = yes',
      '}',
      'passdb passwd-file {',
      `  passwd_file_path = ${o.usersFile}`,
      '}',
      'userdb passwd-file {',
      `  passwd_file_path = ${o.usersFile}`,
      '}',
      o.extra,
      '',
    ].join('\n');
  }
  return [
    ...common,
    'disable_plaintext_auth = no',
    'mail_location = maildir:~/Maildir',
    'namespace inbox {',
    '  inbox = yes',
    '}',
    'passdb {',
    '  driver = passwd-file',
    `  args = ${o.usersFile}`,
    '}',
    'userdb {',
    '  driver = passwd-file',
    `  args = ${o.usersFile}`,
    '}',
    o.extra,
    '',
  ].join('\n');
}

/** Starts a fresh Dovecot; the caller must `stop()` it (e.g. in afterAll). */
export async function startDovecot(options: DovecotOptions = {}): Promise<Dovecot> {
  const available = dovecotAvailability();
  if (!available.ok) throw new Error(`cannot start Dovecot: ${available.reason}`);
  const bin = DOVECOT_BIN!;
  const user = options.user ?? 'tester';
  const password = options.password ?? 's3cret/p@ss %word!';
  if (password.includes(':') || user.includes(':')) throw new Error('passwd-file fields cannot contain ":"');

  const dir = mkdtempSync(path.join(tmpdir(), 'upgrade-desk-dovecot-'));
  const home = path.join(dir, 'mail', user);
  mkdirSync(home, { recursive: true });
  // Dovecot's processes run as other users: they must reach the config, the users file and the mail.
  chmodSync(dir, 0o755);
  let mailIds: { uid: number; gid: number };
  let internalUser: string;
  let loginUser: string;
  let internalGroup: string | null = null;
  if (isRoot()) {
    mailIds = passwdEntry('nobody')!;
    internalUser = 'dovecot';
    loginUser = 'dovenull';
    chownSync(path.join(dir, 'mail'), mailIds.uid, mailIds.gid);
    chownSync(home, mailIds.uid, mailIds.gid);
  } else {
    const me = userInfo();
    mailIds = { uid: me.uid, gid: me.gid };
    internalUser = me.username;
    loginUser = me.username;
    // Dovecot's sockets belong to the internal group, which a non-root master can only give to its own group.
    internalGroup =
      readFileSync('/etc/group', 'utf8')
        .split('\n')
        .map((l) => l.split(':'))
        .find((f) => f[2] === String(me.gid))?.[0] ?? null;
  }
  const usersFile = path.join(dir, 'users');
  writeFileSync(usersFile, `${user}:{PLAIN}${password}:${mailIds.uid}:${mailIds.gid}::${home}\n`, { mode: 0o644 });
  const port = await freePort();
  const configFile = path.join(dir, 'dovecot.conf');
  writeFileSync(
    configFile,
    configFor(available.version, { dir, port, usersFile, internalUser, internalGroup, loginUser, firstValidUid: Math.min(mailIds.uid, 500) || 1, extra: options.extraConfig ?? '' }),
    { mode: 0o644 },
  );
  const logFile = path.join(dir, 'dovecot.log');
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

  let output = '';
  const child: ChildProcess = spawn(bin, ['-F', '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', (error) => {
      exited = { code: null, signal: null };
      output += String(error);
      resolve();
    });
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      if (!exited && child.pid !== undefined) {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 5_000)));
        if ((await Promise.race([exit.then(() => 'exited' as const), bound])) === 'timeout' && !exited) {
          child.kill('SIGKILL');
          await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 2_000))]);
        }
        clearTimeout(timer);
      }
    } finally {
      child.stdout?.destroy();
      child.stderr?.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  };

  // Wait (bounded) until the IMAP listener greets.
  const deadline = Date.now() + 20_000;
  for (let attempt = 0; ; attempt++) {
    if (exited) {
      const why = `dovecot exited (${JSON.stringify(exited)}) before listening:\n${output}\n--- dovecot.log ---\n${readLog().slice(-3000)}`;
      await stop();
      throw new Error(why);
    }
    try {
      await greeting(port, 1_000);
      break;
    } catch (error) {
      if (Date.now() > deadline || attempt >= 200) {
        const why = `dovecot did not answer on 127.0.0.1:${port} within 20 s (${String(error)}):\n${output}\n--- dovecot.log ---\n${readLog().slice(-3000)}`;
        await stop();
        throw new Error(why);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const doveadm = findBinary('doveadm', process.env.DOVEADM_BIN);
  return {
    version: available.version,
    host: '127.0.0.1',
    port,
    user,
    password,
    url: `imap://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    maildir: path.join(home, 'Maildir'),
    log: readLog,
    async kick() {
      if (!doveadm) throw new Error('doveadm not found');
      await run(doveadm, ['-c', configFile, 'kick', user], { timeout: 10_000 });
    },
    stop,
  };
}
