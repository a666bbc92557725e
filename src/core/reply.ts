/**
 * The platform-neutral reply every command returns. Slack, Discord, console, e-mail and web each
 * render it with a pure function; nothing here knows any platform's markup.
 */
import type { Finding } from '../domain/types.js';

/** A button; it is a shortcut for the typed `command`, so everything also works as text. */
export interface Action {
  label: string;
  /** The full command the button runs, e.g. "/upgrade approve UPG-000001". */
  command: string;
  style?: 'primary' | 'danger';
}

export type Block =
  | { type: 'text'; text: string }
  | { type: 'fields'; fields: Array<{ label: string; value: string }> }
  | { type: 'table'; columns: string[]; rows: string[][] }
  | { type: 'findings'; findings: Finding[] }
  | { type: 'list'; title: string; items: string[] }
  | { type: 'actions'; actions: Action[] };

export interface ReplyError {
  code: string;
  message: string;
  /** What to do next, e.g. the valid keys and an example. */
  hint?: string;
}

export interface Reply {
  title?: string;
  blocks: Block[];
  error?: ReplyError;
  /** private: only the invoking user sees it (ephemeral); channel: may be shown to the channel. */
  visibility: 'private' | 'channel';
}

/** Whether a stored payload (e.g. an outbox row's) is a Reply; older or foreign payloads are not. */
export function isReply(payload: unknown): payload is Reply {
  return typeof payload === 'object' && payload !== null && Array.isArray((payload as { blocks?: unknown }).blocks);
}

/** The first request reference (UPG-…) a reply names in its title or blocks: the request a command filed. */
export function referenceIn(r: Reply): string | null {
  return /\bUPG-\d{6,}\b/.exec(JSON.stringify({ title: r.title, blocks: r.blocks }))?.[0] ?? null;
}

/** Starts a reply with a title; add blocks with the helpers below. */
export function reply(title?: string, ...blocks: Block[]): Reply {
  return { title, blocks, visibility: 'private' };
}

/** A reply that reports an expected failure by its stable code. */
export function errorReply(code: string, message: string, hint?: string): Reply {
  return { blocks: [], error: hint ? { code, message, hint } : { code, message }, visibility: 'private' };
}

/** A block of plain text (renderers escape it for their platform). */
export function text(value: string): Block {
  return { type: 'text', text: value };
}

/** Label/value pairs; pairs whose value is empty are dropped. */
export function fields(pairs: Array<[string, string | null | undefined]>): Block {
  return {
    type: 'fields',
    fields: pairs.filter((p): p is [string, string] => !!p[1]).map(([label, value]) => ({ label, value })),
  };
}

/** A table with a header row. */
export function table(columns: string[], rows: string[][]): Block {
  return { type: 'table', columns, rows };
}

/** Validation findings. */
export function findingsBlock(findings: Finding[]): Block {
  return { type: 'findings', findings };
}

/** A titled bullet list. */
export function list(title: string, items: string[]): Block {
  return { type: 'list', title, items };
}

/** Buttons, each a shortcut for a typed command. */
export function actions(...items: Action[]): Block {
  return { type: 'actions', actions: items };
}

/*
 * Time marks: an instant inside reply text, so that each platform can show it in the reader's
 * own timezone (Slack `<!date^…>`, Discord `<t:…:F>`) while plain text shows `fallback` (the
 * customer's timezone and UTC). The delimiters are Unicode private-use characters; dispatch
 * strips them from typed text (`stripTimeMarkDelimiters`), so users cannot forge a mark.
 */
const MARK_OPEN = '\uE000';
const MARK_SEP = '\uE001';
const MARK_CLOSE = '\uE002';
const TIME_MARK = /\uE000(-?\d{1,12})\uE001([^\uE000-\uE002]*)\uE002/g;

/** `fallback` (e.g. "Sun 6 Dec 2026 01:00 EST · 06:00 UTC") marked as the instant `at`. */
export function timeMark(at: Date, fallback: string): string {
  return `${MARK_OPEN}${Math.floor(at.getTime() / 1000)}${MARK_SEP}${stripTimeMarkDelimiters(fallback)}${MARK_CLOSE}`;
}

/** Rewrites every time mark in `value` with `render(unixSeconds, fallback)`; other text is passed to `other`. */
export function mapTimeMarks(
  value: string,
  render: (unixSeconds: number, fallback: string) => string,
  other: (segment: string) => string = (s) => s,
): string {
  let out = '';
  let last = 0;
  for (const m of value.matchAll(TIME_MARK)) {
    out += other(value.slice(last, m.index)) + render(Number(m[1]), m[2] ?? '');
    last = m.index + m[0].length;
  }
  return out + other(value.slice(last));
}

/** Removes the time-mark delimiters (never typed by people; stray ones would confuse renderers). */
export function stripTimeMarkDelimiters(value: string): string {
  return value.replace(/[\uE000-\uE002]/g, '');
}

/** Text with its time marks replaced by their fallbacks. */
export function plainTimes(value: string): string {
  return stripTimeMarkDelimiters(mapTimeMarks(value, (_, fallback) => fallback));
}

const SEVERITY_MARK = { error: '✖', warning: '!' } as const;

/** Renders a reply as plain text: for the console, logs, e-mail text parts and fallbacks. */
export function toPlainText(r: Reply): string {
  return plainTimes(toMarkedText(r));
}

function toMarkedText(r: Reply): string {
  const out: string[] = [];
  if (r.error) {
    out.push(`Error (${r.error.code}): ${r.error.message}`);
    if (r.error.hint) out.push(r.error.hint);
  }
  if (r.title) out.push(r.title);
  for (const b of r.blocks) {
    switch (b.type) {
      case 'text':
        out.push(b.text);
        break;
      case 'fields': {
        const width = Math.max(0, ...b.fields.map((f) => f.label.length));
        for (const f of b.fields) out.push(`  ${(f.label + ':').padEnd(width + 1)} ${f.value}`);
        break;
      }
      case 'table':
        out.push(formatTable(b.columns, b.rows));
        break;
      case 'findings':
        if (b.findings.length === 0) {
          out.push('  ✔ All checks passed.');
        } else {
          for (const f of b.findings) {
            const where = f.device ? ` [${f.device}]` : '';
            out.push(`  ${SEVERITY_MARK[f.severity]} ${f.severity} ${f.code}${where}: ${f.message}`);
          }
        }
        break;
      case 'list':
        out.push(`${b.title}:`);
        for (const item of b.items) out.push(`  • ${item}`);
        break;
      case 'actions':
        out.push(...b.actions.map((a) => `  [${a.label}] ${a.command}`));
        break;
    }
  }
  return out.join('\n');
}

/** Aligns a table in monospace columns. */
export function formatTable(columns: string[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    '  ' +
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  if (rows.length === 0) return line(columns) + '\n  (none)';
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
