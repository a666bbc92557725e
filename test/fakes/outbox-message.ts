/** An outbox row as the worker hands it to a sink, for sink tests: pending, first attempt, no message posted yet. */
import { reply, text } from '../../src/core/reply.js';
import type { OutboxMessage } from '../../src/ports.js';

let nextId = 1000;

/** A stored message (a fresh id each call) with `overrides` applied. */
export function storedMessage(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  const id = overrides.id ?? nextId++;
  return {
    id,
    dedupeKey: `k-${id}`,
    requestId: null,
    kind: 'scheduled',
    destination: 'slack:C0ACME',
    payload: { ...reply('Upgrade scheduled', text('Sunday 01:00')), visibility: 'channel' },
    status: 'pending',
    attempts: 0,
    createdAt: new Date('2026-11-21T12:00:00Z'),
    nextAttemptAt: new Date('2026-11-21T12:00:00Z'),
    sentAt: null,
    externalId: null,
    revision: 0,
    lastError: null,
    claimedUntil: null,
    ...overrides,
  };
}
