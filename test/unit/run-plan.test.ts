import { describe, expect, it } from '@jest/globals';
import { planRuns } from '../../src/domain/run-plan.js';
import type { Device, RequestItem, Run, RunOutcome, RunState } from '../../src/domain/types.js';
import { aDevice } from '../fakes/device.js';

function device(id: number, extra: Partial<Device> = {}): Device {
  return aDevice({ id, name: `dev-${id}`, serial: `SN-${id}`, ...extra });
}

function run(state: RunState, outcome: RunOutcome = 'pending'): Run {
  return {
    id: 1,
    requestItemId: 1,
    state,
    condition: 'ok',
    attempt: 1,
    outcome,
    agentId: null,
    issues: [],
    startedAt: null,
    finishedAt: null,
    updatedAt: new Date(0),
    postCheck: null,
  };
}

let nextId = 1;
function item(deviceId: number, seq: number, r: Run | null = null, target = '7.1.0'): RequestItem {
  return { id: nextId++, requestId: 1, deviceId, deviceName: `dev-${deviceId}`, seq, fromVersion: '5.2.0', targetVersion: target, findings: [], run: r };
}

const names = (items: RequestItem[]) => items.map((i) => `${i.deviceName}@${i.targetVersion}`);

describe('planning which runs start next', () => {
  it('starts independent devices up to the concurrency limit, in order', () => {
    const devices = new Map([1, 2, 3, 4, 5].map((id) => [id, device(id)]));
    const items = [1, 2, 3, 4, 5].map((id, i) => item(id, i));
    expect(names(planRuns(items, devices, 3).start)).toEqual(['dev-1@7.1.0', 'dev-2@7.1.0', 'dev-3@7.1.0']);
  });

  it('counts runs already active against the limit', () => {
    const devices = new Map([1, 2, 3].map((id) => [id, device(id)]));
    const items = [item(1, 0, run('split')), item(2, 1), item(3, 2)];
    expect(names(planRuns(items, devices, 2).start)).toEqual(['dev-2@7.1.0']);
  });

  it('runs the steps of one device in order, the next only after the previous completed', () => {
    const devices = new Map([[1, device(1)]]);
    const first = item(1, 0, null, '7.1.0');
    const second = item(1, 1, null, '9.1.0');
    expect(names(planRuns([first, second], devices, 4).start)).toEqual(['dev-1@7.1.0']);
    first.run = run('merge');
    expect(planRuns([first, second], devices, 4).start).toEqual([]);
    first.run = run('done', 'completed');
    expect(names(planRuns([first, second], devices, 4).start)).toEqual(['dev-1@9.1.0']);
  });

  it('skips the later steps of a device whose earlier step failed or was aborted', () => {
    const devices = new Map([[1, device(1)]]);
    for (const outcome of ['failed', 'aborted'] as const) {
      const first = item(1, 0, run('done', outcome), '7.1.0');
      const second = item(1, 1, null, '9.1.0');
      const plan = planRuns([first, second], devices, 4);
      expect(plan.start).toEqual([]);
      expect(plan.skip.map((s) => s.item.targetVersion)).toEqual(['9.1.0']);
      expect(plan.skip[0]!.reason).toMatch(/did not complete/);
    }
  });

  it('runs a load-balanced group after its database primary, then the rest together', () => {
    const devices = new Map([
      [1, device(1, { loadBalancerGroup: 'core' })],
      [2, device(2, { loadBalancerGroup: 'core', databasePrimary: true })],
      [3, device(3, { loadBalancerGroup: 'core' })],
    ]);
    const items = [item(1, 0), item(2, 1), item(3, 2)];
    expect(names(planRuns(items, devices, 4).start)).toEqual(['dev-2@7.1.0']);
    items[1]!.run = run('commit');
    expect(planRuns(items, devices, 4).start).toEqual([]);
    items[1]!.run = run('done', 'completed');
    expect(names(planRuns(items, devices, 1).start)).toEqual(['dev-1@7.1.0', 'dev-3@7.1.0']);
  });

  it('skips the rest of a group when its database primary did not complete', () => {
    const devices = new Map([
      [1, device(1, { loadBalancerGroup: 'core' })],
      [2, device(2, { loadBalancerGroup: 'core', databasePrimary: true })],
    ]);
    const items = [item(1, 0), item(2, 1, run('done', 'failed'))];
    const plan = planRuns(items, devices, 4);
    expect(plan.start).toEqual([]);
    expect(plan.skip.map((s) => s.item.deviceName)).toEqual(['dev-1']);
    expect(plan.skip[0]!.reason).toMatch(/database primary dev-2/);
  });

  it('waits for room before starting a whole group, while an active run occupies the limit', () => {
    const devices = new Map([
      [1, device(1)],
      [2, device(2, { loadBalancerGroup: 'web' })],
      [3, device(3, { loadBalancerGroup: 'web' })],
    ]);
    const items = [item(1, 0, run('split')), item(2, 1), item(3, 2)];
    expect(planRuns(items, devices, 2).start).toEqual([]);
    items[0]!.run = run('done', 'completed');
    expect(names(planRuns(items, devices, 2).start)).toEqual(['dev-2@7.1.0', 'dev-3@7.1.0']);
  });
});
