import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config.js';
import type { Device, RequestItem, Run, RunState, UpgradeRequest } from '../../src/domain/types.js';
import { AttemptCounter } from '../../src/infra/executors/attempts.js';
import { createExecutor } from '../../src/infra/executors/create-executor.js';
import { ManualExecutor } from '../../src/infra/executors/manual-executor.js';
import { ScriptExecutor } from '../../src/infra/executors/script-executor.js';
import { SimulateExecutor } from '../../src/infra/executors/simulate-executor.js';
import { parseFailureSpec } from '../../src/infra/executors/simulate-failures.js';
import { startSimulatedDevice } from '../../src/infra/executors/simulated-device.js';
import { HttpStatusChecker } from '../../src/infra/status-check.js';
import type { Executor, StepContext, StepResult } from '../../src/ports.js';
import { MemoryLogger } from '../fakes/memory-logger.js';
import { aDevice } from '../fakes/device.js';

const T0 = new Date('2025-03-02T06:00:00Z');
const PASSWORD = 'Tr0ub4dor&3-s3cret';

const device: Device = aDevice({ name: 'node-a', serial: 'SN-100007', mac: '02:00:00:00:00:07', ip: '198.51.100.7', version: '7.1.0' });

/** A step context for run `runId` moving from `from` to `target` (a retry when they are equal). */
function step(target: RunState, options: { from?: RunState; runId?: number; attempt?: number; aborted?: boolean; password?: string | null; signal?: AbortSignal; device?: Device } = {}): StepContext {
  const run: Run = {
    id: options.runId ?? 1,
    requestItemId: 11,
    state: options.from ?? 'idle',
    condition: 'ok',
    attempt: options.attempt ?? 1,
    outcome: options.aborted ? 'aborted' : 'pending',
    agentId: null,
    issues: [],
    startedAt: T0,
    finishedAt: null,
    updatedAt: T0,
    postCheck: null,
  };
  const item: RequestItem = {
    id: 11,
    requestId: 3,
    deviceId: device.id,
    deviceName: device.name,
    seq: 0,
    fromVersion: '7.1.0',
    targetVersion: '7.2.0',
    findings: [],
    run,
  };
  const request: UpgradeRequest = {
    id: 3,
    ref: 'UPG-000003',
    status: 'in_progress',
    customerId: 1,
    requesterId: 2,
    targetVersion: '7.2.0',
    schedule: { mode: 'now', at: null },
    options: { forced: false, redeploy: false, notifyPartner: false, notifyCustomer: true },
    note: null,
    bulk: false,
    findings: [],
    via: 'console',
    contactEmail: 'it@acme.example',
    assignedAgentId: null,
    statusReason: null,
    createdAt: T0,
    updatedAt: T0,
    items: [item],
    approvals: [],
  };
  return {
    request,
    item,
    device: options.device ?? device,
    run,
    target,
    managerPassword: options.password === undefined ? null : options.password,
    signal: options.signal ?? new AbortController().signal,
  };
}

const HAPPY: [RunState, RunState][] = [
  ['idle', 'prepare_split'],
  ['prepare_split', 'split'],
  ['split', 'prepare_merge'],
  ['prepare_merge', 'merge'],
  ['merge', 'commit'],
  ['commit', 'finish'],
  ['finish', 'done'],
];

/** Drives one run along the happy path, retrying each step until it is done (at most 5 tries a step). */
async function driveHappyPath(executor: Executor, runId: number): Promise<{ target: RunState; result: StepResult }[]> {
  const seen: { target: RunState; result: StepResult }[] = [];
  for (const [from, target] of HAPPY) {
    for (let i = 0; i < 5; i++) {
      const result = await executor.perform(step(target, { from, runId }));
      seen.push({ target, result });
      if (result.outcome === 'done') break;
    }
  }
  return seen;
}

/** Whether a process is running (a zombie or a vanished pid counts as gone). */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits (at most `ms`) until the process is gone; true when it is. */
async function gone(pid: number, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!(await alive(pid))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !(await alive(pid));
}

describe('the manual executor', () => {
  it('leaves every step to an agent', async () => {
    const executor = new ManualExecutor();
    expect(executor.kind).toBe('manual');
    for (let i = 0; i < HAPPY.length; i++) expect(await executor.perform()).toEqual({ outcome: 'waiting' });
  });
});

describe('the simulate executor', () => {
  it('completes every step with holdMs = stepMs and a message of its own', async () => {
    const seen = await driveHappyPath(new SimulateExecutor({ stepMs: 1500 }), 1);
    expect(seen.map((s) => s.target)).toEqual(HAPPY.map(([, t]) => t));
    for (const { result } of seen) {
      expect(result).toEqual({ outcome: 'done', message: expect.any(String), holdMs: 1500 });
    }
    const messages = seen.map((s) => (s.result as { message: string }).message);
    expect(new Set(messages).size).toBe(messages.length);
    expect(messages[1]).toBe('Split the cluster: standby node detached and taken out of service');
    expect(messages[3]).toContain('7.2.0');
    expect(messages.at(-1)).toBe('Upgrade complete');
  });

  it('restores the configuration on abort and finishes on the original version', async () => {
    const executor = new SimulateExecutor({ stepMs: 10 });
    const abort = await executor.perform(step('abort', { from: 'merge', aborted: true }));
    expect(abort).toEqual({ outcome: 'done', message: 'Configuration restored: the device is back on 7.1.0', holdMs: 10 });
    const finish = await executor.perform(step('finish', { from: 'abort', aborted: true }));
    expect(finish.outcome === 'done' && finish.message).toBe('Cleaned up; the device stays on 7.1.0');
    const done = await executor.perform(step('done', { from: 'finish', aborted: true }));
    expect(done.outcome === 'done' && done.message).toBe('Run closed after abort');
  });

  it('fails the merge step once per run with "merge:1", then succeeds', async () => {
    const executor = new SimulateExecutor({ stepMs: 0, failures: 'merge:1' });
    for (const runId of [1, 2]) {
      const seen = await driveHappyPath(executor, runId);
      const merges = seen.filter((s) => s.target === 'merge').map((s) => s.result.outcome);
      expect(merges).toEqual(['transient', 'done']);
      expect(seen.filter((s) => s.result.outcome !== 'done')).toHaveLength(1);
      const failed = seen.find((s) => s.result.outcome === 'transient')!.result as { message: string };
      expect(failed.message).toMatch(/^merge: .*\(simulated\); retrying$/);
    }
  });

  it('counts transient failures: "prepare_split:3" fails three times', async () => {
    const seen = await driveHappyPath(new SimulateExecutor({ stepMs: 0, failures: 'prepare_split:3' }), 1);
    expect(seen.filter((s) => s.target === 'prepare_split').map((s) => s.result.outcome)).toEqual(['transient', 'transient', 'transient', 'done']);
  });

  it('marks the split broken with "split:broken" until an agent clears and retries it', async () => {
    const executor = new SimulateExecutor({ stepMs: 0, failures: 'split:broken,commit:busy' });
    const first = await executor.perform(step('split', { from: 'prepare_split' }));
    expect(first.outcome).toBe('broken');
    expect(first.outcome === 'broken' && first.message).toContain('simulated');
    // The engine sets the condition; after `clear`, the agent retries the same step.
    expect((await executor.perform(step('split', { from: 'prepare_split' }))).outcome).toBe('done');
    expect((await executor.perform(step('commit', { from: 'merge' }))).outcome).toBe('busy');
    expect((await executor.perform(step('commit', { from: 'commit', attempt: 1 }))).outcome).toBe('done');
  });

  it('is deterministic: two executors with the same spec give the same results', async () => {
    const a = await driveHappyPath(new SimulateExecutor({ stepMs: 5, failures: 'merge:2,finish:1' }), 9);
    const b = await driveHappyPath(new SimulateExecutor({ stepMs: 5, failures: 'merge:2,finish:1' }), 9);
    expect(a).toEqual(b);
    expect(a.filter((s) => s.result.outcome === 'transient').map((s) => s.target)).toEqual(['merge', 'merge', 'finish']);
  });

  it('refuses a spec that does not parse', () => {
    expect(() => new SimulateExecutor({ stepMs: 0, failures: 'merge:often' })).toThrow(/Invalid simulate failures/);
    expect(() => new SimulateExecutor({ stepMs: -1 })).toThrow(/stepMs/);
  });

  it('reports an interrupted step when the bot is shutting down', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await new SimulateExecutor({ stepMs: 0 }).perform(step('split', { from: 'prepare_split', signal: controller.signal }));
    expect(result).toEqual({ outcome: 'transient', message: 'interrupted: the bot is shutting down' });
  });

  it('tells the finish hook the target version after commit and the original one after abort', async () => {
    const calls: [string, string][] = [];
    const executor = new SimulateExecutor({ stepMs: 0, onFinish: (d, v) => void calls.push([d.name, v]) });
    await executor.perform(step('finish', { from: 'commit', runId: 1 }));
    await executor.perform(step('finish', { from: 'abort', runId: 2, aborted: true }));
    expect(calls).toEqual([
      ['node-a', '7.2.0'],
      ['node-a', '7.1.0'],
    ]);
  });

  it('reports broken when the finish hook fails', async () => {
    const executor = new SimulateExecutor({ stepMs: 0, onFinish: () => Promise.reject(new Error('device unreachable')) });
    expect(await executor.perform(step('finish', { from: 'commit' }))).toEqual({
      outcome: 'broken',
      message: 'finish: could not update the simulated device: device unreachable',
    });
  });
});

describe('a simulated device', () => {
  it('reports the new version over HTTP once a simulated run finishes', async () => {
    const sim = await startSimulatedDevice({ version: '7.1.0' });
    try {
      const devices = new Map([[device.id, sim]]);
      const executor = new SimulateExecutor({ stepMs: 0, onFinish: (d, v) => devices.get(d.id)?.setVersion(v) });
      const onRecord = { ...device, statusUrl: sim.statusUrl };
      const checker = new HttpStatusChecker({ timeoutMs: 1000, retries: 0, backoffMs: 0 });
      expect((await checker.check(onRecord, '7.2.0')).version).toBe('7.1.0');
      await driveHappyPath(executor, 1);
      const check = await checker.check(onRecord, '7.2.0');
      expect(check).toMatchObject({ ok: true, version: '7.2.0' });
      expect(sim.version).toBe('7.2.0');
      const raw = await fetch(sim.statusUrl);
      expect(await raw.json()).toEqual({ status: 'ok', version: '7.2.0' });
      expect((await fetch(`${sim.url}/other`)).status).toBe(404);
      sim.setDown(true);
      expect(await checker.check(onRecord, '7.2.0')).toMatchObject({ ok: false, version: null });
    } finally {
      await sim.close();
    }
  });
});

describe('attempt counting', () => {
  it('numbers repeated attempts of a step and forgets a run once it is done', () => {
    const counter = new AttemptCounter();
    expect(counter.next(step('merge', { from: 'prepare_merge' }))).toBe(1);
    expect(counter.next(step('merge', { from: 'prepare_merge' }))).toBe(2);
    expect(counter.next(step('commit', { from: 'merge' }))).toBe(1);
    expect(counter.next(step('commit', { from: 'commit', attempt: 4, runId: 2 }))).toBe(5);
    // After a restart the run's own counter still numbers the attempt.
    expect(new AttemptCounter().next(step('split', { from: 'prepare_split', attempt: 3 }))).toBe(3);
    expect(counter.size).toBe(2);
    counter.next(step('done', { from: 'finish' }));
    counter.next(step('done', { from: 'finish', runId: 2 }));
    expect(counter.size).toBe(0);
  });
});

describe('the simulate failures spec', () => {
  it.each([
    ['', []],
    ['  ', []],
    ['merge:1', [{ state: 'merge', kind: 'transient', times: 1 }]],
    ['SPLIT:Broken', [{ state: 'split', kind: 'broken' }]],
    ['commit:busy, abort:2', [{ state: 'commit', kind: 'busy' }, { state: 'abort', kind: 'transient', times: 2 }]],
  ])('reads %j', (spec, expected) => {
    expect(parseFailureSpec(spec)).toEqual({ ok: true, value: expected });
  });

  it.each(['merge', 'merge:', ':1', 'warp:1', 'idle:1', 'merge:101', 'merge:1;split:1'])('rejects %j', (spec) => {
    expect(parseFailureSpec(spec).ok).toBe(false);
  });
});

describe('the script executor', () => {
  let dir: string;
  const baseEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', OUT_DIR: dir });

  /** Writes an executable shell script into the temp dir and returns its path. */
  async function script(name: string, body: string): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upgrade-desk-script-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports done with the last non-empty line of stdout', async () => {
    const file = await script('ok.sh', 'echo "starting $UPGRADE_STATE"\necho "  standby detached  "\necho\necho "   "');
    const result = await new ScriptExecutor({ command: file, env: baseEnv() }).perform(step('split', { from: 'prepare_split' }));
    expect(result).toEqual({ outcome: 'done', message: 'standby detached' });
  });

  it('says the step is done when the script prints nothing', async () => {
    const result = await new ScriptExecutor({ command: 'true', env: baseEnv() }).perform(step('prepare_merge', { from: 'split' }));
    expect(result).toEqual({ outcome: 'done', message: 'prepare merge done' });
  });

  it.each([
    [75, 'transient', 'merge: temporary failure (exit 75): readiness probe timed out'],
    [76, 'busy', 'merge: the device is busy (exit 76): readiness probe timed out'],
    [1, 'broken', 'merge: the script failed (exit 1): readiness probe timed out'],
    [3, 'broken', 'merge: the script failed (exit 3): readiness probe timed out'],
  ])('maps exit %i to %s, using the stderr tail', async (code, outcome, message) => {
    const file = await script(`exit-${code}.sh`, `echo "progress line"\necho "readiness probe timed out" >&2\nexit ${code}`);
    const result = await new ScriptExecutor({ command: file, env: baseEnv() }).perform(step('merge', { from: 'prepare_merge' }));
    expect(result).toEqual({ outcome, message });
  });

  it('falls back to stdout for a failure message when stderr is empty', async () => {
    const result = await new ScriptExecutor({ command: 'echo "disk full on standby"; exit 2', env: baseEnv() }).perform(step('split'));
    expect(result).toEqual({ outcome: 'broken', message: 'split: the script failed (exit 2): disk full on standby' });
  });

  it('reports a command that cannot be found as broken', async () => {
    const result = await new ScriptExecutor({ command: join(dir, 'missing.sh'), env: baseEnv() }).perform(step('split'));
    expect(result.outcome).toBe('broken');
    expect(result.outcome === 'broken' && result.message).toMatch(/exit 127.*not found/);
  });

  it('hands the step over in environment variables, never on the command line', async () => {
    const file = await script(
      'env.sh',
      'for v in UPGRADE_STATE UPGRADE_PREVIOUS_STATE UPGRADE_ATTEMPT REQUEST_REF DEVICE_NAME DEVICE_PRODUCT DEVICE_SERIAL DEVICE_IP DEVICE_MAC FROM_VERSION TARGET_VERSION MANAGER_PASSWORD SECRETS_KEY; do\n' +
        '  eval "printf \'%s=%s\\n\' $v \\"\\${$v-<unset>}\\"" >> "$OUT_DIR/env-$RUN_TAG.txt"\ndone\necho ok',
    );
    const hostile = { ...device, name: 'x"; touch "$OUT_DIR/pwned"; echo "$(id)' };
    const env = { ...baseEnv(), SECRETS_KEY: 'bot-secret', MANAGER_PASSWORD: 'inherited' };
    const executor = new ScriptExecutor({ command: file, env: { ...env, RUN_TAG: 'a' } });
    expect((await executor.perform(step('merge', { from: 'prepare_merge', password: PASSWORD, device: hostile }))).outcome).toBe('done');
    const lines = (await readFile(join(dir, 'env-a.txt'), 'utf8')).trim().split('\n');
    expect(lines).toEqual([
      'UPGRADE_STATE=merge',
      'UPGRADE_PREVIOUS_STATE=prepare_merge',
      'UPGRADE_ATTEMPT=1',
      'REQUEST_REF=UPG-000003',
      `DEVICE_NAME=${hostile.name}`,
      'DEVICE_PRODUCT=SysMaster',
      'DEVICE_SERIAL=SN-100007',
      'DEVICE_IP=198.51.100.7',
      'DEVICE_MAC=02:00:00:00:00:07',
      'FROM_VERSION=7.1.0',
      'TARGET_VERSION=7.2.0',
      `MANAGER_PASSWORD=${PASSWORD}`,
      'SECRETS_KEY=<unset>',
    ]);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);

    const second = new ScriptExecutor({ command: file, env: { ...env, RUN_TAG: 'b' } });
    await second.perform(step('merge', { from: 'prepare_merge', password: null }));
    await second.perform(step('merge', { from: 'prepare_merge', password: null }));
    const again = await readFile(join(dir, 'env-b.txt'), 'utf8');
    expect(again).toContain('MANAGER_PASSWORD=<unset>');
    expect(again.match(/UPGRADE_ATTEMPT=\d/g)).toEqual(['UPGRADE_ATTEMPT=1', 'UPGRADE_ATTEMPT=2']);
  });

  it('never lets the manager password into a message or a log line, even when the script prints it', async () => {
    const log = new MemoryLogger();
    const loud = await script('loud.sh', 'echo "logging in as admin with $MANAGER_PASSWORD"\necho "login refused for password=$MANAGER_PASSWORD" >&2\nexit 1');
    const quiet = await script('quiet.sh', 'echo "done, used $MANAGER_PASSWORD"');
    const failed = await new ScriptExecutor({ command: loud, env: baseEnv(), log }).perform(step('split', { password: PASSWORD }));
    const done = await new ScriptExecutor({ command: quiet, env: baseEnv(), log }).perform(step('split', { password: PASSWORD }));
    expect(failed).toEqual({ outcome: 'broken', message: 'split: the script failed (exit 1): login refused for password=[redacted]' });
    expect(done).toEqual({ outcome: 'done', message: 'done, used [redacted]' });
    expect(log.entries).toHaveLength(2);
    expect(JSON.stringify(log.entries)).not.toContain(PASSWORD);
    expect(JSON.stringify([failed, done])).not.toContain(PASSWORD);
  });

  it('keeps only the tail of a large output and clips long messages', async () => {
    const file = await script('big.sh', 'i=0\nwhile [ $i -lt 20000 ]; do echo "line $i of noisy output"; i=$((i+1)); done\necho "final: merged"');
    const result = await new ScriptExecutor({ command: file, env: baseEnv(), maxOutputBytes: 4096 }).perform(step('merge'));
    expect(result).toEqual({ outcome: 'done', message: 'final: merged' });
    const long = await new ScriptExecutor({ command: `printf 'x%.0s' $(seq 1 2000); echo`, env: baseEnv() }).perform(step('merge'));
    expect(long.outcome === 'done' && long.message.length).toBeLessThanOrEqual(300);
    expect(long.outcome === 'done' && long.message.endsWith('…')).toBe(true);
  });

  it('does not leak the part of a password left where the output cap cut it', async () => {
    // 41 bytes on stderr, 30 kept: the kept tail starts inside the password, so that first line is dropped.
    const file = await script('cut.sh', `printf '%s' "$MANAGER_PASSWORD" >&2\necho " rejected" >&2\necho "login failed" >&2\nexit 1`);
    const result = await new ScriptExecutor({ command: file, env: baseEnv(), maxOutputBytes: 30 }).perform(step('split', { password: PASSWORD }));
    expect(result).toEqual({ outcome: 'broken', message: 'split: the script failed (exit 1): login failed' });
  });

  it('stops a script that runs past the timeout, its children included, and reports broken', async () => {
    const file = await script('slow.sh', 'sleep 30 &\necho $! > "$OUT_DIR/slow.pid"\necho "waiting for the standby" \nwait');
    const started = Date.now();
    const result = await new ScriptExecutor({ command: file, env: baseEnv(), timeoutMs: 300, killGraceMs: 500 }).perform(step('commit'));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result).toEqual({ outcome: 'broken', message: 'commit: the script timed out after 300 ms and was stopped: waiting for the standby' });
    const pid = Number(await readFile(join(dir, 'slow.pid'), 'utf8'));
    expect(await gone(pid)).toBe(true);
  });

  it('kills a script that ignores SIGTERM once the grace period is over', async () => {
    const file = await script('stubborn.sh', `trap '' TERM\necho $$ > "$OUT_DIR/stubborn.pid"\nsleep 30`);
    const started = Date.now();
    const result = await new ScriptExecutor({ command: file, env: baseEnv(), timeoutMs: 300, killGraceMs: 300 }).perform(step('commit'));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.outcome).toBe('broken');
    expect(result.outcome === 'broken' && result.message).toMatch(/timed out after 300 ms/);
    expect(await gone(Number(await readFile(join(dir, 'stubborn.pid'), 'utf8')))).toBe(true);
  });

  it('stops the script and reports transient when the bot shuts down', async () => {
    const file = await script('abortable.sh', 'echo $$ > "$OUT_DIR/abortable.pid"\nsleep 30');
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const result = await new ScriptExecutor({ command: file, env: baseEnv(), killGraceMs: 500 }).perform(step('merge', { signal: controller.signal }));
    clearTimeout(timer);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result).toEqual({ outcome: 'transient', message: 'interrupted: the bot is shutting down; the script was stopped' });
    expect(await gone(Number(await readFile(join(dir, 'abortable.pid'), 'utf8')))).toBe(true);
  });

  it('does not start the script when the bot is already shutting down', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await new ScriptExecutor({ command: `touch "$OUT_DIR/started"`, env: baseEnv() }).perform(step('merge', { signal: controller.signal }));
    expect(result.outcome).toBe('transient');
    expect(existsSync(join(dir, 'started'))).toBe(false);
  });

  it('stops background processes the script leaves behind when it exits', async () => {
    const file = await script('leaves.sh', 'sleep 30 > /dev/null 2>&1 &\necho $! > "$OUT_DIR/left.pid"\necho "started helper"');
    const result = await new ScriptExecutor({ command: file, env: baseEnv() }).perform(step('merge'));
    expect(result).toEqual({ outcome: 'done', message: 'started helper' });
    expect(await gone(Number(await readFile(join(dir, 'left.pid'), 'utf8')))).toBe(true);
  });
});

describe('building the executor from the configuration', () => {
  it.each([
    [{ EXECUTOR: 'manual' }, 'manual'],
    [{ EXECUTOR: 'simulate', SIMULATE_FAIL: 'merge:1' }, 'simulate'],
    [{ EXECUTOR: 'script', SCRIPT_COMMAND: 'true' }, 'script'],
  ])('builds %j as a %s executor', (env, kind) => {
    expect(createExecutor(loadConfig(env, '/tmp')).kind).toBe(kind);
  });

  it('passes the configured failures and step time to the simulate executor', async () => {
    const executor = createExecutor(loadConfig({ EXECUTOR: 'simulate', SIMULATE_STEP_MS: '250', SIMULATE_FAIL: 'split:busy' }, '/tmp'));
    expect(await executor.perform(step('prepare_split'))).toMatchObject({ outcome: 'done', holdMs: 250 });
    expect((await executor.perform(step('split', { from: 'prepare_split' }))).outcome).toBe('busy');
  });

  it('runs the configured script command', async () => {
    const executor = createExecutor(loadConfig({ EXECUTOR: 'script', SCRIPT_COMMAND: 'echo "state $UPGRADE_STATE on $DEVICE_NAME"' }, '/tmp'));
    expect(await executor.perform(step('split'))).toEqual({ outcome: 'done', message: 'state split on node-a' });
  });
});
