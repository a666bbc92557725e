/**
 * Reply → e-mail: a pure rendering of the platform-neutral Reply as a subject line, a plain-text
 * part and a small HTML part, plus the iCalendar invite (RFC 5545) of a scheduled upgrade.
 * Everything a Reply holds is plain text that may contain user input: the subject is forced onto
 * one line (no CR/LF can reach a header), the HTML escapes every piece of text, and the HTML has
 * no scripts and loads nothing from outside. Time marks show their fallback (the customer's
 * timezone and UTC). Buttons become links when a link is available, else the command to type;
 * agents' `/upgrade-admin` buttons are never mailed. A notice about a request ends with the
 * signed link to its status page ("Follow this request: …") when one is given.
 */
import { formatTable, mapTimeMarks, plainTimes, stripTimeMarkDelimiters } from '../../core/reply.js';
import type { Action, Block, Reply } from '../../core/reply.js';
import type { Finding } from '../../domain/types.js';
import { truncatePlain } from '../text-cut.js';

/** How to render: the request reference (subject tag, footer) and links for buttons. */
export interface EmailRenderOptions {
  /** "UPG-000001": tags the subject and the footer; null or absent for notices without a request. */
  ref?: string | null;
  /** A URL that performs the action (e.g. a signed approval link), or null to show the command instead. Only http(s) URLs are used. */
  actionLink?: (action: Action) => string | null;
  /** The signed link to the request's status page, shown after the content; only an http(s) URL is used. */
  statusLink?: string | null;
}

/** A rendered e-mail: a one-line subject, the plain-text part and the HTML part. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** Longest subject (characters); longer ones are cut with "…". */
export const MAX_SUBJECT_LENGTH = 200;

/** Commands of agents and admins: never offered by e-mail. */
const ADMIN_COMMAND = /^\/?upgrade-admin(\s|$)/i;

/** Line breaks, other control characters and bidi overrides: nothing a header or a subject may contain. */
// eslint-disable-next-line no-control-regex
const NOT_IN_ONE_LINE = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]+/g;

const SEVERITY_MARK = { error: '✖', warning: '!' } as const;

/** `value` on one line, time marks as their fallback: control characters (CR and LF included) become spaces, runs of spaces one. */
export function oneLine(value: string): string {
  return plainTimes(value).replace(NOT_IN_ONE_LINE, ' ').replace(/\s+/g, ' ').trim();
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Whether an action is offered by e-mail (agents' `/upgrade-admin` commands are not). */
export function isMailableAction(action: Action): boolean {
  return !ADMIN_COMMAND.test(action.command.trim());
}

/** Whether the reply still offers something to do by e-mail (a decided consent card does not). */
export function hasMailableActions(reply: Reply): boolean {
  return reply.blocks.some((b) => b.type === 'actions' && b.actions.some(isMailableAction));
}

/** The title the subject shows: the reply's title, else its error, else a generic one. */
function headline(reply: Reply): string {
  if (reply.title && oneLine(reply.title)) return oneLine(reply.title);
  if (reply.error) return oneLine(`Error: ${reply.error.message}`);
  return 'Upgrade Desk notice';
}

/**
 * `[UPG-000001] <title>`: one line, at most MAX_SUBJECT_LENGTH characters, never a CR or LF. A
 * title that starts with the reference itself ("UPG-000001: upgrade finished") does not repeat it.
 */
export function emailSubject(reply: Reply, ref?: string | null): string {
  let title = headline(reply);
  const tag = ref ? oneLine(ref) : '';
  if (tag && title.toUpperCase().startsWith(tag.toUpperCase())) {
    const rest = title.slice(tag.length).replace(/^[\s:·-]+/, '');
    if (rest) title = rest;
  }
  return truncatePlain(tag ? `[${tag}] ${title}` : title, MAX_SUBJECT_LENGTH);
}

/** `url` normalised when it is an http(s) URL, else null (anything else, e.g. `javascript:`, is not used). */
function webUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** An http(s) URL from `actionLink`, or null. */
function linkFor(action: Action, options: EmailRenderOptions): string | null {
  return webUrl(options.actionLink?.(action) ?? null);
}

/** The words before the status link, in both parts. */
export const STATUS_LINK_LEAD = 'Follow this request:';

/* ---------- plain text ---------- */

function findingLine(f: Finding): string {
  const where = f.device ? ` [${plainTimes(f.device)}]` : '';
  return `${SEVERITY_MARK[f.severity]} ${f.severity} ${f.code}${where}: ${plainTimes(f.message)}`;
}

function textBlock(block: Block, options: EmailRenderOptions): string | null {
  switch (block.type) {
    case 'text':
      return plainTimes(block.text);
    case 'fields': {
      if (block.fields.length === 0) return null;
      const labels = block.fields.map((f) => plainTimes(f.label));
      const width = Math.max(0, ...labels.map((l) => l.length));
      return block.fields.map((f, i) => `  ${`${labels[i]}:`.padEnd(width + 1)} ${plainTimes(f.value)}`).join('\n');
    }
    case 'table':
      return formatTable(
        block.columns.map(plainTimes),
        block.rows.map((r) => r.map(plainTimes)),
      );
    case 'findings':
      return block.findings.length === 0 ? '  ✔ All checks passed.' : block.findings.map((f) => `  ${findingLine(f)}`).join('\n');
    case 'list':
      return [`${plainTimes(block.title)}:`, ...block.items.map((i) => `  • ${plainTimes(i)}`)].join('\n');
    case 'actions': {
      const shown = block.actions.filter(isMailableAction);
      if (shown.length === 0) return null;
      return shown
        .map((a) => {
          const url = linkFor(a, options);
          const label = oneLine(a.label);
          return url ? `${label}: ${url}` : `${label} — to do this, type in chat: ${oneLine(a.command)}`;
        })
        .join('\n');
    }
  }
}

function footerText(ref: string | null): string {
  return ref ? `Upgrade Desk · reference ${ref}` : 'Upgrade Desk';
}

function renderText(reply: Reply, options: EmailRenderOptions, ref: string | null): string {
  const parts: string[] = [];
  if (reply.error) {
    parts.push(`Error (${reply.error.code}): ${plainTimes(reply.error.message)}`);
    if (reply.error.hint) parts.push(plainTimes(reply.error.hint));
  }
  if (reply.title) parts.push(plainTimes(reply.title));
  for (const block of reply.blocks) {
    const rendered = textBlock(block, options);
    if (rendered !== null && rendered !== '') parts.push(rendered);
  }
  const status = webUrl(options.statusLink);
  if (status) parts.push(`${STATUS_LINK_LEAD} ${status}`);
  // "-- " (with the space) is the signature separator mail clients recognise.
  return `${parts.join('\n\n')}\n\n-- \n${footerText(ref)}\n`;
}

/* ---------- HTML ---------- */

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const MONO = "SFMono-Regular,Consolas,'Liberation Mono',Menlo,monospace";
const STYLE = {
  body: 'margin:0;padding:0;background:#f4f5f7;',
  outer: `max-width:640px;margin:0 auto;padding:24px 12px;font-family:${FONT};font-size:15px;line-height:1.5;color:#1f2328;`,
  card: 'background:#ffffff;border:1px solid #d0d7de;border-radius:6px;padding:24px;',
  h1: 'font-size:20px;line-height:1.3;margin:0 0 16px;color:#1f2328;',
  p: 'margin:0 0 12px;',
  error: 'margin:0 0 12px;padding:8px 12px;border-left:4px solid #b42318;background:#fef3f2;color:#7a271a;',
  table: 'border-collapse:collapse;width:100%;margin:0 0 16px;font-size:14px;',
  th: 'text-align:left;padding:6px 8px;border-bottom:2px solid #d0d7de;background:#f6f8fa;',
  thRow: 'text-align:left;vertical-align:top;padding:4px 12px 4px 0;color:#57606a;font-weight:600;white-space:nowrap;',
  td: 'text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid #eaeef2;',
  tdField: 'text-align:left;vertical-align:top;padding:4px 0;',
  h2: 'font-size:15px;margin:16px 0 6px;',
  ul: 'margin:0 0 12px;padding-left:20px;',
  findings: 'list-style:none;margin:0 0 12px;padding:0;',
  finding: 'margin:0 0 6px;padding:6px 10px;border-radius:4px;',
  code: `font-family:${MONO};font-size:13px;background:#f6f8fa;padding:1px 4px;border-radius:4px;`,
  button: 'display:inline-block;padding:8px 16px;border-radius:6px;color:#ffffff;text-decoration:none;font-weight:600;',
  footer: 'margin:16px 0 0;font-size:12px;color:#57606a;text-align:center;',
} as const;
const BUTTON_COLOUR = { primary: '#1a7f37', danger: '#b42318', default: '#0969da' } as const;
const SEVERITY_STYLE = {
  error: { box: 'background:#fef3f2;border-left:4px solid #b42318;', label: 'color:#b42318;' },
  warning: { box: 'background:#fff8c5;border-left:4px solid #9a6700;', label: 'color:#7d4e00;' },
} as const;

/** Escaped HTML of `value`; time marks become `<time>` with their fallback; line breaks `<br>`. */
function html(value: string): string {
  return mapTimeMarks(
    value,
    (unix, fallback) => {
      const at = new Date(unix * 1000);
      const iso = Number.isNaN(at.getTime()) ? '' : ` datetime="${at.toISOString()}"`;
      return `<time${iso}>${escapeHtml(fallback)}</time>`;
    },
    (segment) => escapeHtml(stripTimeMarkDelimiters(segment)),
  ).replace(/\r?\n/g, '<br>');
}

function code(value: string): string {
  return `<code style="${STYLE.code}">${escapeHtml(oneLine(value))}</code>`;
}

function htmlBlock(block: Block, options: EmailRenderOptions): string | null {
  switch (block.type) {
    case 'text':
      return block.text.trim() ? `<p style="${STYLE.p}">${html(block.text)}</p>` : null;
    case 'fields':
      if (block.fields.length === 0) return null;
      return (
        `<table style="${STYLE.table}"><tbody>` +
        block.fields.map((f) => `<tr><th scope="row" style="${STYLE.thRow}">${html(f.label)}</th><td style="${STYLE.tdField}">${html(f.value)}</td></tr>`).join('') +
        '</tbody></table>'
      );
    case 'table': {
      const head = `<thead><tr>${block.columns.map((c) => `<th scope="col" style="${STYLE.th}">${html(c)}</th>`).join('')}</tr></thead>`;
      const rows =
        block.rows.length === 0
          ? `<tr><td colspan="${Math.max(1, block.columns.length)}" style="${STYLE.td}">(none)</td></tr>`
          : block.rows.map((r) => `<tr>${block.columns.map((_, i) => `<td style="${STYLE.td}">${html(r[i] ?? '')}</td>`).join('')}</tr>`).join('');
      return `<table style="${STYLE.table}">${head}<tbody>${rows}</tbody></table>`;
    }
    case 'findings':
      if (block.findings.length === 0) return `<p style="${STYLE.p}color:#1a7f37;">✔ All checks passed.</p>`;
      return (
        `<ul style="${STYLE.findings}">` +
        block.findings
          .map((f) => {
            const s = SEVERITY_STYLE[f.severity];
            const where = f.device ? ` [${html(f.device)}]` : '';
            return (
              `<li style="${STYLE.finding}${s.box}"><strong style="${s.label}">${SEVERITY_MARK[f.severity]} ${escapeHtml(f.severity)}</strong> ` +
              `${code(f.code)}${where}: ${html(f.message)}</li>`
            );
          })
          .join('') +
        '</ul>'
      );
    case 'list':
      return (
        `<h2 style="${STYLE.h2}">${html(block.title)}</h2><ul style="${STYLE.ul}">` +
        block.items.map((i) => `<li>${html(i)}</li>`).join('') +
        '</ul>'
      );
    case 'actions': {
      const shown = block.actions.filter(isMailableAction);
      if (shown.length === 0) return null;
      return shown
        .map((a) => {
          const url = linkFor(a, options);
          const label = escapeHtml(oneLine(a.label));
          if (url) {
            const colour = BUTTON_COLOUR[a.style ?? 'default'];
            return `<p style="${STYLE.p}"><a href="${escapeHtml(url)}" style="${STYLE.button}background:${colour};">${label}</a></p>`;
          }
          return `<p style="${STYLE.p}"><strong>${label}</strong> — to do this, type in chat: ${code(a.command)}</p>`;
        })
        .join('');
    }
  }
}

function renderHtml(reply: Reply, options: EmailRenderOptions, ref: string | null, subject: string): string {
  const body: string[] = [];
  if (reply.error) {
    const hint = reply.error.hint ? `<br>${html(reply.error.hint)}` : '';
    body.push(`<p role="alert" style="${STYLE.error}"><strong>Error (${escapeHtml(reply.error.code)}):</strong> ${html(reply.error.message)}${hint}</p>`);
  }
  if (reply.title) body.push(`<h1 style="${STYLE.h1}">${html(reply.title)}</h1>`);
  for (const block of reply.blocks) {
    const rendered = htmlBlock(block, options);
    if (rendered) body.push(rendered);
  }
  const status = webUrl(options.statusLink);
  if (status) {
    const label = ref ? `the status page of ${ref}` : 'the status page';
    body.push(`<p style="${STYLE.p}">${escapeHtml(STATUS_LINK_LEAD)} <a href="${escapeHtml(status)}">${escapeHtml(label)}</a></p>`);
  }
  return (
    '<!DOCTYPE html>\n' +
    '<html lang="en" dir="ltr"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<meta name="color-scheme" content="light">' +
    `<title>${escapeHtml(subject)}</title></head>\n` +
    `<body style="${STYLE.body}"><div role="article" aria-label="${escapeHtml(subject)}" lang="en" style="${STYLE.outer}">` +
    `<div style="${STYLE.card}">\n${body.join('\n')}\n</div>` +
    `<p style="${STYLE.footer}">${escapeHtml(footerText(ref))}</p>` +
    '</div></body></html>\n'
  );
}

/** Renders a reply as an e-mail: subject, plain text and HTML. Pure. */
export function renderEmail(reply: Reply, options: EmailRenderOptions = {}): RenderedEmail {
  const ref = options.ref ? oneLine(options.ref) : null;
  const subject = emailSubject(reply, ref);
  return { subject, text: renderText(reply, options, ref), html: renderHtml(reply, options, ref, subject) };
}

/* ---------- iCalendar (RFC 5545 / RFC 5546) ---------- */

/** A calendar invite for an upgrade, or its cancellation (same UID, higher SEQUENCE). */
export interface CalendarInvite {
  method: 'REQUEST' | 'CANCEL';
  /** Stable per request, e.g. "upg-000001@example.com". */
  uid: string;
  /** Grows whenever the invite is sent again (a later one replaces an earlier one in calendars). */
  sequence: number;
  /** When the invite was made (DTSTAMP). */
  stamp: Date;
  start: Date;
  end: Date;
  summary: string;
  description: string;
  organizer: { name?: string; email: string };
  attendee: { name?: string; email: string };
}

/** Escapes a TEXT value (RFC 5545 §3.3.11): backslash, `;`, `,` and line breaks; other control characters dropped. */
export function escapeIcsText(value: string): string {
  return plainTimes(value)
    .replace(/\r\n?/g, '\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0009\u000B-\u001F\u007F]/g, '')
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\n/g, '\\n');
}

/** A parameter value (CN=…): quoted, without the characters a quoted value may not hold. */
function icsParam(value: string): string {
  return `"${oneLine(value).replace(/"/g, "'")}"`;
}

/** A mailto: URI of an address already checked by the caller (no CR/LF can be in it). */
function mailto(email: string): string {
  return `mailto:${oneLine(email)}`;
}

/** Folds a content line to 75 octets per line (RFC 5545 §3.1): CRLF + space, never inside a UTF-8 character. */
export function foldIcsLine(line: string): string {
  const out: string[] = [];
  let current = '';
  let octets = 0;
  let limit = 75;
  for (const ch of line) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (octets + size > limit) {
      out.push(current);
      current = '';
      octets = 0;
      // Continuation lines start with a space, which counts toward their 75 octets.
      limit = 74;
    }
    current += ch;
    octets += size;
  }
  out.push(current);
  return out.join('\r\n ');
}

/** 20261206T060000Z */
function icsUtc(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** The VCALENDAR text of an invite: CRLF line ends, folded lines, escaped text. Pure. */
export function renderCalendarInvite(invite: CalendarInvite): string {
  const cancel = invite.method === 'CANCEL';
  const organizer = `ORGANIZER${invite.organizer.name ? `;CN=${icsParam(invite.organizer.name)}` : ''}:${mailto(invite.organizer.email)}`;
  const attendee =
    `ATTENDEE${invite.attendee.name ? `;CN=${icsParam(invite.attendee.name)}` : ''}` +
    `;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:${mailto(invite.attendee.email)}`;
  const lines = [
    'BEGIN:VCALENDAR',
    'PRODID:-//Upgrade Desk//Upgrade notices//EN',
    'VERSION:2.0',
    'CALSCALE:GREGORIAN',
    `METHOD:${invite.method}`,
    'BEGIN:VEVENT',
    `UID:${oneLine(invite.uid)}`,
    `SEQUENCE:${Math.max(0, Math.floor(invite.sequence))}`,
    `DTSTAMP:${icsUtc(invite.stamp)}`,
    `DTSTART:${icsUtc(invite.start)}`,
    `DTEND:${icsUtc(invite.end)}`,
    `SUMMARY:${escapeIcsText(oneLine(invite.summary))}`,
    `DESCRIPTION:${escapeIcsText(invite.description)}`,
    organizer,
    attendee,
    `STATUS:${cancel ? 'CANCELLED' : 'CONFIRMED'}`,
    'TRANSP:OPAQUE',
    'CLASS:PUBLIC',
    'END:VEVENT',
    'END:VCALENDAR',
  ];
  return `${lines.map(foldIcsLine).join('\r\n')}\r\n`;
}
