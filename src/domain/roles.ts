/**
 * Who may do what (SPEC §1, [001], [003]). Consent is only ever given by an authorized
 * representative of the customer concerned; staff never consent on a customer's behalf.
 */
import { fail, ok } from './result.js';
import type { Result } from './result.js';
import type { Person, Role } from './types.js';

/** Everything a person can attempt that needs a role. */
export type Action =
  | 'file_request'
  | 'view_request'
  | 'decide'
  | 'cancel'
  | 'cancel_forced'
  | 'admin'
  | 'assign'
  | 'drive_run'
  | 'report_problem'
  | 'list_all';

/** Every action, in a stable order (for tables and help). */
export const ACTIONS: readonly Action[] = [
  'file_request',
  'view_request',
  'decide',
  'cancel',
  'cancel_forced',
  'admin',
  'assign',
  'drive_run',
  'report_problem',
  'list_all',
];

/** The customer an action is about; `forced` marks a forced request [001]. */
export interface ActionTarget {
  customerId: number;
  forced?: boolean;
}

/** True when the person holds the role. */
export function hasRole(p: Person, role: Role): boolean {
  return p.roles.includes(role);
}

/** True for support staff: agents and platform admins. */
export function isStaff(p: Person): boolean {
  return hasRole(p, 'agent') || hasRole(p, 'platform_admin');
}

/** True when the person is a contact (requester or authorized representative) of the target's customer, or of any customer when no target is given. */
function isContactOf(p: Person, target: ActionTarget | undefined): boolean {
  if (p.customerId === null) return false;
  if (!hasRole(p, 'requester') && !hasRole(p, 'authorized_representative')) return false;
  return target === undefined || target.customerId === p.customerId;
}

/** True when the person is an authorized representative of the target's customer (of their own when no target is given). */
function isRepresentativeOf(p: Person, target: ActionTarget | undefined): boolean {
  if (p.customerId === null || !hasRole(p, 'authorized_representative')) return false;
  return target === undefined || target.customerId === p.customerId;
}

const ACTION_LABELS: Record<Action, string> = {
  file_request: 'Filing an upgrade request',
  view_request: 'Seeing this request',
  decide: 'Approving or declining an upgrade',
  cancel: 'Cancelling this request',
  cancel_forced: 'Cancelling a forced update',
  admin: 'This administration command',
  assign: 'Assigning runs',
  drive_run: 'Driving an upgrade run',
  report_problem: 'Reporting a problem on this request',
  list_all: 'Listing every customer\'s requests',
};

/** The refusal, naming the role the action needs. */
function refuse(action: Action, needed: string, extra?: string): Result<true> {
  const message = `${ACTION_LABELS[action]} needs ${needed}.${extra ? ` ${extra}` : ''}`;
  return fail('not_authorized', message, { action, needed });
}

/**
 * Decides whether `person` may perform `action` on the target customer's request; fails with
 * not_authorized naming the role needed. Without a target, customer contacts are checked against
 * their own customer. Forced requests can be cancelled only by platform admins [001].
 */
export function authorize(person: Person, action: Action, target?: ActionTarget): Result<true> {
  const admin = hasRole(person, 'platform_admin');
  const staff = isStaff(person);
  switch (action) {
    case 'file_request':
      if (admin || isContactOf(person, target)) return ok(true);
      return refuse(action, 'a registered contact (requester or authorized representative) of this customer');
    case 'view_request':
    case 'report_problem':
      if (staff || isContactOf(person, target)) return ok(true);
      return refuse(action, 'a registered contact of this customer, or support staff');
    case 'decide':
      if (isRepresentativeOf(person, target)) return ok(true);
      return refuse(
        action,
        'the authorized representative role for this customer',
        staff ? 'Support staff cannot consent on a customer\'s behalf [003].' : 'Ask your company\'s authorized representative to approve it.',
      );
    case 'cancel':
      if (target?.forced) {
        if (admin) return ok(true);
        return refuse(action, 'the platform admin role, because it is a forced update [001]');
      }
      if (admin || isRepresentativeOf(person, target)) return ok(true);
      return refuse(action, 'the authorized representative role for this customer, or platform admin');
    case 'cancel_forced':
    case 'admin':
      if (admin) return ok(true);
      return refuse(action, 'the platform admin role');
    case 'assign':
    case 'drive_run':
    case 'list_all':
      if (staff) return ok(true);
      return refuse(action, 'the agent or platform admin role');
  }
}
