/**
 * GatewayLease: of several processes sharing a lease in one store, one starts what the lease
 * guards; the others stand by and take over when it stops (released at once) or dies (expired).
 * Real timers with a short time to live, on the in-memory store.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { GatewayLease } from '../../src/infra/gateway-lease.js';
import type { LeaseRepository } from '../../src/ports.js';
import { MemoryLogger } from '../fakes/memory-logger.js';
import { MemoryStore } from '../fakes/memory-store.js';

const TTL = 300;
const keepers: GatewayLease[] = [];

afterEach(async () => {
  await Promise.all(keepers.splice(0).map((k) => k.stop()));
});

async function until(what: string, probe: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Keeper {
  lease: GatewayLease;
  log: MemoryLogger;
  events: string[];
}

function keeper(leases: LeaseRepository, holder: string, events: string[] = [], onAcquired: () => Promise<void> = async () => {}): Keeper {
  const log = new MemoryLogger();
  const lease = new GatewayLease({
    leases,
    name: 'gateway',
    holder,
    ttlMs: TTL,
    what: 'Test gateway',
    log,
    onAcquired: async () => {
      await onAcquired();
      events.push(`${holder} up`);
    },
    onLost: async () => {
      events.push(`${holder} down`);
    },
  });
  keepers.push(lease);
  return { lease, log, events };
}

describe('GatewayLease', () => {
  it('starts the guarded thing in the first process only, and in another at once when the holder stops', async () => {
    const store = new MemoryStore();
    const events: string[] = [];
    const a = keeper(store.leases, 'a', events);
    const b = keeper(store.leases, 'b', events);
    expect(await a.lease.start()).toBe(true);
    expect(await b.lease.start()).toBe(false);
    expect(b.log.entries.map((e) => e.msg)).toContain('Test gateway: held by another process; standing by to take over');
    await new Promise((r) => setTimeout(r, 2 * TTL));
    expect(events).toEqual(['a up']);
    expect((await store.leases.holder('gateway'))?.holder).toBe('a');

    await a.lease.stop();
    expect(events).toEqual(['a up', 'a down']);
    // Released, not left to expire: free at once (or already b's).
    expect([null, 'b']).toContain((await store.leases.holder('gateway'))?.holder ?? null);
    await until('b to take over', () => b.lease.holding);
    expect(events).toEqual(['a up', 'a down', 'b up']);
    expect(b.log.entries.map((e) => e.msg)).toContain('Test gateway: this process holds the lease (taken over); connecting');
  });

  it('lets another process take over once a holder that cannot renew has given up', async () => {
    const store = new MemoryStore();
    const events: string[] = [];
    let cutOff = false;
    // a's database goes away: its renewals fail, and it must stop before the lease can expire.
    const flaky: LeaseRepository = {
      tryAcquire: (...args) => (cutOff ? Promise.reject(new Error('connection lost')) : store.leases.tryAcquire(...args)),
      release: (...args) => (cutOff ? Promise.reject(new Error('connection lost')) : store.leases.release(...args)),
      holder: (name) => store.leases.holder(name),
    };
    const a = keeper(flaky, 'a', events);
    const b = keeper(store.leases, 'b', events);
    await a.lease.start();
    await b.lease.start();
    cutOff = true;
    await until('b to take over', () => b.lease.holding);
    expect(a.lease.holding).toBe(false);
    expect(events).toEqual(['a up', 'a down', 'b up']);
    expect(a.log.entries.some((e) => e.level === 'warn' && e.msg === 'could not renew the Test gateway lease')).toBe(true);
  });

  it('fails the start when the guarded thing cannot start, leaving the lease to others', async () => {
    const store = new MemoryStore();
    const a = keeper(store.leases, 'a', [], async () => {
      throw new Error('token refused');
    });
    await expect(a.lease.start()).rejects.toThrow('token refused');
    expect(await store.leases.holder('gateway')).toBeNull();
  });

  it('gives the lease up when a takeover cannot start the guarded thing, and tries again later', async () => {
    const store = new MemoryStore();
    let failures = 1;
    const events: string[] = [];
    await store.leases.tryAcquire('gateway', 'gone', new Date(), TTL);
    const b = keeper(store.leases, 'b', events, async () => {
      if (failures-- > 0) throw new Error('gateway unreachable');
    });
    expect(await b.lease.start()).toBe(false);
    await until('the failed attempt', () => b.log.entries.some((e) => e.level === 'error'));
    expect(await store.leases.holder('gateway')).toBeNull();
    await until('b to hold the lease after all', () => b.lease.holding, 3 * TTL + 1000);
    expect(events).toEqual(['b up']);
  });
});
