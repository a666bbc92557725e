/**
 * The look of every web page: one layout (header, navigation, main, footer), one stylesheet served
 * from the bot itself at `/assets/app.css` (no CDN: the bot may run without internet), and the
 * security headers every page carries. Pages are server-rendered strings; every value that came
 * from a person or a record goes through `escapeHtml`. No inline scripts or style attributes are
 * used, so the Content-Security-Policy allows only the bot's own stylesheet.
 */
import type { Response } from 'express';
import { escapeHtml } from '../email/render-email.js';

export { escapeHtml };

/** Where the stylesheet is served. */
export const STYLESHEET_PATH = '/assets/app.css';

/** The policy of every page: our own stylesheet, forms posting to ourselves, nothing else. */
export const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** One link of the navigation bar. */
export interface NavLink {
  href: string;
  label: string;
  current?: boolean;
}

export interface PageOptions {
  title: string;
  /** The page's main content (already escaped HTML). */
  body: string;
  /** Links in the header (staff pages); none on public pages. */
  nav?: NavLink[];
  /** Who is signed in, shown in the header with a sign-out button (already escaped HTML for the form). */
  signedIn?: { name: string; signOutForm: string };
  /** Reload the page every so many seconds (status pages while something moves). */
  refreshSeconds?: number;
  /** Wider main column (dashboards, calendars). */
  wide?: boolean;
}

/** A whole HTML document in the product's layout. */
export function renderPage(options: PageOptions): string {
  const nav = options.nav?.length
    ? `<nav aria-label="Main"><ul>${options.nav
        .map((l) => `<li><a href="${escapeHtml(l.href)}"${l.current ? ' aria-current="page"' : ''}>${escapeHtml(l.label)}</a></li>`)
        .join('')}</ul></nav>`
    : '';
  const who = options.signedIn
    ? `<div class="who"><span>${escapeHtml(options.signedIn.name)}</span>${options.signedIn.signOutForm}</div>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${options.refreshSeconds ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(options.refreshSeconds))}">` : ''}
<meta name="robots" content="noindex">
<title>${escapeHtml(options.title)} · Upgrade Desk</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><div class="bar${options.wide ? ' wide' : ''}"><span class="brand">Upgrade Desk</span>${nav}${who}</div></header>
<main id="main" class="${options.wide ? 'wide' : ''}">
${options.body}
</main>
<footer class="foot${options.wide ? ' wide' : ''}">Upgrade Desk · software upgrades with explicit consent</footer>
</body></html>`;
}

/** The headers of every page: the policy above, no sniffing, no referrer, no caching, no framing, no indexing. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'x-robots-tag': 'noindex',
};

/** Sends a page with the security headers of every page; private pages are never cached. */
export function sendPage(res: Response, status: number, options: PageOptions): void {
  res.status(status).set(PAGE_HEADERS).send(renderPage(options));
}

/** A page that says something went wrong or is not there: a heading, a message, and a way on. */
export function sendProblem(res: Response, status: number, heading: string, message: string, next?: { href: string; label: string }): void {
  sendPage(res, status, {
    title: heading,
    body: `<h1>${escapeHtml(heading)}</h1><div class="card"><p>${escapeHtml(message)}</p>${
      next ? `<p><a class="button secondary" href="${escapeHtml(next.href)}">${escapeHtml(next.label)}</a></p>` : ''
    }</div>`,
  });
}

/** A coloured badge for a status word (request status, run state, outcome). */
export function badge(status: string): string {
  const tone = /^(completed|done|approved|success|ok|sent)$/.test(status)
    ? 'good'
    : /^(failed|rejected|declined|aborted|broken|cancelled|error)$/.test(status)
      ? 'bad'
      : /^(completed_with_issues|awaiting_consent|warning|busy|pending)$/.test(status)
        ? 'warn'
        : /^(in_progress|scheduled|prepare_split|split|prepare_merge|merge|commit|finish|abort)$/.test(status)
          ? 'info'
          : 'plain';
  return `<span class="badge ${tone}">${escapeHtml(status.replace(/_/g, ' '))}</span>`;
}

/** The stylesheet: readable on a phone, visible focus, sufficient contrast, no external fonts. */
export const APP_CSS = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;background:#f4f5f7;color:#1d2430;line-height:1.5;font-size:1rem}
a{color:#1a56b8}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #f0b429;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem;z-index:10}
.skip:focus{left:.5rem}
.top{background:#14213d;color:#fff}
.bar{max-width:46rem;margin:0 auto;padding:.6rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.25rem}
.bar.wide,main.wide,.foot.wide{max-width:76rem}
.brand{font-weight:700;letter-spacing:.02em}
.top nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:0;padding:0}
.top nav a{color:#dfe6f3;text-decoration:none;padding:.2rem 0;border-bottom:2px solid transparent}
.top nav a[aria-current="page"],.top nav a:hover{color:#fff;border-bottom-color:#f0b429}
.who{margin-left:auto;display:flex;align-items:center;gap:.75rem;font-size:.9rem}
.who form{margin:0}
.who button{background:transparent;color:#dfe6f3;border:1px solid #51607d;padding:.25rem .7rem;font-weight:500}
main{max-width:46rem;margin:0 auto;padding:1.5rem 1rem 2rem}
.foot{max-width:46rem;margin:0 auto;padding:0 1rem 2rem;color:#5b6475;font-size:.85rem}
h1{font-size:1.5rem;margin:0 0 1rem;line-height:1.25}
h2{font-size:1.15rem;margin:1.5rem 0 .6rem}
h3{font-size:1rem;margin:1rem 0 .4rem}
.card{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:1rem 1.25rem;margin-bottom:1rem}
.lead{font-size:1.05rem;color:#3a4354}
.muted{color:#5b6475;font-size:.9rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dl.facts dt{color:#5b6475}
dl.facts dd{margin:0;overflow-wrap:anywhere}
ul.plain{padding-left:1.25rem;margin:.25rem 0}
.notice{border-left:4px solid #1a56b8;background:#eef3fc;padding:.75rem 1rem;border-radius:4px;margin:0 0 1rem}
.notice.error{border-color:#b3261e;background:#fdeeee}
.notice.success{border-color:#1f7a3d;background:#eaf6ee}
.notice.warn{border-color:#b26b00;background:#fff6e5}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.8rem;font-weight:600;white-space:nowrap;background:#e6e9ef;color:#2b3445}
.badge.good{background:#dff3e6;color:#145a2c}
.badge.bad{background:#fbe2e0;color:#8c1d16}
.badge.warn{background:#fff0cc;color:#6b4500}
.badge.info{background:#dde8fb;color:#163f86}
form.fields{display:grid;gap:1rem}
.field label{display:block;font-weight:600;margin-bottom:.25rem}
.field .hint{display:block;color:#5b6475;font-size:.85rem;margin-bottom:.3rem}
.field input,.field select,.field textarea{width:100%;font:inherit;padding:.55rem .65rem;border:1px solid #9aa3b2;border-radius:6px;background:#fff;color:inherit}
.field textarea{min-height:5rem}
.field.invalid input,.field.invalid select,.field.invalid textarea{border-color:#b3261e;border-width:2px}
.field .problem{display:block;color:#8c1d16;font-size:.9rem;margin-top:.3rem;font-weight:600}
.field .caution{display:block;color:#6b4500;font-size:.9rem;margin-top:.3rem}
.checks{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem}
.checks label{font-weight:500;display:flex;align-items:center;gap:.4rem}
.two{display:grid;gap:1rem}
@media (min-width:40rem){.two{grid-template-columns:1fr 1fr}}
button,.button{display:inline-block;font:inherit;font-weight:600;padding:.6rem 1.2rem;border-radius:6px;border:1px solid transparent;cursor:pointer;text-decoration:none;background:#1a56b8;color:#fff}
button.secondary,.button.secondary{background:#fff;color:#1a56b8;border-color:#1a56b8}
button.danger{background:#fff;color:#b3261e;border-color:#b3261e}
button.good{background:#1f7a3d}
button.small{padding:.3rem .7rem;font-size:.9rem}
.buttons{display:flex;flex-wrap:wrap;gap:.5rem}
.buttons form{margin:0}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e3e6ec;vertical-align:top}
th{font-size:.85rem;color:#5b6475;font-weight:600;background:#f8f9fb}
progress{width:8rem;height:.8rem;vertical-align:middle}
ol.timeline{list-style:none;margin:0;padding:0;border-left:2px solid #d8dce3}
ol.timeline li{position:relative;padding:0 0 .9rem 1rem}
ol.timeline li::before{content:"";position:absolute;left:-.42rem;top:.45rem;width:.7rem;height:.7rem;border-radius:50%;background:#1a56b8}
ol.timeline time{display:block;color:#5b6475;font-size:.85rem}
.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:.6rem;margin-bottom:1rem}
.stat{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:.6rem .8rem;text-decoration:none;color:inherit}
.stat strong{display:block;font-size:1.5rem}
.calendar{display:grid;grid-template-columns:repeat(7,minmax(0,1fr));gap:2px;background:#d8dce3;border:1px solid #d8dce3;border-radius:6px;overflow:hidden}
.calendar .head{background:#f8f9fb;font-size:.8rem;font-weight:600;color:#5b6475;padding:.3rem}
.calendar .day{background:#fff;min-height:5.5rem;padding:.3rem;font-size:.8rem;overflow-wrap:anywhere}
.calendar .day.other{background:#f4f5f7;color:#8a93a3}
.calendar .day.today{box-shadow:inset 0 0 0 2px #1a56b8}
.calendar .day.blackout{background:repeating-linear-gradient(135deg,#fbe2e0,#fbe2e0 6px,#fff5f4 6px,#fff5f4 12px)}
.calendar .num{font-weight:700;display:block}
.calendar .item{display:block;background:#dde8fb;color:#163f86;border-radius:4px;padding:.05rem .3rem;margin-top:.2rem;text-decoration:none}
.calendar .closed{display:block;color:#8c1d16;font-weight:600;margin-top:.2rem}
.legend{display:flex;gap:1rem;flex-wrap:wrap;font-size:.85rem;margin:.5rem 0}
.legend .swatch{display:inline-block;width:1rem;height:1rem;vertical-align:middle;margin-right:.3rem;border:1px solid #d8dce3}
.legend .swatch.blackout{background:repeating-linear-gradient(135deg,#fbe2e0,#fbe2e0 3px,#fff5f4 3px,#fff5f4 6px)}
.legend .swatch.item{background:#dde8fb}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);border:0}
@media (max-width:40rem){.calendar{grid-template-columns:1fr}.calendar .head{display:none}.calendar .day{min-height:0}.calendar .day.other{display:none}}
`;
