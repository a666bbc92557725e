/** The explicit command registry: every command the adapters serve (no file-system auto-loading). */
import type { Registry } from '../src/core/dispatch.js';
import type { AnyCommand } from '../src/core/command.js';
import { adminCommands } from './admin.command.js';
import { upgradeCommands } from './upgrade.command.js';

/** All commands, /upgrade first, in help order. */
export const registry: Registry = {
  commands: [...upgradeCommands, ...adminCommands] as unknown as AnyCommand[],
};
