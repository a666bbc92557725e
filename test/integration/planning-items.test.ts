/**
 * The items a finished run reads to plan the next runs (planningItems) instead of every item of
 * the request: for any request (devices upgraded in several steps, load-balancer groups with and
 * without a database primary, runs under way, busy, done well or badly, items not started) the
 * planner reaches the same plan from them as from all items. Property-based, on the in-memory
 * store (which passes the same contract as the database stores).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { planRuns } from '../../src/domain/run-plan.js';
import type { RunOutcome, RunState } from '../../src/domain/types.js';
import type { RecordsBatch } from '../../src/ports.js';
import { planningItems } from '../../src/services/advance-run.js';
import { devicesById } from '../../src/services/request-view.js';
import { runsFor } from '../fuzz/fuzz-config.js';
import { MemoryStore } from '../fakes/memory-store.js';
import { sampleRecords } from './store-contract.js';

type RunSpec = { kind: 'none' } | { kind: 'active'; state: RunState; busy: boolean } | { kind: 'done'; outcome: RunOutcome };

const runSpec: fc.Arbitrary<RunSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('active' as const), state: fc.constantFrom<RunState>('idle', 'split', 'merge', 'finish'), busy: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('done' as const), outcome: fc.constantFrom<RunOutcome>('completed', 'completed', 'completed_with_issues', 'failed', 'aborted') }),
  },
);

const scenario = fc.record({
  devices: fc.array(fc.record({ group: fc.constantFrom(null, null, 'lb-a', 'lb-b'), primary: fc.boolean() }), { minLength: 1, maxLength: 8 }),
  items: fc.array(fc.record({ device: fc.nat(7), run: runSpec }), { minLength: 1, maxLength: 14 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
});

/** The store contract's records (Acme Corp, Jane its representative) with these devices instead of its own. */
function records(devices: Array<{ group: string | null; primary: boolean }>): RecordsBatch {
  return {
    ...sampleRecords(),
    devices: devices.map((d, i) => ({
      name: `d${i}`,
      customer: 'Acme Corp',
      product: 'SysMaster',
      serial: `SN-${i}`,
      mac: `02:00:00:00:00:${String(10 + i)}`,
      ip: `198.51.100.${10 + i}`,
      version: '5.2.0',
      status: 'configured',
      replication: false,
      loadBalancerGroup: d.group,
      databasePrimary: d.primary,
      statusUrl: null,
    })),
  };
}

describe('planningItems', () => {
  it('gives the planner what it needs to start and skip exactly the items it would with all of them', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ devices, items, concurrency }) => {
        const store = new MemoryStore();
        await store.records.upsert(records(devices));
        const customer = (await store.customers.byName('Acme Corp'))!;
        const jane = (await store.people.byEmail('jane@acme.example'))!;
        const onRecord = await store.devices.forCustomer(customer.id);
        const request = await store.requests.create({
          status: 'in_progress',
          customerId: customer.id,
          requesterId: jane.id,
          targetVersion: '7.1.0',
          schedule: { mode: 'now', at: null },
          options: { forced: false, redeploy: false, notifyPartner: false, notifyCustomer: false },
          note: null,
          bulk: true,
          findings: [],
          via: 'console',
          contactEmail: 'jane@acme.example',
          statusReason: null,
          createdAt: new Date('2026-11-21T12:00:00Z'),
          items: items.map((item, seq) => {
            const device = onRecord[item.device % onRecord.length]!;
            return { deviceId: device.id, deviceName: device.name, seq, fromVersion: '5.2.0', targetVersion: '7.1.0', findings: [] };
          }),
        });
        for (const [i, item] of request.items.entries()) {
          const spec = items[i]!.run;
          if (spec.kind === 'none') continue;
          const run = await store.runs.create(item.id, new Date('2026-11-21T12:00:00Z'));
          await store.runs.save(
            spec.kind === 'active'
              ? { ...run, state: spec.state, condition: spec.busy ? 'busy' : 'ok' }
              : { ...run, state: 'done', outcome: spec.outcome },
          );
        }
        const all = await store.requests.items(request.id);
        const some = await planningItems(store, request, concurrency);
        const full = planRuns(all, await devicesById(store, customer.id, all.map((i) => i.deviceId)), concurrency);
        const part = planRuns(some, await devicesById(store, customer.id, some.map((i) => i.deviceId)), concurrency);
        const summary = (plan: typeof full) => ({
          start: plan.start.map((i) => i.id),
          skip: plan.skip.map(({ item, reason }) => [item.id, reason]),
        });
        expect(summary(part)).toEqual(summary(full));
      }),
      { numRuns: runsFor('schedule') * 5 },
    );
  });
});
