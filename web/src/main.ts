// The dashboard: loads the report model, works out the date range, renders every panel, and
// re-renders when the state (kept in the URL) changes.

import './style.css';
import { ApiError, getJson, type ReportModel, readKey } from './api';
import { renderAttribution, renderAttributionControls } from './attribution';
import { renderActiveUsers, renderRetention } from './audience';
import { renderBreakdown, renderBreakdownControls } from './breakdown';
import type { Ctx } from './context';
import { renderExperiment } from './experiments';
import { renderFilters } from './filters';
import { escapeHtml } from './format';
import { renderHealth } from './health';
import { renderKpis } from './kpis';
import { startLive } from './live';
import {
  localDate,
  localHour,
  PAGES,
  type PageId,
  readState,
  resolveRange,
  type ViewState,
  writeState,
} from './state';
import { renderTimeseries, renderTimeseriesControls } from './timeseries';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function showNotice(text: string, askKey = false): void {
  const el = $('notice');
  el.hidden = false;
  el.textContent = text;
  if (askKey) {
    const form = document.createElement('form');
    form.className = 'key-form';
    form.innerHTML =
      '<label>Read key <input name="key" type="password" autocomplete="off"></label> <button>Use key</button>';
    form.onsubmit = (e) => {
      e.preventDefault();
      readKey.set(String(new FormData(form).get('key') ?? ''));
      location.reload();
    };
    el.append(form);
  }
}

async function start(): Promise<void> {
  let models: ReportModel[];
  try {
    models = (await getJson<{ reports: ReportModel[] }>('/v1/reports')).reports;
  } catch (err) {
    showNotice((err as Error).message, err instanceof ApiError && (err.status === 401 || err.status === 403));
    return;
  }
  let state = readState();
  const health = await renderHealth($('health'));
  let newest = newestOf(health);
  let lastBatch = health?.batches[0]?.batch_id;

  const ctx: Ctx = {
    models,
    state,
    range: { from: '', to: '' },
    latest: '',
    update(change: Partial<ViewState>) {
      state = { ...state, ...change };
      writeState(state);
      void render();
    },
  };
  let generation = 0;
  async function render(): Promise<void> {
    const mine = ++generation;
    ctx.state = state;
    ctx.range = resolveRange(state, localDate(newest, state.tz));
    ctx.latest = localHour(newest, state.tz);
    const range = `${ctx.range.from} to ${ctx.range.to} (${state.tz})`;
    for (const el of document.querySelectorAll('.range-label')) el.textContent = range;
    showPage(ctx);
    await Promise.all([renderFilters(ctx, $('filters')), renderPage(ctx)]);
    // Lets tests (and people) see when a view is complete.
    if (mine === generation) document.body.dataset.ready = String(mine);
  }
  await render();
  startLive($('live-numbers'), $('live-status'), $('live-chart'));
  // New data lands in batches: when a batch commits, health and every panel are drawn again.
  setInterval(async () => {
    const latest = await getJson<{ batches: Array<{ batch_id: number }> }>(
      '/v1/pipeline',
      new URLSearchParams({ batches: '1' }),
    ).catch(() => undefined);
    const batch = latest?.batches[0]?.batch_id;
    if (batch === undefined || batch === lastBatch) return;
    lastBatch = batch;
    newest = newestOf(await renderHealth($('health')));
    await render();
  }, REFRESH_MS);
}

const REFRESH_MS = 30_000;

/** The navigation, and only the chosen page shown. */
function showPage(ctx: Ctx): void {
  const nav = $('pages');
  nav.innerHTML = PAGES.map(
    (p) =>
      `<button type="button" data-page="${p.id}" aria-current="${p.id === ctx.state.page ? 'page' : 'false'}" aria-selected="${p.id === ctx.state.page}">${escapeHtml(p.label)}</button>`,
  ).join('');
  nav.onclick = (e) => {
    const page = (e.target as HTMLElement).closest('button')?.dataset.page as PageId | undefined;
    if (page && page !== ctx.state.page) ctx.update({ page });
  };
  for (const p of PAGES) $(`page-${p.id}`).hidden = p.id !== ctx.state.page;
  document.body.dataset.page = ctx.state.page;
}

/** Draws the panels of the chosen page only: the others' queries are not run. */
function renderPage(ctx: Ctx): Promise<unknown> {
  switch (ctx.state.page) {
    case 'overview':
      renderTimeseriesControls(ctx, $('ts-controls'));
      renderBreakdownControls(ctx, $('bd-controls'));
      return Promise.all([
        renderKpis(ctx, $('kpis')),
        renderTimeseries(ctx, $('ts-status'), $('ts-chart')),
        renderBreakdown(ctx, $('bd-status'), $('bd-table')),
      ]);
    case 'audience':
      return Promise.all([
        renderActiveUsers(ctx, $('au-status'), $('au-chart')),
        renderRetention(ctx, $('ret-status'), $('ret-chart')),
      ]);
    case 'attribution':
      renderAttributionControls(ctx, $('attr-controls'));
      return renderAttribution(ctx, $('attr-status'), $('attr-table'), $('attr-compare'));
    case 'experiments':
      return renderExperiment(ctx, $('ab-controls'), $('ab-status'), $('ab-srm'), $('ab-table'));
  }
}

function newestOf(health: Awaited<ReturnType<typeof renderHealth>>): number {
  return health?.lag.newest_event ? Date.parse(health.lag.newest_event) : Date.now();
}

void start();
