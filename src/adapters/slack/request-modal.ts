/**
 * The `/upgrade request` form as a Slack modal: the view, reading a submission back into values,
 * the equivalent typed command (the modal is only a shortcut for it), and mapping the service's
 * findings onto the inputs where the user can fix them. Pure functions, no I/O.
 */
import type { types, ViewStateValue } from '@slack/bolt';
import { requestCommand } from '../../../commands/upgrade.command.js';
import { MAX_VALUE_LENGTH, quoteWord } from '../../core/args.js';
import { plainTimes, stripTimeMarkDelimiters } from '../../core/reply.js';
import type { Finding, FindingCode } from '../../domain/types.js';
import { SLACK_LIMITS } from './limits.js';

type ModalView = types.ModalView;
type InputBlock = types.InputBlock;
type PlainTextOption = types.PlainTextOption;
type PlainTextInput = types.PlainTextInput;

/** The callback_id of the request modal's view. */
export const REQUEST_MODAL_CALLBACK_ID = 'upgrade_request';

/** The block ids of the modal's inputs (each input's action_id is the same string). */
export const REQUEST_MODAL_BLOCKS = {
  device: 'device',
  version: 'version',
  when: 'when',
  whenAt: 'when_at',
  mac: 'mac',
  ip: 'ip',
  serial: 'serial',
  options: 'options',
  note: 'note',
} as const;

export type RequestModalBlockId = (typeof REQUEST_MODAL_BLOCKS)[keyof typeof REQUEST_MODAL_BLOCKS];

/** What the modal collects: the arguments of `/upgrade request`. */
export interface ModalValues {
  /** Serial number (picked from the list) or name/serial (typed). */
  device: string;
  version: string;
  when: 'now' | 'window' | { at: Date };
  mac: string;
  ip: string;
  serial: string;
  forced: boolean;
  redeploy: boolean;
  notifyPartner: boolean;
  notifyCustomer: boolean;
  note: string | null;
}

/** A device the user may pick. */
export interface ModalDevice {
  name: string;
  serial: string;
  product: string;
  version: string;
}

/** Everything the modal shows: the user's company's devices, release versions per product, and state to carry. */
export interface RequestModalContext {
  devices: ModalDevice[];
  /** Versions one can upgrade to, per product. */
  versions: Record<string, string[]>;
  /** Carried to the view_submission unchanged (at most 3000 characters). */
  privateMetadata: string;
  /** Values to start with, e.g. from a submission being corrected. */
  initial?: Partial<ModalValues>;
}

/** Longest note accepted by the form. */
export const MAX_NOTE_LENGTH = 1000;

const B = REQUEST_MODAL_BLOCKS;

const WHEN_CHOICES = [
  { value: 'now', text: 'As soon as it is approved' },
  { value: 'window', text: 'In the next upgrade window' },
  { value: 'at', text: 'At a date and time (pick it below)' },
] as const;

const OPTION_FLAGS = [
  { value: 'forced', key: 'forced', text: 'Forced' },
  { value: 'redeploy', key: 'redeploy', text: 'Redeploy' },
  { value: 'notify_partner', key: 'notifyPartner', text: 'Notify the partner' },
  { value: 'notify_customer', key: 'notifyCustomer', text: 'Notify the customer' },
] as const;

function plain(text: string, max: number): types.PlainTextElement {
  return { type: 'plain_text', text: cut(text, max) };
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 2);
  return `${text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 2 : max - 1)}…`;
}

function option(text: string, value: string, description?: string): PlainTextOption {
  const o: PlainTextOption = { text: plain(text, SLACK_LIMITS.optionText), value };
  if (description) o.description = plain(description, SLACK_LIMITS.optionDescription);
  return o;
}

function input(
  blockId: RequestModalBlockId,
  label: string,
  element: InputBlock['element'],
  extra: { hint?: string; optional?: boolean } = {},
): InputBlock {
  const block: InputBlock = { type: 'input', block_id: blockId, label: plain(label, SLACK_LIMITS.inputLabel), element };
  if (extra.hint) block.hint = plain(extra.hint, SLACK_LIMITS.inputHint);
  if (extra.optional) block.optional = true;
  return block;
}

function textInput(
  actionId: RequestModalBlockId,
  initial: string | undefined,
  extra: { placeholder?: string; multiline?: boolean; maxLength?: number } = {},
): PlainTextInput {
  const element: PlainTextInput = { type: 'plain_text_input', action_id: actionId, max_length: extra.maxLength ?? MAX_VALUE_LENGTH };
  if (extra.placeholder) element.placeholder = plain(extra.placeholder, SLACK_LIMITS.placeholder);
  if (extra.multiline) element.multiline = true;
  if (initial !== undefined && initial !== '') element.initial_value = initial;
  return element;
}

function deviceInput(devices: ModalDevice[], initial: string | undefined): InputBlock {
  const unique = [...new Map(devices.map((d) => [d.serial, d])).values()];
  const listable =
    unique.length > 0 &&
    unique.length <= SLACK_LIMITS.selectOptions &&
    unique.every((d) => d.serial !== '' && d.serial.length <= SLACK_LIMITS.optionValue);
  if (!listable) {
    return input(B.device, 'Device', textInput(B.device, initial, { placeholder: 'Device name or serial number' }), {
      hint: unique.length > SLACK_LIMITS.selectOptions ? 'Your company has too many devices to list: type the name or serial number.' : undefined,
    });
  }
  const options = unique.map((d) => option(`${d.name} (${d.product} ${d.version}, ${d.serial})`, d.serial));
  const chosen =
    initial === undefined
      ? undefined
      : (options.find((o) => o.value === initial) ??
        options[unique.findIndex((d) => d.name.toLowerCase() === initial.toLowerCase())]);
  const element: types.StaticSelect = {
    type: 'static_select',
    action_id: B.device,
    placeholder: plain('Choose a device', SLACK_LIMITS.placeholder),
    options,
  };
  if (chosen) element.initial_option = chosen;
  return input(B.device, 'Device', element);
}

/** Version option values carry their group ("0:7.1.0"), so equal versions of two products stay distinct. */
function versionValue(group: number, version: string): string {
  return `${group}:${version}`;
}

function versionInput(versions: Record<string, string[]>, initial: string | undefined): InputBlock {
  const groups = Object.entries(versions)
    .map(([product, list]) => ({ product, list: [...new Set(list)] }))
    .filter((g) => g.list.length > 0);
  const count = groups.reduce((n, g) => n + g.list.length, 0);
  const listable =
    count > 0 &&
    count <= SLACK_LIMITS.selectOptions &&
    groups.every((g, i) => g.list.every((v) => versionValue(i, v).length <= SLACK_LIMITS.optionValue));
  if (!listable) {
    return input(B.version, 'Target version', textInput(B.version, initial, { placeholder: 'e.g. 7.1.0' }), {
      hint: count > 0 ? 'See /upgrade releases for the versions you can upgrade to.' : undefined,
    });
  }
  const grouped = groups.map((g, i) => ({ label: g.product, options: g.list.map((v) => option(v, versionValue(i, v))) }));
  const element: types.StaticSelect = {
    type: 'static_select',
    action_id: B.version,
    placeholder: plain('Choose a version', SLACK_LIMITS.placeholder),
  };
  if (grouped.length > 1) {
    element.option_groups = grouped.map((g) => ({ label: plain(g.label, SLACK_LIMITS.optionText), options: g.options }));
  } else {
    element.options = grouped[0]?.options ?? [];
  }
  const chosen = initial === undefined ? undefined : grouped.flatMap((g) => g.options).find((o) => o.text.text === initial);
  if (chosen) element.initial_option = chosen;
  return input(B.version, 'Target version', element);
}

function whenMode(when: ModalValues['when'] | undefined): 'now' | 'window' | 'at' {
  return when === undefined ? 'window' : typeof when === 'string' ? when : 'at';
}

/**
 * The `/upgrade request` modal: device and version pickers (typed inputs when there are more than
 * Slack can list), schedule, the hardware confirmation [003], the [001] options and a note, every
 * text within Slack's limits; `privateMetadata` is carried unchanged (throws when over 3000).
 */
export function requestModalView(ctx: RequestModalContext): ModalView {
  if (ctx.privateMetadata.length > SLACK_LIMITS.privateMetadata) {
    throw new RangeError(`private_metadata is ${ctx.privateMetadata.length} characters; Slack allows ${SLACK_LIMITS.privateMetadata}`);
  }
  const initial = ctx.initial ?? {};
  const args = requestCommand.args;

  const whenOptions = WHEN_CHOICES.map((c) => option(c.text, c.value));
  const mode = whenMode(initial.when);
  const whenElement: types.RadioButtons = {
    type: 'radio_buttons',
    action_id: B.when,
    options: whenOptions,
    initial_option: whenOptions.find((o) => o.value === mode) ?? whenOptions[1],
  };

  const atElement: types.DateTimepicker = { type: 'datetimepicker', action_id: B.whenAt };
  if (initial.when !== undefined && typeof initial.when !== 'string') {
    atElement.initial_date_time = Math.floor(initial.when.at.getTime() / 1000);
  }

  const flagOptions = OPTION_FLAGS.map((f) => option(f.text, f.value, args[f.value].help));
  const flagsOn = flagOptions.filter((_, i) => initial[(OPTION_FLAGS[i] as (typeof OPTION_FLAGS)[number]).key] === true);
  const optionsElement: types.Checkboxes = { type: 'checkboxes', action_id: B.options, options: flagOptions };
  if (flagsOn.length > 0) optionsElement.initial_options = flagsOn;

  const confirm = 'Confirms the device you mean: copy it from System Configuration [003].';
  return {
    type: 'modal',
    callback_id: REQUEST_MODAL_CALLBACK_ID,
    title: plain('Upgrade request', SLACK_LIMITS.modalTitle),
    submit: plain('File request', SLACK_LIMITS.modalButton),
    close: plain('Cancel', SLACK_LIMITS.modalButton),
    private_metadata: ctx.privateMetadata,
    blocks: [
      deviceInput(ctx.devices, initial.device),
      versionInput(ctx.versions, initial.version),
      input(B.when, 'When', whenElement),
      input(B.whenAt, 'Date and time', atElement, {
        optional: true,
        hint: 'Only for “At a date and time”; shown in your own timezone.',
      }),
      input(B.mac, 'MAC address', textInput(B.mac, initial.mac, { placeholder: '00:1A:2B:3C:4D:5E' }), {
        hint: `${cap(args.mac.help)}. ${confirm}`,
      }),
      input(B.ip, 'IP address', textInput(B.ip, initial.ip, { placeholder: '203.0.113.10' }), {
        hint: `${cap(args.ip.help)}. ${confirm}`,
      }),
      input(B.serial, 'Serial number', textInput(B.serial, initial.serial, { placeholder: 'SN-1001' }), {
        hint: `${cap(args.serial.help)}. ${confirm}`,
      }),
      input(B.options, 'Options', optionsElement, { optional: true }),
      input(
        B.note,
        'Note',
        textInput(B.note, initial.note ?? undefined, { multiline: true, maxLength: MAX_NOTE_LENGTH }),
        { optional: true, hint: cap(args.note.help) + '.' },
      ),
    ],
  };
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The state of one input: by its action_id, else the block's only element. */
function stateOf(values: Record<string, Record<string, ViewStateValue>>, block: RequestModalBlockId): ViewStateValue | undefined {
  const inBlock = values[block];
  if (!inBlock) return undefined;
  return inBlock[block] ?? Object.values(inBlock)[0];
}

/** Text typed or picked in one input, trimmed; '' when empty. */
function textOf(state: ViewStateValue | undefined): string {
  const raw = state?.selected_option?.value ?? state?.value ?? '';
  return stripTimeMarkDelimiters(raw).trim();
}

/**
 * Reads a view_submission's `view.state.values` into ModalValues, or says per block what is
 * missing or unreadable (e.g. "at a date and time" without one); a date given with another
 * schedule is ignored.
 */
export function readRequestModal(
  values: Record<string, Record<string, ViewStateValue>>,
): { ok: true; value: ModalValues } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const required = (block: RequestModalBlockId, what: string): string => {
    const v = textOf(stateOf(values, block));
    if (v === '') errors[block] = `Give the ${what}.`;
    else if (v.length > MAX_VALUE_LENGTH) errors[block] = `At most ${MAX_VALUE_LENGTH} characters (this is ${v.length}).`;
    return v;
  };

  const device = required(B.device, 'device');
  // A picked version's value carries its group ("0:7.1.0"); a typed one is the version itself.
  const picked = stateOf(values, B.version)?.selected_option !== undefined && stateOf(values, B.version)?.selected_option !== null;
  const versionText = required(B.version, 'version to upgrade to');
  const version = picked ? versionText.replace(/^\d+:/, '') : versionText;

  const mode = stateOf(values, B.when)?.selected_option?.value ?? 'window';
  let when: ModalValues['when'] = 'window';
  if (mode === 'now' || mode === 'window') {
    when = mode;
  } else if (mode === 'at') {
    const seconds = stateOf(values, B.whenAt)?.selected_date_time;
    if (typeof seconds === 'number' && Number.isFinite(seconds)) when = { at: new Date(seconds * 1000) };
    else errors[B.whenAt] = 'Pick the date and time, or choose another “When”.';
  } else {
    errors[B.when] = 'Choose when the upgrade should run.';
  }

  const mac = required(B.mac, 'MAC address');
  const ip = required(B.ip, 'IP address');
  const serial = required(B.serial, 'serial number');

  const flags = new Set((stateOf(values, B.options)?.selected_options ?? []).map((o) => o.value));
  const noteText = stripTimeMarkDelimiters(stateOf(values, B.note)?.value ?? '').trim();
  if (noteText.length > MAX_NOTE_LENGTH) errors[B.note] = `At most ${MAX_NOTE_LENGTH} characters (this is ${noteText.length}).`;

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      device,
      version,
      when,
      mac,
      ip,
      serial,
      forced: flags.has('forced'),
      redeploy: flags.has('redeploy'),
      notifyPartner: flags.has('notify_partner'),
      notifyCustomer: flags.has('notify_customer'),
      note: noteText === '' ? null : noteText,
    },
  };
}

/** The schedule as `when=` reads it: now, window, or the instant in UTC, e.g. 2026-12-06T06:00Z (seconds only when not zero). */
export function whenText(when: ModalValues['when']): string {
  if (typeof when === 'string') return when;
  const iso = when.at.toISOString();
  const seconds = iso.slice(17, 19);
  return `${iso.slice(0, 16)}${seconds === '00' ? '' : `:${seconds}`}Z`;
}

/** The typed `/upgrade request …` equivalent to the values; `tokenize` and parseArgs read every value back exactly. */
export function requestCommandText(values: ModalValues): string {
  const when = whenText(values.when);
  const words = [
    '/upgrade request',
    `device=${quoteWord(values.device)}`,
    `version=${quoteWord(values.version)}`,
    `when=${when}`,
    `mac=${quoteWord(values.mac)}`,
    `ip=${quoteWord(values.ip)}`,
    `serial=${quoteWord(values.serial)}`,
  ];
  if (values.forced) words.push('forced');
  if (values.redeploy) words.push('redeploy');
  if (values.notifyPartner) words.push('notify_partner');
  if (values.notifyCustomer) words.push('notify_customer');
  if (values.note !== null && values.note !== '') words.push(`note=${quoteWord(values.note)}`);
  return words.join(' ');
}

const BLOCK_OF_CODE: Partial<Record<FindingCode, RequestModalBlockId | 'schedule'>> = {
  unknown_device: B.device,
  device_status_blocked: B.device,
  device_busy: B.device,
  replication_enabled: B.device,
  customer_mismatch: B.device,
  unknown_release: B.version,
  same_version: B.version,
  version_jump_too_large: B.version,
  past_time: 'schedule',
  blackout_conflict: 'schedule',
};

const HARDWARE_BLOCKS: Record<string, RequestModalBlockId> = { mac: B.mac, ip: B.ip, serial: B.serial };

/** The modal block where the user can fix a finding. */
function blockFor(f: Finding, when: ModalValues['when'] | undefined): RequestModalBlockId {
  if (f.code === 'hardware_mismatch') return HARDWARE_BLOCKS[f.field ?? ''] ?? B.device;
  const block = BLOCK_OF_CODE[f.code] ?? B.device;
  if (block === 'schedule') return whenMode(when) === 'at' ? B.whenAt : B.when;
  return block;
}

/**
 * The error findings as view_submission `errors` (block id → message) on the input where each can
 * be fixed; several on one input are joined, each message is plain text (Slack shows these
 * unformatted, so nothing is escaped) of at most 2000 characters. Warnings are left out.
 */
export function findingErrors(findings: readonly Finding[], when?: ModalValues['when']): Record<string, string> {
  const byBlock = new Map<string, string[]>();
  for (const f of findings) {
    if (f.severity !== 'error') continue;
    const block = blockFor(f, when);
    const message = plainTimes(f.message).replace(/\s+/g, ' ').trim();
    const list = byBlock.get(block) ?? [];
    if (message !== '' && !list.includes(message)) list.push(message);
    byBlock.set(block, list);
  }
  const errors: Record<string, string> = {};
  for (const [block, messages] of byBlock) {
    errors[block] = cut(messages.join(' ') || 'This needs to be corrected.', SLACK_LIMITS.viewErrorText);
  }
  return errors;
}
