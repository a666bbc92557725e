/**
 * `upgrade-desk discord:register`: puts the application commands built from `commands/` on
 * Discord, for one server (`--guild`, at once) or globally (every server the bot is in; Discord
 * may take a while to show changes). Registering replaces the previous set, so it can be run again
 * after every upgrade of the bot.
 */
import { DiscordAPIError, REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { RESTPutAPIApplicationCommandsResult } from 'discord-api-types/v10';
import type { Registry } from '../../core/dispatch.js';
import { applicationCommands } from './commands.js';

/**
 * The bot's permissions in the invite link: View Channels (1024), Send Messages (2048), Embed
 * Links (16384) and Read Message History (65536). Nothing else: the bot never manages anything.
 */
export const BOT_PERMISSIONS = 1024 + 2048 + 16384 + 65536;

/** The link that adds the bot, with its commands, to a server. */
export function inviteUrl(applicationId: string): string {
  return `https://discord.com/oauth2/authorize?client_id=${applicationId}&scope=bot%20applications.commands&permissions=${BOT_PERMISSIONS}`;
}

export interface RegisterOptions {
  token: string;
  applicationId: string;
  apiUrl?: string;
  /** A server id: register there only (shows at once); without it, globally. */
  guildId?: string;
  registry: Registry;
}

/** What was registered. */
export interface Registered {
  scope: 'global' | 'guild';
  commands: Array<{ name: string; subcommands: number }>;
}

/** Registers the commands; throws an Error whose message says what to do when Discord refuses. */
export async function registerCommands(options: RegisterOptions): Promise<Registered> {
  const rest = new REST({ ...(options.apiUrl ? { api: options.apiUrl } : {}), retries: 2, timeout: 15_000 }).setToken(options.token);
  const body = applicationCommands(options.registry);
  const route = options.guildId
    ? Routes.applicationGuildCommands(options.applicationId, options.guildId)
    : Routes.applicationCommands(options.applicationId);
  try {
    const result = (await rest.put(route, { body })) as RESTPutAPIApplicationCommandsResult;
    return {
      scope: options.guildId ? 'guild' : 'global',
      commands: result.map((c) => ({ name: c.name, subcommands: c.options?.length ?? 0 })),
    };
  } catch (error) {
    if (error instanceof DiscordAPIError) {
      if (error.status === 401) {
        throw new Error('Discord refused the bot token (DISCORD_TOKEN). Copy it again from the Developer Portal (your application → Bot → Reset Token).');
      }
      if (error.status === 403 || error.status === 404) {
        throw new Error(
          options.guildId
            ? `Discord refused the commands for server ${options.guildId} (${error.status}: ${error.message}). Check the server id and that the bot was invited with the applications.commands scope: ${inviteUrl(options.applicationId)}`
            : `Discord refused the commands (${error.status}: ${error.message}). Check that DISCORD_APPLICATION_ID (${options.applicationId}) is the id of the application whose bot token DISCORD_TOKEN is.`,
        );
      }
      throw new Error(`Discord refused the commands (${error.status}: ${error.message}).`);
    }
    throw new Error(`Could not reach Discord at ${options.apiUrl ?? 'https://discord.com/api'}: ${(error as Error).message}.`);
  }
}
