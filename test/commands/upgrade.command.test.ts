import { beforeEach, describe, expect, it } from '@jest/globals';
import { registry } from '../../commands/index.js';
import { dispatch } from '../../src/core/dispatch.js';
import { toPlainText } from '../../src/core/reply.js';
import { ALEX, BOB, GRETA, JANE, PAT, edge01, harness, refOf } from './harness.js';
import type { Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});

async function requestByRef(ref: string) {
  const r = await h.store.requests.byRef(ref);
  if (!r) throw new Error(`no request ${ref}`);
  return r;
}

describe('/upgrade request', () => {
  it('files a valid request that waits for consent and tells the customer channel and ops', async () => {
    const reply = await h.as(BOB).run(edge01());
    expect(reply.error).toBeUndefined();
    const ref = refOf(reply);
    const request = await requestByRef(ref);
    expect(request.status).toBe('awaiting_consent');
    expect(request.items.map((i) => [i.deviceName, i.fromVersion, i.targetVersion])).toEqual([['edge-01', '5.2.0', '7.1.0']]);
    expect(request.via).toBe('console');
    const destinations = (await h.store.outbox.forRequest(request.id)).map((m) => `${m.kind} ${m.destination}`).sort();
    expect(destinations).toEqual([
      'consent_needed discord:1100',
      'consent_needed slack:C0ACME',
      'request_received ops',
    ]);
    const audit = await h.store.audit.list({ entity: 'request', entityId: ref });
    expect(audit.map((a) => a.action)).toContain('request_filed');
    expect(toPlainText(reply)).toMatch(/awaiting consent/);
  });

  it('answers a request from the web form by e-mail to the requester on record, and asks the representatives by e-mail too', async () => {
    const reply = await dispatch(registry, h.deps, { id: 'web-1', via: 'web', identity: { kind: 'email', address: BOB }, text: edge01() });
    const request = await requestByRef(refOf(reply));
    expect(request.via).toBe('web');
    const bob = await h.store.people.byEmail(BOB);
    const jane = await h.store.people.byEmail(JANE);
    const destinations = (await h.store.outbox.forRequest(request.id)).map((m) => `${m.kind} ${m.destination}`).sort();
    expect(destinations).toEqual([
      'consent_needed discord:1100',
      `consent_needed person:${jane!.id}`,
      'consent_needed slack:C0ACME',
      'request_received ops',
      `request_received person:${bob!.id}`,
    ]);
  });

  it('keeps a request with a wrong MAC as rejected, naming the field but not the recorded value', async () => {
    const reply = await h.as(BOB).run(edge01().replace('00:1A:2B:3C:4D:5E', '00:1a:2b:3c:4d:99'));
    const request = await requestByRef(refOf(reply));
    expect(request.status).toBe('rejected');
    const findings = request.items.flatMap((i) => i.findings);
    expect(findings).toEqual([expect.objectContaining({ code: 'hardware_mismatch', severity: 'error', field: 'mac' })]);
    const text = toPlainText(reply);
    expect(text).not.toContain('4d:5e');
    expect(text).not.toContain('4D:5E');
    expect(await h.store.outbox.forRequest(request.id)).toEqual([
      expect.objectContaining({ kind: 'request_received', destination: 'ops' }),
    ]);
  });

  it('accepts the MAC and IP in other notations', async () => {
    const reply = await h.as(BOB).run(edge01().replace('00:1A:2B:3C:4D:5E', '001a.2b3c.4d5e').replace('203.0.113.10', '203.000.113.010'));
    expect((await requestByRef(refOf(reply))).status).toBe('awaiting_consent');
  });

  it('refuses an unknown key before anything is created, naming the valid keys and an example', async () => {
    const reply = await h.as(BOB).run(edge01('colour=blue'));
    expect(reply.error?.code).toBe('invalid_arguments');
    expect(reply.error?.message).toContain('colour');
    expect(reply.error?.hint).toContain('device=');
    expect(reply.error?.hint).toContain('Example: /upgrade request');
    expect(await h.store.requests.list()).toEqual([]);
  });

  it('refuses a missing argument before anything is created', async () => {
    const reply = await h.as(BOB).run('/upgrade request device=edge-01 when=now');
    expect(reply.error).toEqual(expect.objectContaining({ code: 'invalid_arguments', message: expect.stringContaining('version=') }));
    expect(await h.store.requests.list()).toEqual([]);
  });

  it('refuses a local time that does not exist on the spring-forward day, offering valid times', async () => {
    const reply = await h.as(BOB).run(edge01().replace('when=window', 'when=2027-03-14T02:30'));
    expect(reply.error?.code).toBe('nonexistent_local_time');
    expect(reply.error?.hint).toMatch(/01:59.*03:00/);
    expect(await h.store.requests.list()).toEqual([]);
  });

  it('reads a custom time in the customer timezone', async () => {
    const reply = await h.as(BOB).run(edge01().replace('when=window', 'when=2026-11-29T02:00'));
    const request = await requestByRef(refOf(reply));
    expect(request.schedule).toEqual({ mode: 'at', at: new Date('2026-11-29T07:00:00Z') });
  });

  it('rejects a time in the past', async () => {
    const reply = await h.as(BOB).run(edge01().replace('when=window', 'when=2026-11-01T10:00Z'));
    const request = await requestByRef(refOf(reply));
    expect(request.status).toBe('rejected');
    expect(request.findings.map((f) => f.code)).toContain('past_time');
  });

  it('rejects an upgrade overlapping platform maintenance', async () => {
    const reply = await h.as(BOB).run(edge01().replace('when=window', 'when=2026-12-01T05:30Z'));
    expect((await requestByRef(refOf(reply))).findings.map((f) => f.code)).toContain('blackout_conflict');
  });

  it('refuses a second open request for the same device, naming the first', async () => {
    const first = refOf(await h.as(BOB).run(edge01()));
    const second = await h.as(BOB).run(edge01());
    const request = await requestByRef(refOf(second));
    expect(request.status).toBe('rejected');
    const busy = request.items.flatMap((i) => i.findings).find((f) => f.code === 'device_busy');
    expect(busy?.message).toContain(first);
  });

  it('proposes the step path for a jump over two major versions and files it as steps when asked', async () => {
    const jump = await h.as(BOB).run(edge01().replace('version=7.1.0', 'version=9.1.0'));
    const rejected = await requestByRef(refOf(jump));
    const finding = rejected.items.flatMap((i) => i.findings).find((f) => f.code === 'version_jump_too_large');
    expect(finding?.message).toMatch(/5\.2\.0 → 7\.3\.0 → 9\.1\.0/);

    const stepped = await h.as(BOB).run(edge01().replace('version=7.1.0', 'version=9.1.0') + ' steps');
    const request = await requestByRef(refOf(stepped));
    expect(request.status).toBe('awaiting_consent');
    expect(request.items.map((i) => `${i.fromVersion}→${i.targetVersion}`)).toEqual(['5.2.0→7.3.0', '7.3.0→9.1.0']);
  });

  it('tells an unknown person so and creates nothing', async () => {
    const reply = await h.as('mallory@evil.example').run(edge01());
    expect(reply.error?.code).toBe('unknown_requester');
    expect(reply.error?.hint).toMatch(/authorized representative/);
    expect(await h.store.requests.list()).toEqual([]);
  });

  it('identifies chat users by their platform id, never by typed text', async () => {
    const reply = await h.as({ kind: 'slack', userId: 'U0BOB' }).run(edge01('email=jane@acme.example'));
    const request = await requestByRef(refOf(reply));
    const bob = await h.store.people.byEmail(BOB);
    expect(request.requesterId).toBe(bob?.id);
  });

  it('rejects a company name that does not match the records', async () => {
    const reply = await h.as(BOB).run(edge01('company="Acme Inc"'));
    const request = await requestByRef(refOf(reply));
    expect(request.status).toBe('rejected');
    expect(request.findings.filter((f) => f.severity === 'error')).toEqual([
      expect.objectContaining({ code: 'customer_mismatch', field: 'company' }),
    ]);
  });

  it('does not find another company’s device', async () => {
    const reply = await h.as(GRETA).run(edge01());
    const request = await requestByRef(refOf(reply));
    expect(request.findings.map((f) => f.code)).toContain('unknown_device');
  });
});

describe('consent', () => {
  it('lets the authorized representative approve, records who, when and via which channel, and schedules it', async () => {
    const ref = refOf(await h.as(BOB).run(edge01().replace('when=window', 'when=2026-11-29T02:00')));
    h.clock.advance(60_000);
    const reply = await h.as({ kind: 'discord', userId: '2200' }).run(`/upgrade approve ${ref}`);
    expect(reply.error).toBeUndefined();
    const request = await requestByRef(ref);
    expect(request.status).toBe('scheduled');
    expect(request.schedule.at).toEqual(new Date('2026-11-29T07:00:00Z'));
    expect(request.approvals).toEqual([
      expect.objectContaining({
        decision: 'approved',
        via: 'console',
        by: 'Jane Doe <jane@acme.example>',
        at: new Date('2026-11-21T12:01:00Z'),
        acknowledged: expect.arrayContaining(['missing_manager_password']),
      }),
    ]);
    const kinds = (await h.store.outbox.forRequest(request.id)).map((m) => m.kind);
    expect(kinds).toEqual(expect.arrayContaining(['approved', 'scheduled']));
  });

  it('schedules a window request into the next upgrade slot', async () => {
    const ref = refOf(await h.as(JANE).run(edge01()));
    await h.as(JANE).run(`/upgrade approve ${ref}`);
    const request = await requestByRef(ref);
    expect(request.status).toBe('scheduled');
    // Global slot: Sundays 01:00 UTC for 240 minutes; the next one after Saturday noon is the 22nd.
    expect(request.schedule.at).toEqual(new Date('2026-11-22T01:00:00Z'));
  });

  it('refuses consent from a requester who is not a representative, and audits the refusal', async () => {
    const ref = refOf(await h.as(BOB).run(edge01()));
    const reply = await h.as(BOB).run(`/upgrade approve ${ref}`);
    expect(reply.error?.code).toBe('not_authorized');
    expect((await requestByRef(ref)).status).toBe('awaiting_consent');
    const refusals = await h.store.audit.list({ action: 'refused' });
    expect(refusals).toEqual([expect.objectContaining({ actor: BOB, entityId: ref })]);
  });

  it('refuses consent from support staff: only the customer may consent', async () => {
    const ref = refOf(await h.as(BOB).run(edge01()));
    for (const staff of [ALEX, PAT]) {
      const reply = await h.as(staff).run(`/upgrade approve ${ref}`);
      expect(reply.error?.code).toBe('not_authorized');
    }
    expect((await requestByRef(ref)).approvals).toEqual([]);
  });

  it('does not show another customer’s request to a representative', async () => {
    const ref = refOf(await h.as(BOB).run(edge01()));
    const reply = await h.as(GRETA).run(`/upgrade approve ${ref}`);
    expect(reply.error?.code).toBe('unknown_request');
    expect((await requestByRef(ref)).status).toBe('awaiting_consent');
  });

  it('records a decline with its reason and closes the request', async () => {
    const ref = refOf(await h.as(BOB).run(edge01()));
    await h.as(JANE).run(`/upgrade decline ${ref} not during the audit`);
    const request = await requestByRef(ref);
    expect(request.status).toBe('cancelled');
    expect(request.statusReason).toContain('not during the audit');
    expect(request.approvals[0]).toEqual(expect.objectContaining({ decision: 'declined', reason: 'not during the audit' }));
  });

  it('refuses to decide twice', async () => {
    const ref = refOf(await h.as(BOB).run(edge01()));
    await h.as(JANE).run(`/upgrade approve ${ref}`);
    const again = await h.as(JANE).run(`/upgrade decline ${ref}`);
    expect(again.error?.code).toBe('invalid_transition');
    expect((await requestByRef(ref)).approvals).toHaveLength(1);
  });
});

describe('/upgrade cancel', () => {
  it('lets the representative cancel and re-notifies the same recipients', async () => {
    const ref = refOf(await h.as(BOB).run(edge01('notify_partner')));
    await h.as(JANE).run(`/upgrade approve ${ref}`);
    const reply = await h.as(JANE).run(`/upgrade cancel ${ref} moved to next month`);
    expect(reply.error).toBeUndefined();
    const request = await requestByRef(ref);
    expect(request.status).toBe('cancelled');
    const outbox = await h.store.outbox.forRequest(request.id);
    const scheduledTo = outbox.filter((m) => m.kind === 'scheduled').map((m) => m.destination).sort();
    const cancelledTo = outbox.filter((m) => m.kind === 'cancelled').map((m) => m.destination).sort();
    expect(cancelledTo).toEqual(scheduledTo);
    expect(cancelledTo).toContain('email:nora@northwind.example');
  });

  it('lets only a platform admin cancel a forced update', async () => {
    const ref = refOf(await h.as(BOB).run(edge01('forced')));
    const byRep = await h.as(JANE).run(`/upgrade cancel ${ref}`);
    expect(byRep.error?.code).toBe('not_authorized');
    expect(byRep.error?.message).toMatch(/platform admin/);
    const byAdmin = await h.as(PAT).run(`/upgrade cancel ${ref}`);
    expect(byAdmin.error).toBeUndefined();
    expect((await requestByRef(ref)).status).toBe('cancelled');
  });

  it('does not let a requester cancel', async () => {
    const ref = refOf(await h.as(BOB).run(edge01()));
    expect((await h.as(BOB).run(`/upgrade cancel ${ref}`)).error?.code).toBe('not_authorized');
  });
});

describe('/upgrade bulk', () => {
  it('files one request over the devices a selector names, each validated', async () => {
    const reply = await h.as(JANE).run('/upgrade bulk devices=edge-01,edge-02 version=7.3.0 when=window');
    const request = await requestByRef(refOf(reply));
    expect(request.bulk).toBe(true);
    expect(request.status).toBe('awaiting_consent');
    expect(request.items.map((i) => i.deviceName).sort()).toEqual(['edge-01', 'edge-02']);
    expect(request.items.flatMap((i) => i.findings).map((f) => f.code)).toContain('upgrade_required');
  });

  it('rejects the whole bulk request when a device cannot be upgraded, naming it', async () => {
    const reply = await h.as(JANE).run('/upgrade bulk devices=edge-02,lab-01 version=7.3.0 when=window');
    const request = await requestByRef(refOf(reply));
    expect(request.status).toBe('rejected');
    expect(request.items.flatMap((i) => i.findings)).toContainEqual(
      expect.objectContaining({ code: 'device_status_blocked', device: 'lab-01' }),
    );
  });

  it('selects by status', async () => {
    const reply = await h.as(JANE).run('/upgrade bulk devices=status:upgrade_required version=7.3.0 when=now');
    expect((await requestByRef(refOf(reply))).items.map((i) => i.deviceName)).toEqual(['edge-02']);
  });

  it('is not open to plain requesters, who must confirm each device’s hardware', async () => {
    const reply = await h.as(BOB).run('/upgrade bulk devices=edge-02 version=7.3.0 when=now');
    expect(reply.error?.code).toBe('not_authorized');
  });
});

describe('reading requests', () => {
  it('shows a request’s status with its summary of prerequisites, downtime and post-upgrade tasks', async () => {
    const ref = refOf(await h.as(BOB).run(edge01()));
    const text = await h.as(JANE).text(`/upgrade status ${ref}`);
    expect(text).toContain(ref);
    expect(text).toMatch(/Prerequisites:/);
    expect(text).toMatch(/Expected downtime: \d+–\d+ minutes/);
    expect(text).toMatch(/After the upgrade:/);
    expect(text).toContain('[Approve] /upgrade approve');
  });

  it('lists a customer’s own requests only, and all of them for staff', async () => {
    const acme = refOf(await h.as(BOB).run(edge01()));
    const globex = refOf(await h.as(GRETA).run('/upgrade request device=gx-tenant-1 version=8.1.0 when=now mac=00:1A:2B:3C:5E:01 ip=198.51.100.20 serial=SN-2001'));
    const bobList = await h.as(BOB).text('/upgrade list all');
    expect(bobList).toContain(acme);
    expect(bobList).not.toContain(globex);
    const staffList = await h.as(ALEX).text('/upgrade list all');
    expect(staffList).toContain(acme);
    expect(staffList).toContain(globex);
  });

  it('lists releases of the person’s products', async () => {
    const text = await h.as(GRETA).text('/upgrade releases');
    expect(text).toContain('UC Tenant');
    expect(text).not.toContain('SysMaster');
  });

  it('shows upgrade windows and platform maintenance', async () => {
    const text = await h.as(JANE).text('/upgrade windows');
    expect(text).toContain('0 1 * * 0');
    expect(text).toContain('Platform maintenance');
  });
});

describe('/upgrade problem', () => {
  it('keeps the report with the request and tells ops', async () => {
    const ref = refOf(await h.as(BOB).run(edge01()));
    const reply = await h.as(BOB).run(`/upgrade problem ${ref} the status page shows an error`);
    expect(reply.error).toBeUndefined();
    const request = await requestByRef(ref);
    expect(await h.store.problems.forRequest(request.id)).toEqual([
      expect.objectContaining({ text: 'the status page shows an error', via: 'console' }),
    ]);
    expect((await h.store.outbox.forRequest(request.id)).some((m) => m.kind === 'problem_reported' && m.destination === 'ops')).toBe(true);
  });
});

describe('help', () => {
  it.each(registry.commands.map((c) => [c.group, c.name] as const))('explains /%s %s with its arguments and an example', async (group, name) => {
    const text = await h.as(BOB).text(`/${group} help ${name}`);
    expect(text).toContain(`/${group} ${name}:`);
    expect(text).toContain('Example:');
  });

  it('lists every command of a group', async () => {
    const text = await h.as(BOB).text('/upgrade help');
    for (const c of registry.commands.filter((c) => c.group === 'upgrade')) expect(text).toContain(`/upgrade ${c.name}`);
  });

  it('answers an unknown command with the way to help', async () => {
    const reply = await h.as(BOB).run('/upgrade frobnicate');
    expect(reply.error?.code).toBe('unknown_command');
    expect(reply.error?.hint).toContain('/upgrade help');
  });
});

describe('unexpected failures', () => {
  it('are logged once with the invocation id, and the user sees the id but no stack trace', async () => {
    h.store.requests.list = async () => {
      throw new Error('disk on fire');
    };
    const reply = await h.as(BOB).run('/upgrade list all');
    expect(reply.error?.code).toBe('internal_error');
    const errors = h.log.entries.filter((e) => e.level === 'error');
    expect(errors).toHaveLength(1);
    const invocationId = (errors[0]?.obj as { invocationId: string }).invocationId;
    expect(reply.error?.message).toContain(invocationId);
    expect(toPlainText(reply)).not.toMatch(/disk on fire|at .*\.ts:\d+/);
  });
});
