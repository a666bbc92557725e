/**
 * The /upgrade-admin commands (SPEC §7) for support staff: maintenance windows, assignment and
 * driving runs by hand.
 */
import { defineCommand } from '../src/core/command.js';
import { fields, reply, table, text } from '../src/core/reply.js';
import { runProgress } from '../src/domain/run-machine.js';
import type { RunEventName } from '../src/domain/run-machine.js';
import { assignAgent } from '../src/services/assign-agent.js';
import { driveRun } from '../src/services/drive-run.js';
import { failureReply } from '../src/services/intake.js';
import { addMaintenance, listMaintenance, removeMaintenance } from '../src/services/maintenance-windows.js';
import { describeRequest } from '../src/services/request-view.js';
import { revealManagerPassword } from '../src/services/reveal-manager-password.js';

/** `/upgrade-admin maintenance add <start> <end> <reason>`. */
export const maintenanceAddCommand = defineCommand({
  group: 'upgrade-admin',
  name: 'maintenance add',
  description: 'Add a platform maintenance window; overlapping scheduled upgrades are cancelled',
  usage: '/upgrade-admin maintenance add <start> <end> <reason>',
  example: '/upgrade-admin maintenance add 2026-12-01T00:00Z 2026-12-01T06:00Z "Database upgrade"',
  args: {
    start: { kind: 'string', required: true, positional: 0, help: 'start, ISO 8601 with Z or an offset' },
    end: { kind: 'string', required: true, positional: 1, help: 'end, ISO 8601 with Z or an offset' },
    reason: { kind: 'string', required: true, positional: 'rest', help: 'why; customers see it' },
  },
  permission: 'admin',
  sideEffects: true,
  async run(ctx, a) {
    const done = await addMaintenance(ctx.deps, ctx.person, a, ctx.invocation.id);
    if (!done.ok) return failureReply(done.error);
    const { window, cancelled } = done.value;
    return reply(
      `Maintenance window ${window.id} added`,
      fields([
        ['From', window.start.toISOString()],
        ['To', window.end.toISOString()],
        ['Reason', window.reason],
        ['Cancelled upgrades', cancelled.length ? cancelled.join(', ') : 'none overlapped'],
      ]),
      text('No new upgrade can be scheduled inside it.'),
    );
  },
});

/** `/upgrade-admin maintenance list [all]`. */
export const maintenanceListCommand = defineCommand({
  group: 'upgrade-admin',
  name: 'maintenance list',
  description: 'List platform maintenance windows',
  usage: '/upgrade-admin maintenance list [all]',
  example: '/upgrade-admin maintenance list',
  args: { all: { kind: 'flag', help: 'include windows that have ended' } },
  permission: 'admin',
  sideEffects: false,
  async run(ctx, a) {
    const windows = await listMaintenance(ctx.deps, ctx.now, a.all);
    return reply(
      'Platform maintenance windows',
      table(
        ['id', 'from (UTC)', 'to (UTC)', 'reason'],
        windows.map((w) => [String(w.id), w.start.toISOString(), w.end.toISOString(), w.reason]),
      ),
    );
  },
});

/** `/upgrade-admin maintenance remove <id>`. */
export const maintenanceRemoveCommand = defineCommand({
  group: 'upgrade-admin',
  name: 'maintenance remove',
  description: 'Remove a platform maintenance window',
  usage: '/upgrade-admin maintenance remove <id>',
  example: '/upgrade-admin maintenance remove 2',
  args: { id: { kind: 'string', required: true, positional: 0, help: 'window id from maintenance list' } },
  permission: 'admin',
  sideEffects: true,
  async run(ctx, a) {
    const done = await removeMaintenance(ctx.deps, ctx.person, a.id, ctx.invocation.id);
    if (!done.ok) return failureReply(done.error);
    return reply(`Maintenance window ${done.value.id} removed`, text('Cancelled upgrades are not restored; file them again.'));
  },
});

/** `/upgrade-admin assign REF <agent>`. */
export const assignCommand = defineCommand({
  group: 'upgrade-admin',
  name: 'assign',
  description: 'Assign a request to an agent',
  usage: '/upgrade-admin assign REF <agent e-mail>',
  example: '/upgrade-admin assign UPG-000001 alex@upgradedesk.example',
  args: {
    ref: { kind: 'string', required: true, positional: 0, help: 'request reference' },
    agent: { kind: 'string', required: true, positional: 1, help: "the agent's e-mail" },
  },
  permission: 'assign',
  sideEffects: true,
  async run(ctx, a) {
    const done = await assignAgent(ctx.deps, ctx.person, a.ref, a.agent, ctx.invocation.id);
    if (!done.ok) return failureReply(done.error);
    return reply(`${done.value.ref} assigned to ${done.value.agent.name}`);
  },
});

/** `/upgrade-admin run REF next|retry|abort|clear [device=NAME] [note="..."]`. */
export const runCommand = defineCommand({
  group: 'upgrade-admin',
  name: 'run',
  description: 'Drive a run of a request: next, retry, abort, or clear a busy/broken run',
  usage: '/upgrade-admin run REF next|retry|abort|clear [device=NAME] [note="what you saw"]',
  example: '/upgrade-admin run UPG-000001 next note="Merge took longer: large config"',
  args: {
    ref: { kind: 'string', required: true, positional: 0, help: 'request reference' },
    event: {
      kind: 'choice',
      choices: ['next', 'retry', 'abort', 'clear'],
      required: true,
      positional: 1,
      help: 'next, retry, abort, or clear (after a busy/broken run is fixed)',
    },
    device: { kind: 'string', help: 'which device, when several run at once (default: the first active one)' },
    note: { kind: 'string', help: 'an issue to record for the completion feedback' },
  },
  permission: 'drive_run',
  sideEffects: true,
  async run(ctx, a) {
    const done = await driveRun(ctx.deps, ctx.person, a.ref, a.event as RunEventName, ctx.invocation.id, {
      device: a.device ?? null,
      note: a.note ?? null,
    });
    if (!done.ok) return failureReply(done.error);
    const { view, run, device } = done.value;
    return describeRequest(view, [
      fields([
        ['Device', device],
        ['Run state', `${run.state.replace(/_/g, ' ')} (${runProgress(run.state)}%)`],
        ['Condition', run.condition === 'ok' ? null : run.condition],
        ['Attempt', String(run.attempt)],
      ]),
    ]);
  },
});

/** `/upgrade-admin password REF`: the manager password, for the assigned agent's eyes only [003]. */
export const passwordRevealCommand = defineCommand({
  group: 'upgrade-admin',
  name: 'password',
  description: 'Show the manager password of a request to its assigned agent (console only)',
  usage: '/upgrade-admin password REF',
  example: '/upgrade-admin password UPG-000001',
  args: { ref: { kind: 'string', required: true, positional: 0, help: 'request reference' } },
  // Anyone who can see the request gets past the dispatcher; the service lets only the assigned agent
  // through and audits everyone else, with a refusal that says who may.
  permission: 'view_request',
  sideEffects: false,
  async run(ctx, a) {
    const done = await revealManagerPassword(ctx.deps, ctx.person, a.ref, ctx.invocation.via, ctx.invocation.id);
    if (!done.ok) return failureReply(done.error);
    const { request, password } = done.value;
    return {
      ...reply(
        `Manager password for ${request.ref}`,
        fields([
          ['Devices', [...new Set(request.items.map((i) => i.deviceName))].join(', ') || null],
          ['Manager password', password],
        ]),
        text(
          'Only you see this. Do not paste it into a channel, ticket or e-mail; it is erased when the run ends. ' +
            'The customer should reset it after the upgrade [003].',
        ),
      ),
      visibility: 'private',
    };
  },
});

/** Every /upgrade-admin command, in help order. */
export const adminCommands = [
  maintenanceAddCommand,
  maintenanceListCommand,
  maintenanceRemoveCommand,
  assignCommand,
  runCommand,
  passwordRevealCommand,
];
