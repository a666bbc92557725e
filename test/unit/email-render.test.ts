import { describe, expect, it } from '@jest/globals';
import {
  emailSubject,
  escapeHtml,
  escapeIcsText,
  foldIcsLine,
  hasMailableActions,
  MAX_SUBJECT_LENGTH,
  renderCalendarInvite,
  renderEmail,
} from '../../src/adapters/email/render-email.js';
import { actions, errorReply, fields, findingsBlock, list, reply, table, text, timeMark, toPlainText } from '../../src/core/reply.js';
import type { Reply } from '../../src/core/reply.js';
import { consentActions } from '../../src/services/request-view.js';

const AT = new Date('2026-12-06T06:00:00Z');
const FALLBACK = 'Sun 6 Dec 2026 01:00 EST · 06:00 UTC';
const MARK = timeMark(AT, FALLBACK);
const REF = 'UPG-000001';

const HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>", '&lt;b&gt; already escaped'];

/** Tags the HTML part may contain: the layout's own, and nothing that runs or loads anything. */
const ALLOWED_TAGS = new Set(['!doctype', 'html', 'head', 'meta', 'title', 'body', 'div', 'p', 'h1', 'h2', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'ul', 'li', 'strong', 'code', 'time', 'br', 'a']);

function tagsOf(html: string): string[] {
  return [...html.matchAll(/<\/?([!a-z][a-z0-9]*)/gi)].map((m) => m[1]!.toLowerCase());
}

/** A reply with hostile text in every place a Reply holds text. */
function hostileReply(bad: string): Reply {
  return {
    ...reply(
      `Title ${bad}`,
      text(`Text ${bad}`),
      fields([[`Label ${bad}`, `Value ${bad}`]]),
      table([`Col ${bad}`], [[`Cell ${bad}`]]),
      findingsBlock([{ code: 'hardware_mismatch', severity: 'error', message: `Finding ${bad}`, device: `dev ${bad}` }]),
      list(`List ${bad}`, [`Item ${bad}`]),
      actions({ label: `Do ${bad}`, command: `/upgrade status ${bad}` }),
    ),
    error: { code: 'oops', message: `Error ${bad}`, hint: `Hint ${bad}` },
  };
}

describe('the e-mail subject', () => {
  it('is "[UPG-…] <title>" with time marks shown as their fallback', () => {
    expect(emailSubject(reply(`Upgrade scheduled: ${MARK}`), REF)).toBe(`[${REF}] Upgrade scheduled: ${FALLBACK}`);
  });

  it('does not repeat a reference the title starts with', () => {
    expect(emailSubject(reply(`${REF}: upgrade finished, downtime over`), REF)).toBe(`[${REF}] upgrade finished, downtime over`);
    expect(emailSubject(reply(`${REF} approved by Jane Doe via console`), REF)).toBe(`[${REF}] approved by Jane Doe via console`);
    expect(emailSubject(reply(`Consent needed: ${REF} for Acme Corp`), REF)).toBe(`[${REF}] Consent needed: ${REF} for Acme Corp`);
  });

  it.each([
    ['CR LF', 'Hello\r\nBcc: victim@example.com'],
    ['LF', 'Hello\nBcc: victim@example.com'],
    ['CR', 'Hello\rBcc: victim@example.com'],
    ['unicode line separators', 'Hello\u2028Bcc:\u2029victim@example.com\u0085x'],
    ['NUL and tabs', 'Hello\u0000\tBcc: victim@example.com'],
  ])('never contains a line break (%s in the title)', (_, title) => {
    const subject = emailSubject(reply(title), REF);
    // eslint-disable-next-line no-control-regex
    expect(subject).not.toMatch(/[\r\n\u0000-\u001f\u0085\u2028\u2029]/);
    expect(subject).toMatch(/^\[UPG-000001\] Hello Bcc: victim@example\.com/);
    expect(renderEmail(reply(title), { ref: REF }).subject).toBe(subject);
  });

  it(`is at most ${MAX_SUBJECT_LENGTH} characters, cut with an ellipsis`, () => {
    const subject = emailSubject(reply('x'.repeat(500)), REF);
    expect(subject).toHaveLength(MAX_SUBJECT_LENGTH);
    expect(subject.endsWith('…')).toBe(true);
  });

  it('falls back to the error, then to a generic title, and has no tag without a reference', () => {
    expect(emailSubject(errorReply('unknown_request', 'No such request'), null)).toBe('Error: No such request');
    expect(emailSubject(reply(undefined, text('body only')))).toBe('Upgrade Desk notice');
    expect(emailSubject(reply('\r\n  '), REF)).toBe(`[${REF}] Upgrade Desk notice`);
  });
});

describe('the plain-text part', () => {
  it('shows the reply like the console does, time marks as their fallback, with a footer naming the reference', () => {
    const r = reply(
      `${REF} scheduled: ${MARK}`,
      fields([
        ['Customer', 'Acme Corp'],
        ['Starts', MARK],
      ]),
      table(['device', 'upgrade'], [['edge-01', '5.2.0 → 7.1.0']]),
      findingsBlock([{ code: 'upgrade_required', severity: 'warning', message: 'upgrade_required', device: 'edge-01' }]),
      list('After the upgrade', ['Reset the manager password']),
    );
    const { text: body } = renderEmail(r, { ref: REF });
    expect(body).toContain(`${REF} scheduled: ${FALLBACK}`);
    expect(body).toContain(`  Starts:   ${FALLBACK}`);
    expect(body).toContain('  edge-01  5.2.0 → 7.1.0');
    expect(body).toContain('  ! warning upgrade_required [edge-01]: upgrade_required');
    expect(body).toContain('After the upgrade:\n  • Reset the manager password');
    expect(body).not.toMatch(/[\uE000-\uE002]/);
    expect(body).not.toContain(String(AT.getTime() / 1000));
    expect(body.endsWith(`\n-- \nUpgrade Desk · reference ${REF}\n`)).toBe(true);
  });

  it('keeps every part of toPlainText except the buttons, which become commands to type', () => {
    const r = reply('Consent needed', text('Please decide.'), consentActions(REF));
    const { text: body } = renderEmail(r, { ref: REF });
    for (const line of toPlainText(reply('Consent needed', text('Please decide.'))).split('\n')) expect(body).toContain(line);
    expect(body).toContain(`Approve — to do this, type in chat: /upgrade approve ${REF}`);
    expect(body).toContain(`Decline — to do this, type in chat: /upgrade decline ${REF}`);
    expect(body).not.toContain('[Approve]');
  });

  it('shows a link instead of the command when actionLink gives one', () => {
    const r = reply('Consent needed', consentActions(REF));
    const { text: body, html } = renderEmail(r, {
      ref: REF,
      actionLink: (a) => (a.command.includes('approve') ? `https://desk.example/approve?t=a&b=1` : null),
    });
    expect(body).toContain('Approve: https://desk.example/approve?t=a&b=1');
    expect(body).toContain(`Decline — to do this, type in chat: /upgrade decline ${REF}`);
    expect(html).toContain('href="https://desk.example/approve?t=a&amp;b=1"');
    expect(html).toContain(`<code style="`);
    expect(html).toMatch(/<strong>Decline<\/strong> — to do this, type in chat: <code[^>]*>\/upgrade decline UPG-000001<\/code>/);
  });

  it('never uses a link that is not http(s)', () => {
    const r = reply('x', actions({ label: 'Go', command: '/upgrade status UPG-000001' }));
    for (const url of ['javascript:alert(1)', 'data:text/html,<script>1</script>', 'not a url', 'file:///etc/passwd']) {
      const out = renderEmail(r, { ref: REF, actionLink: () => url });
      expect(out.html).not.toContain('href=');
      expect(out.text).toContain('Go — to do this, type in chat: /upgrade status UPG-000001');
    }
  });

  it('omits agents\' /upgrade-admin buttons, and the whole row when nothing else is left', () => {
    const r = reply(
      'Progress',
      actions({ label: 'Next', command: '/upgrade-admin run UPG-000001 next' }, { label: 'Abort', command: '/upgrade-admin run UPG-000001 abort', style: 'danger' }),
      actions({ label: 'Status', command: '/upgrade status UPG-000001' }, { label: 'Retry', command: 'upgrade-admin run UPG-000001 retry' }),
    );
    const out = renderEmail(r, { ref: REF, actionLink: () => 'https://desk.example/x' });
    for (const part of [out.text, out.html]) {
      expect(part).not.toMatch(/upgrade-admin|Next|Abort|Retry/);
      expect(part).toContain('Status');
    }
    expect(hasMailableActions(reply('x', actions({ label: 'Next', command: '/upgrade-admin run UPG-000001 next' })))).toBe(false);
    expect(hasMailableActions(reply('x', consentActions(REF)))).toBe(true);
    expect(hasMailableActions(reply('x', text('decided')))).toBe(false);
  });

  it('treats a "Manager password" field like any other text: shows what the reply holds and reads nothing else', () => {
    const r = reply('Run details', fields([['Manager password', 'provided (stored encrypted)']]));
    const out = renderEmail(r, { ref: REF });
    expect(out.text).toContain('  Manager password: provided (stored encrypted)');
    expect(out.html).toContain('Manager password</th>');
  });
});

describe('the HTML part', () => {
  it('is a complete, self-contained document: lang, a max-width container, no scripts, nothing loaded from outside', () => {
    const { html } = renderEmail(reply('Hello', text('Body')), { ref: REF });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toMatch(/<html lang="en"/);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain('max-width:640px');
    expect(html).toContain('<title>[UPG-000001] Hello</title>');
    expect(html).toContain('<h1 style="');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<style|src=|url\(|@import/i);
    expect(html).toContain(`Upgrade Desk · reference ${REF}</p>`);
  });

  it('renders fields and tables as tables with header cells, and findings with their severity in words', () => {
    const { html } = renderEmail(
      reply(
        'x',
        fields([['Customer', 'Acme Corp']]),
        table(['device', 'status'], [['edge-01', 'pending']]),
        table(['device'], []),
        findingsBlock([
          { code: 'hardware_mismatch', severity: 'error', message: 'MAC differs', device: 'edge-01' },
          { code: 'upgrade_required', severity: 'warning', message: 'upgrade required' },
        ]),
        findingsBlock([]),
      ),
    );
    expect(html).toMatch(/<th scope="row"[^>]*>Customer<\/th><td[^>]*>Acme Corp<\/td>/);
    expect(html).toMatch(/<thead><tr><th scope="col"[^>]*>device<\/th><th scope="col"[^>]*>status<\/th><\/tr><\/thead>/);
    expect(html).toMatch(/<td colspan="1"[^>]*>\(none\)<\/td>/);
    expect(html).toMatch(/✖ error<\/strong> <code[^>]*>hardware_mismatch<\/code> \[edge-01\]: MAC differs/);
    expect(html).toMatch(/! warning<\/strong> <code[^>]*>upgrade_required<\/code>: upgrade required/);
    expect(html).toContain('✔ All checks passed.');
  });

  it('shows time marks as <time> with the instant and the fallback text', () => {
    const { html } = renderEmail(reply(`Starts ${MARK}`, text(`At ${MARK}.`)));
    expect(html).toContain(`<time datetime="2026-12-06T06:00:00.000Z">${escapeHtml(FALLBACK)}</time>`);
    expect(html).not.toMatch(/[\uE000-\uE002]/);
  });

  it('keeps line breaks of text blocks as <br>', () => {
    expect(renderEmail(reply('x', text('one\ntwo'))).html).toContain('one<br>two');
  });

  it.each(HOSTILE)('escapes hostile text everywhere: %s', (bad) => {
    const out = renderEmail(hostileReply(bad), { ref: REF });
    const tags = tagsOf(out.html);
    expect(tags.filter((t) => !ALLOWED_TAGS.has(t))).toEqual([]);
    expect(out.html).not.toContain(bad);
    expect(out.html).toContain(escapeHtml(bad));
    // No tag carries an event handler: with quoted attribute values set aside (the text cannot
    // close a quote), "onerror=" only ever appears as escaped text.
    const tagsWithoutValues = (out.html.match(/<[a-z][^>]*>/gi) ?? []).map((tag) => tag.replace(/"[^"]*"/g, '""'));
    expect(tagsWithoutValues.filter((tag) => /\son[a-z]+\s*=/i.test(tag))).toEqual([]);
    // The plain text shows it as typed: it is text, not markup.
    expect(out.text).toContain(`Text ${bad}`);
    expect(out.subject).toBe(`[${REF}] Title ${bad}`);
  });

  it('escapes hostile time-mark fallbacks and ignores forged mark delimiters', () => {
    const { html, text: body } = renderEmail(reply('x', text(`${timeMark(AT, '<img src=x onerror=1>')} and \uE000123\uE001<b>\uE002`)));
    expect(html).toContain('<time datetime="2026-12-06T06:00:00.000Z">&lt;img src=x onerror=1&gt;</time>');
    expect(tagsOf(html).filter((t) => !ALLOWED_TAGS.has(t))).toEqual([]);
    expect(body).not.toMatch(/[\uE000-\uE002]/);
  });
});

describe('the calendar invite', () => {
  const invite = {
    method: 'REQUEST' as const,
    uid: 'upg-000001@localhost',
    sequence: 7,
    stamp: new Date('2026-11-21T12:00:00Z'),
    start: AT,
    end: new Date('2026-12-06T07:00:00Z'),
    summary: 'Upgrade of edge-01 to 7.1.0 (UPG-000001)',
    description: 'Expected downtime: 30–60 minutes.\nSecond line; with, specials \\ done',
    organizer: { name: 'Upgrade Desk', email: 'upgrades@localhost' },
    attendee: { name: 'Bob "B" Stone', email: 'bob@acme.example' },
  };

  it('is a VCALENDAR with CRLF line ends, the UID, UTC times and the method', () => {
    const ics = renderCalendarInvite(invite);
    expect(ics.endsWith('\r\n')).toBe(true);
    expect(ics.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const lines = ics.replace(/\r\n /g, '').split('\r\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'METHOD:REQUEST',
        'UID:upg-000001@localhost',
        'SEQUENCE:7',
        'DTSTAMP:20261121T120000Z',
        'DTSTART:20261206T060000Z',
        'DTEND:20261206T070000Z',
        'SUMMARY:Upgrade of edge-01 to 7.1.0 (UPG-000001)',
        'DESCRIPTION:Expected downtime: 30–60 minutes.\\nSecond line\\; with\\, specials \\\\ done',
        'ORGANIZER;CN="Upgrade Desk":mailto:upgrades@localhost',
        "ATTENDEE;CN=\"Bob 'B' Stone\";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:mailto:bob@acme.example",
        'STATUS:CONFIRMED',
        'END:VEVENT',
        'END:VCALENDAR',
      ]),
    );
  });

  it('cancels with the same UID and STATUS:CANCELLED', () => {
    const ics = renderCalendarInvite({ ...invite, method: 'CANCEL', sequence: 9 });
    expect(ics).toContain('METHOD:CANCEL\r\n');
    expect(ics).toContain('UID:upg-000001@localhost\r\n');
    expect(ics).toContain('STATUS:CANCELLED\r\n');
    expect(ics).toContain('SEQUENCE:9\r\n');
  });

  it('folds lines at 75 octets without splitting a UTF-8 character, and unfolds to the original', () => {
    const long = `DESCRIPTION:${escapeIcsText('Ünïcødé – downtime ⏱ '.repeat(12))}`;
    const folded = foldIcsLine(long);
    for (const line of folded.split('\r\n')) expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(75);
    expect(folded.split('\r\n').slice(1).every((l) => l.startsWith(' '))).toBe(true);
    expect(folded.replace(/\r\n /g, '')).toBe(long);
    expect(Buffer.from(folded, 'utf8').toString('utf8')).toBe(folded);
    expect(foldIcsLine('SHORT:x')).toBe('SHORT:x');
  });

  it('keeps hostile text inside its property: no line breaks, no injected properties', () => {
    const ics = renderCalendarInvite({ ...invite, summary: 'x\r\nATTENDEE:mailto:evil@example.com', description: 'y\r\nEND:VEVENT\nBEGIN:VEVENT' });
    const unfolded = ics.replace(/\r\n /g, '').split('\r\n');
    expect(unfolded.filter((l) => l.startsWith('ATTENDEE'))).toHaveLength(1);
    expect(unfolded.filter((l) => l === 'END:VEVENT')).toHaveLength(1);
    expect(unfolded).toContain('SUMMARY:x ATTENDEE:mailto:evil@example.com');
  });
});
