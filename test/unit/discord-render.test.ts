import { describe, expect, it } from '@jest/globals';
import { ButtonStyle, ComponentType } from 'discord-api-types/v10';
import type { APIButtonComponentWithCustomId, APIButtonComponentWithURL, APIEmbed } from 'discord-api-types/v10';
import { DISCORD_LIMITS } from '../../src/adapters/discord/limits.js';
import {
  COMMAND_BUTTON_PREFIX,
  commandOfCustomId,
  discordText,
  escapeDiscord,
  renderDiscordMessage,
} from '../../src/adapters/discord/render.js';
import type { DiscordMessage } from '../../src/adapters/discord/render.js';
import { actions, errorReply, fields, findingsBlock, list, reply, table, text, timeMark } from '../../src/core/reply.js';
import type { Action, Block, Reply } from '../../src/core/reply.js';
import { consentActions } from '../../src/services/request-view.js';

const AT = new Date('2026-12-06T06:00:00Z');
const UNIX = AT.getTime() / 1000;
const FALLBACK = 'Sun 6 Dec 2026 01:00 EST · 06:00 UTC';
const MARK = timeMark(AT, FALLBACK);
const TOKEN = `<t:${UNIX}:F>`;
const ZWSP = '\u200B';
const BRAND = 0x3b6fd4;
const RED = 0xd93f3f;

/** What Discord shows for markdown text: a backslash before ASCII punctuation shows that character alone; zero-width spaces are invisible. */
function shownAs(markdown: string): string {
  return markdown.replace(/\\([!-/:-@[-`{-~])/g, '$1').replace(/\u200B/g, '');
}

function embedOf(m: DiscordMessage): APIEmbed {
  expect(m.embeds).toHaveLength(1);
  return m.embeds[0]!;
}

function descriptionOf(r: Reply, options = {}): string {
  return embedOf(renderDiscordMessage(r, options)).description ?? '';
}

/** The command buttons (the status link button is not one: see linkButtonsOf). */
function buttonsOf(m: DiscordMessage): APIButtonComponentWithCustomId[] {
  return m.components.flatMap((row) => row.components).filter((b): b is APIButtonComponentWithCustomId => 'custom_id' in b);
}

/** The link buttons (style Link, a URL, no custom_id). */
function linkButtonsOf(m: DiscordMessage): APIButtonComponentWithURL[] {
  return m.components.flatMap((row) => row.components).filter((b): b is APIButtonComponentWithURL => 'url' in b);
}

/** Every markdown text of the message (title, description, field names and values). */
function markdownTexts(m: DiscordMessage): string[] {
  return m.embeds.flatMap((e) => [e.title ?? '', e.description ?? '', ...(e.fields ?? []).flatMap((f) => [f.name, f.value])]);
}

/** Asserts that the message is within every Discord limit. */
function expectWithinLimits(m: DiscordMessage): void {
  const L = DISCORD_LIMITS;
  expect(m.allowed_mentions).toEqual({ parse: [] });
  expect(m.content.length).toBeLessThanOrEqual(L.content);
  expect(m.embeds.length).toBeLessThanOrEqual(L.embedsPerMessage);
  let total = 0;
  for (const e of m.embeds) {
    expect((e.title ?? '').length).toBeLessThanOrEqual(L.embedTitle);
    expect((e.description ?? '').length).toBeLessThanOrEqual(L.embedDescription);
    expect((e.fields ?? []).length).toBeLessThanOrEqual(L.embedFields);
    for (const f of e.fields ?? []) {
      expect(f.name.length).toBeGreaterThan(0);
      expect(f.name.length).toBeLessThanOrEqual(L.embedFieldName);
      expect(f.value.length).toBeGreaterThan(0);
      expect(f.value.length).toBeLessThanOrEqual(L.embedFieldValue);
    }
    expect((e.footer?.text ?? '').length).toBeLessThanOrEqual(L.embedFooter);
    total +=
      (e.title ?? '').length +
      (e.description ?? '').length +
      (e.footer?.text ?? '').length +
      (e.author?.name ?? '').length +
      (e.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0);
  }
  expect(total).toBeLessThanOrEqual(L.embedTotal);
  expect(m.components.length).toBeLessThanOrEqual(L.actionRows);
  for (const row of m.components) {
    expect(row.type).toBe(ComponentType.ActionRow);
    expect(row.components.length).toBeGreaterThan(0);
    expect(row.components.length).toBeLessThanOrEqual(L.buttonsPerRow);
  }
  const ids = buttonsOf(m).map((b) => b.custom_id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const b of buttonsOf(m)) {
    expect((b.label ?? '').length).toBeGreaterThan(0);
    expect((b.label ?? '').length).toBeLessThanOrEqual(L.buttonLabel);
    expect(b.custom_id.length).toBeLessThanOrEqual(L.customId);
  }
  for (const b of linkButtonsOf(m)) {
    expect(b.style).toBe(ButtonStyle.Link);
    expect('custom_id' in b).toBe(false);
    expect(b.label?.length ?? 0).toBeGreaterThan(0);
    expect(b.label?.length ?? 0).toBeLessThanOrEqual(L.buttonLabel);
    expect(b.url.length).toBeLessThanOrEqual(512);
    expect(b.url).toMatch(/^https?:\/\//);
  }
  expect(buttonsOf(m).length + linkButtonsOf(m).length).toBe(m.components.flatMap((row) => row.components).length);
  for (const t of markdownTexts(m)) expectCleanCuts(t);
}

/** A backslash escape, or an inline code span (inside which backslashes are literal), read left to right as Discord does. */
const ESCAPE_OR_CODE_SPAN = /\\[!-/:-@[-`{-~]|`[^`\n]+`/g;

/** Asserts that no backslash escape, timestamp token or surrogate pair was split. */
function expectCleanCuts(markdown: string): void {
  const outsideCode = markdown.replace(/```\n[\s\S]*?\n```/g, '');
  const rest = outsideCode.replace(/<t:-?\d{1,12}:F>/g, '').replace(ESCAPE_OR_CODE_SPAN, '');
  expect(rest).not.toContain('\\');
  expect(rest).not.toContain('<t:');
  expect(markdown).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
}

/**
 * Markup left in rendered markdown that did not come from the renderer: what remains after removing
 * well-formed timestamp tokens, code blocks and spans, backslash escapes and the renderer's `**`.
 */
function strayMarkup(markdown: string): string[] {
  const blocks = markdown.match(/```\n[\s\S]*?\n```/g) ?? [];
  for (const b of blocks) expect(b.slice(3, -3)).not.toContain('```');
  const rest = markdown
    .replace(/<t:-?\d{1,12}:F>/g, '')
    .replace(/```\n[\s\S]*?\n```/g, '')
    .replace(ESCAPE_OR_CODE_SPAN, '')
    .replace(/\*\*/g, '');
  return [...(rest.match(/[<>[\]|~_`\\#*]|^\s*[-+](?=\s|$)|^\s*\d+\.(?=\s|$)|@(everyone|here)/gim) ?? [])];
}

describe('escapeDiscord', () => {
  it.each([
    ['**bold** _it_ ~~s~~ ||spoiler|| `code`', '\\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~ \\|\\|spoiler\\|\\| \\`code\\`'],
    ['@everyone and @here', `@${ZWSP}everyone and @${ZWSP}here`],
    ['@Everyone', `@${ZWSP}Everyone`],
    ['<@123> <@&1> <#1> </cmd:1> <:x:1> <t:1:F>', '\\<@123\\> \\<@&1\\> \\<\\#1\\> \\</cmd:1\\> \\<:x:1\\> \\<t:1:F\\>'],
    ['[docs](http://evil)', '\\[docs\\]\\(http://evil\\)'],
    ['versions, references and other punctuation read plainly: UPG-000001 7.1.0 a-b, c; d=e? 5%!', 'versions, references and other punctuation read plainly: UPG-000001 7.1.0 a-b, c; d=e? 5%!'],
    ['# heading\n> quote\n- item\n1. one\n-# small', '\\# heading\n\\> quote\n\\- item\n1\\. one\n\\-\\# small'],
    ['back\\slash', 'back\\\\slash'],
    ['plain words 123 ünïcödé ✓ 😀', 'plain words 123 ünïcödé ✓ 😀'],
  ])('escapes %j as %j', (input, expected) => {
    expect(escapeDiscord(input)).toBe(expected);
  });

  const NASTY = [
    '**bold** __underline__ *it* _it_ ~~strike~~ ||spoiler||',
    '`code` ``double`` ```fence``` ```js\nx\n```',
    '@everyone @here @EVERYONE user@here.example',
    '<@123> <@!123> <@&1> <#1> </upgrade status:1> <:x:1> <a:y:2> <t:1:F> <http://evil>',
    '[docs](http://evil.example "title") [x]: http://ref',
    'https://evil.example/a_b*c*  mailto:x@evil.example',
    '# h1\n## h2\n### h3\n-# subtext\n> quote\n>>> all quoted\n- item\n* item\n+ item\n1. one\n10) ten',
    '\\ \\\\ \\* \\_ trailing backslash \\',
    ':smile: :x: :warning:',
    'a\u200Bb zero-width, 😀 surrogates, \u202Eright-to-left',
    '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
  ];

  it.each(NASTY)('displays %j exactly as typed', (nasty) => {
    expect(shownAs(escapeDiscord(nasty))).toBe(nasty.replace(/\u200B/g, ''));
  });

  it.each(NASTY)('leaves no markdown, link or mention syntax in %j', (nasty) => {
    expect(strayMarkup(escapeDiscord(nasty))).toEqual([]);
  });
});

describe('discordText', () => {
  it('turns a time mark into a timestamp token that readers see in their own timezone', () => {
    expect(discordText(`Starts ${MARK}.`)).toBe(`Starts ${TOKEN}.`);
  });

  it('escapes the text around time marks', () => {
    expect(discordText(`<b> *${MARK}* @here`)).toBe(`\\<b\\> \\*${TOKEN}\\* @${ZWSP}here`);
  });

  it('renders a forged mark as a bare timestamp, dropping its fallback with whatever it holds', () => {
    expect(discordText('\uE000123\uE001<@1> [x](http://evil)\uE002')).toBe('<t:123:F>');
  });

  it('drops stray time-mark delimiters that do not form a mark', () => {
    expect(discordText('a\uE000b\uE001c\uE002\uE002d*')).toBe('abcd\\*');
  });
});

describe('commandOfCustomId', () => {
  it.each([
    '/upgrade approve UPG-000001',
    '/upgrade',
    '/upgrade-admin run UPG-000007 next device=edge-01',
    'upgrade status UPG-000001',
  ])('turns the custom_id of a button for %j back into its command', (command) => {
    const m = renderDiscordMessage(reply(undefined, actions({ label: 'Go', command })), { adminActions: true });
    const [b] = buttonsOf(m);
    expect(b?.custom_id).toBe(`${COMMAND_BUTTON_PREFIX}${command}`);
    expect(commandOfCustomId(b!.custom_id)).toBe(command);
  });

  it.each([
    ['another kind of button', 'edit-form:abc123'],
    ['a command of another bot', 'cmd:/deploy prod'],
    ['a command that only starts like ours', 'cmd:/upgrader status'],
    ['an empty command', 'cmd:'],
    ['a command without the prefix', '/upgrade status UPG-000001'],
    ['the prefix in another case', 'CMD:/upgrade status'],
    ['an id longer than Discord allows', `cmd:/upgrade note ${'n'.repeat(100)}`],
  ])('refuses %s', (_, customId) => {
    expect(commandOfCustomId(customId)).toBeNull();
  });
});

describe('renderDiscordMessage', () => {
  it('lays out a reply as one embed: title, description blocks in order, trailing fields, buttons', () => {
    const m = renderDiscordMessage(
      reply(
        'UPG-000001 · scheduled',
        text(`Starts ${MARK}.`),
        findingsBlock([{ code: 'hardware_mismatch', severity: 'error', message: 'MAC differs', device: 'edge-01' }]),
        list('Prerequisites', ['Back up', 'Read notes']),
        table(['device', 'when'], [['edge-01', MARK]]),
        fields([
          ['Customer', 'Acme'],
          ['Note', ''],
        ]),
        consentActions('UPG-000001'),
      ),
    );
    expect(m).toEqual({
      content: '',
      embeds: [
        {
          title: 'UPG-000001 · scheduled',
          description: [
            `Starts ${TOKEN}.`,
            '❌ **error** `hardware_mismatch` \\[edge-01\\]: MAC differs',
            '**Prerequisites**\n• Back up\n• Read notes',
            '```\n  device   when\n  -------  ------------------------------------\n  edge-01  Sun 6 Dec 2026 01:00 EST · 06:00 UTC\n```',
          ].join('\n\n'),
          color: BRAND,
          fields: [{ name: 'Customer', value: 'Acme', inline: true }],
        },
      ],
      components: [
        {
          type: ComponentType.ActionRow,
          components: [
            { type: ComponentType.Button, style: ButtonStyle.Primary, label: 'Approve', custom_id: 'cmd:/upgrade approve UPG-000001' },
            { type: ComponentType.Button, style: ButtonStyle.Danger, label: 'Decline', custom_id: 'cmd:/upgrade decline UPG-000001' },
          ],
        },
      ],
      allowed_mentions: { parse: [] },
    });
  });

  it('renders fields that come before other content as "**label**: value" lines in place, keeping the order', () => {
    const embed = embedOf(
      renderDiscordMessage(reply('T', text('First'), fields([['Customer', 'Acme'], ['When', MARK]]), text('Last'))),
    );
    expect(embed.description).toBe(`First\n\n**Customer**: Acme\n**When**: ${TOKEN}\n\nLast`);
    expect(embed.fields).toBeUndefined();
  });

  it('renders trailing fields as inline embed fields: names show time fallbacks, values timestamps, an empty value a zero-width space', () => {
    const r = reply(undefined, { type: 'fields', fields: [{ label: `Due ${MARK}`, value: MARK }, { label: 'Empty', value: ' ' }] });
    expect(embedOf(renderDiscordMessage(r)).fields).toEqual([
      { name: `Due ${escapeDiscord(FALLBACK)}`, value: TOKEN, inline: true },
      { name: 'Empty', value: '\u200b', inline: true },
    ]);
  });

  it('renders an error in red with its code, message and hint', () => {
    const embed = embedOf(
      renderDiscordMessage(errorReply('invalid_arguments', 'Unknown key "x".', 'Usage: /upgrade request device=<name|serial>')),
    );
    expect(embed).toEqual({
      description:
        '⚠️ **Error (invalid\\_arguments)**: Unknown key "x".\nUsage: /upgrade request device=\\<name\\|serial\\>',
      color: RED,
    });
    expect(shownAs(embed.description!)).toBe('⚠️ **Error (invalid_arguments)**: Unknown key "x".\nUsage: /upgrade request device=<name|serial>');
  });

  it.each<[string, Block, string]>([
    ['no findings', findingsBlock([]), '✅ All checks passed.'],
    [
      'a warning without a device, with a time',
      findingsBlock([{ code: 'outside_low_traffic', severity: 'warning', message: `Starts ${MARK}` }]),
      `⚠️ **warning** \`outside_low_traffic\`: Starts ${TOKEN}`,
    ],
    [
      'a code that holds a backtick',
      findingsBlock([{ code: 'a`b' as never, severity: 'error', message: 'm' }]),
      '❌ **error** `aˋb`: m',
    ],
    ['a list', list('Prerequisites', ['Back up', 'A & B']), '**Prerequisites**\n• Back up\n• A & B'],
  ])('renders %s', (_, block, expected) => {
    expect(descriptionOf(reply(undefined, block))).toBe(expected);
  });

  it('shows time marks as timestamps in text and as their fallback in the title, tables and button labels', () => {
    const m = renderDiscordMessage(
      reply(`Window ${MARK}`, text(MARK), table(['when'], [[MARK]]), actions({ label: `At ${MARK}`, command: '/upgrade windows' })),
    );
    const embed = embedOf(m);
    expect(embed.title).toBe(`Window ${escapeDiscord(FALLBACK)}`);
    expect(embed.description).toContain(`${TOKEN}\n\n\`\`\``);
    expect(embed.description).toContain(`  ${FALLBACK}\n\`\`\``);
    expect(buttonsOf(m)[0]?.label).toBe(`At ${FALLBACK}`);
  });

  it('keeps table cells from closing the code block or mentioning anyone', () => {
    const d = descriptionOf(reply(undefined, table(['a'], [['```evil``` **x** @everyone <@1>'], ['`'], ['``']])));
    expect(d.startsWith('```\n')).toBe(true);
    expect(d.endsWith('\n```')).toBe(true);
    expect(d.slice(3, -3)).not.toContain('```');
    expect(d.slice(3, -3)).not.toContain('``');
    expect(d).toContain(`\`${ZWSP}\`${ZWSP}\`evil\`${ZWSP}\`${ZWSP}\` **x** @${ZWSP}everyone <@1>`);
  });

  it('cuts a long table to fit and counts the rows left out, without a notice', () => {
    const rows = Array.from({ length: 2000 }, (_, i) => [`UPG-${String(i).padStart(6, '0')}`, 'scheduled', 'Acme & Co <x>']);
    const m = renderDiscordMessage(reply('All', table(['ref', 'status', 'customer'], rows)));
    expectWithinLimits(m);
    const d = embedOf(m).description!;
    const shown = d.split('\n').filter((l) => l.includes('UPG-')).length;
    expect(shown).toBeGreaterThan(40);
    expect(d.endsWith(`… ${2000 - shown} more rows\n\`\`\``)).toBe(true);
    expect(d).not.toContain('shortened');
  });

  it('cuts a table to the room left after earlier text, and says what else was left out', () => {
    const rows = Array.from({ length: 500 }, (_, i) => [`row ${i}`]);
    const m = renderDiscordMessage(reply('T', text('x'.repeat(3000)), table(['r'], rows), text('after')), { fullCommand: '/upgrade list all' });
    expectWithinLimits(m);
    const d = embedOf(m).description!;
    expect(d).toMatch(/… \d+ more rows\n```\n\n✂️ This answer was shortened to fit in Discord \(1 more part not shown\)\./);
  });

  describe('buttons', () => {
    it('give each button the custom_id "cmd:" + its command and a style by its kind', () => {
      const m = renderDiscordMessage(
        reply(
          undefined,
          actions(
            { label: 'Approve', command: '/upgrade approve UPG-000007', style: 'primary' },
            { label: 'Decline', command: '/upgrade decline UPG-000007', style: 'danger' },
            { label: 'Status', command: '/upgrade status UPG-000007' },
          ),
        ),
      );
      expect(buttonsOf(m).map((b) => [b.custom_id, b.style, b.label])).toEqual([
        ['cmd:/upgrade approve UPG-000007', ButtonStyle.Primary, 'Approve'],
        ['cmd:/upgrade decline UPG-000007', ButtonStyle.Danger, 'Decline'],
        ['cmd:/upgrade status UPG-000007', ButtonStyle.Secondary, 'Status'],
      ]);
    });

    const agentButtons = actions(
      { label: 'Next', command: '/upgrade-admin run UPG-000007 next', style: 'primary' },
      { label: 'Abort', command: '/upgrade-admin run UPG-000007 abort', style: 'danger' },
      { label: 'Status', command: '/upgrade status UPG-000007' },
    );

    it.each([
      ['outside the ops channel', {}, ['cmd:/upgrade status UPG-000007']],
      ['with adminActions false', { adminActions: false }, ['cmd:/upgrade status UPG-000007']],
      [
        'in the ops channel',
        { adminActions: true },
        ['cmd:/upgrade-admin run UPG-000007 next', 'cmd:/upgrade-admin run UPG-000007 abort', 'cmd:/upgrade status UPG-000007'],
      ],
    ])('show /upgrade-admin buttons only in the ops channel (%s)', (_, options, ids) => {
      expect(buttonsOf(renderDiscordMessage(reply('Progress', agentButtons), options)).map((b) => b.custom_id)).toEqual(ids);
    });

    it('renders no components when every button is left out', () => {
      const m = renderDiscordMessage(reply('T', actions({ label: 'Next', command: '/upgrade-admin run UPG-000007 next' })));
      expect(m.components).toEqual([]);
    });

    it('split more than 5 buttons of a block into rows of 5', () => {
      const seven: Action[] = Array.from({ length: 7 }, (_, i) => ({ label: `B${i}`, command: `/upgrade status UPG-${i}` }));
      const m = renderDiscordMessage(reply(undefined, actions(...seven)));
      expect(m.components.map((r) => r.components.length)).toEqual([5, 2]);
    });

    it('start a row per actions block, packing them 5 a row when that would take more than 5 rows', () => {
      const block = (n: number) => actions({ label: `B${n}`, command: `/upgrade status UPG-${n}` });
      expect(renderDiscordMessage(reply(undefined, block(1), block(2))).components.map((r) => r.components.length)).toEqual([1, 1]);
      const six = renderDiscordMessage(reply(undefined, ...[1, 2, 3, 4, 5, 6].map(block)));
      expect(six.components.map((r) => r.components.length)).toEqual([5, 1]);
    });

    it('cap the buttons at 5 rows of 5', () => {
      const many: Action[] = Array.from({ length: 30 }, (_, i) => ({ label: `B${i}`, command: `/upgrade status UPG-${i}` }));
      const m = renderDiscordMessage(reply(undefined, actions(...many)));
      expect(m.components.map((r) => r.components.length)).toEqual([5, 5, 5, 5, 5]);
      expect(buttonsOf(m).at(-1)?.custom_id).toBe('cmd:/upgrade status UPG-24');
      expectWithinLimits(m);
    });

    it('leave out a button whose custom_id would exceed 100 characters, or that runs no command of this bot', () => {
      const fits = `/upgrade note ${'n'.repeat(DISCORD_LIMITS.customId - COMMAND_BUTTON_PREFIX.length - 14)}`;
      const m = renderDiscordMessage(
        reply(
          undefined,
          actions(
            { label: 'Fits', command: fits },
            { label: 'Too long', command: `${fits}n` },
            { label: 'Foreign', command: '/deploy prod' },
          ),
        ),
      );
      expect(buttonsOf(m).map((b) => b.label)).toEqual(['Fits']);
      expect(buttonsOf(m)[0]?.custom_id).toHaveLength(DISCORD_LIMITS.customId);
    });

    it('leave out a second button for the same command (custom_ids are unique in a message)', () => {
      const m = renderDiscordMessage(
        reply(undefined, consentActions('UPG-1'), actions({ label: 'Approve again', command: '/upgrade approve UPG-1' })),
      );
      expect(buttonsOf(m).map((b) => b.label)).toEqual(['Approve', 'Decline']);
    });

    it('shorten long labels to 80 characters and label a blank one with its command', () => {
      const m = renderDiscordMessage(
        reply(undefined, actions({ label: 'x'.repeat(100), command: '/upgrade status' }, { label: ' ', command: '/upgrade help' })),
      );
      const [long, blank] = buttonsOf(m);
      expect(long?.label).toHaveLength(DISCORD_LIMITS.buttonLabel);
      expect(long?.label?.endsWith('…')).toBe(true);
      expect(blank?.label).toBe('/upgrade help');
    });
  });

  describe('the status link', () => {
    const LINK = { url: 'https://desk.example/requests/UPG-000001?key=abc_DEF-123', ref: 'UPG-000001' };
    const linkButton = { type: ComponentType.Button, style: ButtonStyle.Link, label: 'Status page for UPG-000001', url: LINK.url };

    it('is a link button in a row of its own after the command buttons', () => {
      const m = renderDiscordMessage(reply('Consent needed: UPG-000001', text('Please decide.'), consentActions('UPG-000001')), { statusLink: LINK });
      expect(m.components).toEqual([
        { type: ComponentType.ActionRow, components: buttonsOf(renderDiscordMessage(reply(undefined, consentActions('UPG-000001')))) },
        { type: ComponentType.ActionRow, components: [linkButton] },
      ]);
      expect(embedOf(m).url).toBeUndefined();
      // A message without buttons gets the link alone; without a link nothing changes.
      expect(renderDiscordMessage(reply('Progress', text('50%')), { statusLink: LINK }).components).toEqual([{ type: ComponentType.ActionRow, components: [linkButton] }]);
      expect(renderDiscordMessage(reply('Progress', text('50%'))).components).toEqual([]);
      expectWithinLimits(renderDiscordMessage(reply('Progress', text('50%')), { statusLink: LINK }));
    });

    it('goes into the last row when all five rows are taken, and links the title when every slot is', () => {
      const buttons = (n: number): Action[] => Array.from({ length: n }, (_, i) => ({ label: `B${i}`, command: `/upgrade status UPG-${i}` }));
      const blocks = (n: number) => Array.from({ length: n }, (_, i) => actions({ label: `R${i}`, command: `/upgrade status UPG-${100 + i}` }));
      const rows = renderDiscordMessage(reply('T', ...blocks(5)), { statusLink: LINK });
      expect(rows.components.map((r) => r.components.length)).toEqual([1, 1, 1, 1, 2]);
      expect(rows.components[4]!.components[1]).toEqual(linkButton);
      const full = renderDiscordMessage(reply('T', actions(...buttons(25))), { statusLink: LINK });
      expect(full.components.map((r) => r.components.length)).toEqual([5, 5, 5, 5, 5]);
      expect(embedOf(full).url).toBe(LINK.url);
      expectWithinLimits(full);
    });

    it('keeps its place when the embed is shortened', () => {
      const m = renderDiscordMessage(reply('Big', ...Array.from({ length: 12 }, (_, i) => text(`${i} ${'y'.repeat(900)}`))), { statusLink: LINK });
      expect(embedOf(m).description).toContain('This answer was shortened');
      expect(m.components.flatMap((r) => r.components)).toEqual([linkButton]);
      expectWithinLimits(m);
    });

    it('is left out unless it is an http(s) URL of at most 512 characters', () => {
      for (const url of ['javascript:alert(1)', 'discord://x', 'not a url', '', `https://desk.example/${'x'.repeat(520)}`]) {
        expect(renderDiscordMessage(reply('T'), { statusLink: { url, ref: 'UPG-000001' } }).components).toEqual([]);
      }
    });
  });

  describe('limits', () => {
    const hugeBlocks: Array<[string, Block[]]> = [
      ['a table of 2,000 rows', [table(['ref', 'note'], Array.from({ length: 2000 }, (_, i) => [`UPG-${i}`, '*'.repeat(i % 50)]))]],
      ['100 fields', [fields(Array.from({ length: 100 }, (_, i): [string, string] => [`Label ${i} ${'L'.repeat(300)}`, `v${i} ${'*'.repeat(2000)}`]))]],
      ['100 fields between texts', [text('a'), fields(Array.from({ length: 100 }, (_, i): [string, string] => [`L${i}`, 'v'.repeat(200)])), text('b')]],
      ['a 10,000-character text', [text('z'.repeat(10_000))]],
      ['a 10,000-character text of escapes, times and emoji', [text(`*${MARK}😀`.repeat(250))]],
      ['200 list items', [list('x'.repeat(1000), Array.from({ length: 200 }, (_, i) => `item ${i} ${'_'.repeat(40)}`))]],
      ['500 findings', [findingsBlock(Array.from({ length: 500 }, () => ({ code: 'x'.repeat(300) as never, severity: 'warning' as const, message: 'm'.repeat(100), device: 'd'.repeat(500) })))]],
      [
        'everything at once, with 40 buttons',
        [
          text('p'.repeat(3000)),
          fields(Array.from({ length: 30 }, (_, i): [string, string] => [`L${i}`, 'v'.repeat(1500)])),
          table(['a'], Array.from({ length: 300 }, (_, i) => [`r${i}`])),
          actions(...Array.from({ length: 40 }, (_, i) => ({ label: `B${i} ${'l'.repeat(100)}`, command: `/upgrade status UPG-${i}` }))),
        ],
      ],
    ];

    it.each(hugeBlocks)('are all respected for %s', (_, blocks) => {
      const m = renderDiscordMessage({ ...reply(`${'T*'.repeat(200)}😀`, ...blocks), error: { code: 'c'.repeat(300), message: 'm'.repeat(5000), hint: 'h'.repeat(5000) } });
      expectWithinLimits(m);
      expectWithinLimits(renderDiscordMessage(reply(undefined, ...blocks), { fullCommand: '/upgrade list all', adminActions: true }));
    });

    it.each([0, 1, 2, 3, 4, 5])('never split an escape, a timestamp token or a surrogate pair (offset %i)', (offset) => {
      const long = `${'a'.repeat(offset)}${`*\\${MARK}😀_`.repeat(400)}`;
      const m = renderDiscordMessage(
        reply(
          long,
          text(long),
          list(long, [long]),
          findingsBlock([{ code: 'c' as never, severity: 'error', message: long, device: long }]),
          fields([[long, long]]),
        ),
      );
      expectWithinLimits(m);
      const trailing = renderDiscordMessage(reply(undefined, fields([[long, long]])));
      expectWithinLimits(trailing);
      expect(embedOf(trailing).fields?.[0]?.value.endsWith('…')).toBe(true);
    });

    it('joins the parts of a long text exactly as typed when it fits', () => {
      const long = `${'w '.repeat(1000)}\n${'*'.repeat(900)}`;
      expect(descriptionOf(reply(undefined, text(long)))).toBe(escapeDiscord(long));
    });
  });

  describe('shortening', () => {
    it('keeps the parts that fit and names fullCommand in the notice', () => {
      const paragraphs = Array.from({ length: 80 }, (_, i) => text(`paragraph ${i} ${'y'.repeat(90)}`));
      const m = renderDiscordMessage(reply('All requests', ...paragraphs, consentActions('UPG-000001')), { fullCommand: '/upgrade list all' });
      expectWithinLimits(m);
      const d = embedOf(m).description!;
      const shown = d.split('\n\n').filter((p) => p.startsWith('paragraph')).length;
      expect(shown).toBeGreaterThan(20);
      expect(d.endsWith(`\n\n✂️ This answer was shortened to fit in Discord (${80 - shown} more parts not shown). Type \`/upgrade list all\` to see all of it.`)).toBe(true);
      expect(buttonsOf(m)).toHaveLength(2);
    });

    it('names the reply’s title when it does not know the command', () => {
      const d = descriptionOf(reply('Open requests', text('z'.repeat(10_000))));
      expect(d.endsWith('✂️ This answer was shortened to fit in Discord (2 more parts not shown). To see all of **Open requests**, type the command.')).toBe(true);
    });

    it('keeps at most 25 fields and counts the others', () => {
      const m = renderDiscordMessage(reply('Many', fields(Array.from({ length: 100 }, (_, i): [string, string] => [`L${i}`, `v${i}`]))));
      expectWithinLimits(m);
      const embed = embedOf(m);
      expect(embed.fields).toHaveLength(25);
      expect(embed.description).toBe('✂️ This answer was shortened to fit in Discord (75 more parts not shown). To see all of **Many**, type the command.');
    });

    it('keeps the total of the embed within 6,000 characters when fields are long', () => {
      const m = renderDiscordMessage(reply('Long fields', fields(Array.from({ length: 10 }, (_, i): [string, string] => [`L${i}`, 'v'.repeat(1000)]))));
      expectWithinLimits(m);
      expect(embedOf(m).fields?.length).toBe(5);
      expect(embedOf(m).description).toContain('(5 more parts not shown)');
    });
  });

  it.each<[string, Reply]>([
    ['a plain reply', reply('T', text('x'))],
    ['an error', errorReply('e', 'm')],
    ['a reply with buttons only', reply(undefined, consentActions('UPG-1'))],
    ['an empty reply', reply()],
  ])('always says allowed_mentions { parse: [] } (%s)', (_, r) => {
    expect(renderDiscordMessage(r, { adminActions: true }).allowed_mentions).toEqual({ parse: [] });
  });

  it('sends buttons without an embed when a reply has nothing else, and says so when it has nothing at all', () => {
    expect(renderDiscordMessage(reply(undefined, consentActions('UPG-1')))).toMatchObject({ content: '', embeds: [] });
    expect(renderDiscordMessage(reply())).toEqual({ content: '(empty reply)', embeds: [], components: [], allowed_mentions: { parse: [] } });
  });

  it('is pure: the same reply renders the same message and is not changed', () => {
    const r = reply('T', text(`a ${MARK}`), fields([['k', 'v']]), table(['a'], [['b']]), consentActions('UPG-1'));
    const before = JSON.stringify(r);
    expect(renderDiscordMessage(r, { adminActions: true })).toEqual(renderDiscordMessage(r, { adminActions: true }));
    expect(JSON.stringify(r)).toBe(before);
  });
});

describe('hostile input', () => {
  const HOSTILE_TEXT = [
    '@everyone',
    '@here',
    '<@123>',
    '<@&1>',
    '<#1>',
    '</upgrade status:1>',
    '<:x:1>',
    '<t:1:R>',
    '[docs](http://evil)',
    'https://evil.example',
    '**bold**',
    '__u__ ~~s~~ ||spoiler||',
    '```fence```',
    '`code`',
    '\n# heading',
    '\n> quote',
    '\n- list',
    '\\',
  ].join(' ');
  const HOSTILE = [
    HOSTILE_TEXT,
    '\uE000<@1>\uE002',
    '\uE0001\uE001<@&1>|[x](http://evil)\uE002',
    '\uE0001\uE001a\uE001@everyone\uE002',
    '\uE000\uE000\uE001\uE002@here\uE002',
  ].join(' ');

  const kinds: Array<[string, Reply]> = [
    ['the title', reply(HOSTILE)],
    ['text', reply(undefined, text(HOSTILE))],
    ['a field label and value at the end', reply(undefined, fields([[HOSTILE, HOSTILE]]))],
    ['a field label and value between texts', reply(undefined, text('a'), fields([[HOSTILE, HOSTILE]]), text('b'))],
    ['table cells and headers', reply(undefined, table([HOSTILE], [[HOSTILE], [HOSTILE]]))],
    [
      'a finding’s code, device and message',
      reply(undefined, findingsBlock([{ code: HOSTILE as never, severity: 'error', message: HOSTILE, device: HOSTILE }])),
    ],
    ['a list’s title and items', reply(undefined, list(HOSTILE, [HOSTILE, HOSTILE]))],
    ['a button label', reply(undefined, actions({ label: HOSTILE, command: '/upgrade status UPG-000001', style: 'danger' }))],
    ['an error', errorReply(HOSTILE, HOSTILE, HOSTILE)],
    ['the shortened notice', reply(HOSTILE, ...Array.from({ length: 60 }, () => text(HOSTILE.repeat(5))))],
  ];

  it('is checked by a test that does notice raw markup', () => {
    expect(strayMarkup('<@1> [a](http://b) @everyone **x** # h ||s||')).toEqual(['<', '>', '[', ']', '@everyone', '#', '|', '|', '|', '|']);
  });

  it.each(kinds)('cannot format, link, mention or forge markup through %s', (_, r) => {
    const m = renderDiscordMessage(r, { adminActions: true, fullCommand: '/upgrade list all' });
    expectWithinLimits(m);
    for (const t of markdownTexts(m)) expect(strayMarkup(t)).toEqual([]);
    // Button labels are plain text: Discord shows them literally, so they may hold the characters.
    expect(buttonsOf(m).every((b) => !b.label?.includes('\uE000'))).toBe(true);
  });

  it.each<[string, (t: string) => Reply, (m: DiscordMessage) => string]>([
    ['text', (t) => reply(undefined, text(t)), (m) => embedOf(m).description!],
    ['a list item', (t) => reply(undefined, list('L', [t])), (m) => embedOf(m).description!.replace(/^\*\*L\*\*\n• /, '')],
    ['a field value', (t) => reply(undefined, fields([['k', t]])), (m) => embedOf(m).fields![0]!.value],
    ['an error message', (t) => errorReply('e', t), (m) => embedOf(m).description!.replace(/^⚠️ \*\*Error \(e\)\*\*: /, '')],
  ])('shows hostile %s exactly as typed', (_, make, pick) => {
    expect(shownAs(pick(renderDiscordMessage(make(HOSTILE_TEXT))))).toBe(HOSTILE_TEXT);
  });
});
