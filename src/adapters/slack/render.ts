/**
 * Reply → Block Kit: a pure rendering of the platform-neutral Reply for Slack messages.
 * Everything a Reply holds is plain text that may contain user input, so all of it is escaped;
 * the renderer adds markup only around it, and every mrkdwn object is `verbatim` so Slack does
 * not turn names into mentions or links. Time marks become `<!date^…>` tokens, which each reader
 * sees in their own timezone. Slack's limits (limits.ts) are respected by splitting, truncating
 * and, when a reply is too big for one message, shortening it with a notice. A notice about a
 * request may end with the signed link to its status page (a context line Slack shows as a link).
 */
import type { types } from '@slack/bolt';
import { formatTable, mapTimeMarks, plainTimes, stripTimeMarkDelimiters, toPlainText } from '../../core/reply.js';
import type { Action, Block, Reply } from '../../core/reply.js';
import type { Finding } from '../../domain/types.js';
import { SLACK_LIMITS } from './limits.js';
import { truncateMarked, truncatePlain } from '../text-cut.js';

type KnownBlock = types.KnownBlock;
type SectionBlock = types.SectionBlock;
type ContextBlock = types.ContextBlock;
type ActionsBlock = types.ActionsBlock;
type Button = types.Button;
type MrkdwnElement = types.MrkdwnElement;

/** What a rendered message consists of: the notification/fallback text and the blocks. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** How to render: which buttons to show, and what to tell the reader when a reply had to be shortened. */
export interface RenderOptions {
  /** Show buttons that run `/upgrade-admin` commands (agents' Next/Retry/Abort); only in the ops channel. */
  adminActions?: boolean;
  /** The command that shows the whole answer, named in the notice when the reply is shortened. */
  fullCommand?: string;
  /** The signed link to the request's status page: a context line under everything else, kept when the reply is shortened. */
  statusLink?: { url: string; ref: string } | null;
}

/** The action_id prefix of reply buttons; the number after it is unique within one message. */
export const RUN_COMMAND_ACTION_PREFIX = 'run_command:';

/** Matches the action_id of every reply button (for `app.action(...)`); the button's value is its command. */
export const RUN_COMMAND_ACTION_ID = /^run_command:\d+$/;

/** Commands of agents and admins, whose buttons only the ops channel gets. */
const ADMIN_COMMAND = /^\/?upgrade-admin(\s|$)/i;

/** Longest fallback shown inside a date token (ours; real ones are about 40 characters). */
const MAX_DATE_FALLBACK = 200;

/** Longest table line before it is cut (ours; keeps one wide cell from hiding every other row). */
const MAX_TABLE_LINE = 400;

/** Escapes `&`, `<` and `>` (Slack's only control characters), so text can never become markup. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Escaped mrkdwn of `value` whose time marks are `<!date^…>` tokens: each reader sees the time in
 * their own timezone, and clients that cannot show it see the mark's fallback (escaped, without
 * `|`, `>` or line breaks). Stray time-mark delimiters are dropped.
 */
export function slackText(value: string): string {
  return mapTimeMarks(
    value,
    (unix, fallback) => `<!date^${unix}^{date_short_pretty} at {time}|${dateFallback(fallback)}>`,
    (segment) => escapeMrkdwn(stripTimeMarkDelimiters(segment)),
  );
}

/** Escaped text with time marks (and stray delimiters) reduced to their fallback: for code spans. */
function plainMrkdwn(value: string): string {
  return escapeMrkdwn(plainTimes(value));
}

function dateFallback(fallback: string): string {
  const oneLine = fallback.replace(/\s+/g, ' ').trim().replace(/\|/g, '¦');
  const short = oneLine.length > MAX_DATE_FALLBACK ? `${oneLine.slice(0, MAX_DATE_FALLBACK - 1)}…` : oneLine;
  return escapeMrkdwn(short) || 'a date';
}

/**
 * The largest index ≤ `max` at which escaped mrkdwn can be cut without splitting a `<…>` token,
 * an `&…;` entity or a surrogate pair (every `<` and `&` in escaped text starts one of those).
 */
function cutIndex(s: string, max: number): number {
  if (s.length <= max) return s.length;
  let cut = max;
  const open = s.lastIndexOf('<', cut - 1);
  if (open !== -1) {
    const close = s.indexOf('>', open);
    if (close === -1 || close >= cut) cut = open;
  }
  const amp = s.lastIndexOf('&', cut - 1);
  if (amp !== -1) {
    const end = s.indexOf(';', amp);
    if (end === -1 || end >= cut) cut = amp;
  }
  const code = s.charCodeAt(cut - 1);
  if (cut > 0 && code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return cut > 0 ? cut : max;
}

/** Escaped mrkdwn cut to at most `max` characters, marked with `…` when cut. */
function truncateMrkdwn(s: string, max: number): string {
  return truncateMarked(s, max, cutIndex);
}

/** Escaped mrkdwn split into chunks of at most `max` characters, at line boundaries where possible. */
function splitMrkdwn(s: string, max: number): string[] {
  const chunks: string[] = [];
  let current = '';
  const flush = () => {
    if (current.trim() !== '') chunks.push(current);
    current = '';
  };
  for (const line of s.split('\n')) {
    if (line.length > max) {
      flush();
      let rest = line;
      while (rest.length > max) {
        const cut = cutIndex(rest, max);
        chunks.push(rest.slice(0, cut));
        rest = rest.slice(cut);
      }
      current = rest;
      continue;
    }
    if (current !== '' && current.length + 1 + line.length > max) flush();
    current = current === '' ? line : `${current}\n${line}`;
  }
  flush();
  return chunks;
}

function mrkdwn(text: string): MrkdwnElement {
  return { type: 'mrkdwn', text, verbatim: true };
}

function sections(escaped: string): SectionBlock[] {
  return splitMrkdwn(escaped, SLACK_LIMITS.sectionText).map((chunk) => ({ type: 'section', text: mrkdwn(chunk) }));
}

function context(escaped: string): ContextBlock {
  return { type: 'context', elements: [mrkdwn(truncateMrkdwn(escaped, SLACK_LIMITS.textObject))] };
}

/** `*value*` (escaped, at most `max` characters in all), or '' for blank text. */
function bold(value: string, max: number = SLACK_LIMITS.sectionText): string {
  const t = truncateMrkdwn(slackText(value).trim(), max - 2);
  return t === '' ? '' : `*${t}*`;
}

function fieldSections(pairs: Array<{ label: string; value: string }>): SectionBlock[] {
  const texts = pairs.map((f) =>
    truncateMrkdwn(`${bold(f.label)}\n${slackText(f.value)}`, SLACK_LIMITS.sectionFieldText),
  );
  const out: SectionBlock[] = [];
  for (let i = 0; i < texts.length; i += SLACK_LIMITS.sectionFields) {
    out.push({ type: 'section', fields: texts.slice(i, i + SLACK_LIMITS.sectionFields).map(mrkdwn) });
  }
  return out;
}

/** A table as a code block (dates show their fallback: tokens do not render inside code), cut to fit. */
function tableSection(columns: string[], rows: string[][]): SectionBlock {
  const plainRows = rows.map((r) => r.map((c) => plainTimes(c).replace(/\s+/g, ' ')));
  const lines = formatTable(columns.map((c) => plainTimes(c)), plainRows)
    .split('\n')
    .map((line) => escapeMrkdwn(truncatePlain(line, MAX_TABLE_LINE)).replace(/```/g, '`\u200b`\u200b`'));
  const fence = (body: string[]) => `\`\`\`\n${body.join('\n')}\n\`\`\``;
  const head = lines.slice(0, rows.length === 0 ? lines.length : 2);
  const body = lines.slice(head.length);
  const kept = [...head];
  // Room for the fence and the "… N more rows" line.
  const budget = SLACK_LIMITS.sectionText - 8 - 40;
  let size = kept.join('\n').length;
  let shown = 0;
  for (const line of body) {
    if (size + 1 + line.length > budget) break;
    kept.push(line);
    size += 1 + line.length;
    shown += 1;
  }
  const hidden = body.length - shown;
  if (hidden > 0) kept.push(`… ${hidden} more row${hidden === 1 ? '' : 's'}`);
  return { type: 'section', text: mrkdwn(truncateMrkdwn(fence(kept), SLACK_LIMITS.sectionText)) };
}

const SEVERITY_EMOJI = { error: ':x:', warning: ':warning:' } as const;

function findingLine(f: Finding): string {
  const where = f.device ? ` [${slackText(f.device)}]` : '';
  return `${SEVERITY_EMOJI[f.severity]} *${f.severity}* \`${plainMrkdwn(f.code)}\`${where}: ${slackText(f.message)}`;
}

function listText(title: string, items: string[]): string {
  return [bold(title), ...items.map((item) => `• ${slackText(item)}`)].filter((l) => l !== '').join('\n');
}

/** The reference a command acts on, for confirmation dialogs ("Decline UPG-000001?"). */
function refOf(command: string): string | null {
  return /\bUPG-\d+\b/i.exec(command)?.[0]?.toUpperCase() ?? null;
}

function button(action: Action, n: number): Button {
  const label = truncatePlain(plainTimes(action.label).trim() || action.command, SLACK_LIMITS.buttonText);
  const b: Button = {
    type: 'button',
    text: { type: 'plain_text', text: label },
    action_id: `${RUN_COMMAND_ACTION_PREFIX}${n}`,
    value: action.command,
  };
  if (action.style) b.style = action.style;
  if (action.style === 'danger') {
    const ref = refOf(action.command);
    b.confirm = {
      title: { type: 'plain_text', text: truncatePlain(`${label}${ref ? ` ${ref}` : ''}?`, SLACK_LIMITS.confirmTitle) },
      text: { type: 'plain_text', text: truncatePlain(`This runs: ${action.command}`, SLACK_LIMITS.confirmText) },
      confirm: { type: 'plain_text', text: truncatePlain(label, SLACK_LIMITS.confirmButton) },
      deny: { type: 'plain_text', text: 'Cancel' },
      style: 'danger',
    };
  }
  return b;
}

/** True when this message may carry a button for the action. */
function shown(action: Action, options: RenderOptions): boolean {
  if (action.command.length > SLACK_LIMITS.buttonValue) return false;
  return options.adminActions === true || !ADMIN_COMMAND.test(action.command.trim());
}

/** The reply with the buttons this message may not carry removed (they are not mentioned in the fallback either). */
function visibleReply(reply: Reply, options: RenderOptions): Reply {
  const blocks = reply.blocks
    .map((b): Block => (b.type === 'actions' ? { ...b, actions: b.actions.filter((a) => shown(a, options)) } : b))
    .filter((b) => b.type !== 'actions' || b.actions.length > 0);
  return { ...reply, blocks };
}

function renderBlocks(reply: Reply): KnownBlock[] {
  const out: KnownBlock[] = [];
  let buttons = 0;
  if (reply.error) {
    out.push(
      ...sections(`:warning: *Error (${plainMrkdwn(reply.error.code)})*: ${slackText(reply.error.message)}`),
    );
    if (reply.error.hint && reply.error.hint.trim() !== '') out.push(context(slackText(reply.error.hint)));
  }
  if (reply.title && reply.title.trim() !== '') out.push(...sections(bold(reply.title)));
  for (const b of reply.blocks) {
    switch (b.type) {
      case 'text':
        out.push(...sections(slackText(b.text)));
        break;
      case 'fields':
        out.push(...fieldSections(b.fields));
        break;
      case 'table':
        out.push(tableSection(b.columns, b.rows));
        break;
      case 'findings':
        out.push(
          ...sections(
            b.findings.length === 0 ? ':white_check_mark: All checks passed.' : b.findings.map(findingLine).join('\n'),
          ),
        );
        break;
      case 'list':
        out.push(...sections(listText(b.title, b.items)));
        break;
      case 'actions':
        for (let i = 0; i < b.actions.length; i += SLACK_LIMITS.actionsElements) {
          const elements = b.actions.slice(i, i + SLACK_LIMITS.actionsElements).map((a) => button(a, ++buttons));
          out.push({ type: 'actions', elements } satisfies ActionsBlock);
        }
        break;
    }
  }
  return out;
}

/** Characters of text a block shows, as Slack counts them against the message size. */
function textSize(block: KnownBlock): number {
  switch (block.type) {
    case 'section':
      return (block.text?.text.length ?? 0) + (block.fields ?? []).reduce((n, f) => n + f.text.length, 0);
    case 'context':
      return block.elements.reduce((n, e) => n + ('text' in e && typeof e.text === 'string' ? e.text.length : 0), 0);
    case 'actions':
      return block.elements.reduce((n, e) => n + JSON.stringify(e).length, 0);
    default:
      return JSON.stringify(block).length;
  }
}

function shortenedNotice(hidden: number, reply: Reply, options: RenderOptions): ContextBlock {
  const parts = `${hidden} more part${hidden === 1 ? '' : 's'} not shown`;
  const how = options.fullCommand
    ? ` Type \`${escapeMrkdwn(options.fullCommand)}\` to see all of it.`
    : reply.title && reply.title.trim() !== ''
      ? ` To see all of ${bold(reply.title, 200)}, type the command.`
      : ' To see all of it, type the command.';
  return context(`:scissors: This answer was shortened to fit in Slack (${parts}).${how}`);
}

/**
 * Keeps the message within Slack's block count and text size: when it would exceed either, the
 * content is cut after the last block that fits, a notice says so, and the buttons and the
 * `tail` (the status link) are kept.
 */
function fitMessage(blocks: KnownBlock[], reply: Reply, options: RenderOptions, tail: KnownBlock[] = []): KnownBlock[] {
  const total = [...blocks, ...tail].reduce((n, b) => n + textSize(b), 0);
  if (blocks.length + tail.length <= SLACK_LIMITS.blocksPerMessage && total <= SLACK_LIMITS.blocksTextBudget) return [...blocks, ...tail];
  const actionBlocks = blocks.filter((b) => b.type === 'actions');
  const content = blocks.filter((b) => b.type !== 'actions');
  const noticeRoom = 600;
  const slots = SLACK_LIMITS.blocksPerMessage - 1 - actionBlocks.length - tail.length;
  let room = SLACK_LIMITS.blocksTextBudget - noticeRoom - [...actionBlocks, ...tail].reduce((n, b) => n + textSize(b), 0);
  const kept: KnownBlock[] = [];
  for (const block of content) {
    const size = textSize(block);
    if (kept.length >= slots || size > room) break;
    kept.push(block);
    room -= size;
  }
  if (kept.length === content.length) return [...kept, ...actionBlocks, ...tail];
  return [...kept, shortenedNotice(content.length - kept.length, reply, options), ...actionBlocks, ...tail];
}

/** Longest status link put in a message (ours: the bot's links are about 100 characters). */
const MAX_STATUS_URL = 2000;

/**
 * The context line `🔗 <url|Status page for UPG-…>`, or null when there is no link or it is not
 * an http(s) URL. The URL is normalised and escaped so it cannot end the link early.
 */
export function statusLinkBlock(link: RenderOptions['statusLink']): ContextBlock | null {
  if (!link) return null;
  let href: string;
  try {
    const parsed = new URL(link.url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
    href = parsed.href.replace(/\|/g, '%7C');
  } catch {
    return null;
  }
  if (href.length > MAX_STATUS_URL) return null;
  const label = escapeMrkdwn(truncatePlain(`Status page for ${plainTimes(link.ref).replace(/\s+/g, ' ').trim()}`, 200)).replace(/\|/g, '¦');
  return context(`:link: <${escapeMrkdwn(href)}|${label}>`);
}

/**
 * Renders a reply as a Slack message: escaped, verbatim mrkdwn (no user text can mention or link),
 * time marks as local-time date tokens, buttons that run their typed command (admin ones only with
 * `adminActions`), at most 50 blocks within Slack's size limits, and escaped plain `text` ≤ 3000.
 */
export function renderReply(reply: Reply, options: RenderOptions = {}): SlackMessage {
  const visible = visibleReply(reply, options);
  const link = statusLinkBlock(options.statusLink);
  const blocks = fitMessage(renderBlocks(visible), visible, options, link ? [link] : []);
  const plain = toPlainText(visible).trim();
  const text = truncateMrkdwn(escapeMrkdwn(plain === '' ? '(empty reply)' : plain), SLACK_LIMITS.fallbackText);
  return { text, blocks };
}

/** Renders a reply for `chat.update` of a message posted earlier: the same shape as renderReply (no block_ids, so Slack assigns fresh ones). */
export function renderForUpdate(reply: Reply, options: RenderOptions = {}): SlackMessage {
  return renderReply(reply, options);
}
