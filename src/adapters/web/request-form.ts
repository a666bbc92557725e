/**
 * The public request form, `/requests/new`: the web twin of the e-mailed form [003], with the same
 * fields (FORM_FIELDS) and the same command behind it (formCommandText → dispatch), so the web
 * asks nothing and decides nothing the other channels do not. The sender of a web form is not
 * verified, so it earns exactly the trust of an e-mail: the request is filed as the person whose
 * address was typed, still needs an authorized representative's consent, and its acknowledgement
 * (with the status link) goes only to that person's address on record, never to the page.
 *
 * Safety: a signed CSRF token per browser, two rate limits (per client address and per typed
 * e-mail address), values cut to one bounded line, unknown fields ignored and never echoed, and
 * no secret on any page (the notes appear only in their own textarea; the confirmation page after
 * a successful submission, Post/Redirect/Get with a signed key, shows no notes at all).
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { MAX_VALUE_LENGTH } from '../../core/args.js';
import { dispatch } from '../../core/dispatch.js';
import { plainTimes, referenceIn } from '../../core/reply.js';
import type { ReplyError } from '../../core/reply.js';
import { formatRef, parseRef } from '../../domain/types.js';
import type { Finding, FindingCode, UpgradeRequest } from '../../domain/types.js';
import { allFindings, describeSchedule } from '../../services/request-view.js';
import { FORM_FIELDS, formCommandText } from '../email/form.js';
import type { FormKey, FormValues } from '../email/form.js';
import { RateLimiter, clientAddress } from './guard.js';
import { badge, escapeHtml, sendPage, sendProblem } from './html.js';
import type { WebContext } from './pages.js';

/** The page title of the form. */
const FORM_TITLE = 'Request an upgrade';

/**
 * Longest value kept from a posted field: one character over the command's limit, so the command
 * still refuses an over-long value as too long instead of taking a silently shortened one.
 */
const MAX_POSTED_CHARS = MAX_VALUE_LENGTH + 1;

/** Longest value pre-filled from the query string (links only carry short values). */
const MAX_PREFILL_CHARS = 200;

/** Fields a link may pre-fill: all but the notes, which could hold something private and would then sit in URLs and logs. */
const PREFILLABLE: ReadonlySet<FormKey> = new Set(FORM_FIELDS.map((f) => f.key).filter((k) => k !== 'notes'));

const FORM_KEYS: ReadonlySet<string> = new Set(FORM_FIELDS.map((f) => f.key));

/** Hints worded for the web where the e-mail form's would mislead. */
const WEB_HINTS: Partial<Record<FormKey, string>> = {
  contact: 'who is asking',
  notes: 'anything the agent should know; never a password',
  email: 'your own e-mail address as registered with us; the acknowledgement and the feedback after the upgrade go to the address on our records',
  when: 'now (as soon as it is approved), window (the next upgrade slot), or a date and time such as 2026-12-06 01:00 in your company\'s timezone; add Z or +01:00 for another offset',
};

/** What "Required:" asks for, per required field. */
const REQUIRED_TEXT: Partial<Record<FormKey, string>> = {
  company: 'enter your company name as on our records',
  email: 'enter your e-mail address',
  phone: 'enter your company phone number',
  device: 'enter the device name or its serial number',
  serial: 'enter the serial number of the device',
  mac: 'enter the MAC address of the device',
  ip: 'enter the IP address of the device',
  version: 'enter the version to upgrade to',
  when: 'enter now, window, or a date and time',
};

/** Input attributes per field: the right keyboard on a phone, autofill where it helps, no spell checking of identifiers. */
const INPUT_ATTRIBUTES: Record<Exclude<FormKey, 'notes'>, string> = {
  company: 'type="text" autocomplete="organization"',
  contact: 'type="text" autocomplete="name"',
  email: 'type="email" autocomplete="email" spellcheck="false" autocapitalize="off"',
  phone: 'type="tel" autocomplete="tel"',
  device: 'type="text" autocomplete="off" spellcheck="false" autocapitalize="off"',
  serial: 'type="text" autocomplete="off" spellcheck="false" autocapitalize="characters"',
  mac: 'type="text" autocomplete="off" spellcheck="false" autocapitalize="characters"',
  ip: 'type="text" autocomplete="off" spellcheck="false" autocapitalize="off"',
  version: 'type="text" autocomplete="off" spellcheck="false" autocapitalize="off"',
  when: 'type="text" autocomplete="off" spellcheck="false" autocapitalize="off" list="when-options"',
};

/** The form's three groups, in FORM_FIELDS order. */
const GROUPS: ReadonlyArray<{ legend: string; keys: readonly FormKey[] }> = [
  { legend: 'You and your company', keys: ['company', 'contact', 'email', 'phone'] },
  { legend: 'The device', keys: ['device', 'serial', 'mac', 'ip'] },
  { legend: 'The upgrade', keys: ['version', 'when', 'notes'] },
];

/** The form field a finding concerns when it names none itself. */
const FIELD_OF_CODE: Partial<Record<FindingCode, FormKey>> = {
  unknown_requester: 'email',
  unknown_device: 'device',
  device_status_blocked: 'device',
  device_busy: 'device',
  replication_enabled: 'device',
  load_balancer_group_incomplete: 'device',
  unknown_release: 'version',
  version_jump_too_large: 'version',
  same_version: 'version',
  downgrade: 'version',
  upgrade_required: 'version',
  past_time: 'when',
  blackout_conflict: 'when',
  outside_low_traffic: 'when',
};

/** Error codes from the dispatcher that concern one field. */
const FIELD_OF_ERROR: Record<string, FormKey> = {
  unknown_requester: 'email',
  invalid_time: 'when',
  invalid_timezone: 'when',
};

/** What the page says next to a field: problems (errors) and cautions (warnings). */
interface FieldMarks {
  problems: string[];
  cautions: string[];
}

/** Everything the form page shows besides the fields themselves. */
interface FormState {
  values: FormValues;
  marks: Partial<Record<FormKey, FieldMarks>>;
  /** Problems that concern no single field: listed in the summary only. */
  general: string[];
  /** Warnings that concern no single field. */
  generalCautions: string[];
  /** A message above everything (expired form, recorded as rejected, too many submissions). */
  notice?: { tone: 'error' | 'warn'; text: string };
}

function isFormKey(value: string): value is FormKey {
  return FORM_KEYS.has(value);
}

function label(key: FormKey): string {
  return FORM_FIELDS.find((f) => f.key === key)?.label ?? key;
}

function sentence(text: string): string {
  const trimmed = text.trim();
  return `${trimmed.charAt(0).toUpperCase()}${trimmed.slice(1)}${/[.!?]$/.test(trimmed) ? '' : '.'}`;
}

/** One posted or linked value as the command should get it: the first if repeated, one line, trimmed, bounded. */
function cleanValue(raw: unknown, max: number): string {
  const first = Array.isArray(raw) ? (raw as unknown[])[0] : raw;
  if (typeof first !== 'string') return '';
  // Cut before collapsing so the work stays bounded whatever was posted.
  return first
    .slice(0, max * 4)
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001F\u007F\u0085\u2028\u2029\s]+/g, ' ')
    .trim()
    .slice(0, max);
}

/** The known fields of a posted form; anything else (unknown fields, the CSRF token) is dropped here. */
function postedValues(body: unknown): FormValues {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const values: FormValues = {};
  for (const { key } of FORM_FIELDS) {
    const value = Object.prototype.hasOwnProperty.call(fields, key) ? cleanValue(fields[key], MAX_POSTED_CHARS) : '';
    if (value !== '') values[key] = value;
  }
  return values;
}

/** Values a link pre-fills (`?device=edge-01`): known fields except the notes, short. */
function linkedValues(query: Request['query']): FormValues {
  const values: FormValues = {};
  for (const key of PREFILLABLE) {
    const value = Object.prototype.hasOwnProperty.call(query, key) ? cleanValue(query[key], MAX_PREFILL_CHARS) : '';
    if (value !== '') values[key] = value;
  }
  return values;
}

function emptyState(values: FormValues): FormState {
  return { values, marks: {}, general: [], generalCautions: [] };
}

function mark(state: FormState, key: FormKey, kind: keyof FieldMarks, message: string): void {
  const marks = (state.marks[key] ??= { problems: [], cautions: [] });
  if (!marks[kind].includes(message)) marks[kind].push(message);
}

/** The form fields a finding concerns: its own `field`, else by its code (hardware: by what the message names). */
function fieldsOfFinding(finding: Finding): FormKey[] {
  const own = finding.field === 'note' ? 'notes' : finding.field;
  if (own && isFormKey(own)) return [own];
  if (finding.code === 'hardware_mismatch') {
    const named: FormKey[] = [];
    if (/\bMAC\b/i.test(finding.message)) named.push('mac');
    if (/\bIP\b/.test(finding.message)) named.push('ip');
    if (/\bserial\b/i.test(finding.message)) named.push('serial');
    return named;
  }
  const byCode = FIELD_OF_CODE[finding.code];
  return byCode ? [byCode] : [];
}

/** The field an error reply concerns: by its code, or the argument an invalid_arguments message names. */
function fieldOfError(error: ReplyError): FormKey | null {
  const byCode = FIELD_OF_ERROR[error.code];
  if (byCode) return byCode;
  if (!error.code.startsWith('invalid_')) return null;
  const named = /"([a-z_]+)"|\b([a-z_]+)=/i.exec(error.message);
  const argument = (named?.[1] ?? named?.[2] ?? '').toLowerCase();
  const key = argument === 'note' ? 'notes' : argument;
  return isFormKey(key) ? key : null;
}

/** "in 45 seconds", "in about 7 minutes". */
function waitText(seconds: number): string {
  if (seconds < 60) return `in ${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `in about ${minutes} minute${minutes === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------
// Rendering

function fieldHtml(key: FormKey, state: FormState): string {
  const spec = FORM_FIELDS.find((f) => f.key === key);
  if (!spec) return '';
  const id = `f-${key}`;
  const marks = state.marks[key];
  const problems = marks?.problems ?? [];
  const cautions = marks?.cautions ?? [];
  const value = state.values[key] ?? '';
  const describedBy = [`${id}-hint`, ...(problems.length ? [`${id}-problem`] : []), ...(cautions.length ? [`${id}-caution`] : [])].join(' ');
  const common =
    `id="${id}" name="${key}" maxlength="${MAX_VALUE_LENGTH}" aria-describedby="${describedBy}"` +
    (spec.required ? ' aria-required="true"' : '') +
    (problems.length ? ' aria-invalid="true"' : '');
  const control =
    key === 'notes'
      ? `<textarea ${common} rows="4">${escapeHtml(value)}</textarea>`
      : `<input ${INPUT_ATTRIBUTES[key]} ${common} value="${escapeHtml(value)}">`;
  const required = spec.required ? '<span class="req" aria-hidden="true"> *</span>' : ' <span class="optional">(optional)</span>';
  return `<div class="field${problems.length ? ' invalid' : ''}">
<label for="${id}">${escapeHtml(spec.label)}${required}</label>
<span class="hint" id="${id}-hint">${escapeHtml(sentence(WEB_HINTS[key] ?? spec.hint))}</span>
${control}${
    problems.length ? `\n<span class="problem" id="${id}-problem">${problems.map((p) => `<span>${escapeHtml(p)}</span>`).join('')}</span>` : ''
  }${cautions.length ? `\n<span class="caution" id="${id}-caution">${cautions.map((c) => `<span>${escapeHtml(c)}</span>`).join('')}</span>` : ''}
</div>`;
}

/** The list of problems at the top, each linking to its field. */
function summaryHtml(state: FormState): string {
  const items: string[] = [];
  for (const { key } of FORM_FIELDS) {
    for (const problem of state.marks[key]?.problems ?? []) {
      items.push(`<li><a href="#f-${key}">${escapeHtml(label(key))}: ${escapeHtml(problem)}</a></li>`);
    }
  }
  items.push(...state.general.map((p) => `<li>${escapeHtml(p)}</li>`));
  const cautions = state.generalCautions.length
    ? `<div class="notice warn"><h2>Please note</h2><ul class="plain">${state.generalCautions.map((c) => `<li>${escapeHtml(c)}</li>`).join('')}</ul></div>`
    : '';
  if (!items.length) return cautions;
  const heading = items.length === 1 ? 'There is a problem with the form' : `There are ${items.length} problems with the form`;
  return `<div class="notice error problems" id="problems" role="alert" tabindex="-1" autofocus aria-labelledby="problems-title">
<h2 id="problems-title">${heading}</h2>
<ul class="plain">${items.join('')}</ul>
</div>${cautions}`;
}

function hasProblems(state: FormState): boolean {
  return state.general.length > 0 || Object.values(state.marks).some((m) => m.problems.length > 0);
}

/** The whole form page body. */
function formBody(req: Request, res: Response, ctx: WebContext, state: FormState): string {
  const notice = state.notice ? `<p class="notice ${state.notice.tone}" role="status">${escapeHtml(state.notice.text)}</p>` : '';
  const groups = GROUPS.map(
    (g) => `<fieldset>
<legend>${escapeHtml(g.legend)}</legend>
${g.keys.map((k) => fieldHtml(k, state)).join('\n')}
</fieldset>`,
  ).join('\n');
  return `<div class="request-form">
<h1>${escapeHtml(FORM_TITLE)}</h1>
${notice}${summaryHtml(state)}
<p class="lead">For contacts on record of one of our customers: ask us to upgrade the software on one of your company's devices.</p>
<div class="card">
<h2>What happens after you send it</h2>
<ol class="steps">
<li>We check the details against our records of your company and the device.</li>
<li>An authorized representative of your company must approve the upgrade. Nothing is scheduled before.</li>
<li>We acknowledge the request by e-mail to your address on our records, with a link to follow it.</li>
</ol>
<p class="muted">Never put the manager password or any other password in this form: the support agent asks for it when it is needed.</p>
</div>
<form class="fields" method="post" action="${escapeHtml(`${req.baseUrl}/new`)}" novalidate>
${ctx.csrf.field(req, res)}
<p class="muted">Fields marked <span class="req">*</span> are required.</p>
${groups}
<datalist id="when-options"><option value="now"></option><option value="window"></option></datalist>
<div class="buttons"><button type="submit">Send request</button></div>
</form>
</div>`;
}

function sendForm(req: Request, res: Response, ctx: WebContext, status: number, state: FormState): void {
  sendPage(res, status, { title: hasProblems(state) ? `Error: ${FORM_TITLE}` : FORM_TITLE, body: formBody(req, res, ctx, state) });
}

/** The confirmation page of a filed request: reference, status, what happens next, warnings; never the notes. */
async function sentBody(ctx: WebContext, request: UpgradeRequest): Promise<string> {
  const customer = await ctx.deps.store.customers.byId(request.customerId);
  const company = customer?.name ?? 'your company';
  const devices = request.items.map((i) => `${i.deviceName} (${i.fromVersion} → ${i.targetVersion})`);
  const warnings = allFindings(request).filter((f) => f.severity === 'warning');
  const moved =
    request.status === 'awaiting_consent'
      ? ''
      : `<p>The request has moved on since you sent it: it is now ${badge(request.status)}. The acknowledgement e-mail links to its status page.</p>`;
  return `<div class="request-sent">
<h1>Request received</h1>
<div class="card">
<p class="muted">Your reference</p>
<p class="ref">${escapeHtml(request.ref)}</p>
<p>Status: ${badge(request.status)}</p>
<dl class="facts">
${devices.length ? `<dt>Device</dt><dd>${devices.map(escapeHtml).join('<br>')}</dd>` : ''}
<dt>Target version</dt><dd>${escapeHtml(request.targetVersion)}</dd>
<dt>When</dt><dd>${escapeHtml(plainTimes(describeSchedule(request, customer?.timezone ?? 'UTC')))}</dd>
</dl>
<p class="muted">Quote the reference whenever you contact us about this upgrade.</p>
</div>
${moved}
<h2>What happens next</h2>
<ol class="steps">
<li>An authorized representative of ${escapeHtml(company)} is asked to approve the upgrade, in your team's chat channel or by e-mail. Nothing is scheduled before they approve.</li>
<li>The acknowledgement, with a link to follow the request, goes to your e-mail address on our records.</li>
<li>If the support agent needs the manager password, they will ask you for it. Never put it in this form.</li>
</ol>
${
  warnings.length
    ? `<h2>Please note</h2>
<ul class="plain cautions">${warnings.map((f) => `<li>${escapeHtml(plainTimes(f.message))}</li>`).join('')}</ul>`
    : ''
}
<p><a class="button secondary" href="/requests/new">Request another upgrade</a></p>
</div>`;
}

// ---------------------------------------------------------------------------------------------
// Routes

/** The router of the form, mounted at `/requests` behind the urlencoded body parser. */
export function requestFormRouter(ctx: WebContext): Router {
  const router = express.Router();
  const perClient = new RateLimiter(ctx.formRateLimit.perAddress, ctx.formRateLimit.windowMs);
  const perEmail = new RateLimiter(ctx.formRateLimit.perAddress, ctx.formRateLimit.windowMs);

  router.get('/new', (req, res) => {
    sendForm(req, res, ctx, 200, emptyState(linkedValues(req.query)));
  });

  router.post('/new', async (req, res) => {
    const values = postedValues(req.body);
    const state = emptyState(values);
    if (!ctx.csrf.valid(req)) {
      state.notice = { tone: 'error', text: 'This form expired or came from another site; check it and send it again.' };
      return sendForm(req, res, ctx, 403, state);
    }

    const now = ctx.deps.clock.now().getTime();
    const address = clientAddress(req);
    const waits = [perClient.hit(address, now), values.email ? perEmail.hit(values.email.toLowerCase(), now) : 0];
    const wait = Math.max(...waits);
    if (wait > 0) {
      ctx.log.warn({ client: address, retryAfterSeconds: wait }, 'request form rate limited');
      res.set('retry-after', String(wait));
      state.notice = {
        tone: 'warn',
        text: `This form was sent too often from your network or for this e-mail address. Nothing was filed. Please try again ${waitText(wait)}.`,
      };
      return sendForm(req, res, ctx, 429, state);
    }

    const missing = FORM_FIELDS.filter((f) => f.required && !values[f.key]);
    if (missing.length) {
      for (const f of missing) mark(state, f.key, 'problems', `Required: ${REQUIRED_TEXT[f.key] ?? `enter the ${f.label.toLowerCase()}`}.`);
      return sendForm(req, res, ctx, 400, state);
    }

    try {
      const reply = await dispatch(ctx.registry, ctx.deps, {
        id: ctx.newId(),
        via: 'web',
        identity: { kind: 'email', address: values.email as string },
        text: formCommandText(values),
      });
      if (reply.error) {
        const error = reply.error;
        const key = fieldOfError(error);
        const message = /command is too long/i.test(error.message)
          ? 'The form holds too much text; shorten the longest fields (most likely the notes) and send it again.'
          : plainTimes(error.message);
        if (key) mark(state, key, 'problems', message);
        else state.general.push(message);
        if (error.hint && !error.code.startsWith('invalid_')) state.general.push(plainTimes(error.hint));
        const status = error.code === 'internal_error' ? 500 : error.code.startsWith('invalid_') ? 400 : 422;
        return sendForm(req, res, ctx, status, state);
      }

      const ref = referenceIn(reply);
      const request = ref ? await ctx.deps.store.requests.byRef(ref) : null;
      if (!request) {
        ctx.log.error({ ref }, 'request form: the filed request cannot be read back');
        state.general.push('Something went wrong on our side; please try again in a moment.');
        return sendForm(req, res, ctx, 500, state);
      }
      if (request.status === 'rejected') {
        for (const finding of allFindings(request)) {
          const message = plainTimes(finding.message);
          const kind = finding.severity === 'error' ? 'problems' : 'cautions';
          const keys = fieldsOfFinding(finding);
          if (keys.length) for (const key of keys) mark(state, key, kind, message);
          else (kind === 'problems' ? state.general : state.generalCautions).push(message);
        }
        state.notice = {
          tone: 'error',
          text: `We recorded this as ${request.ref} (rejected). Correct the fields marked below and send the form again.`,
        };
        return sendForm(req, res, ctx, 422, state);
      }
      const key = ctx.deps.secretBox.sign(`filed:${request.ref}`);
      res.redirect(303, `${req.baseUrl}/new/sent/${encodeURIComponent(request.ref)}?key=${encodeURIComponent(key)}`);
    } catch (error) {
      ctx.log.error({ err: error }, 'request form failed');
      state.general.push('Something went wrong on our side; please try again in a moment.');
      sendForm(req, res, ctx, 500, state);
    }
  });

  router.all('/new', (_req, res) => {
    res.status(405).set('allow', 'GET, HEAD, POST').type('text/plain').send('Method not allowed: open the form with GET and send it with POST.\n');
  });

  router.get('/new/sent/:ref', async (req, res) => {
    const notFound = (): void =>
      sendProblem(res, 404, 'Page not found', 'This confirmation link is not valid. Your acknowledgement e-mail has the link to follow your request.', {
        href: '/requests/new',
        label: 'Request an upgrade',
      });
    const ref = String(req.params.ref ?? '');
    const id = parseRef(ref);
    const key = typeof req.query.key === 'string' ? req.query.key : '';
    if (id === null || formatRef(id) !== ref || key === '' || key.length > 128 || !ctx.deps.secretBox.verify(`filed:${ref}`, key)) return notFound();
    try {
      const request = await ctx.deps.store.requests.byRef(ref);
      if (!request) return notFound();
      sendPage(res, 200, { title: `Request ${request.ref} received`, body: await sentBody(ctx, request) });
    } catch (error) {
      ctx.log.error({ err: error, ref }, 'request confirmation page failed');
      sendProblem(res, 500, 'Something went wrong', 'The page could not be shown; please try again in a moment.');
    }
  });

  router.all('/new/sent/:ref', (_req, res) => {
    res.status(405).set('allow', 'GET, HEAD').type('text/plain').send('Method not allowed.\n');
  });

  return router;
}

/** Style rules of these pages, served after APP_CSS in the one stylesheet. */
export const FORM_CSS = `
.request-form fieldset{border:1px solid #d8dce3;border-radius:8px;background:#fff;padding:1rem 1.25rem 1.25rem;margin:0;display:grid;gap:1rem;min-width:0}
.request-form legend{font-weight:700;padding:0 .35rem}
.request-form .req{color:#8c1d16;font-weight:700}
.request-form .optional{font-weight:400;color:#5b6475;font-size:.9rem}
.request-form .field .problem>span,.request-form .field .caution>span{display:block}
.request-form .problems h2{margin-top:0}
.request-form .problems a{color:#8c1d16;font-weight:600}
.request-form .problems:focus{outline:3px solid #f0b429;outline-offset:2px}
.request-form .notice.warn h2{margin-top:0}
ol.steps{padding-left:1.25rem;margin:.25rem 0 .75rem}
ol.steps li{margin-bottom:.35rem}
.request-sent .ref{font-size:2rem;font-weight:700;letter-spacing:.04em;margin:0 0 .5rem;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.request-sent .cautions li{margin-bottom:.35rem}
@media (max-width:40rem){.request-form fieldset{padding:.75rem .9rem 1rem}}
`;
