/**
 * Reply → Discord message: a pure rendering of the platform-neutral Reply as one embed plus
 * buttons, the Discord twin of the Slack renderer (../slack/render.ts).
 *
 * Everything a Reply holds may be user input, so all of it is escaped: every character that can
 * start markup gets a backslash (Discord shows `\x` as `x` for any ASCII punctuation `x`), which
 * neutralises bold/italic/strike/spoilers/code, headings, lists and quotes at line starts, masked
 * links and every `<…>` syntax (mentions, channels, slash-command mentions, custom emoji,
 * timestamps); `@everyone`/`@here` also get a zero-width space after the `@`. Other punctuation
 * stays as it is, so versions and references read plainly (a bare URL stays a visible link). The renderer adds markup only around escaped text, and every message says
 * `allowed_mentions: { parse: [] }`, so nothing posted through the bot can ping anyone.
 *
 * Layout (one embed, always; Discord's 6000-character total leaves little to gain from a second):
 * - title: the reply's title (time marks show their fallback: titles are one plain line);
 * - description, in order: the error ("⚠️ **Error (code)**: message" and its hint), then every
 *   text, findings, list and table block (tables as code blocks), blocks separated by a blank line;
 * - fields blocks that come after all of those become inline embed fields (Discord always shows
 *   fields below the description); a fields block followed by other content renders in place as
 *   "**label**: value" lines, so the reader sees the blocks in the reply's order;
 * - buttons: `actions` blocks become action rows of ≤5 buttons (≤5 rows), each with the custom_id
 *   `cmd:` + its command;
 * - the status link (notices about a request): a link button "Status page for UPG-…" in a row of
 *   its own after the command buttons (in the last row when all five rows are taken, or as the
 *   embed title's link when every button slot is), so truncation never loses it.
 * Colour: red for error replies, the brand colour otherwise.
 * Limits (limits.ts) are respected by truncating, and, when the description or the embed's total
 * would be too long, by cutting after the last part that fits with a notice that says so.
 */
import { ButtonStyle, ComponentType } from 'discord-api-types/v10';
import type {
  APIActionRowComponent,
  APIButtonComponent,
  APIButtonComponentWithCustomId,
  APIButtonComponentWithURL,
  APIEmbed,
  APIEmbedField,
} from 'discord-api-types/v10';
import { formatTable, mapTimeMarks, plainTimes, stripTimeMarkDelimiters } from '../../core/reply.js';
import type { Action, Block, Reply } from '../../core/reply.js';
import type { Finding } from '../../domain/types.js';
import { DISCORD_LIMITS } from './limits.js';
import { truncateMarked, truncatePlain } from '../text-cut.js';

/** The body of POST /channels/:id/messages, of a message PATCH and of interaction replies. */
export interface DiscordMessage {
  /** '' (everything is in the embed); '(empty reply)' only when the reply has nothing else to show. */
  content: string;
  embeds: APIEmbed[];
  /** [] when the message has no buttons. */
  components: APIActionRowComponent<APIButtonComponent>[];
  /** Always exactly `{ parse: [] }`: nothing posted through the bot can ping anyone. */
  allowed_mentions: { parse: [] };
}

/** How to render: which buttons to show, and what to tell the reader when a reply had to be shortened. */
export interface DiscordRenderOptions {
  /** Show buttons that run `/upgrade-admin` commands (agents' Next/Retry/Abort); only in the ops channel. */
  adminActions?: boolean;
  /** The command that shows the whole answer, named in the notice when the reply is shortened. */
  fullCommand?: string;
  /** The signed link to the request's status page, shown as a link button. */
  statusLink?: { url: string; ref: string } | null;
}

/** The custom_id prefix of reply buttons: a button's custom_id is this + the full command it runs. */
export const COMMAND_BUTTON_PREFIX = 'cmd:';

/** Commands the bot serves, in the forms dispatch accepts (leading slash optional, any case). */
const COMMAND = /^\/?upgrade(?:-admin)?(?:\s|$)/i;

/** Commands of agents and admins, whose buttons only the ops channel gets. */
const ADMIN_COMMAND = /^\/?upgrade-admin(?:\s|$)/i;

/** Embed colours: errors red, everything else the brand blue. */
const COLOUR = { error: 0xd93f3f, brand: 0x3b6fd4 } as const;

/** Room kept in the description for the shortened notice (ours; the notice is at most about 320 characters). */
const NOTICE_ROOM = 400;

/** Largest description part (ours): a part plus the notice always fits in the description. */
const PART_MAX = DISCORD_LIMITS.embedDescription - NOTICE_ROOM;

/** Longest table line before it is cut (ours; keeps one wide cell from hiding every other row). */
const MAX_TABLE_LINE = 400;

/** Room for a table's "… N more rows" line (ours). */
const MORE_ROWS_ROOM = 40;

/** Longest inline-code span: a finding's code, the full command in the notice (ours). */
const MAX_CODE_SPAN = 200;

/** Longest bold heading: a list's title, a field's label in the description (ours). */
const MAX_HEADING = 256;

/** `@everyone` and `@here`: a zero-width space after the `@` keeps them from being mentions. */
const MASS_MENTION = /@(?=everyone|here)/gi;

/**
 * Characters that can start Discord markup anywhere in a line: emphasis, strike, spoiler, code,
 * mentions, channels, emoji, timestamps (`<…>`), block quotes (`>`), masked links (`[…](…)`) and
 * headings (`#`). Discord shows a backslash before any ASCII punctuation as the character alone.
 */
const INLINE_MARKUP = /[\\*_~`|<>[\]()#]/g;

/**
 * What makes a list at the start of a line (after INLINE_MARKUP ran): `-` or `+` before a space,
 * `-#` subtext, or a number and a dot before a space.
 */
const LINE_START_MARKUP = /^(\s*)(?:([-+])(?=\s|$|\\#)|(\d+)\.(?=\s|$))/gm;

/** A timestamp token as discordText writes it (at most 19 characters). */
const TIME_TOKEN = /^<t:-?\d{1,12}:F>/;

/** Turns a button's custom_id back into the command it runs; null for ids that are not command buttons of this bot. */
export function commandOfCustomId(customId: string): string | null {
  if (customId.length > DISCORD_LIMITS.customId || !customId.startsWith(COMMAND_BUTTON_PREFIX)) return null;
  const command = customId.slice(COMMAND_BUTTON_PREFIX.length);
  return COMMAND.test(command) ? command : null;
}

/**
 * Discord markdown that shows exactly `text`: every character that could start markup is
 * backslash-escaped (so no emphasis, link, mention, emoji, timestamp, heading, quote or list
 * survives), other punctuation is left as it is so versions and references read plainly, and
 * `@everyone`/`@here` get a zero-width space after the `@`.
 */
export function escapeDiscord(text: string): string {
  return text
    .replace(MASS_MENTION, '@\u200B')
    .replace(INLINE_MARKUP, '\\$&')
    .replace(LINE_START_MARKUP, (_m, space: string, bullet: string | undefined, digits: string | undefined) =>
      bullet ? `${space}\\${bullet}` : `${space}${digits}\\.`,
    );
}

/**
 * Escaped markdown of `value` whose time marks are `<t:UNIX:F>` tokens (each reader sees the time in
 * their own timezone); stray time-mark delimiters are dropped.
 */
export function discordText(value: string): string {
  return mapTimeMarks(
    value,
    (unix) => `<t:${unix}:F>`,
    (segment) => escapeDiscord(stripTimeMarkDelimiters(segment)),
  );
}

/** Whitespace runs (line breaks included) as one space. */
function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ');
}

/** Escaped one-line text with time marks shown as their fallback: for titles and field names. */
function plainLine(value: string): string {
  return escapeDiscord(oneLine(plainTimes(value)).trim());
}

/**
 * The largest index ≤ `max` at which escaped markdown can be cut without splitting a `<t:…>` token,
 * a backslash escape or a surrogate pair.
 */
function cutIndex(s: string, max: number): number {
  if (s.length <= max) return s.length;
  let cut = max;
  const open = s.lastIndexOf('<', cut - 1);
  if (open !== -1 && cut - open < 20) {
    const token = TIME_TOKEN.exec(s.slice(open, open + 20));
    if (token && open + token[0].length > cut) cut = open;
  }
  let slashes = 0;
  while (cut - 1 - slashes >= 0 && s[cut - 1 - slashes] === '\\') slashes += 1;
  if (slashes % 2 === 1) cut -= 1;
  const code = s.charCodeAt(cut - 1);
  if (cut > 0 && code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return cut > 0 ? cut : max;
}

/** Escaped markdown cut to at most `max` characters, marked with `…` when cut. */
function truncate(s: string, max: number): string {
  return truncateMarked(s, max, cutIndex);
}

/** Text for inside a code span or block, where escapes do not work: time marks as fallback, no mass mentions. */
function codeText(value: string): string {
  return plainTimes(value).replace(MASS_MENTION, '@\u200B');
}

/** `value` as inline code (a backtick inside shows as ˋ, which cannot close the span), or '' for blank text. */
function inlineCode(value: string, max: number = MAX_CODE_SPAN): string {
  const t = truncatePlain(oneLine(codeText(value)).trim().replace(/`/g, 'ˋ'), max);
  return t === '' ? '' : `\`${t}\``;
}

/** `**value**` (escaped, one line, at most `max` characters in all), or '' for blank text. */
function bold(value: string, max: number = MAX_HEADING): string {
  const t = truncate(oneLine(discordText(value)).trim(), max - 4);
  return t === '' ? '' : `**${t}**`;
}

/** A piece of the description; `join` is what goes between it and the part before it. */
interface Part {
  text: string;
  join: string;
  /** For tables: the part re-rendered to fit in `room` characters, or null when too little of it would show. */
  refit?: (room: number) => string | null;
}

/** Escaped markdown as parts of at most `max` characters, split at line breaks where possible. */
function splitParts(s: string, max: number): Part[] {
  const parts: Part[] = [];
  let current: string | null = null;
  let currentJoin = '\n\n';
  for (const line of s.split('\n')) {
    if (current !== null && current.length + 1 + line.length <= max) {
      current = `${current}\n${line}`;
      continue;
    }
    let join = '\n\n';
    if (current !== null) {
      parts.push({ text: current, join: currentJoin });
      join = '\n';
    }
    let rest = line;
    while (rest.length > max) {
      const cut = cutIndex(rest, max);
      parts.push({ text: rest.slice(0, cut), join });
      rest = rest.slice(cut);
      join = '';
    }
    current = rest;
    currentJoin = join;
  }
  if (current !== null) parts.push({ text: current, join: currentJoin });
  return parts;
}

const SEVERITY_EMOJI: Record<string, string> = { error: '❌', warning: '⚠️' };

function findingLine(f: Finding): string {
  const where = f.device ? ` \\[${truncate(discordText(oneLine(f.device)).trim(), MAX_HEADING)}\\]` : '';
  const code = inlineCode(f.code);
  return `${SEVERITY_EMOJI[f.severity] ?? '•'} **${escapeDiscord(f.severity)}**${code ? ` ${code}` : ''}${where}: ${discordText(f.message)}`;
}

function listText(title: string, items: string[]): string {
  return [bold(title), ...items.map((item) => `• ${discordText(item)}`)].filter((l) => l !== '').join('\n');
}

function fieldLines(pairs: Array<{ label: string; value: string }>): string {
  return pairs
    .map((f) => {
      const label = bold(f.label);
      const value = discordText(f.value);
      return label === '' ? value : `${label}: ${value}`;
    })
    .join('\n');
}

function embedField(f: { label: string; value: string }): APIEmbedField {
  const name = truncate(plainLine(f.label), DISCORD_LIMITS.embedFieldName);
  const value = f.value.trim() === '' ? '' : truncate(discordText(f.value), DISCORD_LIMITS.embedFieldValue);
  return { name: name || '\u200b', value: value || '\u200b', inline: true };
}

/** A table as a code block (time marks show their fallback: tokens do not render in code), cut to fit. */
function tablePart(columns: string[], rows: string[][]): Part {
  const lines = formatTable(
    columns.map((c) => oneLine(plainTimes(c))),
    rows.map((r) => r.map((c) => oneLine(plainTimes(c)))),
  )
    .split('\n')
    // Inside a code block escapes do not work: a zero-width space between backticks keeps ``` from closing it.
    .map((line) => codeText(truncatePlain(line, MAX_TABLE_LINE)).replace(/`(?=`)/g, '`\u200b'));
  const head = lines.slice(0, rows.length === 0 ? lines.length : 2);
  const body = lines.slice(head.length);
  const fence = (content: string[]) => `\`\`\`\n${content.join('\n')}\n\`\`\``;
  const render = (budget: number, minRows: number): string | null => {
    const inner = budget - 8;
    let size = head.join('\n').length;
    if (size + body.reduce((n, l) => n + 1 + l.length, 0) <= inner) return fence(lines);
    const room = inner - MORE_ROWS_ROOM;
    if (size > room) return null;
    const kept = [...head];
    for (const line of body) {
      if (size + 1 + line.length > room) break;
      kept.push(line);
      size += 1 + line.length;
    }
    const shown = kept.length - head.length;
    if (shown < minRows) return null;
    const hidden = body.length - shown;
    return fence([...kept, `… ${hidden} more row${hidden === 1 ? '' : 's'}`]);
  };
  return { text: render(PART_MAX, 0) ?? fence(['…']), join: '\n\n', refit: (room) => render(room, 1) };
}

/** Whether a block shows anything in the description (fields blocks aside). */
function describes(b: Block): boolean {
  switch (b.type) {
    case 'text':
      return b.text.trim() !== '';
    case 'table':
    case 'findings':
    case 'list':
      return true;
    default:
      return false;
  }
}

/** The description parts and the embed fields of a reply, in order, each within its own limit. */
function layout(reply: Reply): { parts: Part[]; fields: APIEmbedField[] } {
  const parts: Part[] = [];
  const fields: APIEmbedField[] = [];
  if (reply.error) {
    const code = truncate(plainLine(reply.error.code), 100);
    let s = `⚠️ **Error (${code})**: ${discordText(reply.error.message)}`;
    if (reply.error.hint && reply.error.hint.trim() !== '') s += `\n${discordText(reply.error.hint)}`;
    parts.push(...splitParts(s, PART_MAX));
  }
  let lastDescribed = -1;
  reply.blocks.forEach((b, i) => {
    if (describes(b)) lastDescribed = i;
  });
  reply.blocks.forEach((b, i) => {
    switch (b.type) {
      case 'text':
        if (b.text.trim() !== '') parts.push(...splitParts(discordText(b.text), PART_MAX));
        break;
      case 'fields':
        if (b.fields.length === 0) break;
        if (i > lastDescribed) fields.push(...b.fields.map(embedField));
        else parts.push(...splitParts(fieldLines(b.fields), PART_MAX));
        break;
      case 'table':
        parts.push(tablePart(b.columns, b.rows));
        break;
      case 'findings':
        parts.push(
          ...splitParts(b.findings.length === 0 ? '✅ All checks passed.' : b.findings.map(findingLine).join('\n'), PART_MAX),
        );
        break;
      case 'list':
        parts.push(...splitParts(listText(b.title, b.items), PART_MAX));
        break;
      case 'actions':
        break;
    }
  });
  return { parts, fields };
}

function shortenedNotice(hidden: number, reply: Reply, options: DiscordRenderOptions): string {
  const parts = `${hidden} more part${hidden === 1 ? '' : 's'} not shown`;
  const command = options.fullCommand?.trim() ?? '';
  const how =
    command !== '' && command.length <= MAX_CODE_SPAN
      ? ` Type ${inlineCode(command)} to see all of it.`
      : reply.title && reply.title.trim() !== ''
        ? ` To see all of ${bold(reply.title, 100)}, type the command.`
        : ' To see all of it, type the command.';
  return `✂️ This answer was shortened to fit in Discord (${parts}).${how}`;
}

const fieldSize = (f: APIEmbedField) => f.name.length + f.value.length;

/**
 * The description and fields that fit the embed: everything when it fits; otherwise the parts up to
 * the last one that fits (a table may be cut to the room left), then fields while they fit, and a
 * notice saying how many parts were left out.
 */
function fitEmbed(
  titleLength: number,
  parts: Part[],
  fields: APIEmbedField[],
  reply: Reply,
  options: DiscordRenderOptions,
): { description: string; fields: APIEmbedField[] } {
  const join = (ps: Part[]) => ps.map((p, i) => (i === 0 ? p.text : p.join + p.text)).join('');
  const all = join(parts);
  const allFields = fields.reduce((n, f) => n + fieldSize(f), 0);
  if (
    all.length <= DISCORD_LIMITS.embedDescription &&
    fields.length <= DISCORD_LIMITS.embedFields &&
    titleLength + all.length + allFields <= DISCORD_LIMITS.embedTotal
  ) {
    return { description: all, fields };
  }
  const descRoom = Math.min(DISCORD_LIMITS.embedDescription, DISCORD_LIMITS.embedTotal - titleLength) - NOTICE_ROOM;
  let description = '';
  let shownParts = 0;
  let cut = false;
  for (const part of parts) {
    const sep = description === '' ? '' : part.join;
    const room = descRoom - description.length - sep.length;
    let text: string | null = part.text;
    if (text.length > room) {
      text = part.refit?.(room) ?? null;
      cut = true;
    }
    if (text === null) break;
    description += sep + text;
    shownParts += 1;
    if (cut) break;
  }
  const kept: APIEmbedField[] = [];
  if (!cut && shownParts === parts.length) {
    let room = DISCORD_LIMITS.embedTotal - titleLength - description.length - NOTICE_ROOM;
    for (const f of fields) {
      if (kept.length >= DISCORD_LIMITS.embedFields || fieldSize(f) > room) break;
      kept.push(f);
      room -= fieldSize(f);
    }
  }
  const hidden = parts.length - shownParts + fields.length - kept.length;
  if (hidden > 0) {
    const notice = shortenedNotice(hidden, reply, options);
    description = description === '' ? notice : `${description}\n\n${notice}`;
  }
  return { description, fields: kept };
}

/** True when this message may carry a button for the action: its id fits, round-trips, and admin buttons only with adminActions. */
function shown(action: Action, options: DiscordRenderOptions): boolean {
  const command = action.command.trim();
  if (COMMAND_BUTTON_PREFIX.length + command.length > DISCORD_LIMITS.customId) return false;
  if (commandOfCustomId(COMMAND_BUTTON_PREFIX + command) === null) return false;
  return options.adminActions === true || !ADMIN_COMMAND.test(command);
}

const BUTTON_STYLE = {
  primary: ButtonStyle.Primary,
  danger: ButtonStyle.Danger,
} as const;

function button(action: Action): APIButtonComponentWithCustomId {
  const command = action.command.trim();
  const label = truncatePlain(oneLine(plainTimes(action.label)).trim() || command, DISCORD_LIMITS.buttonLabel);
  return {
    type: ComponentType.Button,
    style: action.style ? BUTTON_STYLE[action.style] : ButtonStyle.Secondary,
    label,
    custom_id: `${COMMAND_BUTTON_PREFIX}${command}`,
  };
}

/**
 * The buttons as action rows: each actions block starts a row (≤5 buttons a row); when that would
 * take more than 5 rows the buttons are packed 5 a row instead, and what still does not fit is left
 * out. A second button for the same command is left out (custom_ids must be unique in a message).
 */
function actionRows(reply: Reply, options: DiscordRenderOptions): APIActionRowComponent<APIButtonComponent>[] {
  const seen = new Set<string>();
  const groups: APIButtonComponentWithCustomId[][] = [];
  for (const b of reply.blocks) {
    if (b.type !== 'actions') continue;
    const buttons: APIButtonComponentWithCustomId[] = [];
    for (const action of b.actions.filter((a) => shown(a, options))) {
      const x = button(action);
      if (seen.has(x.custom_id)) continue;
      seen.add(x.custom_id);
      buttons.push(x);
    }
    if (buttons.length > 0) groups.push(buttons);
  }
  const rowsOf = (buttons: APIButtonComponentWithCustomId[]) => {
    const rows: APIButtonComponentWithCustomId[][] = [];
    for (let i = 0; i < buttons.length; i += DISCORD_LIMITS.buttonsPerRow) rows.push(buttons.slice(i, i + DISCORD_LIMITS.buttonsPerRow));
    return rows;
  };
  let rows = groups.flatMap(rowsOf);
  if (rows.length > DISCORD_LIMITS.actionRows) rows = rowsOf(groups.flat());
  return rows
    .slice(0, DISCORD_LIMITS.actionRows)
    .map((components): APIActionRowComponent<APIButtonComponent> => ({ type: ComponentType.ActionRow, components }));
}

/** Longest URL of a link button (Discord's limit). */
const MAX_LINK_URL = 512;

/** The link button to the status page, or null when there is no link or it is not an http(s) URL that fits. */
export function statusLinkButton(link: DiscordRenderOptions['statusLink']): APIButtonComponentWithURL | null {
  if (!link) return null;
  let url: string;
  try {
    const parsed = new URL(link.url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
    url = parsed.href;
  } catch {
    return null;
  }
  if (url.length > MAX_LINK_URL) return null;
  const label = truncatePlain(`Status page for ${oneLine(plainTimes(link.ref)).trim()}`, DISCORD_LIMITS.buttonLabel);
  return { type: ComponentType.Button, style: ButtonStyle.Link, label, url };
}

/** Adds the link button after the command buttons: its own row, else the last row with room; false when no slot is left. */
function placeLink(rows: APIActionRowComponent<APIButtonComponent>[], link: APIButtonComponentWithURL): boolean {
  if (rows.length < DISCORD_LIMITS.actionRows) {
    rows.push({ type: ComponentType.ActionRow, components: [link] });
    return true;
  }
  const last = rows[rows.length - 1]!;
  if (last.components.length < DISCORD_LIMITS.buttonsPerRow) {
    last.components.push(link);
    return true;
  }
  return false;
}

/**
 * Renders a reply as a Discord message: one embed of escaped markdown (no user text can format,
 * link or mention), time marks as local-time `<t:…:F>` tokens, buttons that run their typed command
 * (admin ones only with `adminActions`), every Discord limit respected (shortened with a notice when
 * needed), and `allowed_mentions: { parse: [] }`. Pure and deterministic.
 */
export function renderDiscordMessage(reply: Reply, options: DiscordRenderOptions = {}): DiscordMessage {
  const title = reply.title ? truncate(plainLine(reply.title), DISCORD_LIMITS.embedTitle) : '';
  const { parts, fields } = layout(reply);
  const fitted = fitEmbed(title.length, parts, fields, reply, options);
  const components = actionRows(reply, options);
  const link = statusLinkButton(options.statusLink);
  const linkPlaced = link ? placeLink(components, link) : false;
  const embed: APIEmbed = {};
  if (title !== '') embed.title = title;
  if (link && !linkPlaced && title !== '') embed.url = link.url;
  if (fitted.description !== '') embed.description = fitted.description;
  embed.color = reply.error ? COLOUR.error : COLOUR.brand;
  if (fitted.fields.length > 0) embed.fields = fitted.fields;
  const empty = embed.title === undefined && embed.description === undefined && embed.fields === undefined;
  return {
    content: empty && components.length === 0 ? '(empty reply)' : '',
    embeds: empty ? [] : [embed],
    components,
    allowed_mentions: { parse: [] },
  };
}
