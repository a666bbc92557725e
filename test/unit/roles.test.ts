import { describe, expect, it } from '@jest/globals';
import { ACTIONS, authorize, isStaff } from '../../src/domain/roles.js';
import type { Action } from '../../src/domain/roles.js';
import type { Person, Role } from '../../src/domain/types.js';

const ACME = 1;
const GLOBEX = 2;

function person(roles: Role[], customerId: number | null): Person {
  return {
    id: 1,
    name: 'Someone',
    email: 'someone@example.test',
    phone: null,
    customerId,
    roles,
    slackUserId: null,
    discordUserId: null,
    partner: null,
  };
}

const requester = person(['requester'], ACME);
const representative = person(['authorized_representative'], ACME);
const agent = person(['agent'], null);
const admin = person(['platform_admin'], null);
const partnerAdmin = person(['partner_admin'], null);
const nobody = person([], ACME);

const own = { customerId: ACME };
const other = { customerId: GLOBEX };
const ownForced = { customerId: ACME, forced: true };

// Written out independently of the implementation: Y = allowed, . = refused.
// columns: file_request view_request decide cancel cancel_forced admin assign drive_run report_problem list_all
const TABLE: Array<[string, Person, { customerId: number; forced?: boolean }, string]> = [
  ['requester, own customer', requester, own, 'Y Y . . . . . . Y .'],
  ['requester, other customer', requester, other, '. . . . . . . . . .'],
  ['requester, own forced request', requester, ownForced, 'Y Y . . . . . . Y .'],
  ['representative, own customer', representative, own, 'Y Y Y Y . . . . Y .'],
  ['representative, other customer', representative, other, '. . . . . . . . . .'],
  ['representative, own forced request', representative, ownForced, 'Y Y Y . . . . . Y .'],
  ['agent, any customer', agent, other, '. Y . . . . Y Y Y Y'],
  ['agent, forced request', agent, ownForced, '. Y . . . . Y Y Y Y'],
  ['platform admin, any customer', admin, other, 'Y Y . Y Y Y Y Y Y Y'],
  ['platform admin, forced request', admin, ownForced, 'Y Y . Y Y Y Y Y Y Y'],
  ['partner admin', partnerAdmin, own, '. . . . . . . . . .'],
  ['person without roles', nobody, own, '. . . . . . . . . .'],
];

const COLUMNS: Action[] = ['file_request', 'view_request', 'decide', 'cancel', 'cancel_forced', 'admin', 'assign', 'drive_run', 'report_problem', 'list_all'];

describe('authorization', () => {
  it('covers every action in the table', () => {
    expect([...COLUMNS].sort()).toEqual([...ACTIONS].sort());
  });

  const cases = TABLE.flatMap(([label, p, target, row]) =>
    row.split(' ').map((mark, i) => [label, COLUMNS[i] as Action, mark === 'Y', p, target] as const),
  );

  it.each(cases)('%s: %s is allowed: %s', (_label, action, allowed, p, target) => {
    const result = authorize(p, action, target);
    expect(result.ok).toBe(allowed);
    if (!result.ok) {
      expect(result.error.code).toBe('not_authorized');
      expect(result.error.message).toMatch(/needs .*(role|contact|staff)/);
    }
  });

  it('never lets staff consent on the customer behalf, and says so', () => {
    for (const p of [agent, admin]) {
      const result = authorize(p, 'decide', own);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.message).toMatch(/authorized representative.*cannot consent/s);
    }
  });

  it('names the platform admin role when a forced update is cancelled by a representative', () => {
    const result = authorize(representative, 'cancel', ownForced);
    expect(result.ok ? '' : result.error.message).toMatch(/platform admin.*forced/);
  });

  it('checks customer contacts against their own customer when no target is given', () => {
    expect(authorize(requester, 'file_request').ok).toBe(true);
    expect(authorize(representative, 'decide').ok).toBe(true);
    expect(authorize(requester, 'decide').ok).toBe(false);
    expect(authorize(person(['requester'], null), 'file_request').ok).toBe(false);
  });

  it('lets a partner admin who is also a representative act as one', () => {
    expect(authorize(person(['partner_admin', 'authorized_representative'], ACME), 'decide', own).ok).toBe(true);
  });
});

describe('staff', () => {
  it.each([
    [['agent'], true],
    [['platform_admin'], true],
    [['agent', 'platform_admin'], true],
    [['requester'], false],
    [['authorized_representative'], false],
    [['partner_admin'], false],
    [[], false],
  ] as Array<[Role[], boolean]>)('a person with roles %j is staff: %s', (roles, expected) => {
    expect(isStaff(person(roles, null))).toBe(expected);
  });
});
