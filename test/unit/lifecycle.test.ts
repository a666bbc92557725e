import { describe, expect, it } from '@jest/globals';
import { cancellable, canTransition, isOpen, isTerminal, REQUEST_TRANSITIONS, transition } from '../../src/domain/lifecycle.js';
import { REQUEST_STATUSES } from '../../src/domain/types.js';
import type { RequestStatus } from '../../src/domain/types.js';

// SPEC §4, written out independently of the implementation.
const ALLOWED = new Set<string>([
  'received>rejected',
  'received>awaiting_consent',
  'received>cancelled',
  'awaiting_consent>approved',
  'awaiting_consent>cancelled',
  'approved>scheduled',
  'approved>cancelled',
  'approved>awaiting_consent',
  'scheduled>in_progress',
  'scheduled>cancelled',
  'scheduled>awaiting_consent',
  'in_progress>completed',
  'in_progress>completed_with_issues',
  'in_progress>failed',
  'in_progress>aborted',
]);
const TERMINAL: RequestStatus[] = ['rejected', 'completed', 'completed_with_issues', 'failed', 'aborted', 'cancelled'];
const CANCELLABLE: RequestStatus[] = ['received', 'awaiting_consent', 'approved', 'scheduled'];

const pairs = REQUEST_STATUSES.flatMap((from) => REQUEST_STATUSES.map((to) => [from, to, ALLOWED.has(`${from}>${to}`)] as const));

describe('request lifecycle', () => {
  it.each(pairs.filter(([, , allowed]) => allowed))('moves a %s request to %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(transition(from, to)).toEqual({ ok: true, value: to });
  });

  it.each(pairs.filter(([, , allowed]) => !allowed))('refuses to move a %s request to %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    const result = transition(from, to);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('invalid_transition');
    expect(result.error.message).toContain(from.replace(/_/g, ' '));
    expect(result.error.details?.allowed).toEqual([...REQUEST_TRANSITIONS[from]]);
  });

  it('lists the allowed next statuses when refusing a move from an open status', () => {
    const result = transition('approved', 'completed');
    expect(result.ok ? '' : result.error.message).toMatch(/scheduled, cancelled, awaiting consent/);
  });

  it('says a final request can no longer change', () => {
    const result = transition('completed', 'cancelled');
    expect(result.ok ? '' : result.error.message).toBe('The request is completed, which is final; it can no longer become cancelled.');
  });

  it.each(REQUEST_STATUSES.map((s) => [s, TERMINAL.includes(s)] as const))('%s is terminal: %s', (status, terminal) => {
    expect(isTerminal(status)).toBe(terminal);
    expect(isOpen(status)).toBe(!terminal);
  });

  it.each(REQUEST_STATUSES.map((s) => [s, CANCELLABLE.includes(s)] as const))('a %s request can be cancelled: %s', (status, expected) => {
    expect(cancellable(status)).toBe(expected);
  });

  it('never reaches scheduled without passing through approved', () => {
    const into = (to: RequestStatus) => REQUEST_STATUSES.filter((from) => canTransition(from, to));
    expect(into('scheduled')).toEqual(['approved']);
    expect(into('approved')).toEqual(['awaiting_consent']);
  });
});
