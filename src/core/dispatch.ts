/**
 * The one path every invocation takes, whatever the adapter: parse → identify → authorize → run →
 * Reply. Expected failures come back as error replies with stable codes; anything unexpected is
 * logged once with the invocation id and the user gets a plain apology with that id.
 */
import { authorize } from '../domain/roles.js';
import type { Person } from '../domain/types.js';
import type { Store } from '../ports.js';
import { parseArgs, quoteWord, redactWords, tokenize, truncate } from './args.js';
import type { AnyCommand, CommandGroup, Deps, Identity, Invocation } from './command.js';
import { errorReply, reply, stripTimeMarkDelimiters, table, text } from './reply.js';
import type { Reply } from './reply.js';

/** The commands a dispatcher serves, in help order. */
export interface Registry {
  commands: readonly AnyCommand[];
}

const GROUPS: readonly CommandGroup[] = ['upgrade', 'upgrade-admin'];

/** Longest command text accepted; anything longer is refused before parsing. */
export const MAX_COMMAND_LENGTH = 8000;

/** Finds the person behind a platform identity; null when the records do not know them. */
export async function identify(store: Store, identity: Identity): Promise<Person | null> {
  switch (identity.kind) {
    case 'slack':
      return store.people.bySlackUserId(identity.userId);
    case 'discord':
      return store.people.byDiscordUserId(identity.userId);
    case 'email':
      return store.people.byEmail(identity.address);
  }
}

/** Why an unknown user sees no result: said the same way on every platform. */
export function unknownPersonReply(identity: Identity): Reply {
  const who =
    identity.kind === 'email'
      ? `the address ${identity.address}`
      : `your ${identity.kind === 'slack' ? 'Slack' : 'Discord'} account (${identity.userId})`;
  return errorReply(
    'unknown_requester',
    `We could not find ${who} in our records, so nothing was done.`,
    "Ask your company's authorized representative to register you with your support provider, then try again.",
  );
}

/** Splits "/upgrade-admin maintenance add ..." into the group, the matching command and the remaining words. */
export function resolveCommand(
  registry: Registry,
  words: string[],
): { group: CommandGroup | null; command: AnyCommand | null; rest: string[] } {
  const [first, ...after] = words;
  const group = GROUPS.find((g) => g === (first ?? '').replace(/^\//, '').toLowerCase()) ?? null;
  if (!group) return { group: null, command: null, rest: words };
  const inGroup = registry.commands.filter((c) => c.group === group);
  const lowered = after.map((w) => w.toLowerCase());
  let best: AnyCommand | null = null;
  for (const c of inGroup) {
    const parts = c.name.split(' ');
    if (parts.every((p, i) => lowered[i] === p) && (!best || parts.length > best.name.split(' ').length)) best = c;
  }
  const used = best ? best.name.split(' ').length : 0;
  return { group, command: best, rest: after.slice(used) };
}

/** Help for one command or the whole group. */
export function helpReply(registry: Registry, group: CommandGroup, name?: string): Reply {
  const cmds = registry.commands.filter((c) => c.group === group);
  const one = name ? cmds.find((c) => c.name === name.toLowerCase()) : undefined;
  if (one) {
    const rows = Object.entries(one.args).map(([k, s]) => [s.kind === 'flag' ? k : `${k}=`, s.help]);
    return reply(
      `/${group} ${one.name}: ${one.description}`,
      text(`Usage: ${one.usage}`),
      ...(rows.length ? [table(['argument', 'meaning'], rows)] : []),
      text(`Example: ${one.example}`),
    );
  }
  return reply(
    `/${group}: commands`,
    table(
      ['command', 'what it does'],
      cmds.map((c) => [`/${group} ${c.name}`, c.description]),
    ),
    text(`Type "/${group} help <command>" (or "/${group} <command> help") for its arguments and an example.`),
  );
}

/**
 * The invocation's text as it may be written to a log: values of sensitive arguments (a
 * password, see ArgSpec `sensitive`) become "[redacted]", and text that is not a known command
 * (where a secret could hide anywhere) is not reproduced at all.
 */
export function loggableText(registry: Registry, text: string): string {
  if (text.length > MAX_COMMAND_LENGTH) return '[command too long]';
  const tokens = tokenize(text.trim());
  if (!tokens.ok) return '[unparsable command]';
  const { group, command, rest } = resolveCommand(registry, tokens.value);
  if (!group) return '[not a command]';
  if (!command) return rest.length === 0 || rest[0]?.toLowerCase() === 'help' ? `/${group} help` : `/${group} [unknown command]`;
  return [`/${group}`, command.name, ...redactWords(rest, command.args).map(quoteWord)].join(' ');
}

/** Runs one invocation to a Reply. Never throws. */
export async function dispatch(registry: Registry, deps: Deps, typed: Invocation): Promise<Reply> {
  // Typed text never carries time marks (only replies the bot builds do).
  const invocation = { ...typed, text: stripTimeMarkDelimiters(typed.text) };
  let text = '[not logged]';
  try {
    text = loggableText(registry, invocation.text);
    deps.log.info({ invocationId: invocation.id, via: invocation.via, text }, 'command received');
    return await dispatchUnsafe(registry, deps, invocation);
  } catch (error) {
    deps.log.error({ err: error, invocationId: invocation.id, via: invocation.via, text }, 'command failed unexpectedly');
    return errorReply(
      'internal_error',
      `Something went wrong on our side (reference ${invocation.id}). Nothing was changed by the failed step.`,
      'Please try again in a moment; if it keeps failing, give the reference to your support contact.',
    );
  }
}

async function dispatchUnsafe(registry: Registry, deps: Deps, invocation: Invocation): Promise<Reply> {
  if (invocation.text.length > MAX_COMMAND_LENGTH) {
    return errorReply('invalid_arguments', `The command is too long (${invocation.text.length} characters).`);
  }
  const tokens = tokenize(invocation.text.trim());
  if (!tokens.ok) return errorReply(tokens.error.code, tokens.error.message, 'Close the quote and send the command again.');
  const { group, command, rest } = resolveCommand(registry, tokens.value);
  if (!group) {
    return errorReply(
      'unknown_command',
      `"${truncate(tokens.value[0] ?? '', 40)}" is not a command here.`,
      'Commands start with /upgrade or /upgrade-admin; type "/upgrade help".',
    );
  }
  if (!command) {
    const sub = rest[0]?.toLowerCase();
    if (sub === undefined || sub === 'help') return helpReply(registry, group, rest.slice(1).join(' ') || undefined);
    return errorReply(
      'unknown_command',
      `"/${group} ${truncate(rest[0] ?? '', 40)}" is not a command.`,
      `Type "/${group} help" for the list of commands.`,
    );
  }
  if (rest.length === 1 && ['help', '--help', '-h'].includes((rest[0] ?? '').toLowerCase())) {
    return helpReply(registry, group, command.name);
  }
  const args = parseArgs(rest, command.args, { usage: command.usage, example: command.example });
  if (!args.ok) {
    return errorReply(args.error.code, args.error.message, String(args.error.details?.hint ?? ''));
  }
  const person = await identify(deps.store, invocation.identity);
  if (!person) return unknownPersonReply(invocation.identity);
  const allowed = authorize(person, command.permission);
  if (!allowed.ok) {
    await deps.store.audit.record({
      at: deps.clock.now(),
      actor: person.email,
      action: 'refused',
      entity: 'command',
      entityId: `${group} ${command.name}`,
      data: { code: allowed.error.code, via: invocation.via },
      invocationId: invocation.id,
    });
    return errorReply(allowed.error.code, allowed.error.message);
  }
  const result = await command.run({ invocation, person, deps, now: deps.clock.now() }, args.value);
  // Whatever the command stored for delivery is committed now: wake the outbox worker.
  if (command.sideEffects) deps.scheduler.kickOutbox();
  return result;
}
