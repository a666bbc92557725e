import { describe, expect, it } from '@jest/globals';
import type { types, ViewStateValue } from '@slack/bolt';
import { requestCommand } from '../../commands/upgrade.command.js';
import { SLACK_LIMITS } from '../../src/adapters/slack/limits.js';
import {
  findingErrors,
  readRequestModal,
  REQUEST_MODAL_BLOCKS,
  REQUEST_MODAL_CALLBACK_ID,
  requestCommandText,
  requestModalView,
} from '../../src/adapters/slack/request-modal.js';
import type { ModalDevice, ModalValues, RequestModalContext } from '../../src/adapters/slack/request-modal.js';
import { parseArgs, quoteWord, tokenize } from '../../src/core/args.js';
import { parseWhen } from '../../src/domain/time.js';
import type { Finding, FindingCode } from '../../src/domain/types.js';

type InputBlock = types.InputBlock;

const DEVICES: ModalDevice[] = [
  { name: 'edge-01', serial: 'SN-1001', product: 'SysMaster', version: '7.0.2' },
  { name: 'edge-02', serial: 'SN-1002', product: 'EdgeOS', version: '3.1.0' },
];

function ctx(over: Partial<RequestModalContext> = {}): RequestModalContext {
  return { devices: DEVICES, versions: { SysMaster: ['7.1.0', '7.2.0'] }, privateMetadata: '{"channel":"C1"}', ...over };
}

function inputs(view: types.ModalView): InputBlock[] {
  return view.blocks as InputBlock[];
}

function inputOf(view: types.ModalView, blockId: string): InputBlock {
  const block = inputs(view).find((b) => b.block_id === blockId);
  if (!block) throw new Error(`no block ${blockId}`);
  return block;
}

function devicesNamed(count: number): ModalDevice[] {
  return Array.from({ length: count }, (_, i) => ({ name: `d${i}`, serial: `SN-${i}`, product: 'SysMaster', version: '7.0.0' }));
}

/** Every string under `node` with the key it sits under. */
function strings(node: unknown, key = ''): Array<[string, string]> {
  if (typeof node === 'string') return [[key, node]];
  if (Array.isArray(node)) return node.flatMap((n) => strings(n, key));
  if (node !== null && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => strings(v, k));
  return [];
}

/** A view_submission's state.values as Slack sends them for the given answers. */
function state(a: {
  device?: string;
  deviceTyped?: string;
  version?: string;
  versionTyped?: string;
  when?: string | null;
  at?: number | null;
  mac?: string;
  ip?: string;
  serial?: string;
  options?: string[];
  note?: string | null;
}): Record<string, Record<string, ViewStateValue>> {
  const picked = (value: string | undefined): ViewStateValue => ({
    type: 'static_select',
    selected_option: value === undefined ? null : { text: { type: 'plain_text', text: value }, value },
  });
  const typed = (value: string | null | undefined): ViewStateValue => ({ type: 'plain_text_input', value: value ?? null });
  const b = REQUEST_MODAL_BLOCKS;
  return {
    [b.device]: { [b.device]: a.deviceTyped !== undefined ? typed(a.deviceTyped) : picked(a.device) },
    [b.version]: { [b.version]: a.versionTyped !== undefined ? typed(a.versionTyped) : picked(a.version) },
    [b.when]: {
      [b.when]: {
        type: 'radio_buttons',
        selected_option: a.when === null ? null : { text: { type: 'plain_text', text: 'x' }, value: a.when ?? 'window' },
      },
    },
    [b.whenAt]: { [b.whenAt]: { type: 'datetimepicker', selected_date_time: a.at ?? null } },
    [b.mac]: { [b.mac]: typed(a.mac) },
    [b.ip]: { [b.ip]: typed(a.ip) },
    [b.serial]: { [b.serial]: typed(a.serial) },
    [b.options]: {
      [b.options]: {
        type: 'checkboxes',
        selected_options: (a.options ?? []).map((v) => ({ text: { type: 'plain_text', text: v }, value: v })),
      },
    },
    [b.note]: { [b.note]: typed(a.note) },
  };
}

const HARDWARE = { mac: '00:1A:2B:3C:4D:5E', ip: '203.0.113.10', serial: 'SN-1001' };

describe('the request modal view', () => {
  it('is titled, has submit and close, and carries the private metadata unchanged', () => {
    const view = requestModalView(ctx());
    expect(view.callback_id).toBe(REQUEST_MODAL_CALLBACK_ID);
    expect(view.title).toEqual({ type: 'plain_text', text: 'Upgrade request' });
    expect(view.submit).toEqual({ type: 'plain_text', text: 'File request' });
    expect(view.close).toEqual({ type: 'plain_text', text: 'Cancel' });
    expect(view.private_metadata).toBe('{"channel":"C1"}');
  });

  it('has one input per argument, in order, each element’s action_id equal to its block id', () => {
    const view = requestModalView(ctx());
    const blocks = inputs(view);
    expect(blocks.map((b) => b.block_id)).toEqual(['device', 'version', 'when', 'when_at', 'mac', 'ip', 'serial', 'options', 'note']);
    expect(blocks.every((b) => b.type === 'input' && 'action_id' in b.element && b.element.action_id === b.block_id)).toBe(true);
    expect(blocks.filter((b) => b.optional).map((b) => b.block_id)).toEqual(['when_at', 'options', 'note']);
  });

  it('refuses private metadata longer than Slack carries', () => {
    expect(() => requestModalView(ctx({ privateMetadata: 'x'.repeat(3001) }))).toThrow(RangeError);
  });

  it('lists the devices by name, product, version and serial, and picks them by serial', () => {
    const element = inputOf(requestModalView(ctx()), 'device').element as types.StaticSelect;
    expect(element.type).toBe('static_select');
    expect(element.options).toEqual([
      { text: { type: 'plain_text', text: 'edge-01 (SysMaster 7.0.2, SN-1001)' }, value: 'SN-1001' },
      { text: { type: 'plain_text', text: 'edge-02 (EdgeOS 3.1.0, SN-1002)' }, value: 'SN-1002' },
    ]);
  });

  it.each([
    ['100 devices', 100, 'static_select'],
    ['101 devices', 101, 'plain_text_input'],
    ['no devices', 0, 'plain_text_input'],
  ])('with %s asks with a %s', (_, count, type) => {
    expect(inputOf(requestModalView(ctx({ devices: devicesNamed(count) })), 'device').element.type).toBe(type);
  });

  it('lists one product’s versions as plain options', () => {
    const element = inputOf(requestModalView(ctx()), 'version').element as types.StaticSelect;
    expect(element.option_groups).toBeUndefined();
    expect(element.options?.map((o) => o.text.text)).toEqual(['7.1.0', '7.2.0']);
  });

  it('groups the versions by product when there are several products', () => {
    const view = requestModalView(ctx({ versions: { SysMaster: ['7.1.0'], EdgeOS: ['3.2.0', '7.1.0'], Empty: [] } }));
    const element = inputOf(view, 'version').element as types.StaticSelect;
    expect(element.options).toBeUndefined();
    expect(element.option_groups?.map((g) => [g.label.text, g.options.map((o) => o.text.text)])).toEqual([
      ['SysMaster', ['7.1.0']],
      ['EdgeOS', ['3.2.0', '7.1.0']],
    ]);
    const values = element.option_groups?.flatMap((g) => g.options.map((o) => o.value));
    expect(new Set(values).size).toBe(values?.length);
  });

  it('asks for the version as text when there are more than 100', () => {
    const versions = { A: Array.from({ length: 60 }, (_, i) => `1.${i}.0`), B: Array.from({ length: 41 }, (_, i) => `2.${i}.0`) };
    expect(inputOf(requestModalView(ctx({ versions })), 'version').element.type).toBe('plain_text_input');
  });

  it('offers now, the next window or a date and time, the window chosen unless told otherwise', () => {
    const element = inputOf(requestModalView(ctx()), 'when').element as types.RadioButtons;
    expect(element.type).toBe('radio_buttons');
    expect(element.options.map((o) => o.value)).toEqual(['now', 'window', 'at']);
    expect(element.initial_option?.value).toBe('window');
    expect(inputOf(requestModalView(ctx()), 'when_at').element.type).toBe('datetimepicker');
  });

  it('asks for MAC, IP and serial as required text, to confirm the hardware [003]', () => {
    const view = requestModalView(ctx());
    for (const id of ['mac', 'ip', 'serial']) {
      const block = inputOf(view, id);
      expect(block.optional).toBeUndefined();
      expect(block.element.type).toBe('plain_text_input');
      expect(block.hint?.text).toContain('[003]');
    }
  });

  it('offers the [001] options with the command’s help texts', () => {
    const element = inputOf(requestModalView(ctx()), 'options').element as types.Checkboxes;
    expect(element.options.map((o) => [o.value, o.description?.text])).toEqual([
      ['forced', requestCommand.args.forced.help],
      ['redeploy', requestCommand.args.redeploy.help],
      ['notify_partner', requestCommand.args.notify_partner.help],
      ['notify_customer', requestCommand.args.notify_customer.help],
    ]);
    expect(element.initial_options).toBeUndefined();
  });

  it('takes an optional multiline note of at most 1000 characters', () => {
    const element = inputOf(requestModalView(ctx()), 'note').element as types.PlainTextInput;
    expect(element).toMatchObject({ type: 'plain_text_input', multiline: true, max_length: 1000 });
  });

  it('starts from the initial values it is given', () => {
    const at = new Date('2026-12-06T06:00:00Z');
    const view = requestModalView(
      ctx({
        initial: { device: 'edge-02', version: '7.2.0', when: { at }, ...HARDWARE, forced: true, notifyCustomer: true, note: 'n' },
      }),
    );
    expect((inputOf(view, 'device').element as types.StaticSelect).initial_option?.value).toBe('SN-1002');
    expect((inputOf(view, 'version').element as types.StaticSelect).initial_option?.text.text).toBe('7.2.0');
    expect((inputOf(view, 'when').element as types.RadioButtons).initial_option?.value).toBe('at');
    expect((inputOf(view, 'when_at').element as types.DateTimepicker).initial_date_time).toBe(at.getTime() / 1000);
    expect((inputOf(view, 'mac').element as types.PlainTextInput).initial_value).toBe(HARDWARE.mac);
    expect((inputOf(view, 'options').element as types.Checkboxes).initial_options?.map((o) => o.value)).toEqual([
      'forced',
      'notify_customer',
    ]);
    expect((inputOf(view, 'note').element as types.PlainTextInput).initial_value).toBe('n');
  });

  it('keeps every text and option within Slack’s limits, even for long names', () => {
    const long = 'x'.repeat(300);
    const view = requestModalView(
      ctx({ devices: [{ name: long, serial: 'SN-1', product: long, version: long }], versions: { [long]: ['1.0'], B: ['2.0'] } }),
    );
    expect(view.title.text.length).toBeLessThanOrEqual(SLACK_LIMITS.modalTitle);
    expect(view.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerModal);
    const all = strings(view.blocks);
    const options = inputs(view).flatMap((b) => {
      const e = b.element as { options?: types.PlainTextOption[]; option_groups?: types.OptionGroup[] };
      return [...(e.options ?? []), ...(e.option_groups ?? []).flatMap((g) => g.options as types.PlainTextOption[])];
    });
    expect(options.every((o) => o.text.text.length <= SLACK_LIMITS.optionText)).toBe(true);
    expect(options.every((o) => (o.value ?? '').length <= SLACK_LIMITS.optionValue)).toBe(true);
    expect(all.every(([, s]) => s.length <= SLACK_LIMITS.inputLabel)).toBe(true);
  });
});

describe('reading a submitted request modal', () => {
  it('reads picked values, the schedule and the options', () => {
    const read = readRequestModal(
      state({ device: 'SN-1001', version: '0:7.1.0', when: 'now', ...HARDWARE, options: ['forced', 'notify_partner'], note: ' hi ' }),
    );
    expect(read).toEqual({
      ok: true,
      value: {
        device: 'SN-1001',
        version: '7.1.0',
        when: 'now',
        ...HARDWARE,
        forced: true,
        redeploy: false,
        notifyPartner: true,
        notifyCustomer: false,
        note: 'hi',
      },
    });
  });

  it('reads typed device and version as typed', () => {
    const read = readRequestModal(state({ deviceTyped: ' edge-01 ', versionTyped: '0:7.1.0', ...HARDWARE }));
    expect(read.ok && [read.value.device, read.value.version]).toEqual(['edge-01', '0:7.1.0']);
  });

  it.each<[string, Parameters<typeof state>[0], ModalValues['when'] | Record<string, string>]>([
    ['"at" with a date and time', { when: 'at', at: 1796536800 }, { at: new Date(1796536800 * 1000) }],
    ['"at" without one', { when: 'at', at: null }, { when_at: 'Pick the date and time, or choose another “When”.' }],
    ['"now" with a stray date (ignored)', { when: 'now', at: 1796536800 }, 'now'],
    ['"window"', { when: 'window' }, 'window'],
    ['no choice', { when: null }, 'window'],
  ])('reads the schedule %s', (_, answers, expected) => {
    const read = readRequestModal(state({ device: 'SN-1001', version: '0:7.1.0', ...HARDWARE, ...answers }));
    expect(read.ok ? read.value.when : read.errors).toEqual(expected);
  });

  it('names each missing required value on its own block', () => {
    const read = readRequestModal(state({ version: '0:7.1.0', mac: '', ip: '  ' }));
    expect(read.ok ? null : Object.keys(read.errors).sort()).toEqual(['device', 'ip', 'mac', 'serial']);
  });
});

describe('the typed command equivalent to the modal', () => {
  const base: ModalValues = {
    device: 'SN-1001',
    version: '7.1.0',
    when: 'window',
    ...HARDWARE,
    forced: false,
    redeploy: false,
    notifyPartner: false,
    notifyCustomer: false,
    note: null,
  };

  it('is the /upgrade request command with every value and flag', () => {
    expect(
      requestCommandText({ ...base, when: { at: new Date('2026-12-06T06:00:00Z') }, forced: true, notifyCustomer: true, note: 'Call me first' }),
    ).toBe(
      '/upgrade request device=SN-1001 version=7.1.0 when=2026-12-06T06:00Z mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001 forced notify_customer note="Call me first"',
    );
  });

  it('writes a time with seconds only when it has them, and parseWhen reads the same instant', () => {
    for (const iso of ['2026-12-06T06:00:00Z', '2026-12-06T06:00:30Z']) {
      const at = new Date(iso);
      const when = /when=(\S+)/.exec(requestCommandText({ ...base, when: { at } }))?.[1] as string;
      const parsed = parseWhen(when, 'America/New_York', at);
      expect(parsed.ok && parsed.value).toEqual({ mode: 'at', at });
    }
  });

  const awkward: Array<[string, Partial<ModalValues>]> = [
    ['spaces', { device: 'edge 01', note: 'two  spaces' }],
    ['double quotes', { device: 'say "hi"', note: '"' }],
    ['single and typographic quotes', { device: "it's", mac: '“mac”', ip: '‘ip’', serial: '«sn»' }],
    ['backslashes', { device: 'C:\\dev\\', note: '\\"', serial: '\\' }],
    ['= in values', { device: 'a=b', note: 'x=1 y=2', version: '=' }],
    ['line breaks and tabs', { note: 'line 1\nline 2\tend' }],
    ['values that look like flags or keys', { device: 'forced', note: 'device=evil forced' }],
    ['non-Latin text', { device: 'édge-ü 東京', note: '🚀 ok' }],
  ];

  it.each(awkward)('reads back exactly through tokenize and parseArgs with %s', (_, over) => {
    const values = { ...base, forced: true, redeploy: true, ...over };
    const words = tokenize(requestCommandText(values));
    expect(words.ok).toBe(true);
    if (!words.ok) return;
    expect(words.value.slice(0, 2)).toEqual(['/upgrade', 'request']);
    const parsed = parseArgs(words.value.slice(2), requestCommand.args, requestCommand);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value).toMatchObject({
      device: values.device,
      version: values.version,
      when: 'window',
      mac: values.mac,
      ip: values.ip,
      serial: values.serial,
      note: values.note ?? undefined,
      forced: true,
      redeploy: true,
      notify_partner: false,
      notify_customer: false,
    });
  });

  it('quotes any text so that tokenize reads it back as one word (fuzzed)', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const alphabet = ['a', 'Z', '0', ' ', '\t', '\n', '"', "'", '“', '”', '‘', '’', '«', '»', '\\', '=', '-', 'é', '\u00a0'];
    for (let i = 0; i < 500; i++) {
      const length = next() % 12;
      const value = Array.from({ length }, () => alphabet[next() % alphabet.length]).join('');
      const words = tokenize(`note=${quoteWord(value)}`);
      expect(words).toEqual({ ok: true, value: [`note=${value}`] });
    }
  });

  it('round-trips a submission: read → command → parsed arguments', () => {
    const read = readRequestModal(
      state({ device: 'SN-1001', version: '1:7.1.0', when: 'at', at: 1796536800, ...HARDWARE, options: ['redeploy'], note: 'a "b" \\c' }),
    );
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    const words = tokenize(requestCommandText(read.value));
    const parsed = words.ok ? parseArgs(words.value.slice(2), requestCommand.args, requestCommand) : words;
    expect(parsed.ok && parsed.value).toMatchObject({
      device: 'SN-1001',
      version: '7.1.0',
      when: '2026-12-06T06:00Z',
      redeploy: true,
      forced: false,
      note: 'a "b" \\c',
    });
  });
});

describe('findings as modal errors', () => {
  const error = (code: FindingCode, message: string, extra: Partial<Finding> = {}): Finding => ({
    code,
    severity: 'error',
    message,
    ...extra,
  });

  it.each<[string, string, Finding, ModalValues['when'] | undefined]>([
    ['a wrong MAC', 'mac', error('hardware_mismatch', 'm', { field: 'mac' }), undefined],
    ['a wrong IP', 'ip', error('hardware_mismatch', 'm', { field: 'ip' }), undefined],
    ['a wrong serial', 'serial', error('hardware_mismatch', 'm', { field: 'serial' }), undefined],
    ['hardware without a field', 'device', error('hardware_mismatch', 'm'), undefined],
    ['an unknown device', 'device', error('unknown_device', 'm'), undefined],
    ['a blocked device', 'device', error('device_status_blocked', 'm'), undefined],
    ['a busy device', 'device', error('device_busy', 'm'), undefined],
    ['replication', 'device', error('replication_enabled', 'm'), undefined],
    ['a customer mismatch', 'device', error('customer_mismatch', 'm', { field: 'company' }), undefined],
    ['an unknown release', 'version', error('unknown_release', 'm'), undefined],
    ['the same version', 'version', error('same_version', 'm'), undefined],
    ['too large a jump', 'version', error('version_jump_too_large', 'm'), undefined],
    ['a past time chosen as a date', 'when_at', error('past_time', 'm'), { at: new Date(0) }],
    ['a blackout for a date', 'when_at', error('blackout_conflict', 'm'), { at: new Date(0) }],
    ['a blackout for "now"', 'when', error('blackout_conflict', 'm'), 'now'],
    ['a blackout without a known schedule', 'when', error('blackout_conflict', 'm'), undefined],
    ['anything else', 'device', error('not_authorized', 'm'), undefined],
  ])('puts %s on the %s input', (_, block, finding, when) => {
    expect(findingErrors([finding], when)).toEqual({ [block]: 'm' });
  });

  it('leaves warnings out', () => {
    expect(findingErrors([{ code: 'downgrade', severity: 'warning', message: 'w' }])).toEqual({});
  });

  it('joins several findings on one input, once each, as plain text without time marks', () => {
    const errors = findingErrors([
      error('unknown_release', 'No release 9.9 <for> you & me.'),
      error('same_version', 'Already \uE000123\uE001on 7.1.0\uE002.'),
      error('unknown_release', 'No release 9.9 <for> you & me.'),
    ]);
    expect(errors).toEqual({ version: 'No release 9.9 <for> you & me. Already on 7.1.0.' });
  });

  it('keeps each message within 2000 characters', () => {
    const errors = findingErrors([error('unknown_device', 'x'.repeat(1500)), error('device_busy', 'y'.repeat(1500))]);
    expect(errors.device?.length).toBe(SLACK_LIMITS.viewErrorText);
    expect(errors.device?.endsWith('…')).toBe(true);
  });
});
