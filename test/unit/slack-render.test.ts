import { describe, expect, it } from '@jest/globals';
import type { types } from '@slack/bolt';
import { SLACK_LIMITS } from '../../src/adapters/slack/limits.js';
import { escapeMrkdwn, renderForUpdate, renderReply, RUN_COMMAND_ACTION_ID, slackText } from '../../src/adapters/slack/render.js';
import { actions, errorReply, fields, findingsBlock, list, reply, table, text, timeMark } from '../../src/core/reply.js';
import type { Action, Block, Reply } from '../../src/core/reply.js';
import { consentActions } from '../../src/services/request-view.js';

type KnownBlock = types.KnownBlock;

const AT = new Date('2026-12-06T06:00:00Z');
const UNIX = AT.getTime() / 1000;
const FALLBACK = 'Sun 6 Dec 2026 01:00 EST · 06:00 UTC';
const MARK = timeMark(AT, FALLBACK);
const DATE_TOKEN = `<!date^${UNIX}^{date_short_pretty} at {time}|${escapeMrkdwn(FALLBACK)}>`;

/** Every text object in the blocks, with where it sits. */
function textObjects(blocks: KnownBlock[]): Array<{ type: string; text: string; verbatim?: boolean }> {
  const found: Array<{ type: string; text: string; verbatim?: boolean }> = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') {
      found.push(o as { type: string; text: string; verbatim?: boolean });
      return;
    }
    Object.values(o).forEach(walk);
  };
  walk(blocks);
  return found;
}

function mrkdwnTexts(blocks: KnownBlock[]): string[] {
  return textObjects(blocks).filter((t) => t.type === 'mrkdwn').map((t) => t.text);
}

function sectionTexts(blocks: KnownBlock[]): string[] {
  return blocks.flatMap((b) => (b.type === 'section' && b.text ? [b.text.text] : []));
}

function buttons(blocks: KnownBlock[]): types.Button[] {
  return blocks.flatMap((b) => (b.type === 'actions' ? (b.elements as types.Button[]) : []));
}

/** Markup left after removing the well-formed date tokens the renderer is allowed to produce. */
const VALID_DATE_TOKEN = /<!date\^-?\d{1,12}\^\{date_short_pretty\} at \{time\}\|[^<>|\n]*>/g;
function markupOutsideDates(mrkdwn: string): string[] {
  return mrkdwn.replace(VALID_DATE_TOKEN, '').match(/[<>]/g) ?? [];
}

describe('escapeMrkdwn', () => {
  it.each([
    ['a & b', 'a &amp; b'],
    ['<!channel>', '&lt;!channel&gt;'],
    ['<@U012AB3CD>', '&lt;@U012AB3CD&gt;'],
    ['<http://evil.example|innocent>', '&lt;http://evil.example|innocent&gt;'],
    ['&lt; already escaped', '&amp;lt; already escaped'],
    ['*bold* _it_ ~s~ `c` @here #general', '*bold* _it_ ~s~ `c` @here #general'],
  ])('escapes %j as %j (only &, < and >)', (input, expected) => {
    expect(escapeMrkdwn(input)).toBe(expected);
  });
});

describe('slackText', () => {
  it('turns a time mark into a date token that readers see in their own timezone, with the UTC fallback', () => {
    expect(slackText(`Starts ${MARK}.`)).toBe(`Starts ${DATE_TOKEN}.`);
  });

  it('escapes the text around time marks', () => {
    expect(slackText(`<b> & ${MARK} <!here>`)).toBe(`&lt;b&gt; &amp; ${DATE_TOKEN} &lt;!here&gt;`);
  });

  it('keeps a forged mark’s fallback free of |, >, < and line breaks', () => {
    const forged = '\uE000123\uE001x|<!channel>\n<http://evil|y>\uE002';
    const out = slackText(forged);
    expect(out).toBe('<!date^123^{date_short_pretty} at {time}|x¦&lt;!channel&gt; &lt;http://evil¦y&gt;>');
    expect(markupOutsideDates(out)).toEqual([]);
  });

  it('drops stray time-mark delimiters that do not form a mark', () => {
    expect(slackText('a\uE000b\uE001c\uE002\uE002d')).toBe('abcd');
  });
});

describe('renderReply', () => {
  it('renders the title as a bold section, not a header block', () => {
    const { blocks } = renderReply(reply(`UPG-000001 · ${MARK}`));
    expect(blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: `*UPG-000001 · ${DATE_TOKEN}*`, verbatim: true } }]);
  });

  it('marks every mrkdwn text verbatim, so Slack parses no mentions, channels or links in it', () => {
    const r: Reply = {
      ...reply(
        'Title',
        text('Body'),
        fields([['Customer', 'Acme']]),
        table(['a'], [['1']]),
        findingsBlock([]),
        list('List', ['x']),
        actions({ label: 'Go', command: '/upgrade status UPG-000001' }),
      ),
      error: { code: 'e', message: 'm', hint: 'h' },
    };
    const texts = textObjects(renderReply(r).blocks).filter((t) => t.type === 'mrkdwn');
    expect(texts.length).toBeGreaterThan(6);
    expect(texts.every((t) => t.verbatim === true)).toBe(true);
  });

  it('renders an error with its code as a warning section and the hint as context', () => {
    const { blocks } = renderReply(errorReply('invalid_arguments', 'Unknown key "x".', 'Usage: /upgrade request device=<name|serial>'));
    expect(blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: ':warning: *Error (invalid_arguments)*: Unknown key "x".', verbatim: true } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: 'Usage: /upgrade request device=&lt;name|serial&gt;', verbatim: true }],
      },
    ]);
  });

  it('splits long text into sections at line boundaries, each within 3000 characters', () => {
    const lines = Array.from({ length: 80 }, (_, i) => `line ${i} ${'x'.repeat(60)}`);
    const texts = sectionTexts(renderReply(reply(undefined, text(lines.join('\n')))).blocks);
    expect(texts.length).toBeGreaterThan(1);
    expect(texts.every((t) => t.length <= SLACK_LIMITS.sectionText)).toBe(true);
    expect(texts.join('\n')).toBe(lines.join('\n'));
  });

  it('cuts a single overlong line without splitting an escaped entity or a date token', () => {
    const long = `${'&'.repeat(700)}${MARK}${'<'.repeat(700)}`;
    const texts = sectionTexts(renderReply(reply(undefined, text(long))).blocks);
    expect(texts.every((t) => t.length <= SLACK_LIMITS.sectionText)).toBe(true);
    expect(texts.join('')).toBe(slackText(long));
    for (const t of texts) {
      expect(t).not.toMatch(/&(?!amp;|lt;|gt;)/);
      expect(markupOutsideDates(t)).toEqual([]);
    }
  });

  it('puts at most 10 fields in a section, each "*Label*\\nvalue" and at most 2000 characters', () => {
    const pairs: Array<[string, string]> = Array.from({ length: 12 }, (_, i) => [`L${i}`, `v${i}`]);
    pairs[3] = ['Note', 'n'.repeat(5000)];
    const { blocks } = renderReply(reply(undefined, fields(pairs)));
    const sections = blocks.filter((b): b is types.SectionBlock => b.type === 'section');
    expect(sections.map((s) => s.fields?.length)).toEqual([10, 2]);
    const all = sections.flatMap((s) => s.fields ?? []);
    expect(all[0]).toEqual({ type: 'mrkdwn', text: '*L0*\nv0', verbatim: true });
    expect(all[3]?.text.length).toBe(SLACK_LIMITS.sectionFieldText);
    expect(all[3]?.text.endsWith('…')).toBe(true);
  });

  it('renders a table as a code block with the dates’ fallback text', () => {
    const texts = sectionTexts(renderReply(reply(undefined, table(['ref', 'when'], [['UPG-000001', MARK]]))).blocks);
    expect(texts).toEqual(['```\n  ref         when\n  ----------  ------------------------------------\n  UPG-000001  Sun 6 Dec 2026 01:00 EST · 06:00 UTC\n```']);
  });

  it('cuts a long table to 3000 characters and counts the rows left out', () => {
    const rows = Array.from({ length: 200 }, (_, i) => [`UPG-${String(i).padStart(6, '0')}`, 'scheduled', 'Acme & Co <x>']);
    const [t] = sectionTexts(renderReply(reply(undefined, table(['ref', 'status', 'customer'], rows))).blocks);
    expect(t).toBeDefined();
    expect(t!.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    const shown = t!.split('\n').filter((l) => l.includes('UPG-')).length;
    expect(shown).toBeGreaterThan(10);
    expect(t).toContain(`… ${200 - shown} more rows\n\`\`\``);
    expect(t).toContain('Acme &amp; Co &lt;x&gt;');
  });

  it('keeps a table cell from closing the code block', () => {
    const [t] = sectionTexts(renderReply(reply(undefined, table(['a'], [['```evil```']]))).blocks);
    expect(t!.slice(3, -3)).not.toContain('```');
  });

  it.each<[string, Block, string]>([
    ['no findings', findingsBlock([]), ':white_check_mark: All checks passed.'],
    [
      'an error with a device',
      findingsBlock([{ code: 'hardware_mismatch', severity: 'error', message: 'MAC <differs>', device: 'edge-01' }]),
      ':x: *error* `hardware_mismatch` [edge-01]: MAC &lt;differs&gt;',
    ],
    [
      'a warning without a device',
      findingsBlock([{ code: 'outside_low_traffic', severity: 'warning', message: `Starts ${MARK}` }]),
      `:warning: *warning* \`outside_low_traffic\`: Starts ${DATE_TOKEN}`,
    ],
    ['a list', list('Prerequisites', ['Back up', 'A & B']), '*Prerequisites*\n• Back up\n• A &amp; B'],
  ])('renders %s as one section', (_, block, expected) => {
    expect(sectionTexts(renderReply(reply(undefined, block)).blocks)).toEqual([expected]);
  });

  it('renders buttons that run their command, numbered uniquely within the message', () => {
    const { blocks } = renderReply(
      reply(undefined, consentActions('UPG-000007'), actions({ label: 'Status', command: '/upgrade status UPG-000007' })),
    );
    const b = buttons(blocks);
    expect(b.map((x) => [x.action_id, x.value, x.style])).toEqual([
      ['run_command:1', '/upgrade approve UPG-000007', 'primary'],
      ['run_command:2', '/upgrade decline UPG-000007', 'danger'],
      ['run_command:3', '/upgrade status UPG-000007', undefined],
    ]);
    expect(b.every((x) => RUN_COMMAND_ACTION_ID.test(x.action_id ?? ''))).toBe(true);
    expect(b[0]?.text).toEqual({ type: 'plain_text', text: 'Approve' });
    expect(b[0]?.confirm).toBeUndefined();
  });

  it('asks for confirmation before a danger button runs', () => {
    const [, decline] = buttons(renderReply(reply(undefined, consentActions('UPG-000007'))).blocks);
    expect(decline?.confirm).toEqual({
      title: { type: 'plain_text', text: 'Decline UPG-000007?' },
      text: { type: 'plain_text', text: 'This runs: /upgrade decline UPG-000007' },
      confirm: { type: 'plain_text', text: 'Decline' },
      deny: { type: 'plain_text', text: 'Cancel' },
      style: 'danger',
    });
  });

  const agentButtons = actions(
    { label: 'Next', command: '/upgrade-admin run UPG-000007 next', style: 'primary' },
    { label: 'Abort', command: '/upgrade-admin run UPG-000007 abort', style: 'danger' },
    { label: 'Status', command: '/upgrade status UPG-000007' },
  );

  it.each([
    ['outside the ops channel', {}, ['/upgrade status UPG-000007']],
    ['in the ops channel', { adminActions: true }, ['/upgrade-admin run UPG-000007 next', '/upgrade-admin run UPG-000007 abort', '/upgrade status UPG-000007']],
  ])('shows /upgrade-admin buttons only in the ops channel (%s)', (_, options, commands) => {
    const rendered = renderReply(reply('Progress', agentButtons), options);
    expect(buttons(rendered.blocks).map((b) => b.value)).toEqual(commands);
    expect(rendered.text.includes('upgrade-admin')).toBe(commands.length > 1);
  });

  it('drops a button whose command is longer than a button value may be, and shortens long labels', () => {
    const { blocks } = renderReply(
      reply(undefined, actions({ label: 'x'.repeat(100), command: '/upgrade status' }, { label: 'Long', command: `/upgrade note ${'n'.repeat(2000)}` })),
    );
    const b = buttons(blocks);
    expect(b).toHaveLength(1);
    expect(b[0]?.text.text.length).toBe(SLACK_LIMITS.buttonText);
  });

  it('puts at most 25 buttons in one actions block', () => {
    const many: Action[] = Array.from({ length: 30 }, (_, i) => ({ label: `B${i}`, command: `/upgrade status UPG-${i}` }));
    const { blocks } = renderReply(reply(undefined, actions(...many)));
    expect(blocks.map((b) => (b.type === 'actions' ? b.elements.length : 0))).toEqual([25, 5]);
    expect(new Set(buttons(blocks).map((b) => b.action_id)).size).toBe(30);
  });

  it('renders no actions block when every button is dropped', () => {
    const { blocks } = renderReply(reply('T', actions({ label: 'Next', command: '/upgrade-admin run UPG-000007 next' })));
    expect(blocks.map((b) => b.type)).toEqual(['section']);
  });

  it('never renders more than 50 blocks: it keeps what fits, says it was shortened and keeps the buttons', () => {
    const many = Array.from({ length: 80 }, (_, i) => text(`paragraph ${i}`));
    const { blocks } = renderReply(reply('All requests', ...many, consentActions('UPG-000001')), { fullCommand: '/upgrade list all' });
    expect(blocks).toHaveLength(SLACK_LIMITS.blocksPerMessage);
    expect(blocks.at(-1)?.type).toBe('actions');
    const notice = blocks.at(-2);
    expect(notice?.type).toBe('context');
    expect(mrkdwnTexts([notice!])[0]).toBe(
      ':scissors: This answer was shortened to fit in Slack (33 more parts not shown). Type `/upgrade list all` to see all of it.',
    );
  });

  it('names the reply’s title in the notice when it does not know the command', () => {
    const many = Array.from({ length: 60 }, (_, i) => text(`p${i}`));
    const { blocks } = renderReply(reply('Open requests', ...many));
    expect(mrkdwnTexts([blocks.at(-1)!])[0]).toContain('To see all of *Open requests*, type the command.');
  });

  it('keeps the total text of the blocks within the budget Slack accepts', () => {
    const big = Array.from({ length: 10 }, (_, i) => text(`${i} ${'y'.repeat(2500)}`));
    const { blocks } = renderReply(reply('Big', ...big));
    const total = mrkdwnTexts(blocks).reduce((n, t) => n + t.length, 0);
    expect(total).toBeLessThanOrEqual(SLACK_LIMITS.blocksTextBudget);
    expect(blocks.at(-1)?.type).toBe('context');
  });

  it('gives an escaped plain-text fallback of at most 3000 characters', () => {
    const { text: fallback } = renderReply(reply(`<!channel> ${MARK}`, text('z'.repeat(5000))));
    expect(fallback.startsWith(`&lt;!channel&gt; ${FALLBACK}\n`)).toBe(true);
    expect(fallback.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
  });

  it('renders an update the same way as a new message', () => {
    const r = reply('Progress', text('50%'), agentButtons);
    expect(renderForUpdate(r, { adminActions: true })).toEqual(renderReply(r, { adminActions: true }));
  });
});

describe('the status link', () => {
  const LINK = { url: 'https://desk.example/requests/UPG-000001?key=abc_DEF-123', ref: 'UPG-000001' };

  it('ends a notice about a request with a context line linking to its status page', () => {
    const { blocks } = renderReply(reply('UPG-000001 scheduled', text('Sunday 01:00')), { statusLink: LINK });
    expect(blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: ':link: <https://desk.example/requests/UPG-000001?key=abc_DEF-123|Status page for UPG-000001>', verbatim: true }],
    });
    // Without a link the message is as before.
    expect(renderReply(reply('UPG-000001 scheduled', text('Sunday 01:00'))).blocks).toEqual(blocks.slice(0, -1));
  });

  it('puts the link after the buttons and keeps both when the reply is shortened', () => {
    const many = Array.from({ length: 80 }, (_, i) => text(`paragraph ${i}`));
    const { blocks } = renderReply(reply('All requests', ...many, consentActions('UPG-000001')), { fullCommand: '/upgrade list all', statusLink: LINK });
    expect(blocks).toHaveLength(SLACK_LIMITS.blocksPerMessage);
    expect(blocks.at(-2)?.type).toBe('actions');
    expect(mrkdwnTexts([blocks.at(-1)!])[0]).toContain('|Status page for UPG-000001>');
    expect(mrkdwnTexts([blocks.at(-3)!])[0]).toContain('This answer was shortened to fit in Slack (34 more parts not shown)');
    const big = Array.from({ length: 10 }, (_, i) => text(`${i} ${'y'.repeat(2500)}`));
    const fitted = renderReply(reply('Big', ...big), { statusLink: LINK }).blocks;
    expect(mrkdwnTexts(fitted).reduce((n, t) => n + t.length, 0)).toBeLessThanOrEqual(SLACK_LIMITS.blocksTextBudget);
    expect(mrkdwnTexts([fitted.at(-1)!])[0]).toContain('Status page for UPG-000001');
  });

  it('shows only http(s) links, and none that could end the link markup early', () => {
    for (const url of ['javascript:alert(1)', 'mailto:x@evil.example', 'not a url', '']) {
      const { blocks } = renderReply(reply('x'), { statusLink: { url, ref: 'UPG-000001' } });
      expect(blocks.filter((b) => b.type === 'context')).toEqual([]);
    }
    const { blocks } = renderReply(reply('x'), { statusLink: { url: 'https://desk.example/r?key=a|<!channel>&b', ref: 'UPG-000001' } });
    const line = mrkdwnTexts([blocks.at(-1)!])[0]!;
    expect(line).toBe(':link: <https://desk.example/r?key=a%7C%3C!channel%3E&amp;b|Status page for UPG-000001>');
  });
});

describe('hostile input', () => {
  const HOSTILE = [
    '<!channel>',
    '<!here|here>',
    '<!everyone>',
    '<@U012AB3CD>',
    '<#C012AB3CD>',
    '<!subteam^S012>',
    '<http://evil.example|innocent>',
    '<mailto:x@evil.example|support>',
    '&lt;!channel&gt;',
    '\uE000<!here>\uE002',
    '\uE0001\uE001<!channel>|<http://evil|x>\uE002',
    '\uE0001\uE001a\uE001<@U1>\uE002',
    '\uE000\uE000\uE001\uE002<!channel>\uE002',
  ].join(' ');

  const kinds: Array<[string, Reply]> = [
    ['the title', reply(HOSTILE)],
    ['text', reply(undefined, text(HOSTILE))],
    ['a field label and value', reply(undefined, fields([[HOSTILE, HOSTILE]]))],
    ['table cells', reply(undefined, table([HOSTILE], [[HOSTILE], [HOSTILE]]))],
    [
      'a finding’s device and message',
      reply(undefined, findingsBlock([{ code: 'unknown_device', severity: 'error', message: HOSTILE, device: HOSTILE }])),
    ],
    ['a list’s title and items', reply(undefined, list(HOSTILE, [HOSTILE, HOSTILE]))],
    ['a button label', reply(undefined, actions({ label: HOSTILE, command: '/upgrade status UPG-000001', style: 'danger' }))],
    ['an error', { ...errorReply(HOSTILE, HOSTILE, HOSTILE) }],
    ['the shortened notice', reply(HOSTILE, ...Array.from({ length: 60 }, () => text(HOSTILE)))],
  ];

  it.each(kinds)('cannot mention, link or forge markup through %s', (_, r) => {
    const { text: fallback, blocks } = renderReply(r, { adminActions: true });
    for (const t of [...mrkdwnTexts(blocks), fallback]) {
      expect(markupOutsideDates(t)).toEqual([]);
      expect(t.replace(VALID_DATE_TOKEN, '')).not.toMatch(/<[!@#]|<(https?|mailto):/i);
    }
    // Plain text objects are shown literally by Slack: they may hold the characters, never as markup.
    expect(textObjects(blocks).every((o) => o.type === 'mrkdwn' || o.type === 'plain_text')).toBe(true);
    expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
  });
});
