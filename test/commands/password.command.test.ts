import { beforeEach, describe, expect, it } from '@jest/globals';
import { registry } from '../../commands/index.js';
import { dispatch } from '../../src/core/dispatch.js';
import { toPlainText } from '../../src/core/reply.js';
import { MANAGER_PASSWORD, readManagerPassword } from '../../src/services/manager-password.js';
import { ALEX, BOB, GRETA, JANE, PAT, edge01, harness, refOf } from './harness.js';
import type { Harness } from './harness.js';

/** A password with spaces, "=", quotes and an ampersand, typed quoted with escapes. */
const PASSWORD = 'Tr0ub4dor&3 = "ok"';
const TYPED = '"Tr0ub4dor&3 = \\"ok\\""';
/** A part of the password that appears nowhere else. */
const MARK = 'Tr0ub4dor';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});

async function request(ref: string) {
  const r = await h.store.requests.byRef(ref);
  if (!r) throw new Error(`no request ${ref}`);
  return r;
}

/** Bob files edge-01; the request awaits consent and lacks the manager password. */
async function filed(by = BOB): Promise<string> {
  return refOf(await h.as(by).run(edge01()));
}

/** Everything the system kept that is not the sealed secret itself: logs, audit rows and notices. */
async function everythingKept(): Promise<string> {
  const audit = await h.store.audit.list({ limit: 10_000 });
  const outbox = await h.store.outbox.pending(10_000);
  return JSON.stringify({ log: h.log.entries, audit, outbox });
}

/** Assigns the request to Alex, as a platform admin does. */
async function assignAlex(ref: string): Promise<void> {
  const reply = await h.as(PAT).run(`/upgrade-admin assign ${ref} ${ALEX}`);
  expect(reply.error).toBeUndefined();
}

describe('/upgrade password', () => {
  it('stores the requester’s password sealed, clears the missing_manager_password warning and never echoes it', async () => {
    const ref = await filed();
    expect((await request(ref)).findings.map((f) => f.code)).toContain('missing_manager_password');

    const reply = await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`);

    expect(reply.error).toBeUndefined();
    const text = toPlainText(reply);
    expect(text).toContain(`Manager password for ${ref} stored`);
    expect(text).toMatch(/encrypted/);
    expect(text).toMatch(/Only the support agent assigned/);
    expect(text).toMatch(/erased when the run ends/);
    expect(text).toMatch(/no longer warns that the manager password is missing/);
    expect(text).not.toContain(MARK);
    const after = await request(ref);
    expect(after.findings.map((f) => f.code)).not.toContain('missing_manager_password');
    expect(after.items.flatMap((i) => i.findings).map((f) => f.code)).not.toContain('missing_manager_password');
    expect(await h.as(BOB).text(`/upgrade status ${ref}`)).not.toContain('missing_manager_password');
    const sealed = await h.store.secrets.get(after.id, MANAGER_PASSWORD);
    expect(JSON.stringify(sealed)).not.toContain(MARK);
    expect(h.deps.secretBox.open(sealed!)).toBe(PASSWORD);
    const audit = await h.store.audit.list({ entity: 'request', entityId: ref, action: 'secret_stored' });
    expect(audit).toEqual([
      expect.objectContaining({ actor: BOB, data: { name: 'manager_password', replaced: false, via: 'console' } }),
    ]);
  });

  it('keeps other warnings and the request status as they were', async () => {
    const ref = refOf(await h.as(BOB).run(edge01().replace('when=window', 'when=2026-11-25T15:00')));
    const before = await request(ref);
    expect(before.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['outside_low_traffic', 'missing_manager_password']));
    expect((await h.as(BOB).run(`/upgrade password ${ref} hunter22`)).error).toBeUndefined();
    const after = await request(ref);
    expect(after.status).toBe(before.status);
    expect(after.findings).toEqual(before.findings.filter((f) => f.code !== 'missing_manager_password'));
  });

  it('lets an authorized representative of the customer give or replace it on someone else’s request', async () => {
    const ref = await filed(BOB);
    await h.as(BOB).run(`/upgrade password ${ref} first-try`);
    const reply = await h.as(JANE).run(`/upgrade password ${ref} ${TYPED}`);
    expect(reply.error).toBeUndefined();
    expect(reply.title).toBe(`Manager password for ${ref} replaced`);
    const id = (await request(ref)).id;
    expect(await readManagerPassword(h.store, h.deps.secretBox, id)).toBe(PASSWORD);
    const audit = await h.store.audit.list({ entityId: ref, action: 'secret_stored' });
    expect(audit.map((a) => [a.actor, a.data.replaced])).toEqual([
      [JANE, true],
      [BOB, false],
    ]);
  });

  it.each([
    ['several unquoted words', 'correct horse battery staple', 'correct horse battery staple'],
    ['a word that looks like key=value', 'admin=Secr3t', 'admin=Secr3t'],
    ['the key form', 'password="with space"', 'with space'],
  ])('takes a password written as %s', async (_how, typed, stored) => {
    const ref = await filed();
    expect((await h.as(BOB).run(`/upgrade password ${ref} ${typed}`)).error).toBeUndefined();
    expect(await readManagerPassword(h.store, h.deps.secretBox, (await request(ref)).id)).toBe(stored);
  });

  it('is also accepted while the request is scheduled or running', async () => {
    const ref = await filed();
    expect((await h.as(JANE).run(`/upgrade approve ${ref}`)).error).toBeUndefined();
    expect((await request(ref)).status).toBe('scheduled');
    expect((await h.as(BOB).run(`/upgrade password ${ref} sched-pass`)).error).toBeUndefined();
    const r = await request(ref);
    await h.store.requests.update(r.id, { status: 'in_progress', updatedAt: h.clock.now() }, 'scheduled');
    expect((await h.as(BOB).run(`/upgrade password ${ref} run-pass`)).error).toBeUndefined();
    expect(await readManagerPassword(h.store, h.deps.secretBox, r.id)).toBe('run-pass');
  });

  describe('refusals, each clear, audited and storing nothing', () => {
    it.each([
      ['a representative of another customer', GRETA, 'unknown_request'],
      ['support staff', ALEX, 'not_authorized'],
      ['a platform admin', PAT, 'not_authorized'],
    ])('refuses %s', async (_who, who, code) => {
      const ref = await filed();
      const reply = await h.as(who).run(`/upgrade password ${ref} ${TYPED}`);
      expect(reply.error?.code).toBe(code);
      expect(toPlainText(reply)).not.toContain(MARK);
      expect(await h.store.secrets.get((await request(ref)).id, MANAGER_PASSWORD)).toBeNull();
      expect((await request(ref)).findings.map((f) => f.code)).toContain('missing_manager_password');
      const refused = await h.store.audit.list({ entityId: ref, action: 'refused' });
      expect(refused).toEqual([
        expect.objectContaining({ actor: who, data: { attempted: 'provide_manager_password', code } }),
      ]);
    });

    it('refuses a contact of the customer who neither filed the request nor represents the customer', async () => {
      const ref = await filed(JANE);
      const reply = await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`);
      expect(reply.error?.code).toBe('not_authorized');
      expect(reply.error?.message).toMatch(/Only the person who filed .* or an authorized representative/);
    });

    it('refuses an unknown reference', async () => {
      const reply = await h.as(BOB).run(`/upgrade password UPG-000999 ${TYPED}`);
      expect(reply.error?.code).toBe('unknown_request');
      expect(await h.store.audit.list({ entityId: 'UPG-000999', action: 'refused' })).toHaveLength(1);
    });

    it('refuses a closed request', async () => {
      const ref = await filed();
      expect((await h.as(JANE).run(`/upgrade cancel ${ref}`)).error).toBeUndefined();
      const reply = await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`);
      expect(reply.error?.code).toBe('request_closed');
      expect(reply.error?.message).toContain('cancelled');
      expect(await h.store.secrets.get((await request(ref)).id, MANAGER_PASSWORD)).toBeNull();
      expect(await h.store.audit.list({ entityId: ref, action: 'refused' })).toEqual([
        expect.objectContaining({ data: { attempted: 'provide_manager_password', code: 'request_closed' } }),
      ]);
    });

    it('refuses the words in the wrong order without repeating them anywhere', async () => {
      const ref = await filed();
      const reply = await h.as(BOB).run(`/upgrade password Hunter2xyz ${ref}`);
      expect(reply.error?.code).toBe('invalid_arguments');
      expect(toPlainText(reply)).not.toContain('Hunter2xyz');
      expect(await everythingKept()).not.toContain('Hunter2xyz');
    });

    it('asks for the password when it is missing, and refuses an over-long one without quoting it', async () => {
      const ref = await filed();
      expect((await h.as(BOB).run(`/upgrade password ${ref}`)).error?.code).toBe('invalid_arguments');
      const long = `${MARK}${'x'.repeat(300)}`;
      const reply = await h.as(BOB).run(`/upgrade password ${ref} ${long}`);
      expect(reply.error?.code).toBe('invalid_arguments');
      expect(toPlainText(reply)).not.toContain(MARK);
    });
  });

  it('keeps the password out of every log line, audit row and notice, even when the command fails unexpectedly', async () => {
    const ref = await filed();
    await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`);
    await h.as(GRETA).run(`/upgrade password ${ref} ${TYPED}`);
    await h.as(BOB).run(`/upgrade password ${ref} password=${TYPED}`);
    h.deps.secretBox.seal = () => {
      throw new Error('entropy source unavailable');
    };
    const failed = await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`);
    expect(failed.error?.code).toBe('internal_error');

    expect(await everythingKept()).not.toContain(MARK);
    const received = h.log.entries.filter((e) => e.msg === 'command received').map((e) => (e.obj as { text: string }).text);
    expect(received).toContain(`/upgrade password ${ref} [redacted]`);
    expect(received).toContain(`/upgrade password ${ref} password=[redacted]`);
    const errors = h.log.entries.filter((e) => e.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.obj).toEqual(expect.objectContaining({ text: `/upgrade password ${ref} [redacted]` }));
  });

  it('rolls back the stored password when the change fails', async () => {
    const ref = await filed();
    // The audit write, which comes after the secret is stored, fails inside the transaction.
    const transaction = h.store.transaction.bind(h.store);
    h.store.transaction = (work) =>
      transaction((tx) =>
        work({
          ...tx,
          audit: {
            ...tx.audit,
            record: async () => {
              throw new Error('audit log unavailable');
            },
          },
        }),
      );
    expect((await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`)).error?.code).toBe('internal_error');
    const r = await request(ref);
    expect(await h.store.secrets.get(r.id, MANAGER_PASSWORD)).toBeNull();
    expect(r.findings.map((f) => f.code)).toContain('missing_manager_password');
  });
});

describe('/upgrade-admin password', () => {
  it('shows the password only to the assigned agent, privately, and audits the viewing', async () => {
    const ref = await filed();
    await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`);
    await assignAlex(ref);

    const reply = await h.as(ALEX).run(`/upgrade-admin password ${ref}`);

    expect(reply.error).toBeUndefined();
    expect(reply.visibility).toBe('private');
    expect(reply.blocks).toContainEqual({
      type: 'fields',
      fields: expect.arrayContaining([{ label: 'Manager password', value: PASSWORD }]),
    });
    expect(toPlainText(reply)).toMatch(/Only you see this/);
    expect(await h.store.audit.list({ entityId: ref, action: 'secret_viewed' })).toEqual([
      expect.objectContaining({ actor: ALEX, data: { name: 'manager_password', via: 'console' } }),
    ]);
    expect(await everythingKept()).not.toContain(MARK);
  });

  it.each([
    ['a platform admin', PAT, 'not_authorized'],
    ['the authorized representative', JANE, 'not_authorized'],
    ['the requester who gave it', BOB, 'not_authorized'],
    ['another customer', GRETA, 'unknown_request'],
  ])('refuses %s, and audits the refusal', async (_who, who, code) => {
    const ref = await filed();
    await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`);
    await assignAlex(ref);
    const reply = await h.as(who).run(`/upgrade-admin password ${ref}`);
    expect(reply.error?.code).toBe(code);
    expect(toPlainText(reply)).not.toContain(MARK);
    expect(await h.store.audit.list({ entityId: ref, action: 'refused' })).toEqual([
      expect.objectContaining({ actor: who, data: { attempted: 'reveal_manager_password', code } }),
    ]);
    expect(await h.store.audit.list({ entityId: ref, action: 'secret_viewed' })).toEqual([]);
  });

  it('refuses an agent who is not the one assigned', async () => {
    await h.store.records.upsert({
      customers: [],
      people: [
        {
          name: 'Sam Second',
          email: 'sam@upgradedesk.example',
          phone: null,
          customer: null,
          roles: ['agent'],
          slackUserId: null,
          discordUserId: null,
          partner: null,
        },
      ],
      devices: [],
      releases: [],
      windows: [],
    });
    const ref = await filed();
    await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`);
    await assignAlex(ref);
    const reply = await h.as('sam@upgradedesk.example').run(`/upgrade-admin password ${ref}`);
    expect(reply.error?.code).toBe('not_authorized');
    expect(reply.error?.message).toContain(`Only the agent assigned to ${ref}`);
  });

  it('refuses every agent while nobody is assigned, saying how to assign one', async () => {
    const ref = await filed();
    await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`);
    const reply = await h.as(ALEX).run(`/upgrade-admin password ${ref}`);
    expect(reply.error?.code).toBe('not_authorized');
    expect(reply.error?.message).toContain(`/upgrade-admin assign ${ref}`);
  });

  it.each([
    ['e-mail', 'email', { kind: 'email', address: ALEX }],
    ['Slack', 'slack', { kind: 'slack', userId: 'U0ALEX' }],
  ] as const)('never answers in %s, which keeps what it shows, even to the assigned agent', async (_name, via, identity) => {
    const ref = await filed();
    await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`);
    await assignAlex(ref);
    const reply = await dispatch(registry, h.deps, { id: `${via}-1`, via, identity, text: `/upgrade-admin password ${ref}` });
    expect(reply.error?.code).toBe('channel_not_private');
    expect(toPlainText(reply)).not.toContain(MARK);
    expect(await h.store.audit.list({ entityId: ref, action: 'refused' })).toHaveLength(1);
  });

  it('says clearly when no password was given, when it was purged and when the request is closed', async () => {
    const ref = await filed();
    await assignAlex(ref);
    const none = await h.as(ALEX).run(`/upgrade-admin password ${ref}`);
    expect(none.error?.code).toBe('no_manager_password');
    expect(none.error?.message).toContain(`/upgrade password ${ref}`);

    await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`);
    const id = (await request(ref)).id;
    expect(await h.store.secrets.purge(id, h.clock.now())).toBe(1);
    expect(await readManagerPassword(h.store, h.deps.secretBox, id)).toBeNull();
    expect((await h.as(ALEX).run(`/upgrade-admin password ${ref}`)).error?.code).toBe('no_manager_password');

    await h.as(BOB).run(`/upgrade password ${ref} ${TYPED}`);
    await h.as(JANE).run(`/upgrade cancel ${ref}`);
    const closed = await h.as(ALEX).run(`/upgrade-admin password ${ref}`);
    expect(closed.error?.code).toBe('no_manager_password');
    expect(closed.error?.message).toMatch(/erased/);
    expect(toPlainText(closed)).not.toContain(MARK);
  });
});

describe('help', () => {
  it('explains how to give the password, including quoting', async () => {
    const text = await h.as(BOB).text('/upgrade help password');
    expect(text).toContain('Usage: /upgrade password REF <manager password>');
    expect(text).toMatch(/quote it/);
    expect(await h.as(BOB).text('/upgrade help')).toContain('/upgrade password');
  });

  it('lists the agent’s command among the admin commands', async () => {
    const text = await h.as(ALEX).text('/upgrade-admin help');
    expect(text).toContain('/upgrade-admin password');
    expect(await h.as(ALEX).text('/upgrade-admin help password')).toContain('Example: /upgrade-admin password UPG-000001');
  });
});
