import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { simpleParser } from 'mailparser';
import { FORM_FIELDS, formCommandText, formTemplate, looksLikeForm, parseForm } from '../../src/adapters/email/form.js';
import type { FormValues, ParsedForm } from '../../src/adapters/email/form.js';
import { MAX_VALUE_LENGTH, tokenize } from '../../src/core/args.js';
import { acmeFormValues } from '../fakes/acme-form.js';

const MAIL = path.resolve(import.meta.dirname, '../fixtures/mail');

/** The demo records' request (examples/demo-records.json). */
const ACME: FormValues = acmeFormValues({ email: 'it@acme.example', notes: undefined });

/** The .eml file as mailparser decodes it (QP, base64, HTML), read as a form. */
async function readEml(name: string, edit: (raw: string) => string = (raw) => raw): Promise<ParsedForm> {
  const mail = await simpleParser(edit(readFileSync(path.join(MAIL, name), 'latin1')));
  return parseForm({ text: mail.text ?? null, html: mail.html === false ? null : mail.html });
}

/** The key=value words of a command text as `tokenize` reads them (a key given twice fails the test). */
function commandArgs(text: string): Record<string, string> {
  const words = tokenize(text);
  if (!words.ok) throw new Error(`tokenize failed: ${words.error.message}`);
  expect(words.value.slice(0, 2)).toEqual(['/upgrade', 'request']);
  const args: Record<string, string> = {};
  for (const word of words.value.slice(2)) {
    const eq = word.indexOf('=');
    expect(eq).toBeGreaterThan(0);
    const key = word.slice(0, eq);
    expect(args[key]).toBeUndefined();
    args[key] = word.slice(eq + 1);
  }
  return args;
}

/** The arguments the command should carry for these form values (contact name has none). */
function expectedArgs(v: FormValues, when = v.when): Record<string, string> {
  const out: Record<string, string> = {};
  const pairs: Array<[string, string | undefined]> = [
    ['device', v.device],
    ['version', v.version],
    ['when', when],
    ['mac', v.mac],
    ['ip', v.ip],
    ['serial', v.serial],
    ['company', v.company],
    ['email', v.email],
    ['phone', v.phone],
    ['note', v.notes],
  ];
  for (const [k, value] of pairs) if (value !== undefined && value !== '') out[k] = value;
  return out;
}

describe('the form fields', () => {
  it('lists the eleven fields in template order', () => {
    expect(FORM_FIELDS.map((f) => f.label)).toEqual([
      'Company',
      'Contact name',
      'E-mail',
      'Phone',
      'Device',
      'Serial number',
      'MAC address',
      'IP address',
      'Target version',
      'Preferred time',
      'Notes',
    ]);
  });

  it('requires everything [003] asks for: company, e-mail, phone, the device with its serial, MAC and IP, the version and a time', () => {
    expect(FORM_FIELDS.filter((f) => f.required).map((f) => f.key)).toEqual([
      'company',
      'email',
      'phone',
      'device',
      'serial',
      'mac',
      'ip',
      'version',
      'when',
    ]);
    expect(FORM_FIELDS.every((f) => f.hint.length > 0)).toBe(true);
  });
});

describe('values at the length limit', () => {
  it('are cut to length without a trailing space where the cut falls after one (found by the fuzzer)', () => {
    // The cut keeps MAX_VALUE_LENGTH + 1 characters (one over, so the command reports the value too long).
    const long = `${'x'.repeat(MAX_VALUE_LENGTH)} tail`;
    const parsed = parseForm({ text: `Device: ${long}\nNotes: ${'y'.repeat(MAX_VALUE_LENGTH - 5)}\nmore words\n` });
    expect(parsed.values.device).toBe('x'.repeat(MAX_VALUE_LENGTH));
    expect(parsed.values.notes).toBe(`${'y'.repeat(MAX_VALUE_LENGTH - 5)} more`);
  });
});

describe('the template', () => {
  it('has one Label: line per field under an instruction header', () => {
    const lines = formTemplate().split('\n');
    for (const f of FORM_FIELDS) expect(lines.some((l) => l.startsWith(`${f.label}`) && l.endsWith(':'))).toBe(true);
    expect(lines[0]).toBe('UPGRADE REQUEST FORM');
  });

  it('reads back blank: no values, nothing unknown, every required field missing', () => {
    const parsed = parseForm({ text: formTemplate() });
    expect(parsed.values).toEqual({});
    expect(parsed.unknownFields).toEqual([]);
    expect(parsed.corrected).toEqual([]);
    expect(parsed.missing).toEqual(FORM_FIELDS.filter((f) => f.required).map((f) => f.key));
    expect(looksLikeForm(parsed)).toBe(false);
  });

  it('reads back filled in with exactly the values written into it', () => {
    const values: FormValues = { ...ACME, when: '2026-12-06T01:00-05:00', notes: 'Call "Jane" at 10:00 \\ not before' };
    const parsed = parseForm({ text: formTemplate(values) });
    expect(parsed.values).toEqual(values);
    expect(parsed.missing).toEqual([]);
    expect(parsed.unknownFields).toEqual([]);
  });

  it('puts filled-in values on one line each, even when given line breaks', () => {
    const text = formTemplate({ device: 'edge-01\r\nBcc: x@evil.example' });
    expect(text).toContain('Device: edge-01 Bcc: x@evil.example\n');
    expect(text).not.toMatch(/^Bcc/m);
  });
});

describe('the command a form stands for', () => {
  it('is the chat command, with the contact name left out', () => {
    const text = formCommandText(ACME);
    expect(text).toBe(
      '/upgrade request device=edge-01 version=7.1.0 when=window mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001 company="Acme Corp" email=it@acme.example phone="+1 555 0100"',
    );
    expect(commandArgs(text)).toEqual(expectedArgs(ACME));
  });

  it('quotes every value so tokenize reads it back exactly', () => {
    const values: FormValues = {
      ...ACME,
      device: 'edge 01',
      company: 'O\'Brien & "Sons" \\ Co',
      notes: 'it’s “fine” ‘really’ «ok» \\\\ end\\',
    };
    expect(commandArgs(formCommandText(values))).toEqual(expectedArgs(values));
  });

  it('adds note= only when there are notes', () => {
    expect(formCommandText({ ...ACME, notes: '' })).not.toContain('note=');
    expect(commandArgs(formCommandText({ ...ACME, notes: 'ports open' })).note).toBe('ports open');
  });

  it('leaves out absent values, so the command itself says what is missing', () => {
    expect(formCommandText({ device: 'edge-01' })).toBe('/upgrade request device=edge-01');
    expect(formCommandText({})).toBe('/upgrade request');
  });

  it('stays on one line whatever the values hold', () => {
    const text = formCommandText({ ...ACME, notes: 'a\nb\r\nc\u2028d' });
    expect(text).not.toMatch(/[\r\n\u2028]/);
    expect(commandArgs(text).note).toBe('a b c d');
  });

  it.each([
    ['now', 'now'],
    ['NOW', 'now'],
    ['asap', 'now'],
    ['ASAP!', 'now'],
    ['as soon as possible', 'now'],
    ['immediately', 'now'],
    ['window', 'window'],
    ['Next window', 'window'],
    ['next upgrade window', 'window'],
    ['the next maintenance window', 'window'],
    ['any', 'window'],
    ['any time', 'window'],
    ['whenever', 'window'],
    ['2026-12-06T01:00', '2026-12-06T01:00'],
    ['2026-12-06 01:00', '2026-12-06T01:00'],
    ['2026-12-06   1:00', '2026-12-06T01:00'],
    ['2026-12-06 01:00:30', '2026-12-06T01:00:30'],
    ['2026-12-06 01:00Z', '2026-12-06T01:00Z'],
    ['2026-12-06 01:00 UTC', '2026-12-06T01:00Z'],
    ['2026-12-06 01:00 +01:00', '2026-12-06T01:00+01:00'],
    ['2026-12-06T01:00-0500', '2026-12-06T01:00-05:00'],
    ['2026-12-06 01:00 -05', '2026-12-06T01:00-05:00'],
    ['next Sunday', 'next Sunday'],
  ])('reads Preferred time "%s" as when=%s', (written, when) => {
    expect(commandArgs(formCommandText({ when: written })).when).toBe(when);
  });
});

describe('telling a form from a chatty e-mail', () => {
  it('takes three or more values as a form', () => {
    expect(looksLikeForm(parseForm({ text: 'Device: edge-01\nVersion: 7.1.0\nWhen: now' }))).toBe(true);
    expect(looksLikeForm(parseForm({ text: 'Device: edge-01\nVersion: 7.1.0' }))).toBe(false);
  });
});

describe('reading labels', () => {
  it.each([
    ['e-mail', 'email'],
    ['Email', 'email'],
    ['E-Mail address', 'email'],
    ['EMAIL ADDRESS', 'email'],
    ['IP', 'ip'],
    ['ip address', 'ip'],
    ['IP-Address', 'ip'],
    ['MAC', 'mac'],
    ['Mac Address', 'mac'],
    ['Serial', 'serial'],
    ['Serial No.', 'serial'],
    ['Serial #', 'serial'],
    ['S/N', 'serial'],
    ['SN', 'serial'],
    ['Version', 'version'],
    ['Target version', 'version'],
    ['When', 'when'],
    ['Preferred time', 'when'],
    ['Time', 'when'],
    ['Note', 'notes'],
    ['Notes', 'notes'],
    ['Comments', 'notes'],
    ['Company name', 'company'],
    ['Customer', 'company'],
    ['Name', 'contact'],
    ['Telephone', 'phone'],
    ['Hostname', 'device'],
    ['  preferred   TIME  ', 'when'],
    ['Preferred time (now, window or a date)', 'when'],
  ])('reads "%s" as the %s field', (label, key) => {
    const parsed = parseForm({ text: `${label}: the value` });
    expect(parsed.values).toEqual({ [key]: 'the value' });
    expect(parsed.corrected).toEqual([]);
  });

  it.each([
    ['Device: edge-01', ':'],
    ['Device = edge-01', '='],
    ['Device - edge-01', ' - '],
    ['Device – edge-01', 'an en dash'],
    ['Device\tedge-01', 'a tab'],
    ['* Device: edge-01', 'an asterisk bullet'],
    ['- Device: edge-01', 'a dash bullet'],
    ['• Device: edge-01', 'a bullet'],
    ['3. Device: edge-01', 'a number'],
    ['**Device:** edge-01', 'markdown bold'],
    ['**Device**: edge-01', 'bold label'],
    ['| Device | edge-01 |', 'a markdown table row'],
    ['Device:   edge-01   ', 'extra spaces'],
  ])('reads "%s" (%s)', (line) => {
    expect(parseForm({ text: line }).values).toEqual({ device: 'edge-01' });
  });

  it('keeps the colons of a value after the first separator', () => {
    expect(parseForm({ text: 'MAC address: 00:1A:2B:3C:4D:5E\nPreferred time: 2026-12-06 01:00' }).values).toEqual({
      mac: '00:1A:2B:3C:4D:5E',
      when: '2026-12-06 01:00',
    });
  });

  it.each([
    ['Serail number', 'serial'],
    ['Devcie', 'device'],
    ['Compnay', 'company'],
    ['Emial', 'email'],
    ['Phoen', 'phone'],
    ['Ip adress', 'ip'],
    ['Target verison', 'version'],
    ['Prefered time', 'when'],
    ['Commments', 'notes'],
  ])('reads the misspelt "%s" as %s and reports the correction', (label, key) => {
    const parsed = parseForm({ text: `${label}: x1` });
    expect(parsed.values).toEqual({ [key]: 'x1' });
    expect(parsed.corrected).toEqual([{ written: label, field: key }]);
  });

  it.each(['Xy', 'Ipp', 'Dev', 'Current version', 'Device ID', 'Time zone', 'Colour', 'Customer ID'])(
    'does not guess a field for "%s"',
    (label) => {
      const parsed = parseForm({ text: `${label}: something` });
      expect(parsed.values).toEqual({});
      expect(parsed.unknownFields).toEqual([label]);
    },
  );

  it('counts a label with no value as missing', () => {
    const parsed = parseForm({ text: 'Device: edge-01\nMAC address:\nIP address:   \nSerial number: n/a\nVersion: -' });
    expect(parsed.values).toEqual({ device: 'edge-01' });
    expect(parsed.missing).toEqual(expect.arrayContaining(['mac', 'ip', 'serial', 'version']));
  });

  it('lets the first value of a field given twice win, and an empty first one claim nothing', () => {
    const parsed = parseForm({ text: 'Device: edge-01\nDevice: edge-02\nMAC:\nMAC: 00:1A:2B:3C:4D:5E' });
    expect(parsed.values).toEqual({ device: 'edge-01', mac: '00:1A:2B:3C:4D:5E' });
    expect(parsed.unknownFields).toEqual([]);
  });

  it('takes the address out of mail-client link decorations', () => {
    const cases = [
      'it@acme.example <mailto:it@acme.example>',
      'it@acme.example<mailto:it@acme.example>',
      '<mailto:it@acme.example>',
      '[it@acme.example](mailto:it@acme.example)',
      'mailto:it@acme.example',
      'IT desk <it@acme.example>',
      '"it@acme.example"',
    ];
    for (const written of cases) expect(parseForm({ text: `E-mail: ${written}` }).values.email).toBe('it@acme.example');
    expect(parseForm({ text: 'Phone: +1 555 0100<tel:+15550100>' }).values.phone).toBe('+1 555 0100');
  });

  it('ignores invisible characters and Windows line ends', () => {
    const parsed = parseForm({ text: '\uFEFFDe\u200Bvice:\u00A0edge-01\u200D\r\nVersion:\u202F7.1.0\r\rWhen: now\r\n' });
    expect(parsed.values).toEqual({ device: 'edge-01', version: '7.1.0', when: 'now' });
  });
});

describe('notes over several lines', () => {
  it('go on until a blank line', () => {
    const parsed = parseForm({ text: 'Device: edge-01\nNotes: first line\nsecond line\n\nnot a note' });
    expect(parsed.values.notes).toBe('first line second line');
  });

  it('go on until the next label', () => {
    const parsed = parseForm({ text: 'Notes: first line\nsecond line\nDevice: edge-01' });
    expect(parsed.values).toEqual({ notes: 'first line second line', device: 'edge-01' });
  });

  it('may start on the line after an empty Notes label', () => {
    expect(parseForm({ text: 'Device: edge-01\nNotes:\nplease call first' }).values.notes).toBe('please call first');
  });

  it('stop at an unknown Label: value line, which is reported', () => {
    const parsed = parseForm({ text: 'Notes: call first\nColour: blue\nmore' });
    expect(parsed.values).toEqual({ notes: 'call first' });
    expect(parsed.unknownFields).toEqual(['Colour']);
  });

  it('do not continue any other field', () => {
    expect(parseForm({ text: 'MAC address:\n00:1A:2B:3C:4D:5E' }).values).toEqual({});
  });
});

describe('signatures and sign-offs', () => {
  it('stop reading at a "-- " signature delimiter', () => {
    const parsed = parseForm({ text: 'Device: edge-01\n-- \nJane\nPhone: +1 555 9999' });
    expect(parsed.values).toEqual({ device: 'edge-01' });
  });

  it('stop reading at a sign-off once a field was read', () => {
    for (const signOff of ['Best regards,', 'Kind regards', 'Thanks,', 'Thanks, Jane', 'Cheers!', 'Regards, Jane Doe']) {
      const parsed = parseForm({ text: `Device: edge-01\n${signOff}\nJane Doe\nPhone: +1 555 9999` });
      expect(parsed.values).toEqual({ device: 'edge-01' });
    }
  });

  it('do not stop reading at a sign-off before the first field', () => {
    const parsed = parseForm({ text: 'Thanks,\nhere is the form.\nDevice: edge-01\nPhone: +1 555 0100' });
    expect(parsed.values).toEqual({ device: 'edge-01', phone: '+1 555 0100' });
  });
});

describe('quoted and forwarded mail', () => {
  const ours = 'Device: edge-01\nVersion: 7.1.0\nWhen: window\n';
  const theirs = 'Device: edge-02\nVersion: 7.2.0\nWhen: now\nPhone: +1 555 0000\n';

  it.each([
    ['a > quote', `${ours}\n${theirs.replace(/^/gm, '> ')}`],
    ['"On … wrote:"', `${ours}\nOn Mon, Nov 30, 2026 at 9:20 AM Upgrade Desk <upgrades@desk.example> wrote:\n${theirs}`],
    ['-----Original Message-----', `${ours}\n-----Original Message-----\nFrom: Upgrade Desk\nSent: Monday\n${theirs}`],
    ['an Outlook From:/Sent: block', `${ours}\nFrom: Upgrade Desk <upgrades@desk.example>\nSent: Monday, November 30, 2026 9:00 AM\nTo: Jane\n${theirs}`],
  ])('prefer the form above %s', (_what, text) => {
    const parsed = parseForm({ text });
    expect(parsed.values).toEqual({ device: 'edge-01', version: '7.1.0', when: 'window' });
    expect(parsed.unknownFields).toEqual([]);
  });

  it('fall back to the quoted form when nothing (or too little) is above it', () => {
    const parsed = parseForm({ text: `See below, thanks.\n\n${theirs.replace(/^/gm, '>> ')}` });
    expect(parsed.values).toEqual({ device: 'edge-02', version: '7.2.0', when: 'now', phone: '+1 555 0000' });
  });

  it('read the newest message of a reply chain inside a forward', () => {
    const text =
      'FYI\n\n-----Original Message-----\nFrom: Jane\nSent: Monday\n\n' +
      `${ours}\nOn Fri, Nov 27, 2026 Upgrade Desk wrote:\n> Device: edge-02\n> Phone: +1 555 0000\n`;
    expect(parseForm({ text }).values).toEqual({ device: 'edge-01', version: '7.1.0', when: 'window' });
  });

  it('start a quote at a > line however long it is', () => {
    const text = `${ours}> ${'x'.repeat(1000)}\n> Phone: +1 555 0000\n`;
    expect(parseForm({ text }).values).toEqual({ device: 'edge-01', version: '7.1.0', when: 'window' });
  });

  it('read HTML blockquotes as quotes', () => {
    const html = `<div>${ours.replace(/\n/g, '<br>')}</div><div class="gmail_quote"><blockquote>${theirs.replace(/\n/g, '<br>')}</blockquote></div>`;
    expect(parseForm({ html }).values).toEqual({ device: 'edge-01', version: '7.1.0', when: 'window' });
  });
});

describe('reading HTML', () => {
  it('reads table rows as label and value, skipping heading rows', () => {
    const html =
      '<table><tr><th>Field</th><th>Value</th></tr><tr><td><b>Device:</b></td><td> edge-01 </td></tr>' +
      '<tr><td>MAC address</td><td></td></tr><tr><td>Version</td><td>7.1.0</td><td>(required)</td></tr></table>';
    const parsed = parseForm({ html });
    expect(parsed.values).toEqual({ device: 'edge-01', version: '7.1.0' });
    expect(parsed.missing).toContain('mac');
    expect(parsed.unknownFields).toEqual([]);
  });

  it('reads a form table nested in a layout table', () => {
    const html =
      '<table><tr><td><img alt=""></td><td><table><tr><td>Device</td><td>edge-01</td></tr>' +
      '<tr><td>Version</td><td>7.1.0</td></tr></table></td></tr></table>';
    expect(parseForm({ html }).values).toEqual({ device: 'edge-01', version: '7.1.0' });
  });

  it('decodes entities and line breaks and drops scripts, styles and comments', () => {
    const html =
      '<style>p{}</style><script>var x = "<p>Device: evil</p>";</script><!-- Device: hidden -->' +
      '<p>Company:&nbsp;Acme&nbsp;&amp;&#x20;Co&#8203;</p>Device: edge-01<br/>Notes: a &lt;b&gt; &#34;c&#34;';
    expect(parseForm({ html }).values).toEqual({ company: 'Acme & Co', device: 'edge-01', notes: 'a <b> "c"' });
  });

  it('keeps the lines of a <pre> block', () => {
    expect(parseForm({ html: '<pre>Device: edge-01\nVersion: 7.1.0</pre>' }).values).toEqual({ device: 'edge-01', version: '7.1.0' });
  });

  it('prefers whichever of text and HTML yields more values', () => {
    const parsed = parseForm({
      text: 'CompanyAcme CorpDeviceedge-01',
      html: '<table><tr><td>Company</td><td>Acme Corp</td></tr><tr><td>Device</td><td>edge-01</td></tr></table>',
    });
    expect(parsed.values).toEqual({ company: 'Acme Corp', device: 'edge-01' });
  });
});

describe('the mail corpus (decoded by mailparser)', () => {
  const full = { ...ACME };

  it('reads a plain-text form', async () => {
    const parsed = await readEml('plain-text.eml');
    const values = { ...full, when: '2026-12-06 01:00', notes: 'Ports 22, 80 and 8081 are open.' };
    expect(parsed).toEqual({ values, missing: [], unknownFields: [], corrected: [] });
    expect(looksLikeForm(parsed)).toBe(true);
    expect(commandArgs(formCommandText(parsed.values))).toEqual(expectedArgs(values, '2026-12-06T01:00'));
  });

  it('reads an HTML-only form laid out as a table', async () => {
    const parsed = await readEml('html-table.eml');
    const values = { ...full, when: 'next upgrade window', notes: 'Ports 22, 80 & 8081 are open Call <Jane> first' };
    expect(parsed).toEqual({ values, missing: [], unknownFields: [], corrected: [] });
    expect(commandArgs(formCommandText(parsed.values))).toEqual(expectedArgs(values, 'window'));
  });

  it('reads a multipart/alternative form with Outlook <mailto:> decorations', async () => {
    const parsed = await readEml('multipart-alternative.eml');
    const values = { ...full, mac: '00-1a-2b-3c-4d-5e', when: 'now' };
    expect(parsed).toEqual({ values, missing: [], unknownFields: [], corrected: [] });
    expect(commandArgs(formCommandText(parsed.values))).toEqual(expectedArgs(values));
  });

  it('reads a quoted-printable form with = separators, =3D and soft line breaks', async () => {
    const parsed = await readEml('quoted-printable.eml');
    const notes =
      'Please keep the key=value settings in /etc/sysmaster.conf and do not touch the firewall rules that were added last week for the backup server (ticket 4711).';
    const values = { ...full, when: '2026-12-06T01:00-05:00', notes };
    expect(parsed).toEqual({ values, missing: [], unknownFields: [], corrected: [] });
    expect(commandArgs(formCommandText(parsed.values))).toEqual(expectedArgs(values));
  });

  it('reads a base64 form with Windows line ends and invisible characters', async () => {
    const parsed = await readEml('base64.eml');
    const values = { ...full, when: 'ASAP' };
    expect(parsed).toEqual({ values, missing: [], unknownFields: [], corrected: [] });
    expect(commandArgs(formCommandText(parsed.values))).toEqual(expectedArgs(values, 'now'));
  });

  it('reads a forwarded form below the forwarder’s note and signature', async () => {
    const parsed = await readEml('forwarded.eml');
    expect(parsed).toEqual({ values: full, missing: [], unknownFields: [], corrected: [] });
    expect(commandArgs(formCommandText(parsed.values))).toEqual(expectedArgs(full));
  });

  it('takes the customer’s form above the quoted bot message, not the quoted values', async () => {
    const parsed = await readEml('reply-above-quote.eml');
    expect(parsed).toEqual({ values: full, missing: [], unknownFields: [], corrected: [] });
    expect(commandArgs(formCommandText(parsed.values))).toEqual(expectedArgs(full));
  });

  it('takes the customer’s form above an Outlook reply header, not the quoted template', async () => {
    const parsed = await readEml('outlook-reply.eml');
    const { contact: _contact, ...values } = { ...full, when: '2026-12-06 01:00' };
    expect(parsed).toEqual({ values, missing: [], unknownFields: [], corrected: [] });
  });

  it('does not let the signature’s phone number override the form’s', async () => {
    const parsed = await readEml('signature.eml');
    const values = { ...full, notes: 'Call before you start the agent may use the usual manager account' };
    expect(parsed).toEqual({ values, missing: [], unknownFields: [], corrected: [] });
    expect(commandArgs(formCommandText(parsed.values)).phone).toBe('+1 555 0100');
  });

  it('does not take the signature’s phone number when the form has none', async () => {
    const parsed = await readEml('signature.eml', (raw) => raw.replace('Phone: +1 555 0100\r\n', ''));
    expect(parsed.values.phone).toBeUndefined();
    expect(parsed.missing).toEqual(['phone']);
  });

  it('stops at a sign-off, so the name and contact lines after it are not read', async () => {
    const parsed = await readEml('sign-off.eml');
    const { contact: _contact, ...values } = full;
    expect(parsed).toEqual({ values: { ...values, phone: undefined }, missing: ['phone'], unknownFields: [], corrected: [] });
  });

  it('reads misspelt labels and lists each correction', async () => {
    const parsed = await readEml('misspelled.eml');
    expect(parsed.values).toEqual({ ...full, when: '2026-12-06 01:00 UTC' });
    expect(parsed.missing).toEqual([]);
    expect(parsed.corrected).toEqual([
      { written: 'Compnay', field: 'company' },
      { written: 'Contact nmae', field: 'contact' },
      { written: 'E-mial', field: 'email' },
      { written: 'Phoen', field: 'phone' },
      { written: 'Devcie', field: 'device' },
      { written: 'Serail number', field: 'serial' },
      { written: 'MAC adress', field: 'mac' },
      { written: 'Ip adress', field: 'ip' },
      { written: 'Target verison', field: 'version' },
      { written: 'Prefered time', field: 'when' },
    ]);
    expect(parsed.unknownFields).toEqual(['Xy']);
    expect(commandArgs(formCommandText(parsed.values)).when).toBe('2026-12-06T01:00Z');
  });

  it('reports extra fields by label only, never echoing a value such as a password', async () => {
    const parsed = await readEml('unknown-fields.eml');
    const { contact: _contact, ...values } = full;
    expect(parsed.values).toEqual(values);
    expect(parsed.missing).toEqual([]);
    expect(parsed.unknownFields).toEqual(['Current version', 'Colour', 'Manager password']);
    expect(JSON.stringify(parsed)).not.toContain('Tr0ub4dor');
    expect(formCommandText(parsed.values)).not.toContain('Tr0ub4dor');
  });

  it('reads a markdown-ish form with bullets, bold labels and a markdown mail link', async () => {
    const parsed = await readEml('markdown.eml');
    const { contact: _contact, ...values } = { ...full, when: 'next window' };
    expect(parsed).toEqual({ values, missing: [], unknownFields: [], corrected: [] });
    expect(commandArgs(formCommandText(parsed.values))).toEqual(expectedArgs(values, 'window'));
  });

  it('does not take a chatty e-mail for a form', async () => {
    const parsed = await readEml('chatty.eml');
    expect(looksLikeForm(parsed)).toBe(false);
    expect(Object.keys(parsed.values)).toHaveLength(0);
  });

  it('reads a hostile HTML form safely: scripts ignored, injected lines kept inside one value, 5 MB of junk skipped', async () => {
    const junk = ('<td><<<&#x;&amp<!-' + 'A'.repeat(1000) + '<b ').repeat(5 * 1024);
    const parsed = await readEml('hostile.eml', (raw) => raw.replace('<!--JUNK-->', junk));
    expect(parsed.values).toEqual({
      company: 'Acme Corp',
      email: 'it@acme.example',
      phone: '+1 555 0100',
      device: 'edge-01 Bcc: x@evil.example',
      serial: 'SN-1001',
      mac: '00:1A:2B:3C:4D:5E',
      ip: '203.0.113.10',
      version: '7.1.0',
      when: 'now',
      notes: 'say "hi" \\ then `rm -rf /` <img src=x onerror=alert(1)> @channel',
    });
    // eslint-disable-next-line no-control-regex
    for (const value of Object.values(parsed.values)) expect(value).not.toMatch(/[\r\n\u0000-\u001f]/);
    const text = formCommandText(parsed.values);
    expect(text).not.toMatch(/[\r\n]/);
    const args = commandArgs(text);
    expect(args).toEqual(expectedArgs(parsed.values));
    expect(Object.keys(args)).not.toContain('Bcc');
  });
});

describe('bounded work on hostile input', () => {
  it('reads a form followed by a 1 MB line', () => {
    const parsed = parseForm({ text: `Device: edge-01\nVersion: 7.1.0\nWhen: now\nNotes: ${'x'.repeat(1024 * 1024)}` });
    expect(parsed.values.device).toBe('edge-01');
    expect((parsed.values.notes ?? '').length).toBeLessThanOrEqual(2001);
  });

  it('reads a 1 MB line of separators, brackets, stars and pipes without hanging', () => {
    for (const unit of [':', '(', '*', '|', ' - ', '<', '&#', '\t', '**a', 'a@', '> ']) {
      const line = unit.repeat(Math.ceil((1024 * 1024) / unit.length));
      expect(parseForm({ text: line }).values).toEqual({});
      expect(parseForm({ html: line }).values).toEqual({});
    }
  });

  it('reads 100,000 lines and still finds the form at the top', () => {
    const lines = ['Device: edge-01', 'Version: 7.1.0', 'When: now'];
    for (let i = 0; i < 100_000; i++) lines.push(i % 2 === 0 ? `Colour ${i}: blue` : `Serail numbr: SN-${i}`);
    const parsed = parseForm({ text: lines.join('\n') });
    expect(parsed.values).toMatchObject({ device: 'edge-01', version: '7.1.0', when: 'now' });
    expect(parsed.unknownFields.length).toBeLessThanOrEqual(20);
  });

  it('reads 100,000 HTML table rows and unclosed tags without hanging', () => {
    const html = `<table><tr><td>Device</td><td>edge-01</td></tr>${'<tr><td>Serail</td><td>x</td></tr><div>'.repeat(100_000)}<!-- never closed`;
    expect(parseForm({ html }).values.device).toBe('edge-01');
    expect(parseForm({ html: `<script>${'Device: x\n'.repeat(100_000)}` }).values).toEqual({});
  });

  it('never throws, whatever it is given', () => {
    const odd: unknown[] = [{}, { text: null, html: null }, { text: '' }, { text: 42 }, { html: {} }, null, undefined];
    for (const body of odd) {
      const parsed = parseForm(body as { text?: string | null; html?: string | null });
      expect(parsed.values).toEqual({});
      expect(parsed.missing).toHaveLength(9);
    }
    expect(() => parseForm({ text: '\uD800Device: \uDFFF edge\u0000-01' })).not.toThrow();
  });
});

describe('Preferred time named like a property of every object (found by test/fuzz)', () => {
  it.each(['constructor', '__proto__', 'toString', 'the constructor', 'hasOwnProperty'])('passes %j through as written instead of throwing', (written) => {
    expect(commandArgs(formCommandText({ when: written })).when).toBe(written);
  });
});
