// The dashboard: loads the report model, works out the date range, renders every panel, and
// re-renders when the state (kept in the URL) changes.

import './style.css';
import { ApiError, getJson, type ReportModel, readKey } from './api';
import { renderBreakdown, renderBreakdownControls } from './breakdown';
import type { Ctx } from './context';
import { renderFilters } from './filters';
import { renderHealth } from './health';
import { renderKpis } from './kpis';
import { startLive } from './live';
import { localDate, readState, resolveRange, type ViewState, writeState } from './state';
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
  const newest = health?.lag.newest_event ? Date.parse(health.lag.newest_event) : Date.now();

  const ctx: Ctx = {
    models,
    state,
    range: { from: '', to: '' },
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
    $('range-label').textContent = `${ctx.range.from} to ${ctx.range.to} (${state.tz})`;
    renderTimeseriesControls(ctx, $('ts-controls'));
    renderBreakdownControls(ctx, $('bd-controls'));
    await Promise.all([
      renderFilters(ctx, $('filters')),
      renderKpis(ctx, $('kpis')),
      renderTimeseries(ctx, $('ts-status'), $('ts-chart')),
      renderBreakdown(ctx, $('bd-status'), $('bd-table')),
    ]);
    // Lets tests (and people) see when a view is complete.
    if (mine === generation) document.body.dataset.ready = String(mine);
  }
  await render();
  startLive($('live-numbers'), $('live-status'), $('live-chart'));
}

void start();
