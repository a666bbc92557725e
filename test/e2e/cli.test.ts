/**
 * The built `upgrade-desk` command driven as a user would: import records, type commands in the
 * console, read the requests as JSON, start the bot and stop it. Real processes, a real SQLite
 * file in a temporary directory.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeDiscord } from '../fakes/fake-discord.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/upgrade-desk.js');
const DEMO = path.join(ROOT, 'examples/demo-records.json');

let dir: string;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], input = '', env: Record<string, string> = {}, timeoutMs = 20_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'warn', PORT: '0', SMTP_INTAKE_PORT: '0', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`upgrade-desk ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'upgrade-desk-e2e-'));
  if (!existsSync(path.join(ROOT, 'dist/src/cli.js'))) throw new Error('run `npm run build` first (npm test does)');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the upgrade-desk command line', () => {
  it('lists every subcommand in --help', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const sub of ['start', 'migrate', 'import', 'console', 'requests']) expect(r.stdout).toContain(`  ${sub}`);
  });

  it('reports a bad row with its position and imports nothing', async () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        customers: [{ name: 'Initech', email: 'it@initech.example', phone: '+1 555 0199', timezone: 'Mars/Olympus' }],
      }),
    );
    const r = await cli(['import', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Nothing was imported');
    expect(r.stderr).toMatch(/customers\[0\].*timezone/);
    const list = await cli(['requests', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('imports the records file and runs a console script from request to consent', async () => {
    const imported = await cli(['import', DEMO]);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/devices\s+8\s+0\s+0/);

    const bob = await cli(
      ['console', '--as', 'bob@acme.example'],
      [
        '# a comment, skipped',
        'request device=edge-01 version=7.1.0 when=window mac=00-1a-2b-3c-4d-5e ip=203.0.113.10 serial=SN-1001',
        '/upgrade request device=edge-01 version=7.1.0 when=now mac=00:1A:2B:3C:4D:5E ip=203.0.113.99 serial=SN-1001',
        '/upgrade status UPG-000002',
        '/upgrade request colour=blue',
      ].join('\n'),
    );
    expect(bob.code).toBe(0);
    expect(bob.stdout).toContain('UPG-000001 received, awaiting consent');
    expect(bob.stdout).toMatch(/hardware_mismatch \[edge-01\]: .*IP address/);
    expect(bob.stdout).toContain('Error (invalid_arguments): Unknown key "colour"');
    expect(bob.stdout).not.toMatch(/at .*\.(ts|js):\d+/);

    const jane = await cli(['console', '--as', 'jane@acme.example'], '/upgrade approve UPG-000001\n');
    expect(jane.code).toBe(0);
    expect(jane.stdout).toContain('UPG-000001 approved by Jane Doe');

    const json = await cli(['requests', '--json']);
    const requests = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    const first = requests.find((r) => r.ref === 'UPG-000001');
    expect(first).toEqual({
      ref: 'UPG-000001',
      status: 'scheduled',
      customer: 'Acme Corp',
      devices: [{ name: 'edge-01', status: 'pending', runState: null }],
      targetVersion: '7.1.0',
      schedule: { mode: 'window', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT01:00:00\.000Z$/) },
      findings: expect.arrayContaining([expect.objectContaining({ code: 'missing_manager_password', severity: 'warning' })]),
      approvals: [{ by: 'Jane Doe <jane@acme.example>', decision: 'approved', via: 'console', at: expect.any(String) }],
    });
    expect(requests.find((r) => r.ref === 'UPG-000002')?.status).toBe('rejected');

    const reimport = await cli(['import', DEMO]);
    expect(reimport.stdout).toMatch(/devices\s+0\s+0\s+8/);
  });

  it('tells an unknown person so and exits 2', async () => {
    const r = await cli(['console', '--as', 'mallory@evil.example'], '/upgrade list\n');
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('We could not find the address mallory@evil.example');
  });

  it('names every bad environment variable and starts nothing', async () => {
    const r = await cli(['migrate'], '', { PORT: 'eighty', AGENDA_BACKEND: 'redis' });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('PORT');
    expect(r.stderr).toContain('AGENDA_BACKEND');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('starts on the embedded defaults, loads the demo into an empty database, answers /healthz and stops on SIGTERM', async () => {
    const fresh = mkdtempSync(path.join(tmpdir(), 'upgrade-desk-start-'));
    try {
      const child = spawn(process.execPath, [BIN, 'start'], {
        cwd: fresh,
        env: { PATH: process.env.PATH ?? '', HOME: fresh, LOG_LEVEL: 'warn', PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start within 20 s:\n${stdout}\n${stderr}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          const m = /health at (http:\/\/127\.0\.0\.1:\d+)\/healthz/.exec(stdout);
          if (m) {
            clearTimeout(timer);
            resolve(m[1] as string);
          }
        });
      });
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect(stderr).toContain('Loaded the demo records');
      expect(existsSync(path.join(fresh, 'data/upgrade-desk.sqlite'))).toBe(true);
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('registers the Discord commands with discord:register, and refuses without the Discord settings', async () => {
    const fake = await FakeDiscord.start();
    try {
      const env = { DISCORD_TOKEN: fake.token, DISCORD_APPLICATION_ID: fake.applicationId, DISCORD_API_URL: fake.apiUrl };
      const r = await cli(['discord:register', '--guild', '1000'], '', env);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toContain('Registered /upgrade');
      expect(r.stdout).toContain(`client_id=${fake.applicationId}&scope=bot%20applications.commands&permissions=84992`);
      expect(fake.commands.guilds.get('1000')?.map((c: { name: string }) => c.name)).toEqual(['upgrade', 'upgrade-admin']);
      const bad = await cli(['discord:register', '--guild', 'my-server'], '', env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--guild takes a server id');
      const none = await cli(['discord:register']);
      expect(none.code).toBe(78);
      expect(none.stderr).toContain('DISCORD_TOKEN and DISCORD_APPLICATION_ID');
    } finally {
      await fake.close();
    }
  });

  it('starts with Discord settings, connects to the gateway and answers /upgrade help', async () => {
    const fake = await FakeDiscord.start();
    const fresh = mkdtempSync(path.join(tmpdir(), 'upgrade-desk-discord-start-'));
    try {
      const child = spawn(process.execPath, [BIN, 'start'], {
        cwd: fresh,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: fresh,
          LOG_LEVEL: 'warn',
          PORT: '0',
          SMTP_INTAKE_PORT: '0',
          DISCORD_TOKEN: fake.token,
          DISCORD_APPLICATION_ID: fake.applicationId,
          DISCORD_API_URL: fake.apiUrl,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      await fake.ready(20_000).catch((e: unknown) => {
        throw new Error(`${String(e)}\n${stderr}`);
      });
      const { token } = fake.sendInteraction(fake.slashCommand({ userId: '2200', channelId: '1100', name: 'upgrade', subcommand: 'help' }));
      const answer = await fake.waitFor(() => fake.original(token)?.embeds[0], 15_000, 'the answer to /upgrade help');
      expect(JSON.stringify(answer)).toContain('/upgrade request');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await fake.close();
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
