import { startRequest } from '../../src/services/start-request.js';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { ALEX, BOB, JANE, PAT, edge01, harness, refOf } from './harness.js';
import type { Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});

const EDGE02 = '/upgrade request device=edge-02 version=7.3.0 when=window mac=00:1A:2B:3C:4D:5F ip=203.0.113.11 serial=SN-1002';

async function scheduled(when: string, command = edge01()): Promise<string> {
  const ref = refOf(await h.as(BOB).run(command.replace('when=window', `when=${when}`)));
  const approved = await h.as(JANE).run(`/upgrade approve ${ref}`);
  expect(approved.error).toBeUndefined();
  expect((await h.store.requests.byRef(ref))?.status).toBe('scheduled');
  return ref;
}

describe('/upgrade-admin maintenance', () => {
  it('adds a window, cancels the scheduled upgrades it overlaps and tells their customers', async () => {
    const overlapping = await scheduled('2026-12-05T10:00Z');
    const clear = await scheduled('2026-12-12T10:00Z', EDGE02);
    const reply = await h.as(PAT).run('/upgrade-admin maintenance add 2026-12-05T09:00Z 2026-12-05T12:00Z "Storage migration"');
    expect(reply.error).toBeUndefined();
    const cancelled = await h.store.requests.byRef(overlapping);
    expect(cancelled?.status).toBe('cancelled');
    expect(cancelled?.statusReason).toContain('Storage migration');
    expect((await h.store.requests.byRef(clear))?.status).toBe('scheduled');
    const notices = (await h.store.outbox.forRequest(cancelled!.id)).filter((m) => m.kind === 'cancelled');
    expect(notices.map((m) => m.destination)).toEqual(expect.arrayContaining(['slack:C0ACME', 'discord:1100']));
  });

  it('refuses new upgrades inside a new window', async () => {
    await h.as(PAT).run('/upgrade-admin maintenance add 2026-12-05T09:00Z 2026-12-05T12:00Z "Storage migration"');
    const ref = refOf(await h.as(BOB).run(edge01().replace('when=window', 'when=2026-12-05T10:00Z')));
    expect((await h.store.requests.byRef(ref))?.findings.map((f) => f.code)).toContain('blackout_conflict');
  });

  it('lists and removes windows', async () => {
    const added = await h.as(PAT).text('/upgrade-admin maintenance add 2026-12-05T09:00+01:00 2026-12-05T12:00+01:00 Storage');
    const id = /window (\d+) added/.exec(added)?.[1];
    expect(id).toBeDefined();
    expect(await h.as(PAT).text('/upgrade-admin maintenance list')).toContain('2026-12-05T08:00:00.000Z');
    const removed = await h.as(PAT).run(`/upgrade-admin maintenance remove ${id}`);
    expect(removed.error).toBeUndefined();
    expect(await h.as(PAT).text('/upgrade-admin maintenance list')).not.toContain('Storage');
    expect((await h.as(PAT).run(`/upgrade-admin maintenance remove ${id}`)).error?.code).toBe('unknown_window');
  });

  it('refuses times without an offset and windows that end before they start', async () => {
    expect((await h.as(PAT).run('/upgrade-admin maintenance add 2026-12-05T09:00 2026-12-05T12:00 x')).error?.code).toBe('invalid_time');
    expect((await h.as(PAT).run('/upgrade-admin maintenance add 2026-12-05T12:00Z 2026-12-05T09:00Z x')).error?.code).toBe('invalid_time');
  });

  it('is for platform admins only', async () => {
    for (const who of [ALEX, JANE]) {
      const reply = await h.as(who).run('/upgrade-admin maintenance add 2026-12-05T09:00Z 2026-12-05T12:00Z x');
      expect(reply.error?.code).toBe('not_authorized');
    }
    expect((await h.store.windows.maintenance()).map((w) => w.reason)).toEqual(['Platform maintenance']);
  });
});

describe('/upgrade-admin assign and run', () => {
  it('assigns a request to an agent', async () => {
    const ref = await scheduled('2026-12-12T10:00Z');
    const reply = await h.as(PAT).run(`/upgrade-admin assign ${ref} ${ALEX}`);
    expect(reply.error).toBeUndefined();
    const alex = await h.store.people.byEmail(ALEX);
    expect((await h.store.requests.byRef(ref))?.assignedAgentId).toBe(alex?.id);
    expect((await h.as(PAT).run(`/upgrade-admin assign ${ref} ${BOB}`)).error?.code).toBe('unknown_agent');
  });

  it('drives a run in progress through the state machine to completion', async () => {
    const ref = await scheduled('2026-12-12T10:00Z');
    const request = (await h.store.requests.byRef(ref))!;
    // The queue's start job: consent still matches the hardware, so the run is created.
    expect(await startRequest(h.deps, request.id, request.schedule.at!)).toEqual({ ok: true, value: { kind: 'started', runs: [expect.any(Number)] } });
    expect(h.scheduler.synced).toContain(request.id);
    const states: string[] = [];
    for (let i = 0; i < 7; i++) {
      const reply = await h.as(ALEX).run(`/upgrade-admin run ${ref} next`);
      expect(reply.error).toBeUndefined();
      const r = (await h.store.requests.byRef(ref))!;
      states.push(r.items[0]!.run!.state);
    }
    expect(states).toEqual(['prepare_split', 'split', 'prepare_merge', 'merge', 'commit', 'finish', 'done']);
    const done = (await h.store.requests.byRef(ref))!;
    expect(done.status).toBe('completed');
    // The queued start, then the seven transitions.
    expect(await h.store.runs.events(done.items[0]!.run!.id)).toHaveLength(8);
  });

  it('aborts a run through abort and finish', async () => {
    const ref = await scheduled('2026-12-12T10:00Z');
    const request = (await h.store.requests.byRef(ref))!;
    await startRequest(h.deps, request.id, request.schedule.at!);
    await h.as(ALEX).run(`/upgrade-admin run ${ref} next`);
    expect((await h.as(ALEX).run(`/upgrade-admin run ${ref} abort`)).error).toBeUndefined();
    await h.as(ALEX).run(`/upgrade-admin run ${ref} next`);
    await h.as(ALEX).run(`/upgrade-admin run ${ref} next`);
    expect((await h.store.requests.byRef(ref))?.status).toBe('aborted');
  });

  it('refuses to drive a request that is not running', async () => {
    const ref = await scheduled('2026-12-12T10:00Z');
    const reply = await h.as(ALEX).run(`/upgrade-admin run ${ref} next`);
    expect(reply.error?.code).toBe('no_active_run');
  });

  it('refuses an unknown run event with the valid choices', async () => {
    const reply = await h.as(ALEX).run('/upgrade-admin run UPG-000001 skip');
    expect(reply.error?.code).toBe('invalid_arguments');
    expect(reply.error?.message).toContain('next, retry, abort');
  });
});
