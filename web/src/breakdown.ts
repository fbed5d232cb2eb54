// Breakdown tables for every report: by a dimension, top N plus "other", sortable, a totals row
// from the engine, names beside ids, CSV download of the full breakdown.

import { download, getJson, type ReportModel, type ReportResponse, type Row } from './api';
import { type Ctx, model, reportQuery, setStatus, skippedNote } from './context';
import { escapeHtml, formatValue, type Kind } from './format';
import { FILTER_DIMENSIONS } from './state';

function kindOf(m: ReportModel, column: string, money?: boolean): Kind {
  const metric = m.metrics.find((x) => x.name === column);
  if (metric) return metric.format === 'percent' ? 'percent' : metric.format === 'money' ? 'money' : 'ratio';
  return money ? 'money' : 'count';
}

export function renderBreakdownControls(ctx: Ctx, el: HTMLElement): void {
  const m = model(ctx, ctx.state.bdReport);
  const by = m.dimensions.some((d) => d.name === ctx.state.bdBy) ? ctx.state.bdBy : m.dimensions[0]!.name;
  const opt = (v: string, l: string, cur: string) =>
    `<option value="${v}"${v === cur ? ' selected' : ''}>${escapeHtml(l)}</option>`;
  el.innerHTML = `
    <div class="tabs" role="tablist">${ctx.models
      .map(
        (r) =>
          `<button type="button" role="tab" data-report="${r.name}" aria-selected="${r.name === m.name}">${escapeHtml(r.title)}</button>`,
      )
      .join('')}</div>
    <label>By <select name="by">${m.dimensions.map((d) => opt(d.name, d.label, by)).join('')}</select></label>
    <label>Show <select name="top">${[5, 10, 25, 100].map((n) => opt(String(n), `top ${n}`, String(ctx.state.bdTop))).join('')}</select></label>
    <button type="button" name="csv">Download CSV</button>`;
  el.onclick = async (e) => {
    const b = (e.target as HTMLElement).closest('button');
    if (!b) return;
    if (b.dataset.report) {
      const next = model(ctx, b.dataset.report);
      const order = next.measures.some((x) => `-${x.name}` === ctx.state.bdOrder)
        ? ctx.state.bdOrder
        : `-${next.measures[0]!.name}`;
      const keepBy = next.dimensions.some((d) => d.name === ctx.state.bdBy);
      ctx.update({
        bdReport: next.name,
        bdOrder: order,
        bdBy: keepBy ? ctx.state.bdBy : next.dimensions[0]!.name,
      });
    } else if (b.name === 'csv') {
      const { params } = reportQuery(ctx, m.name, {
        grain: 'total',
        by,
        names: 'true',
        order: ctx.state.bdOrder,
        format: 'csv',
      });
      b.disabled = true;
      try {
        await download(`/v1/reports/${m.name}`, params, `${m.name}.csv`);
      } catch (err) {
        alert(`The CSV could not be downloaded: ${(err as Error).message}`);
      } finally {
        b.disabled = false;
      }
    }
  };
  el.onchange = (e) => {
    const t = e.target as HTMLSelectElement;
    if (t.name === 'by') ctx.update({ bdBy: t.value });
    if (t.name === 'top') ctx.update({ bdTop: Number(t.value) });
  };
}

export async function renderBreakdown(ctx: Ctx, status: HTMLElement, el: HTMLElement): Promise<void> {
  const m = model(ctx, ctx.state.bdReport);
  const by = m.dimensions.some((d) => d.name === ctx.state.bdBy) ? ctx.state.bdBy : m.dimensions[0]!.name;
  const orderKey = ctx.state.bdOrder.replace(/^-/, '');
  const known = [...m.measures.map((x) => x.name), ...m.metrics.map((x) => x.name)];
  const order = known.includes(orderKey) ? ctx.state.bdOrder : `-${m.measures[0]!.name}`;
  const { params, skipped } = reportQuery(ctx, m.name, {
    grain: 'total',
    by,
    names: 'true',
    order,
    top: String(ctx.state.bdTop),
  });
  setStatus(status, 'loading');
  try {
    const res = await getJson<ReportResponse>(`/v1/reports/${m.name}`, params);
    const note = skippedNote(skipped, m);
    const rows = res.rows.filter((r) => r[by] !== 'ALL');
    if (rows.length === 0) {
      setStatus(status, 'empty', note ? `No data. ${note}` : '');
      el.innerHTML = '';
      return;
    }
    setStatus(status, note ? 'note' : 'none', note);
    const cols = res.columns.filter((c) => c.kind !== 'period');
    const cell = (r: Row, c: (typeof cols)[number]) => {
      if (c.kind === 'dimension' || c.kind === 'name') {
        const v = r[c.name];
        return `<td>${v === '' ? '<span class="muted">(none)</span>' : escapeHtml(String(v ?? '–'))}</td>`;
      }
      return `<td class="num" data-col="${c.name}">${formatValue(r[c.name], kindOf(m, c.name, c.money))}</td>`;
    };
    const label = (name: string) =>
      m.dimensions.find((d) => d.name === name)?.label ??
      m.measures.find((x) => x.name === name)?.label ??
      m.metrics.find((x) => x.name === name)?.label ??
      (name.endsWith('_name') ? 'Name' : name);
    const head = cols
      .map((c) => {
        const sortable = c.kind === 'measure' || c.kind === 'metric';
        const arrow = orderKey === c.name ? (order.startsWith('-') ? ' ▼' : ' ▲') : '';
        return sortable
          ? `<th class="num"><button type="button" data-sort="${c.name}" aria-label="Sort by ${escapeHtml(label(c.name))}">${escapeHtml(label(c.name))}${arrow}</button></th>`
          : `<th>${escapeHtml(label(c.name))}</th>`;
      })
      .join('');
    const totals = res.totals
      ? `<tfoot><tr class="totals">${cols
          .map((c, i) =>
            c.kind === 'dimension' || c.kind === 'name'
              ? `<td>${i === 0 ? 'Total' : ''}</td>`
              : cell(res.totals!, c),
          )
          .join('')}</tr></tfoot>`
      : '';
    // A row of a filterable dimension drills down: filter by it, then break down by the next dimension.
    const drillable = FILTER_DIMENSIONS.some((d) => d.name === by);
    const rowHtml = (r: Row) => {
      const v = String(r[by] ?? '');
      const attrs =
        r[by] === '(other)'
          ? ' class="other"'
          : drillable && v !== ''
            ? ` class="drill" data-drill="${escapeHtml(v)}" title="Filter by this ${escapeHtml(label(by))}"`
            : '';
      return `<tr${attrs}>${cols.map((c) => cell(r, c)).join('')}</tr>`;
    };
    el.innerHTML = `<table class="breakdown"><thead><tr>${head}</tr></thead><tbody>${rows
      .map(rowHtml)
      .join('')}</tbody>${totals}</table>`;
    el.onclick = (e) => {
      const target = e.target as HTMLElement;
      const sort = target.closest<HTMLButtonElement>('button[data-sort]')?.dataset.sort;
      if (sort) return ctx.update({ bdOrder: order === `-${sort}` ? sort : `-${sort}` });
      const value = target.closest<HTMLElement>('tr[data-drill]')?.dataset.drill;
      if (value === undefined) return;
      const filters = { ...ctx.state.filters, [by]: value };
      const next = m.dimensions.find((d) => !(d.name in filters));
      ctx.update({ filters, bdBy: next?.name ?? by });
    };
  } catch (err) {
    el.innerHTML = '';
    setStatus(status, 'error', `Could not load the breakdown: ${(err as Error).message}`);
  }
}
