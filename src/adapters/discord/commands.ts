/**
 * The command set of `commands/` as Discord application commands, and back: `/upgrade` and
 * `/upgrade-admin` with one subcommand per command (two-word commands become a subcommand group),
 * typed options built from each command's declared arguments, and the text an interaction's
 * options stand for, so a Discord invocation goes through the same dispatcher as typed text.
 * Pure: no I/O, no discord.js client.
 */
import { ApplicationCommandOptionType, ApplicationCommandType } from 'discord-api-types/v10';
import type {
  APIApplicationCommandBasicOption,
  APIApplicationCommandInteractionDataOption,
  APIApplicationCommandOption,
  APIApplicationCommandSubcommandOption,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord-api-types/v10';
import { MAX_VALUE_LENGTH, quoteWord } from '../../core/args.js';
import type { ArgSpec } from '../../core/args.js';
import type { AnyCommand, CommandGroup } from '../../core/command.js';
import type { Registry } from '../../core/dispatch.js';

/** Discord's limits for application commands (discord.com/developers/docs, Application Commands). */
export const COMMAND_LIMITS = {
  /** Name of a command, subcommand or option: 1–32 lowercase characters. */
  name: 32,
  /** Description of a command, subcommand or option. */
  description: 100,
  /** Options (or subcommands) of one level. */
  options: 25,
  /** Choices of one option. */
  choices: 25,
  /** Autocomplete suggestions in one answer. */
  autocompleteChoices: 25,
  /** Name and value of a choice. */
  choiceName: 100,
  choiceValue: 100,
  /** Longest string option value Discord lets a user type. */
  stringOption: 6000,
} as const;

/** Arguments whose values are suggested as the user types (devices and versions of their company). */
export const AUTOCOMPLETED = new Set(['device', 'devices', 'version']);

/**
 * Arguments not offered as options on Discord. The manager password is typed into a modal
 * instead (`/upgrade password ref:…` opens it), so it never shows in the command line Discord
 * displays to the user and keeps in its client history.
 */
const MODAL_ONLY: ReadonlyMap<string, ReadonlySet<string>> = new Map([['upgrade password', new Set(['password'])]]);

/** `/upgrade request` takes its options as optional on Discord: without any it opens the request form. */
const FORM_COMMANDS = new Set(['upgrade request']);

function cut(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

function optionName(key: string): string {
  return key.toLowerCase().slice(0, COMMAND_LIMITS.name);
}

function option(key: string, spec: ArgSpec, required: boolean): APIApplicationCommandBasicOption {
  const description = cut(spec.help.replace(/\s*\[\d{3}\]/g, ''), COMMAND_LIMITS.description);
  const name = optionName(key);
  if (spec.kind === 'flag') return { type: ApplicationCommandOptionType.Boolean, name, description, required: false };
  if (spec.kind === 'choice') {
    return {
      type: ApplicationCommandOptionType.String,
      name,
      description,
      required,
      choices: spec.choices.slice(0, COMMAND_LIMITS.choices).map((c) => ({ name: c, value: c })),
    };
  }
  const base = { type: ApplicationCommandOptionType.String as const, name, description, required, max_length: MAX_VALUE_LENGTH };
  return AUTOCOMPLETED.has(key) ? { ...base, autocomplete: true } : base;
}

/** The options of one command: required ones first (Discord requires it), then the rest in declared order. */
export function commandOptions(command: AnyCommand): APIApplicationCommandBasicOption[] {
  const full = `${command.group} ${command.name}`;
  const hidden = MODAL_ONLY.get(full) ?? new Set<string>();
  const optionalAll = FORM_COMMANDS.has(full);
  const entries = Object.entries(command.args).filter(([key]) => !hidden.has(key));
  const required = (spec: ArgSpec) => !optionalAll && spec.kind !== 'flag' && spec.required === true;
  const sorted = [...entries.filter(([, s]) => required(s)), ...entries.filter(([, s]) => !required(s))];
  return sorted.slice(0, COMMAND_LIMITS.options).map(([key, spec]) => option(key, spec, required(spec)));
}

function subcommand(name: string, description: string, options: APIApplicationCommandBasicOption[]): APIApplicationCommandSubcommandOption {
  return {
    type: ApplicationCommandOptionType.Subcommand,
    name,
    description: cut(description, COMMAND_LIMITS.description),
    ...(options.length ? { options } : {}),
  };
}

const GROUP_DESCRIPTIONS: Record<CommandGroup, string> = {
  upgrade: 'Ask for software upgrades, give consent, follow them',
  'upgrade-admin': 'Support staff: maintenance windows, assignments, runs',
};

/** One application command per group, with a `help` subcommand that names the other subcommands as choices. */
export function applicationCommands(registry: Registry): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return (['upgrade', 'upgrade-admin'] as const).map((group) => {
    const commands = registry.commands.filter((c) => c.group === group);
    const top: APIApplicationCommandOption[] = [];
    const groups = new Map<string, APIApplicationCommandSubcommandOption[]>();
    for (const c of commands) {
      const [first, second] = c.name.split(' ') as [string, string | undefined];
      const sub = subcommand(second ?? first, c.description, commandOptions(c));
      if (second === undefined) {
        top.push(sub);
        continue;
      }
      const members = groups.get(first) ?? [];
      if (members.length === 0) groups.set(first, members);
      members.push(sub);
    }
    for (const [name, members] of groups) {
      top.push({
        type: ApplicationCommandOptionType.SubcommandGroup,
        name,
        description: cut(`${name}: ${members.map((m) => m.name).join(', ')}`, COMMAND_LIMITS.description),
        options: members,
      });
    }
    top.push(
      subcommand('help', `How to use /${group} and each of its commands`, [
        {
          type: ApplicationCommandOptionType.String,
          name: 'command',
          description: 'the command to explain',
          required: false,
          choices: commands.slice(0, COMMAND_LIMITS.choices).map((c) => ({ name: c.name, value: c.name })),
        },
      ]),
    );
    return {
      type: ApplicationCommandType.ChatInput,
      name: group,
      description: GROUP_DESCRIPTIONS[group],
      options: top.slice(0, COMMAND_LIMITS.options),
    };
  });
}

/** The subcommand path and the leaf options of an interaction's data. */
export function subcommandPath(options: readonly APIApplicationCommandInteractionDataOption[] | undefined): {
  path: string[];
  values: Array<{ name: string; value: string | number | boolean; focused?: boolean }>;
} {
  const path: string[] = [];
  let level = options ?? [];
  for (let depth = 0; depth < 3; depth++) {
    const nested = level.find(
      (o) => o.type === ApplicationCommandOptionType.Subcommand || o.type === ApplicationCommandOptionType.SubcommandGroup,
    );
    if (!nested) break;
    path.push(nested.name);
    level = 'options' in nested && Array.isArray(nested.options) ? (nested.options as APIApplicationCommandInteractionDataOption[]) : [];
  }
  const values = level
    .filter((o): o is APIApplicationCommandInteractionDataOption & { value: string | number | boolean } => 'value' in o)
    .map((o) => ({ name: o.name, value: o.value, ...('focused' in o && o.focused ? { focused: true } : {}) }));
  return { path, values };
}

/**
 * The command text a slash command stands for, e.g. `/upgrade request device=edge-01 when=now
 * forced`: every option as `key=value` (quoted so `tokenize` reads it back exactly), flags as bare
 * words when true; `help` becomes `/upgrade help <command>`.
 */
export function commandText(group: string, options: readonly APIApplicationCommandInteractionDataOption[] | undefined): string {
  const { path, values } = subcommandPath(options);
  if (path[0] === 'help') {
    const about = values.find((v) => v.name === 'command')?.value;
    return `/${group} help${about ? ` ${String(about)}` : ''}`;
  }
  const words = [`/${group}`, ...path];
  for (const { name, value } of values) {
    if (typeof value === 'boolean') {
      if (value) words.push(name);
      continue;
    }
    words.push(`${name}=${quoteWord(String(value))}`);
  }
  return words.join(' ');
}
