/**
 * The Discord forms: the request form `/upgrade request` opens when given no options, and the
 * manager-password form `/upgrade password ref:…` opens (a modal's text is never shown in the
 * channel or in the command line Discord keeps). A Discord modal holds at most five text inputs,
 * so MAC, IP and serial share one field of `Label: value` lines. Reading a submitted form gives
 * the same command text as typing it. Pure: no I/O.
 */
import { ComponentType, TextInputStyle } from 'discord-api-types/v10';
import type { APIModalInteractionResponseCallbackData, APITextInputComponent } from 'discord-api-types/v10';
import { quoteWord } from '../../core/args.js';
import type { Finding } from '../../domain/types.js';
import type { RequestInput } from '../../services/file-request.js';
import { MAX_MANAGER_PASSWORD_LENGTH } from '../../services/provide-manager-password.js';

/** custom_id of the request form. */
export const REQUEST_MODAL_ID = 'upgrade_request';

/** custom_id prefix of the manager-password form; the reference follows. */
export const PASSWORD_MODAL_PREFIX = 'upgrade_password:';

/** custom_id of the "Edit the form" button shown with a form's findings; the draft id follows. */
export const EDIT_FORM_PREFIX = 'form:';

/** The text inputs of the request form. */
export const REQUEST_FIELDS = { device: 'device', version: 'version', when: 'when', hardware: 'hardware', note: 'note' } as const;

/** Discord's modal limits: 5 rows, title 45, label 45, placeholder 100, value 4000. */
const MODAL = { title: 45, label: 45, placeholder: 100, value: 4000 } as const;

/** Longest note the form takes (the command's own limit is larger; a form note is a few lines). */
export const MAX_NOTE_LENGTH = 1000;

/** What a filled-in (or partly filled-in) request form holds. */
export interface RequestDraft {
  device: string;
  version: string;
  when: string;
  mac: string;
  ip: string;
  serial: string;
  note: string;
}

/** The options of `/upgrade request` the form has a place for. */
export const FORM_OPTIONS: ReadonlySet<string> = new Set(['device', 'version', 'when', 'mac', 'ip', 'serial', 'note']);

export const EMPTY_DRAFT: RequestDraft = { device: '', version: '', when: '', mac: '', ip: '', serial: '', note: '' };

function input(
  customId: string,
  label: string,
  value: string,
  extra: { placeholder?: string; paragraph?: boolean; required?: boolean; maxLength?: number },
): { type: ComponentType.ActionRow; components: [APITextInputComponent] } {
  const component: APITextInputComponent = {
    type: ComponentType.TextInput,
    custom_id: customId,
    label: label.slice(0, MODAL.label),
    style: extra.paragraph ? TextInputStyle.Paragraph : TextInputStyle.Short,
    required: extra.required ?? true,
    max_length: extra.maxLength ?? 200,
    ...(extra.placeholder ? { placeholder: extra.placeholder.slice(0, MODAL.placeholder) } : {}),
    ...(value !== '' ? { value: value.slice(0, extra.maxLength ?? 200) } : {}),
  };
  return { type: ComponentType.ActionRow, components: [component] };
}

/** The hardware field's text: one `Label: value` line each, so the person sees what goes where. */
export function hardwareText(draft: Pick<RequestDraft, 'mac' | 'ip' | 'serial'>): string {
  return `MAC: ${draft.mac}\nIP: ${draft.ip}\nSerial: ${draft.serial}`;
}

/** The request form, filled in with `draft` (empty by default; the hardware lines are always there to fill). */
export function requestModal(draft: RequestDraft = EMPTY_DRAFT): APIModalInteractionResponseCallbackData {
  return {
    custom_id: REQUEST_MODAL_ID,
    title: 'Upgrade request',
    components: [
      input(REQUEST_FIELDS.device, 'Device (name or serial number)', draft.device, { placeholder: 'edge-01' }),
      input(REQUEST_FIELDS.version, 'Target version', draft.version, { placeholder: '7.1.0', maxLength: 50 }),
      input(REQUEST_FIELDS.when, 'When', draft.when, {
        placeholder: 'now, window (next upgrade slot) or 2026-12-06T01:00 (your timezone)',
        maxLength: 60,
      }),
      input(REQUEST_FIELDS.hardware, 'MAC, IP and serial as on the device', hardwareText(draft), {
        paragraph: true,
        maxLength: 300,
      }),
      input(REQUEST_FIELDS.note, 'Note for the support agent (optional)', draft.note, {
        paragraph: true,
        required: false,
        maxLength: MAX_NOTE_LENGTH,
        placeholder: 'Anything the agent should know, e.g. call Bob before starting',
      }),
    ],
  };
}

const HARDWARE_LABELS: Array<[keyof Pick<RequestDraft, 'mac' | 'ip' | 'serial'>, RegExp]> = [
  ['mac', /^(mac(\s*address)?|hw)$/i],
  ['ip', /^(ip(\s*address)?|ipv4|ipv6)$/i],
  ['serial', /^(serial(\s*(number|no\.?))?|sn|s\/n)$/i],
];

/**
 * Reads the hardware field: `Label: value` or `label=value` lines in any order and case; lines
 * without a known label fill MAC, IP and serial in that order.
 */
export function readHardware(textValue: string): Pick<RequestDraft, 'mac' | 'ip' | 'serial'> {
  const out = { mac: '', ip: '', serial: '' };
  const unlabeled: string[] = [];
  for (const raw of textValue.split(/\r?\n/).slice(0, 20)) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^([A-Za-z][A-Za-z ./]*?)\s*[:=]\s*(.*)$/.exec(line);
    const key = m ? HARDWARE_LABELS.find(([, re]) => re.test((m[1] ?? '').trim()))?.[0] : undefined;
    if (m && key) {
      if (out[key] === '') out[key] = (m[2] ?? '').trim();
      continue;
    }
    // A bare MAC such as 00:1A:2B:… also contains ':', so only an unknown word label is dropped.
    if (m && !/^[0-9a-f]{1,4}$/i.test((m[1] ?? '').trim())) continue;
    unlabeled.push(line);
  }
  for (const key of ['mac', 'ip', 'serial'] as const) {
    if (out[key] === '' && unlabeled.length) out[key] = unlabeled.shift() as string;
  }
  return out;
}

/** A submitted request form (text inputs by custom_id) as a draft. */
export function readRequestModal(fields: ReadonlyMap<string, string> | Record<string, string>): RequestDraft {
  const get = (id: string) => ((fields instanceof Map ? fields.get(id) : (fields as Record<string, string>)[id]) ?? '').trim();
  return {
    device: get(REQUEST_FIELDS.device),
    version: get(REQUEST_FIELDS.version),
    when: get(REQUEST_FIELDS.when).toLowerCase() === 'next window' ? 'window' : get(REQUEST_FIELDS.when),
    ...readHardware(get(REQUEST_FIELDS.hardware)),
    note: get(REQUEST_FIELDS.note),
  };
}

/** The draft as the request service reads it (the same as the typed command). */
export function draftInput(draft: RequestDraft): RequestInput {
  return {
    device: draft.device,
    version: draft.version,
    when: draft.when,
    mac: draft.mac || undefined,
    ip: draft.ip || undefined,
    serial: draft.serial || undefined,
    note: draft.note || undefined,
    forced: false,
    redeploy: false,
    notifyPartner: false,
    notifyCustomer: false,
    steps: false,
  };
}

/** The typed command a form stands for; filing it goes through the same dispatcher as chat. */
export function draftCommandText(draft: RequestDraft): string {
  const words = ['/upgrade request', `device=${quoteWord(draft.device)}`, `version=${quoteWord(draft.version)}`, `when=${quoteWord(draft.when)}`];
  for (const key of ['mac', 'ip', 'serial', 'note'] as const) {
    if (draft[key] !== '') words.push(`${key}=${quoteWord(draft[key])}`);
  }
  return words.join(' ');
}

/** The form field a finding asks to correct (its label, as the person sees it), or null when it concerns the request as a whole. */
export function fieldOfFinding(f: Finding): string | null {
  const where = `${f.field ?? ''} ${f.code}`;
  if (/\b(mac|ip|serial)\b|hardware_mismatch/i.test(where)) return 'MAC, IP and serial';
  if (/\bversion\b|unknown_release|version_jump|same_version|downgrade/i.test(where)) return 'Target version';
  if (/\b(when|time)\b|past_time|blackout|outside_low_traffic/i.test(where)) return 'When';
  if (/\bdevice\b|unknown_device|device_status|device_busy|replication|load_balancer/i.test(where)) return 'Device';
  return null;
}

/** The manager-password form for one request. */
export function passwordModal(ref: string): APIModalInteractionResponseCallbackData {
  return {
    custom_id: `${PASSWORD_MODAL_PREFIX}${ref}`,
    title: `Manager password for ${ref}`.slice(0, MODAL.title),
    components: [
      input('password', 'Manager password', '', {
        required: true,
        maxLength: MAX_MANAGER_PASSWORD_LENGTH,
        placeholder: 'From the System Configuration menu; stored encrypted, never shown',
      }),
    ],
  };
}

/** The command a submitted password form stands for (never logged: the dispatcher redacts it). */
export function passwordCommandText(ref: string, password: string): string {
  return `/upgrade password ${quoteWord(ref)} ${quoteWord(password)}`;
}
