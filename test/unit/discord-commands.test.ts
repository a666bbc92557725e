/**
 * The Discord application commands built from `commands/`, the text an interaction stands for,
 * the two forms, and the suggestions behind autocomplete.
 */
import { describe, expect, it } from '@jest/globals';
import { ApplicationCommandOptionType } from 'discord-api-types/v10';
import type {
  APIApplicationCommandBasicOption,
  APIApplicationCommandInteractionDataOption,
  APIApplicationCommandOption,
} from 'discord-api-types/v10';
import { registry } from '../../commands/index.js';
import { parseArgs, tokenize } from '../../src/core/args.js';
import { resolveCommand } from '../../src/core/dispatch.js';
import { COMMAND_LIMITS, applicationCommands, commandOptions, commandText } from '../../src/adapters/discord/commands.js';
import {
  EMPTY_DRAFT,
  draftCommandText,
  passwordCommandText,
  passwordModal,
  readHardware,
  readRequestModal,
  requestModal,
} from '../../src/adapters/discord/modals.js';
import { suggestDeviceList, suggestDevices, suggestVersions } from '../../src/services/suggestions.js';
import { BOB, GRETA, PAT, harness } from '../commands/harness.js';

const NAME = /^[-_\p{L}\p{N}]{1,32}$/u;

/** Every option of every level, with the path that leads to it. */
function walk(options: readonly APIApplicationCommandOption[] | undefined, path: string[] = []): Array<{ path: string[]; option: APIApplicationCommandOption }> {
  return (options ?? []).flatMap((o) => [
    { path, option: o },
    ...('options' in o && Array.isArray(o.options) && !('choices' in o) ? walk(o.options as APIApplicationCommandOption[], [...path, o.name]) : []),
  ]);
}

/** Parses typed command text the way the dispatcher does. */
function parsed(textValue: string): { name: string; values: Record<string, unknown> } {
  const words = tokenize(textValue);
  if (!words.ok) throw new Error(words.error.message);
  const { command, rest } = resolveCommand(registry, words.value);
  if (!command) throw new Error(`not a command: ${textValue}`);
  const args = parseArgs(rest, command.args, command);
  if (!args.ok) throw new Error(`${textValue}: ${args.error.message}`);
  return { name: `${command.group} ${command.name}`, values: args.value };
}

/** The interaction options Discord would send for typed values (what a user picks in the command line). */
function interactionOptions(name: string, values: Record<string, unknown>): APIApplicationCommandInteractionDataOption[] {
  const [, ...words] = name.split(' ');
  const leaf = Object.entries(values)
    .filter(([, v]) => v !== undefined && v !== false)
    .map(([key, v]) =>
      typeof v === 'boolean'
        ? { name: key, type: ApplicationCommandOptionType.Boolean, value: v }
        : { name: key, type: ApplicationCommandOptionType.String, value: String(v) },
    ) as APIApplicationCommandInteractionDataOption[];
  if (words.length === 2) {
    return [
      {
        name: words[0] as string,
        type: ApplicationCommandOptionType.SubcommandGroup,
        options: [{ name: words[1] as string, type: ApplicationCommandOptionType.Subcommand, options: leaf as never }],
      },
    ] as APIApplicationCommandInteractionDataOption[];
  }
  return [{ name: words[0] as string, type: ApplicationCommandOptionType.Subcommand, options: leaf as never }] as APIApplicationCommandInteractionDataOption[];
}

describe('application commands', () => {
  const commands = applicationCommands(registry);

  it('registers /upgrade and /upgrade-admin with a subcommand for every command and a help subcommand', () => {
    expect(commands.map((c) => c.name)).toEqual(['upgrade', 'upgrade-admin']);
    const subs = (i: number) => (commands[i]?.options ?? []).map((o) => o.name);
    expect(subs(0)).toEqual(expect.arrayContaining(['request', 'bulk', 'status', 'list', 'releases', 'windows', 'approve', 'decline', 'cancel', 'password', 'problem', 'rate', 'help']));
    expect(subs(1)).toEqual(expect.arrayContaining(['assign', 'run', 'password', 'maintenance', 'help']));
    const maintenance = commands[1]?.options?.find((o) => o.name === 'maintenance');
    expect(maintenance?.type).toBe(ApplicationCommandOptionType.SubcommandGroup);
    expect((maintenance as { options: Array<{ name: string }> }).options.map((o) => o.name)).toEqual(['add', 'list', 'remove']);
  });

  it('keeps every name and description within Discord limits', () => {
    for (const c of commands) {
      expect(c.name).toMatch(NAME);
      expect(c.description?.length).toBeLessThanOrEqual(COMMAND_LIMITS.description);
      expect(c.options?.length ?? 0).toBeLessThanOrEqual(COMMAND_LIMITS.options);
      for (const { option } of walk(c.options)) {
        expect(option.name).toMatch(NAME);
        expect(option.name).toBe(option.name.toLowerCase());
        expect(option.description.length).toBeGreaterThan(0);
        expect(option.description.length).toBeLessThanOrEqual(COMMAND_LIMITS.description);
        if ('choices' in option && option.choices) expect(option.choices.length).toBeLessThanOrEqual(COMMAND_LIMITS.choices);
        if ('options' in option && option.options) expect(option.options.length).toBeLessThanOrEqual(COMMAND_LIMITS.options);
      }
    }
  });

  it('keeps each command under the 8,000 characters Discord allows for names, descriptions and choices', () => {
    const size = (o: { name: string; description?: string; choices?: Array<{ name: string; value: unknown }>; options?: unknown[] }): number =>
      o.name.length +
      (o.description?.length ?? 0) +
      (o.choices ?? []).reduce((n, c) => n + c.name.length + String(c.value).length, 0) +
      ((o.options ?? []) as Array<Parameters<typeof size>[0]>).reduce((n, x) => n + size(x), 0);
    for (const c of commands) expect(size(c as Parameters<typeof size>[0])).toBeLessThanOrEqual(8000);
  });

  it('puts required options before optional ones, as Discord demands', () => {
    for (const c of registry.commands) {
      const options = commandOptions(c);
      const firstOptional = options.findIndex((o) => !o.required);
      if (firstOptional !== -1) expect(options.slice(firstOptional).every((o) => !o.required)).toBe(true);
    }
  });

  it('types options: flags are booleans, choices are listed, devices and versions are autocompleted', () => {
    const byName = (group: string, name: string) => commandOptions(registry.commands.find((c) => c.group === group && c.name === name)!);
    const request = byName('upgrade', 'request');
    const get = (opts: APIApplicationCommandBasicOption[], n: string) => opts.find((o) => o.name === n) as Record<string, unknown> | undefined;
    expect(get(request, 'forced')?.type).toBe(ApplicationCommandOptionType.Boolean);
    expect(get(request, 'device')?.autocomplete).toBe(true);
    expect(get(request, 'version')?.autocomplete).toBe(true);
    expect(get(byName('upgrade', 'bulk'), 'devices')?.autocomplete).toBe(true);
    expect(get(byName('upgrade', 'list'), 'scope')?.choices).toEqual([
      { name: 'open', value: 'open' },
      { name: 'all', value: 'all' },
    ]);
    expect(get(byName('upgrade-admin', 'run'), 'event')).toMatchObject({ required: true, choices: expect.arrayContaining([{ name: 'abort', value: 'abort' }]) });
  });

  it('makes every option of /upgrade request optional, so that the command alone opens the form', () => {
    expect(commandOptions(registry.commands.find((c) => c.name === 'request')!).every((o) => !o.required)).toBe(true);
  });

  it('offers no password option: the manager password is typed into a form, never into the command line', () => {
    const password = commandOptions(registry.commands.find((c) => c.group === 'upgrade' && c.name === 'password')!);
    expect(password.map((o) => o.name)).toEqual(['ref']);
  });
});

describe('the text an interaction stands for', () => {
  const examples = registry.commands.filter((c) => !(c.group === 'upgrade' && c.name === 'password'));

  it.each(examples.map((c) => [`${c.group} ${c.name}`, c.example]))('/%s: the example, picked as options, reads back as the same arguments', (_name, example) => {
    const typed = parsed(example);
    const [group] = typed.name.split(' ');
    const textValue = commandText(group as string, interactionOptions(typed.name, typed.values));
    expect(parsed(textValue)).toEqual(typed);
  });

  it('quotes values with spaces and quotes so they survive the tokenizer', () => {
    const values = { ref: 'UPG-000001', text: 'it says "error 42" since the upgrade' };
    const textValue = commandText('upgrade', interactionOptions('upgrade problem', values));
    expect(parsed(textValue).values).toEqual(values);
  });

  it('turns the help subcommand into /upgrade help <command>', () => {
    expect(commandText('upgrade', [{ name: 'help', type: ApplicationCommandOptionType.Subcommand, options: [] }])).toBe('/upgrade help');
    expect(
      commandText('upgrade-admin', [
        { name: 'help', type: ApplicationCommandOptionType.Subcommand, options: [{ name: 'command', type: ApplicationCommandOptionType.String, value: 'maintenance add' }] },
      ]),
    ).toBe('/upgrade-admin help maintenance add');
  });

  it('leaves out flags set to false', () => {
    const textValue = commandText('upgrade', interactionOptions('upgrade list', {}));
    expect(textValue).toBe('/upgrade list');
    const withFalse = commandText('upgrade', [
      { name: 'bulk', type: ApplicationCommandOptionType.Subcommand, options: [{ name: 'forced', type: ApplicationCommandOptionType.Boolean, value: false }] },
    ]);
    expect(withFalse).toBe('/upgrade bulk');
  });
});

describe('the request form', () => {
  it('fits Discord: at most five text inputs, labels of at most 45 and placeholders of at most 100 characters', () => {
    const modal = requestModal();
    expect(modal.components.length).toBeLessThanOrEqual(5);
    expect(modal.title.length).toBeLessThanOrEqual(45);
    for (const row of modal.components) {
      const input = (row as { components: Array<{ label: string; placeholder?: string; custom_id: string }> }).components[0]!;
      expect(input.label.length).toBeLessThanOrEqual(45);
      expect((input.placeholder ?? '').length).toBeLessThanOrEqual(100);
    }
  });

  it('comes back filled in with what was typed before', () => {
    const modal = requestModal({ ...EMPTY_DRAFT, device: 'edge-01', mac: '00:1A:2B:3C:4D:5E', note: 'call Bob' });
    const values = modal.components.map((row) => (row as { components: Array<{ custom_id: string; value?: string }> }).components[0]!);
    expect(values.find((v) => v.custom_id === 'device')?.value).toBe('edge-01');
    expect(values.find((v) => v.custom_id === 'hardware')?.value).toBe('MAC: 00:1A:2B:3C:4D:5E\nIP: \nSerial: ');
    expect(values.find((v) => v.custom_id === 'note')?.value).toBe('call Bob');
  });

  it.each([
    ['labelled lines', 'MAC: 00:1A:2B:3C:4D:5E\nIP: 203.0.113.10\nSerial: SN-1001'],
    ['any order and case', 'serial number = SN-1001\nip address: 203.0.113.10\nmac=00:1A:2B:3C:4D:5E'],
    ['bare lines in the order MAC, IP, serial', '00:1A:2B:3C:4D:5E\n203.0.113.10\nSN-1001'],
    ['Windows line ends and blank lines', '\r\nMAC: 00:1A:2B:3C:4D:5E\r\n\r\nIP: 203.0.113.10\r\nS/N: SN-1001\r\n'],
  ])('reads MAC, IP and serial from %s', (_what, textValue) => {
    expect(readHardware(textValue)).toEqual({ mac: '00:1A:2B:3C:4D:5E', ip: '203.0.113.10', serial: 'SN-1001' });
  });

  it('leaves a hardware line empty when it was left empty', () => {
    expect(readHardware('MAC: \nIP: 203.0.113.10\nSerial: ')).toEqual({ mac: '', ip: '203.0.113.10', serial: '' });
  });

  it('files a form as the typed command, which the dispatcher reads back exactly', () => {
    const draft = readRequestModal(
      new Map([
        ['device', ' edge-01 '],
        ['version', '7.1.0'],
        ['when', 'window'],
        ['hardware', 'MAC: 00:1A:2B:3C:4D:5E\nIP: 203.0.113.10\nSerial: SN-1001'],
        ['note', 'call "Bob" first'],
      ]),
    );
    expect(parsed(draftCommandText(draft)).values).toMatchObject({
      device: 'edge-01',
      version: '7.1.0',
      when: 'window',
      mac: '00:1A:2B:3C:4D:5E',
      ip: '203.0.113.10',
      serial: 'SN-1001',
      note: 'call "Bob" first',
    });
  });

  it('passes a password with spaces, quotes and equals signs through the password form intact', () => {
    const password = 'p@ss "word" = x\\y';
    expect(passwordModal('UPG-000001').custom_id).toBe('upgrade_password:UPG-000001');
    expect(parsed(passwordCommandText('UPG-000001', password)).values).toEqual({ ref: 'UPG-000001', password });
  });
});

describe('suggestions while typing', () => {
  it("offers only the person's own company's devices, matching what was typed", async () => {
    const h = await harness();
    const bob = (await h.store.people.byEmail(BOB))!;
    const all = await suggestDevices(h.deps, bob, { typed: '' });
    expect(all.map((s) => s.value)).toEqual(expect.arrayContaining(['edge-01', 'edge-02']));
    expect(all.map((s) => s.value)).not.toContain('gx-tenant-1');
    expect((await suggestDevices(h.deps, bob, { typed: 'SN-1001' })).map((s) => s.value)).toEqual(['edge-01']);
    const greta = (await h.store.people.byEmail(GRETA))!;
    expect((await suggestDevices(h.deps, greta, { typed: 'edge' })).length).toBe(0);
  });

  it('offers staff nothing until they name the company', async () => {
    const h = await harness();
    const pat = (await h.store.people.byEmail(PAT))!;
    expect(await suggestDevices(h.deps, pat, { typed: '' })).toEqual([]);
    expect((await suggestDevices(h.deps, pat, { typed: '', company: 'globex gmbh' })).map((s) => s.value)).toEqual(['gx-tenant-1', 'gx-tenant-2']);
  });

  it("offers the named device's newer versions first, newest first, without its own version", async () => {
    const h = await harness();
    const bob = (await h.store.people.byEmail(BOB))!;
    const versions = (await suggestVersions(h.deps, bob, { typed: '', device: 'edge-01' })).map((s) => s.value);
    expect(versions).not.toContain('5.2.0');
    expect(versions[0]).toBe('9.1.0');
    expect(versions).toContain('7.1.0');
    expect((await suggestVersions(h.deps, bob, { typed: '7.', device: 'edge-01' })).every((s) => s.value.startsWith('7.'))).toBe(true);
  });

  it('completes the last name of a device list and offers status and product selections', async () => {
    const h = await harness();
    const jane = (await h.store.people.byEmail('jane@acme.example'))!;
    const first = (await suggestDeviceList(h.deps, jane, { typed: '' })).map((s) => s.value);
    expect(first).toEqual(expect.arrayContaining(['status:upgrade_required', 'product:SysMaster', 'edge-01']));
    const next = (await suggestDeviceList(h.deps, jane, { typed: 'edge-01,ed' })).map((s) => s.value);
    expect(next).toEqual(['edge-01,edge-02']);
  });
});
