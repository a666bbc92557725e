/**
 * The e-mailed request form [003]: a template of `Label: value` lines, and a tolerant reader that
 * turns a decoded e-mail body (plain text and/or HTML) into the same `/upgrade request` command a
 * chat user would type. Pure: no I/O, no clock; bounded work on any input, and no input throws.
 *
 * Reading rules (the decisions behind them, in one place):
 * - Labels: any case, spacing, punctuation, bullets (`*`, `-`, `1.`), markdown bold and a
 *   parenthesised hint are ignored; `:`, `=`, ` - ` (also en/em dash), a tab, a markdown table
 *   `| Label | value |` or an HTML table row (label cell, value cell) separate label and value.
 *   Aliases per field (e.g. `S/N`, `Serial No.`, `E-Mail address`, `When`, `Comments`); labels of
 *   4+ letters may be misspelt (Damerau–Levenshtein ≤ 1, ≤ 2 from 6 letters; a distance of 2 only
 *   when the word count agrees) and are then listed in `corrected`; ambiguous guesses match nothing.
 * - Values stay on the label's line; a label with no value is missing. Only Notes continues over
 *   the following lines, joined with spaces, until a blank line, another label, a signature or a
 *   sign-off. Placeholders (`-`, `n/a`, `none`, `tbd`, `?`) count as empty.
 * - A field given twice: the first non-empty value wins; later ones are ignored and not reported.
 * - Quoted mail (`>` lines, "On … wrote:", "-----Original Message-----", "From: … Sent: …",
 *   forwarded-message markers) splits the body: the part above wins when it holds a form (3+
 *   values), otherwise whichever part holds more values, so a forwarded form is still read while a
 *   customer's own answers beat the quoted bot message. Mail-header lines (From, To, Date, …) in
 *   either part are skipped, never taken as fields nor reported.
 * - Reading stops at a signature delimiter (`--` alone on a line) and, once a field label was
 *   seen, at a sign-off line ("Best regards,", "Thanks, Jane"), so a signature's "Phone:" never
 *   overrides the form's.
 * - Text and HTML are both read (HTML: scripts/styles dropped, tags stripped, entities decoded,
 *   table rows turned into label/value, blockquotes into `>` quotes); the reading with more values
 *   wins, text on a tie.
 * - Bounds: the first 64 K characters of text and 256 K of HTML, 2,000 lines, labels of at most
 *   40 characters; no backtracking-prone regular expression sees unbounded input.
 */
import { MAX_VALUE_LENGTH, quoteWord } from '../../core/args.js';

/** The fields of the form, in template order. */
export type FormKey = 'company' | 'contact' | 'email' | 'phone' | 'device' | 'serial' | 'mac' | 'ip' | 'version' | 'when' | 'notes';

/** Field values read from (or to be written into) a form. */
export type FormValues = Partial<Record<FormKey, string>>;

/** What reading a form found. */
export interface ParsedForm {
  /** Trimmed values found, one line each (no line breaks or control characters). */
  values: FormValues;
  /** Required fields absent or empty, in form order. */
  missing: FormKey[];
  /**
   * Lines that look like `Label: value` but name no field (e.g. "Colour: blue"), for the reply:
   * the label as written ("Colour"); values are never echoed, since one could be a password.
   */
  unknownFields: string[];
  /** Field labels that were recognised only approximately, e.g. { written: 'Serail number', field: 'serial' }. */
  corrected: Array<{ written: string; field: FormKey }>;
}

/** The 11 fields in template order: label as printed, whether the request needs it ([003]), and a hint for the help text. */
export const FORM_FIELDS: ReadonlyArray<{ key: FormKey; label: string; required: boolean; hint: string }> = [
  { key: 'company', label: 'Company', required: true, hint: 'your company name as on our records' },
  { key: 'contact', label: 'Contact name', required: false, hint: 'who is asking (optional)' },
  { key: 'email', label: 'E-mail', required: true, hint: 'where the feedback after the upgrade is sent' },
  { key: 'phone', label: 'Phone', required: true, hint: 'your company phone number as on our records' },
  { key: 'device', label: 'Device', required: true, hint: 'the device name or its serial number' },
  { key: 'serial', label: 'Serial number', required: true, hint: 'the serial number of the device, e.g. SN-1001' },
  { key: 'mac', label: 'MAC address', required: true, hint: 'the MAC address of the device in any notation, e.g. 00:00:5E:00:53:01' },
  { key: 'ip', label: 'IP address', required: true, hint: 'the IP address of the device, e.g. 203.0.113.10' },
  { key: 'version', label: 'Target version', required: true, hint: 'the version to upgrade to, e.g. 7.1.0' },
  {
    key: 'when',
    label: 'Preferred time',
    required: true,
    hint: 'now, window (the next upgrade slot) or a date and time such as 2026-12-06 01:00 in your timezone, with Z or +01:00 added for another offset',
  },
  { key: 'notes', label: 'Notes', required: false, hint: 'anything the agent should know (optional)' },
];

/** Values needed to count a body as a form rather than a chatty e-mail. */
const FORM_THRESHOLD = 3;
const MAX_TEXT_CHARS = 64 * 1024;
const MAX_HTML_CHARS = 256 * 1024;
const MAX_LINES = 2000;
const MAX_LABEL_CHARS = 40;
const MAX_LABEL_WORDS = 5;
/** How far into a line separators are looked for (a label is short). */
const SEPARATOR_SCAN = 200;
const MAX_UNKNOWN = 20;
/** Characters of a line looked at: a label and the longest value the command accepts. */
const MAX_LINE_CHARS = SEPARATOR_SCAN + MAX_VALUE_LENGTH + 1;
/** Values are cut one character over the command's limit, so the command still refuses them as too long instead of taking a silently shortened value. */
const MAX_VALUE_CHARS = MAX_VALUE_LENGTH + 1;
/** Marks the boundary between two table cells in text made from HTML. */
const CELL = '\u001F';

/** Other ways people write each label (matched after dropping case, spaces and punctuation). */
const ALIASES: Record<FormKey, readonly string[]> = {
  company: ['company', 'company name', 'customer', 'customer name', 'organisation', 'organization', 'org', 'firm'],
  contact: ['contact', 'contact name', 'contact person', 'name', 'your name', 'full name', 'requested by', 'requester'],
  email: ['e-mail', 'email', 'e-mail address', 'email address', 'mail', 'contact e-mail', 'feedback e-mail', 'your e-mail'],
  phone: ['phone', 'phone number', 'phone no', 'telephone', 'telephone number', 'tel', 'mobile', 'contact phone', 'company phone'],
  device: ['device', 'device name', 'server', 'server name', 'hostname', 'host name', 'host', 'machine', 'system'],
  serial: ['serial', 'serial number', 'serial no', 'serial nr', 's/n', 'sn', 'device serial'],
  mac: ['mac', 'mac address', 'mac addr', 'device mac', 'hardware address', 'physical address', 'ethernet address'],
  ip: ['ip', 'ip address', 'ip addr', 'ipv4', 'ipv4 address', 'ipv6', 'ipv6 address', 'device ip', 'server ip'],
  version: ['version', 'target version', 'target', 'target release', 'upgrade to', 'new version', 'desired version', 'requested version'],
  when: [
    'when',
    'preferred time',
    'time',
    'preferred date',
    'preferred date and time',
    'date and time',
    'date/time',
    'schedule',
    'scheduled time',
    'upgrade time',
    'start time',
    'preferred window',
    'timing',
  ],
  notes: ['note', 'notes', 'comment', 'comments', 'remark', 'remarks', 'additional information', 'additional info', 'other information'],
};

/** Labels of mail headers (quoted and forwarded mail) and of table headings: never fields, never reported. */
const IGNORED_LABELS = new Set([
  'from', 'to', 'cc', 'bcc', 'sent', 'date', 'subject', 'replyto', 're', 'fw', 'fwd', 'field', 'value', 'label', 'answer',
]);

/** Labels people often add that are close to a field's but are not it: reported as unknown, never guessed. */
const NOT_FIELDS = new Set(['deviceid', 'serverid', 'customerid', 'accountid', 'ticketid', 'orderid', 'userid', 'currentversion', 'timezone']);

/** Values that mean "nothing filled in". */
const PLACEHOLDERS = new Set(['-', '--', '—', 'n/a', 'tbd', 'none', '?', '...', '…', '<>', '[]', '()']);

/** Words of a time that mean "as soon as approved" or "in the next upgrade slot". */
const WHEN_WORDS: Record<string, 'now' | 'window'> = {
  now: 'now',
  asap: 'now',
  'as soon as possible': 'now',
  immediately: 'now',
  'right now': 'now',
  'right away': 'now',
  window: 'window',
  'next window': 'window',
  'upgrade window': 'window',
  'next upgrade window': 'window',
  'next slot': 'window',
  'next upgrade slot': 'window',
  'next available slot': 'window',
  'next available window': 'window',
  'maintenance window': 'window',
  'next maintenance window': 'window',
  any: 'window',
  'any time': 'window',
  anytime: 'window',
  whenever: 'window',
};

/** The mode a time word stands for; undefined for other text, including names every object has ("constructor"). */
function whenWord(text: string): 'now' | 'window' | undefined {
  return Object.hasOwn(WHEN_WORDS, text) ? WHEN_WORDS[text] : undefined;
}

/** Sign-off phrases that end the form (the name and signature after them are not read). */
const SIGN_OFFS = [
  'best regards',
  'kind regards',
  'warm regards',
  'warmest regards',
  'regards',
  'best wishes',
  'many thanks',
  'thanks a lot',
  'thank you',
  'thanks',
  'thx',
  'cheers',
  'yours sincerely',
  'sincerely',
  'yours truly',
  'best',
  'br',
  'mit freundlichen grüßen',
  'viele grüße',
];

type LabelMatch = { kind: 'field'; key: FormKey; approx: boolean } | { kind: 'ignore' } | null;

interface Alias {
  key: FormKey;
  compact: string;
  words: number;
}

const ALIAS_LIST: Alias[] = (Object.keys(ALIASES) as FormKey[]).flatMap((key) =>
  ALIASES[key].map((alias) => ({ key, compact: compactOf(alias), words: alias.split(' ').length })),
);
const EXACT = new Map<string, FormKey>(ALIAS_LIST.map((a) => [a.compact, a.key]));

/** True when the body holds at least 3 recognised fields (it is a form, not a chatty e-mail). */
export function looksLikeForm(parsed: ParsedForm): boolean {
  return Object.values(parsed.values).filter((v) => typeof v === 'string' && v !== '').length >= FORM_THRESHOLD;
}

/** Reads the form from a decoded e-mail body (mailparser's `text` and/or `html`); never throws, bounded work. */
export function parseForm(body: { text?: string | null; html?: string | null }): ParsedForm {
  try {
    const text = typeof body?.text === 'string' ? body.text : '';
    const html = typeof body?.html === 'string' ? body.html : '';
    const fromText = text.trim() !== '' ? readSource(sanitize(text.slice(0, MAX_TEXT_CHARS))) : null;
    const fromHtml = html.trim() !== '' ? readSource(htmlToText(sanitize(html.slice(0, MAX_HTML_CHARS))).slice(0, MAX_TEXT_CHARS)) : null;
    const chosen =
      fromText && fromHtml ? (countValues(fromHtml.values) > countValues(fromText.values) ? fromHtml : fromText) : (fromText ?? fromHtml);
    return finish(chosen ?? emptyZone());
  } catch {
    // Defensive: the reader is written not to throw, but a mail must never crash intake.
    return finish(emptyZone());
  }
}

/** The command the form stands for (only meaningful when nothing is missing): one line, every value read back exactly by `tokenize`. */
export function formCommandText(values: FormValues): string {
  const order: Array<[FormKey, string]> = [
    ['device', 'device'],
    ['version', 'version'],
    ['when', 'when'],
    ['mac', 'mac'],
    ['ip', 'ip'],
    ['serial', 'serial'],
    ['company', 'company'],
    ['email', 'email'],
    ['phone', 'phone'],
    ['notes', 'note'],
  ];
  const words = ['/upgrade request'];
  for (const [key, arg] of order) {
    const raw = values?.[key];
    if (typeof raw !== 'string') continue;
    const value = oneLine(raw);
    if (value === '') continue;
    words.push(`${arg}=${quoteWord(key === 'when' ? normalizeWhen(value) : value)}`);
  }
  return words.join(' ');
}

/** The blank (or filled-in) template as plain text: a short instruction header, then one `Label: value` line per field; reading it back gives the same values. */
export function formTemplate(values: FormValues = {}): string {
  // Header lines never read as fields: no separator, or a comma before it (labels have none).
  const header = [
    'UPGRADE REQUEST FORM',
    'Write your answer after the colon on each line below, keep the labels as they are, and send this e-mail back to us.',
    'All fields are required except Contact name and Notes.',
    ...FORM_FIELDS.filter((f) => f.key !== 'contact' && f.key !== 'notes').map((f) => `${f.label}, ${f.hint}.`),
  ];
  const lines = FORM_FIELDS.map((f) => {
    const label = f.required ? f.label : `${f.label} (optional)`;
    const raw = values?.[f.key];
    const value = typeof raw === 'string' ? oneLine(raw) : '';
    return value === '' ? `${label}:` : `${label}: ${value}`;
  });
  return `${header.join('\n')}\n\n${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Reading one source (plain text, or text made from HTML)

interface Zone {
  values: FormValues;
  unknownFields: string[];
  corrected: Array<{ written: string; field: FormKey }>;
}

function emptyZone(): Zone {
  return { values: {}, unknownFields: [], corrected: [] };
}

function countValues(values: FormValues): number {
  return Object.keys(values).length;
}

function finish(zone: Zone): ParsedForm {
  const missing = FORM_FIELDS.filter((f) => f.required && (zone.values[f.key] ?? '') === '').map((f) => f.key);
  return { values: zone.values, missing, unknownFields: zone.unknownFields, corrected: zone.corrected };
}

/** Quoted mail inside quoted mail read at most this deep. */
const MAX_QUOTE_DEPTH = 4;

/** Reads a whole body: its lines, at most MAX_LINES of them. */
function readSource(text: string): Zone {
  return readQuoted(text.split('\n', MAX_LINES + 1).slice(0, MAX_LINES), 0);
}

/**
 * Splits at the first quote marker and reads the part above; falls back to the quoted part (read
 * the same way, so a reply chain inside a forward is split again) when that holds more values.
 */
function readQuoted(lines: readonly string[], depth: number): Zone {
  const boundary = quoteBoundary(lines);
  const above = readZone(lines.slice(0, boundary));
  if (boundary >= lines.length || countValues(above.values) >= FORM_THRESHOLD) return above;
  // A marker line ("-----Original Message-----") is dropped; quoted lines lose their ">" marks.
  const start = (lines[boundary] as string).trimStart().startsWith('>') ? boundary : boundary + 1;
  const rest = lines.slice(start).map(unquote);
  const below = depth < MAX_QUOTE_DEPTH ? readQuoted(rest, depth + 1) : readZone(rest);
  return countValues(below.values) > countValues(above.values) ? below : above;
}

/** Index of the first line that starts quoted or forwarded mail (lines.length when none). */
function quoteBoundary(lines: readonly string[]): number {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trimStart().startsWith('>')) return i;
    const t = line.length > 400 ? '' : line.trim();
    if (t === '' || t.length > 300) continue;
    const lower = t.toLowerCase();
    if (/^-{2,}\s*(forwarded message|original message|weitergeleitete nachricht|ursprüngliche nachricht)\s*-{2,}$/.test(lower)) return i;
    if (/^begin forwarded message:?$/.test(lower)) return i;
    if (/^(on|am|le)\s/.test(lower)) {
      if (/(wrote|schrieb|a écrit)\s*:$/.test(lower)) return i;
      const next = (lines[i + 1] ?? '').trim().toLowerCase();
      if (next.length <= 300 && /(wrote|schrieb|a écrit)\s*:$/.test(next)) return i;
    }
    if (/^\**from\**\s*:/.test(lower)) {
      for (let j = i + 1; j <= i + 4 && j < lines.length; j++) {
        if (/^\**(sent|date|gesendet|datum)\**\s*:/.test((lines[j] as string).trim().toLowerCase())) return i;
      }
    }
  }
  return lines.length;
}

/** A line with its quote marks (`>`, `> >`) removed. */
function unquote(line: string): string {
  let i = 0;
  for (;;) {
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (line[i] !== '>') break;
    i++;
  }
  return line.slice(i);
}

/** Reads label/value lines until a signature or sign-off. */
function readZone(lines: readonly string[]): Zone {
  const zone = emptyZone();
  const seenUnknown = new Set<string>();
  let labelSeen = false;
  /** Notes collect following lines while true. */
  let notesOpen = false;
  for (const line of lines) {
    // A useful line is short; what lies past a value's limit cannot matter.
    const t = line.slice(0, MAX_LINE_CHARS).trim();
    if (t === '') {
      notesOpen = false;
      continue;
    }
    if (t === '--') break;
    if (/^[_-]{10,}$/.test(t)) {
      notesOpen = false;
      continue;
    }
    if (labelSeen && isSignOff(t)) break;
    const split = splitField(t);
    if (split) {
      const match = matchLabel(split.label);
      if (match?.kind === 'ignore') {
        notesOpen = false;
        continue;
      }
      if (match?.kind === 'field') {
        labelSeen = true;
        const value = cleanValue(split.value, match.key);
        // First non-empty value wins; an empty label line claims nothing (Notes excepted: it may go on below).
        const taken = zone.values[match.key] !== undefined;
        if (!taken && value !== '') zone.values[match.key] = value;
        const owns = !taken && (value !== '' || match.key === 'notes');
        if (owns && match.approx) zone.corrected.push({ written: displayLabel(split.label), field: match.key });
        notesOpen = match.key === 'notes' && !taken;
        continue;
      }
      if (split.reportable && isReportableLabel(split.label, split.value)) {
        const written = displayLabel(split.label);
        const key = written.toLowerCase();
        if (!seenUnknown.has(key) && zone.unknownFields.length < MAX_UNKNOWN) {
          seenUnknown.add(key);
          zone.unknownFields.push(written);
        }
        notesOpen = false;
        continue;
      }
    }
    if (notesOpen) {
      const more = cleanValue(t, 'notes');
      if (more !== '') {
        const joined = zone.values.notes ? `${zone.values.notes} ${more}` : more;
        // Cut to length, then trimmed: the cut may end on the space that joined two lines.
        zone.values.notes = joined.slice(0, MAX_VALUE_CHARS).trimEnd();
      }
    }
  }
  return zone;
}

/** The text without any of `chars` (and white space) at either end; a loop, so no regular expression backtracks over long runs. */
function trimChars(s: string, chars: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (chars.includes(s[start] as string) || /\s/.test(s[start] as string))) start++;
  while (end > start && (chars.includes(s[end - 1] as string) || /\s/.test(s[end - 1] as string))) end--;
  return s.slice(start, end);
}

/** True for a sign-off line such as "Best regards," or "Thanks, Jane" (a short name may follow after punctuation). */
function isSignOff(t: string): boolean {
  if (t.length > 60) return false;
  const lower = trimChars(t.toLowerCase(), '*_');
  for (const phrase of SIGN_OFFS) {
    if (!lower.startsWith(phrase)) continue;
    const rest = lower.slice(phrase.length);
    if (rest === '' || /^[,.!]+$/.test(rest)) return true;
    const named = /^[,.!]+\s*(.*)$/.exec(rest);
    if (named && !/[:=@]/.test(named[1] as string) && (named[1] as string).split(/\s+/).length <= 3) return true;
    return false;
  }
  return false;
}

interface Split {
  label: string;
  value: string;
  /** The separator was `:`, `=` or a table cell: an unknown label is worth reporting. */
  reportable: boolean;
}

/** The label and value of a line, after bullets and markdown; null when the line has no separator or its label is not label-shaped. */
function splitField(line: string): Split | null {
  let t = stripBullet(line);
  if (t.startsWith('|')) {
    if (/^[|\s:-]+$/.test(t.slice(0, SEPARATOR_SCAN)) && t.length <= SEPARATOR_SCAN) return null; // markdown table rule
    t = trimChars(t, '|').split('|').join(CELL);
  }
  if (t.includes(CELL)) return splitCells(t);
  const at = separatorAt(t);
  if (!at) return null;
  const label = t.slice(0, at.index);
  if (!isLabelShaped(label)) return null;
  return { label, value: t.slice(at.index + at.length), reportable: at.reportable };
}

/** A table row: the first non-empty cell is the label (or holds "Label: value"), the next cell the value. */
function splitCells(t: string): Split | null {
  const cells = t.split(CELL).map((c) => c.trim());
  const first = cells.findIndex((c) => c !== '');
  if (first === -1) return null;
  const head = cells[first] as string;
  const inner = separatorAt(head);
  if (inner && isLabelShaped(head.slice(0, inner.index))) {
    const ownValue = head.slice(inner.index + inner.length).trim();
    return { label: head.slice(0, inner.index), value: ownValue !== '' ? ownValue : (cells[first + 1] ?? ''), reportable: true };
  }
  if (!isLabelShaped(head)) return null;
  return { label: head, value: cells[first + 1] ?? '', reportable: true };
}

/** Drops list bullets and numbering at the start of a line. */
function stripBullet(line: string): string {
  let t = line;
  for (let guard = 0; guard < 4; guard++) {
    const m = /^(?:[-*•+–·▪◦]|\d{1,2}[.)])[ \t]+/.exec(t.slice(0, 8));
    if (!m) break;
    t = t.slice(m[0].length);
  }
  return t;
}

/** The first separator outside parentheses and brackets, within the first characters of the line. */
function separatorAt(t: string): { index: number; length: number; reportable: boolean } | null {
  let depth = 0;
  const end = Math.min(t.length, SEPARATOR_SCAN);
  for (let i = 0; i < end; i++) {
    const ch = t[i] as string;
    if (ch === '(' || ch === '[') depth++;
    else if ((ch === ')' || ch === ']') && depth > 0) depth--;
    if (depth > 0) continue;
    if (ch === ':' || ch === '=') return { index: i, length: 1, reportable: true };
    if (ch === '\t') return { index: i, length: 1, reportable: false };
    if (ch === ' ' && (t[i + 1] === '-' || t[i + 1] === '–' || t[i + 1] === '—') && t[i + 2] === ' ') {
      return { index: i, length: 3, reportable: false };
    }
  }
  return null;
}

/** Markdown emphasis, a parenthesised hint and trailing punctuation removed, spaces collapsed. */
function labelText(label: string): string {
  let out = '';
  let depth = 0;
  for (const ch of label.slice(0, 2 * MAX_LABEL_CHARS + 40)) {
    if (ch === '(' || ch === '[') depth++;
    else if ((ch === ')' || ch === ']') && depth > 0) depth--;
    else if (depth === 0) out += ch;
  }
  return out
    .replace(/[*_`~]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s.#:]+$/, '')
    .replace(/^[\s#]+/, '');
}

/** The label as shown back to the customer. */
function displayLabel(label: string): string {
  return labelText(label).slice(0, MAX_LABEL_CHARS);
}

/** True when the text before a separator can be a label: short, a few words, starting with a letter, no sentence punctuation. */
function isLabelShaped(label: string): boolean {
  if (label.length > 2 * MAX_LABEL_CHARS + 40) return false;
  const text = labelText(label);
  if (text === '' || text.length > MAX_LABEL_CHARS) return false;
  if (!/^\p{L}/u.test(text)) return false;
  if (/[,;?!"<>@{}|\\=:]/.test(text)) return false;
  return text.split(' ').length <= MAX_LABEL_WORDS;
}

/** Unknown labels worth telling the customer about: a short label with a value that is not a link. */
function isReportableLabel(label: string, value: string): boolean {
  const text = labelText(label);
  if (text.split(' ').length > 3 || text.length > 30) return false;
  const v = value.trim();
  if (v === '' || v.startsWith('//')) return false;
  return !/^(https?|mailto|tel|ftp)$/i.test(text);
}

/** Lower-case letters and digits only: "E-Mail address" → "emailaddress", "S/N" → "sn". */
function compactOf(label: string): string {
  return label.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/** Which field a label names: exactly by alias, or approximately within a small edit distance. */
function matchLabel(label: string): LabelMatch {
  const text = labelText(label);
  const compact = compactOf(text);
  if (compact === '') return null;
  const exact = EXACT.get(compact);
  if (exact) return { kind: 'field', key: exact, approx: false };
  if (IGNORED_LABELS.has(compact)) return { kind: 'ignore' };
  if (compact.length < 4 || compact.length > MAX_LABEL_CHARS || NOT_FIELDS.has(compact)) return null;
  const max = compact.length >= 6 ? 2 : 1;
  const words = text.split(' ').length;
  let best = max + 1;
  let bestKeys = new Set<FormKey>();
  for (const alias of ALIAS_LIST) {
    if (alias.compact.length < 4) continue;
    const d = editDistance(compact, alias.compact, max);
    if (d > max || (d > 1 && alias.words !== words)) continue;
    if (d < best) {
      best = d;
      bestKeys = new Set([alias.key]);
    } else if (d === best) {
      bestKeys.add(alias.key);
    }
  }
  if (bestKeys.size !== 1) return null;
  return { kind: 'field', key: [...bestKeys][0] as FormKey, approx: true };
}

/** Rows of the edit-distance table, reused (labels are at most MAX_LABEL_CHARS long). */
const ROWS = [0, 1, 2].map(() => new Int32Array(MAX_LABEL_CHARS + 2));

/** Optimal-string-alignment (restricted Damerau–Levenshtein) distance, or max + 1 once it exceeds `max`. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  if (a.length > MAX_LABEL_CHARS || b.length > MAX_LABEL_CHARS) return max + 1;
  const n = a.length;
  const m = b.length;
  let before = ROWS[0] as Int32Array;
  let prev = ROWS[1] as Int32Array;
  let cur = ROWS[2] as Int32Array;
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= m; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = (prev[j - 1] as number) + cost;
      const up = (prev[j] as number) + 1;
      const left = (cur[j - 1] as number) + 1;
      if (up < d) d = up;
      if (left < d) d = left;
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
        const swap = (before[j - 2] as number) + 1;
        if (swap < d) d = swap;
      }
      cur[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return max + 1;
    const spare = before;
    before = prev;
    prev = cur;
    cur = spare;
  }
  return prev[m] as number;
}

// ---------------------------------------------------------------------------------------------
// Values

/** A value as the command should get it: one line, markdown and mail-client link decorations removed, an e-mail field reduced to the address. */
function cleanValue(raw: string, key: FormKey): string {
  let v = raw.split(CELL).join(' ').replace(/\s+/g, ' ').trim();
  v = v.replace(/^[:=]\s*/, '');
  v = trimChars(v, '*_`').trim();
  if (v.length <= 1000) {
    const link = /^\[([^\]]*)\]\(([^)\s]*)\)$/.exec(v);
    if (link) v = (link[1] as string).trim() || (link[2] as string).replace(/^mailto:/i, '');
    const whole = /^<([^<>]*)>$/.exec(v);
    if (whole) v = (whole[1] as string).replace(/^(mailto|tel):/i, '').trim();
    const trailing = /^(.*?)\s*<(?:mailto|tel|https?|sip|callto):[^<>\s]*>$/i.exec(v);
    if (trailing && (trailing[1] as string).trim() !== '') v = (trailing[1] as string).trim();
    const quoted = /^(["'“‘«])(.*)(["'”’»])$/.exec(v);
    if (quoted && (quoted[2] as string).trim() !== '') v = (quoted[2] as string).trim();
  }
  if (key === 'email') v = emailAddressIn(v);
  if (PLACEHOLDERS.has(v.toLowerCase())) return '';
  return v.slice(0, MAX_VALUE_CHARS).trimEnd();
}

const EMAIL_LOCAL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]/;
const EMAIL_DOMAIN = /[A-Za-z0-9.-]/;

/** The first e-mail address in the text ("Jane <jane@x>", "mailto:jane@x"), or the text itself when there is none. */
function emailAddressIn(v: string): string {
  const at = v.indexOf('@');
  if (at <= 0 || v.length > 1000) return v;
  let start = at;
  while (start > 0 && EMAIL_LOCAL.test(v[start - 1] as string)) start--;
  let end = at + 1;
  while (end < v.length && EMAIL_DOMAIN.test(v[end] as string)) end++;
  const address = v
    .slice(start, end)
    .replace(/^mailto:/i, '')
    .replace(/\.+$/, '');
  return start < at && end > at + 1 && address.includes('.', address.indexOf('@')) ? address : v;
}

/** Line breaks and control characters as spaces, trimmed. */
function oneLine(v: string): string {
  // eslint-disable-next-line no-control-regex
  return v.replace(/[\u0000-\u001F\u007F\u0085\u2028\u2029]+/g, ' ').trim();
}

/**
 * The `when=` word for a Preferred time: now/window for the words people use ("asap",
 * "immediately" → now; "next window", "any", "whenever" → window, the next upgrade slot), a
 * `YYYY-MM-DD HH:MM` with a space (or "UTC", "+0100") in the T form; anything else unchanged, so
 * the command explains what it expects.
 */
function normalizeWhen(value: string): string {
  const lower = value.toLowerCase().replace(/[.!]+$/, '').replace(/\s+/g, ' ').trim();
  const word = whenWord(lower) ?? whenWord(lower.replace(/^(the|in the) /, ''));
  if (word) return word;
  if (value.length > 64) return value;
  const m = /^(\d{4}-\d{2}-\d{2})(?:\s+|[Tt])(\d{1,2}):(\d{2})(:\d{2})?\s*(z|utc|gmt|[+-]\d{2}(?::?\d{2})?)?$/i.exec(value.trim());
  if (!m) return value;
  const hour = (m[2] as string).padStart(2, '0');
  let offset = m[5] ?? '';
  if (/^(z|utc|gmt)$/i.test(offset)) offset = 'Z';
  else if (offset !== '') offset = `${offset.slice(0, 3)}:${offset.length > 3 ? offset.slice(-2) : '00'}`;
  return `${m[1]}T${hour}:${m[3]}${m[4] ?? ''}${offset}`;
}

// ---------------------------------------------------------------------------------------------
// Text clean-up and HTML

/** Windows and old Mac line ends as \n, invisible characters removed, unusual spaces as spaces, control characters as spaces. */
function sanitize(s: string): string {
  return (
    s
      .replace(/\r\n?/g, '\n')
      .replace(/[\u2028\u2029\u0085]/g, '\n')
      .replace(/[\u200B-\u200F\u2060-\u2064\uFEFF\u00AD\u180E\u202A-\u202E\u2066-\u2069]/g, '')
      .replace(/[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g, ' ')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, ' ')
  );
}

const BLOCK_TAGS = new Set([
  'p', 'div', 'br', 'tr', 'li', 'ul', 'ol', 'dl', 'dt', 'dd', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'pre',
  'section', 'article', 'header', 'footer', 'center', 'address', 'table', 'tbody', 'thead', 'tfoot', 'caption', 'blockquote',
]);
const SKIPPED_TAGS = new Set(['script', 'style', 'head', 'title', 'template', 'noscript', 'xml', 'svg']);
const NAMED_ENTITIES: Record<string, string> = {
  nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", ndash: '–', mdash: '—', hellip: '…',
  lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', laquo: '«', raquo: '»', copy: '©', reg: '®', shy: '', zwsp: '', ensp: ' ', emsp: ' ', thinsp: ' ',
};

/** Decodes character references; decoded line breaks and control characters become spaces (as a browser shows them). */
function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,8});/gi, (whole, ref: string) => {
    let ch: string | undefined;
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      ch = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '';
    } else {
      ch = NAMED_ENTITIES[ref.toLowerCase()];
      if (ch === undefined) return whole;
    }
    return sanitize(ch).replace(/[\n\t]/g, ' ');
  });
}

/**
 * Plain text from HTML in one pass: scripts, styles and comments dropped; block tags end lines;
 * table cells after the first in a row are marked so the row reads as label and value;
 * blockquote lines start with `>`; text whitespace collapsed except in <pre>.
 */
function htmlToText(html: string): string {
  const lines: Array<{ depth: number; text: string }> = [];
  let current = '';
  let currentDepth = 0;
  let quoteDepth = 0;
  let preDepth = 0;
  const cellCounts: number[] = [0];
  const newline = (): void => {
    if (current.trim() !== '') lines.push({ depth: currentDepth, text: current });
    else if (lines.length > 0 && lines[lines.length - 1]?.text !== '') lines.push({ depth: 0, text: '' });
    current = '';
    currentDepth = quoteDepth;
  };
  const append = (s: string): void => {
    if (s === '') return;
    if (current === '') currentDepth = quoteDepth;
    current += s;
  };
  const appendText = (raw: string): void => {
    if (preDepth > 0) {
      const parts = raw.split('\n');
      parts.forEach((part, i) => {
        if (i > 0) newline();
        append(decodeEntities(part));
      });
      return;
    }
    const collapsed = raw.replace(/\s+/g, ' ');
    if (collapsed === ' ' && (current === '' || current.endsWith(' '))) return;
    append(decodeEntities(collapsed));
  };

  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt === -1) {
      appendText(html.slice(i));
      break;
    }
    if (lt > i) appendText(html.slice(i, lt));
    if (html.startsWith('<!--', lt)) {
      const close = html.indexOf('-->', lt + 4);
      if (close === -1) break;
      i = close + 3;
      continue;
    }
    const gt = html.indexOf('>', lt + 1);
    if (gt === -1) {
      // No tag closes from here on: the rest is text.
      appendText(html.slice(lt));
      break;
    }
    const tag = /^<(\/?)([a-zA-Z][a-zA-Z0-9]*)/.exec(html.slice(lt, Math.min(gt + 1, lt + 40)));
    i = gt + 1;
    if (!tag) {
      // "<!DOCTYPE …>", "<?xml …?>", or a stray "<" followed by text with a ">" later.
      if (!/^<[!?/]/.test(html.slice(lt, lt + 2))) appendText(html.slice(lt, gt + 1));
      continue;
    }
    const closing = tag[1] === '/';
    const name = (tag[2] as string).toLowerCase();
    if (!closing && SKIPPED_TAGS.has(name) && !html.slice(lt, gt + 1).endsWith('/>')) {
      const end = new RegExp(`</\\s*${name}\\s*>`, 'gi');
      end.lastIndex = i;
      const found = end.exec(html);
      if (!found) break;
      i = found.index + found[0].length;
      continue;
    }
    if (name === 'table') {
      newline();
      if (closing) {
        if (cellCounts.length > 1) cellCounts.pop();
      } else {
        cellCounts.push(0);
      }
      continue;
    }
    if (name === 'tr') {
      newline();
      cellCounts[cellCounts.length - 1] = 0;
      continue;
    }
    if ((name === 'td' || name === 'th') && !closing) {
      const count = cellCounts[cellCounts.length - 1] ?? 0;
      if (count > 0) append(` ${CELL} `);
      cellCounts[cellCounts.length - 1] = count + 1;
      continue;
    }
    if (name === 'blockquote') {
      newline();
      quoteDepth = closing ? Math.max(0, quoteDepth - 1) : Math.min(quoteDepth + 1, 10);
      currentDepth = quoteDepth;
      continue;
    }
    if (name === 'pre') {
      newline();
      preDepth = closing ? Math.max(0, preDepth - 1) : preDepth + 1;
      continue;
    }
    if (BLOCK_TAGS.has(name)) newline();
    if (lines.length > MAX_LINES * 2) break;
  }
  newline();
  return lines.map((l) => (l.text === '' ? '' : `${'> '.repeat(l.depth)}${l.text.trim()}`)).join('\n');
}
