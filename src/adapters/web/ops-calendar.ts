/**
 * The upgrade calendar, `/ops/calendar?month=YYYY-MM`: one month, Monday first, in UTC. Each
 * approved, scheduled or running upgrade sits on the day it starts, linking to its status page;
 * every day a platform maintenance window touches is shaded, with the window's hours and reason,
 * because no upgrade may overlap it [001]. Days of the neighbouring months fill the first and last
 * weeks. Without scripts: previous and next months are plain links.
 */
import type { Request, Response, Router } from 'express';
import type { MaintenanceWindow, UpgradeRequest } from '../../domain/types.js';
import { escapeHtml } from './html.js';
import { sendStaffPage, sendStaffProblem, utcClock, utcDate, utcDateTime } from './ops-layout.js';
import type { WebContext } from './pages.js';

const DAY_MS = 86_400_000;
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
/** The statuses that put an upgrade on the calendar. */
const CALENDAR_STATUSES = ['approved', 'scheduled', 'in_progress'] as const;
/** Most approved / running requests looked at (scheduled ones are found by time). */
const MAX_OTHER = 500;

/** A month: year and month 1-12. */
interface Month {
  year: number;
  month: number;
}

/** Reads `YYYY-MM` (years 2000-2199); null when it is not one. */
export function parseMonth(value: string): Month | null {
  const m = /^(\d{4})-(\d{2})$/.exec(value);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  return year >= 2000 && year <= 2199 && month >= 1 && month <= 12 ? { year, month } : null;
}

function monthKey(m: Month): string {
  return `${m.year}-${String(m.month).padStart(2, '0')}`;
}

function shift(m: Month, by: number): Month {
  const index = m.year * 12 + (m.month - 1) + by;
  return { year: Math.floor(index / 12), month: (index % 12) + 1 };
}

function monthName(m: Month): string {
  return new Date(Date.UTC(m.year, m.month - 1, 1)).toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

/** Monday of the week holding the 1st, and the day after the Sunday of the week holding the last day. */
function gridOf(m: Month): { start: Date; end: Date } {
  const first = Date.UTC(m.year, m.month - 1, 1);
  const last = Date.UTC(m.year, m.month, 0);
  const mondayIndex = (d: number) => (new Date(d).getUTCDay() + 6) % 7;
  return { start: new Date(first - mondayIndex(first) * DAY_MS), end: new Date(last + (7 - mondayIndex(last)) * DAY_MS) };
}

/** The part of a window inside one day, as "00:00–06:00" ("all day" when it covers it). */
function hoursWithin(w: MaintenanceWindow, dayStart: number): string | null {
  const from = Math.max(w.start.getTime(), dayStart);
  const to = Math.min(w.end.getTime(), dayStart + DAY_MS);
  if (from >= to) return null;
  if (from === dayStart && to === dayStart + DAY_MS) return 'all day';
  return `${utcClock(new Date(from))}–${to === dayStart + DAY_MS ? '24:00' : utcClock(new Date(to))}`;
}

async function upgradesIn(ctx: WebContext, start: Date, end: Date): Promise<UpgradeRequest[]> {
  const store = ctx.deps.store;
  const scheduled = await store.requests.scheduledBetween(start, end);
  const others = await store.requests.list({ statuses: CALENDAR_STATUSES.filter((s) => s !== 'scheduled'), limit: MAX_OTHER });
  const seen = new Set(scheduled.map((r) => r.id));
  const inRange = others.filter((r) => !seen.has(r.id) && r.schedule.at && r.schedule.at >= start && r.schedule.at < end);
  return [...scheduled, ...inRange].sort((a, b) => a.schedule.at!.getTime() - b.schedule.at!.getTime() || a.id - b.id);
}

async function renderCalendar(ctx: WebContext, req: Request, res: Response, month: Month): Promise<void> {
  const { start, end } = gridOf(month);
  const today = utcDate(ctx.deps.clock.now());
  const upgrades = await upgradesIn(ctx, start, end);
  const windows = (await ctx.deps.store.windows.maintenance()).filter((w) => w.start < end && w.end > start);
  const customers = new Map((await ctx.deps.store.customers.list()).map((c) => [c.id, c.name]));

  const days: string[] = WEEKDAYS.map((d) => `<li class="head" aria-hidden="true">${escapeHtml(d.slice(0, 3))}</li>`);
  for (let t = start.getTime(); t < end.getTime(); t += DAY_MS) {
    const day = new Date(t);
    const iso = utcDate(day);
    const other = day.getUTCMonth() !== month.month - 1;
    const closed = windows
      .map((w) => ({ w, hours: hoursWithin(w, t) }))
      .filter((x): x is { w: MaintenanceWindow; hours: string } => x.hours !== null)
      .map(({ w, hours }) => `<span class="closed">Maintenance ${escapeHtml(hours)}: ${escapeHtml(w.reason)}</span>`);
    const items = upgrades
      .filter((r) => utcDate(r.schedule.at!) === iso)
      .map(
        (r) =>
          `<a class="item" href="/requests/${escapeHtml(r.ref)}">${escapeHtml(utcClock(r.schedule.at!))} ${escapeHtml(r.ref)} · ${escapeHtml(
            customers.get(r.customerId) ?? `customer ${r.customerId}`,
          )}${r.status === 'scheduled' ? '' : ` (${escapeHtml(r.status.replace(/_/g, ' '))})`}</a>`,
      );
    const classes = ['day', other ? 'other' : '', iso === today ? 'today' : '', closed.length ? 'blackout' : ''].filter(Boolean).join(' ');
    const weekday = WEEKDAYS[(day.getUTCDay() + 6) % 7]!;
    const monthLabel = day.toLocaleString('en-US', { month: 'long', timeZone: 'UTC' });
    days.push(`<li class="${classes}"${iso === today ? ' aria-current="date"' : ''}><span class="num"><time datetime="${iso}"><span class="wd">${escapeHtml(
      weekday,
    )} </span>${day.getUTCDate()}<span class="sr-only"> ${escapeHtml(monthLabel)}</span></time></span>${closed.join('')}${items.join('')}</li>`);
  }

  const prev = shift(month, -1);
  const next = shift(month, 1);
  const windowList = windows.length
    ? `<ul class="plain">${windows
        .map((w) => `<li>${escapeHtml(utcDateTime(w.start))} – ${escapeHtml(utcDateTime(w.end))}: ${escapeHtml(w.reason)}</li>`)
        .join('')}</ul>`
    : '<p class="muted">None in these weeks.</p>';
  sendStaffPage(ctx, req, res, 200, {
    title: `Calendar ${monthName(month)}`,
    current: 'calendar',
    body: `<h1>Upgrade calendar: ${escapeHtml(monthName(month))}</h1>
<nav class="months" aria-label="Months">
<a href="/ops/calendar?month=${monthKey(prev)}" rel="prev">← ${escapeHtml(monthName(prev))}</a>
<a href="/ops/calendar">This month</a>
<a href="/ops/calendar?month=${monthKey(next)}" rel="next">${escapeHtml(monthName(next))} →</a>
</nav>
<p class="muted">All times are UTC. ${upgrades.length} upgrade${upgrades.length === 1 ? '' : 's'} in these weeks.</p>
<div class="legend"><span><span class="swatch item" aria-hidden="true"></span>Scheduled upgrade (start time, request, customer)</span><span><span class="swatch blackout" aria-hidden="true"></span>Platform maintenance: no upgrade may overlap it</span></div>
<ol class="calendar" aria-label="${escapeHtml(monthName(month))}, Monday to Sunday">
${days.join('\n')}
</ol>
<h2>Maintenance windows in these weeks</h2>
${windowList}`,
  });
}

/** The calendar route, added to the `/ops` router behind the session check. */
export function addCalendarRoutes(router: Router, ctx: WebContext): void {
  router.get('/calendar', async (req, res) => {
    const asked = req.query.month;
    let month: Month | null;
    if (asked === undefined || asked === '') {
      const now = ctx.deps.clock.now();
      month = { year: now.getUTCFullYear(), month: now.getUTCMonth() + 1 };
    } else {
      month = typeof asked === 'string' ? parseMonth(asked) : null;
    }
    if (!month) {
      return sendStaffProblem(ctx, req, res, 400, 'Unknown month', 'Give the month as YYYY-MM, for example 2026-12.', { href: '/ops/calendar', label: 'This month' }, 'calendar');
    }
    await renderCalendar(ctx, req, res, month);
  });
}
