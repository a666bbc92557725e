/**
 * How a command is declared once and served everywhere: its arguments, the permission it needs,
 * whether it changes anything, and `run`, which returns a platform-neutral Reply.
 */
import type { Action as Permission } from '../domain/roles.js';
import type { Channel, Person } from '../domain/types.js';
import type { Clock, Scheduler, SecretBox, Store } from '../ports.js';
import type { ArgSpecs, ParsedArgs } from './args.js';
import type { Reply } from './reply.js';

/** Who is invoking, as the platform proved it (never text the user typed). */
export type Identity =
  | { kind: 'slack'; userId: string }
  | { kind: 'discord'; userId: string }
  | { kind: 'email'; address: string };

/** One command invocation from any adapter. */
export interface Invocation {
  /** Correlates logs with what the user saw. */
  id: string;
  via: Channel;
  identity: Identity;
  /** The command as typed, e.g. "/upgrade status UPG-000001" (the leading slash is optional). */
  text: string;
}

/** The minimal logger the core needs (pino's Logger satisfies it). */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Settings the use cases read. */
export interface ServiceSettings {
  /** Where "feedback and problems" mail goes, shown to customers [003]. */
  supportEmail: string;
  /** Devices of one request upgraded at once. */
  runConcurrency: number;
  /** Which chat platforms can deliver notices, and where the ops channel is. */
  routes: NoticeRoutes;
}

/** Where symbolic audiences go in this deployment (see services/notify.ts). */
export interface NoticeRoutes {
  /** Destinations of the ops audience, e.g. ["slack:C0OPS"]; ["ops"] (console and log) when no chat ops channel is set. */
  ops: readonly string[];
  /** Slack is connected: people with a Slack member id can be messaged directly. */
  slack: boolean;
  /** Discord is connected: people with a Discord user id can be messaged directly. */
  discord: boolean;
}

/** Routes of a deployment without chat platforms: everything to the console and the log. */
export const CONSOLE_ROUTES: NoticeRoutes = { ops: ['ops'], slack: false, discord: false };

/** Everything a command or service needs, injected once at the composition root. */
export interface Deps {
  store: Store;
  clock: Clock;
  log: Logger;
  settings: ServiceSettings;
  /** The queue: told after each committed change which request's jobs to bring in line. */
  scheduler: Scheduler;
  /** Encrypts the manager password [003]. */
  secretBox: SecretBox;
}

/** What `run` receives besides its arguments. */
export interface CommandContext {
  invocation: Invocation;
  person: Person;
  deps: Deps;
  now: Date;
}

export type CommandGroup = 'upgrade' | 'upgrade-admin';

export interface CommandDefinition<S extends ArgSpecs = ArgSpecs> {
  group: CommandGroup;
  /** One or two words after the group, e.g. "request" or "maintenance add". */
  name: string;
  description: string;
  usage: string;
  example: string;
  args: S;
  /** Checked before `run` with the person's roles; finer checks (per customer) happen in services. */
  permission: Permission;
  /** True when the command changes state (adapters may ask for confirmation or retry carefully). */
  sideEffects: boolean;
  run(ctx: CommandContext, args: ParsedArgs<S>): Promise<Reply>;
}

/** Declares a command; the identity function that gives `run` typed arguments. */
export function defineCommand<S extends ArgSpecs>(def: CommandDefinition<S>): CommandDefinition<S> {
  return def;
}

/** A command with its argument types erased, as stored in the registry. */
export type AnyCommand = CommandDefinition<ArgSpecs>;
