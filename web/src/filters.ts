// The filter bar: date range presets or custom dates, time zone, and one value per dimension
// (options from the data in range, with names from metadata).

import { getJson, type ReportResponse } from './api';
import { type Ctx, hasDimensions } from './context';
import { escapeHtml } from './format';
import { FILTER_DIMENSIONS, isTimeZone, PRESETS, timeZones } from './state';

/** The zone search's suggestions: every IANA zone, built once (about 400). */
let zoneList: HTMLDataListElement | undefined;
function ensureZoneList(): void {
  if (zoneList) return;
  zoneList = document.createElement('datalist');
  zoneList.id = 'tz-list';
  zoneList.innerHTML = timeZones()
    .map((z) => `<option value="${escapeHtml(z)}"></option>`)
    .join('');
  document.body.append(zoneList);
}

async function optionsFor(ctx: Ctx, dim: string): Promise<Array<[string, string]>> {
  const report = ctx.models.find((m) => hasDimensions(m, [dim]));
  if (!report) return [];
  const nameCol = report.dimensions.find((d) => d.name === dim)?.nameColumn;
  const params = new URLSearchParams({
    from: ctx.range.from,
    to: ctx.range.to,
    tz: ctx.state.tz,
    grain: 'total',
    by: dim,
    metrics: '',
    totals: 'false',
    names: 'true',
    limit: '500',
  });
  const res = await getJson<ReportResponse>(`/v1/reports/${report.name}`, params);
  return res.rows
    .filter((r) => r[dim] !== '' && r[dim] !== 'ALL')
    .map((r) => {
      const id = String(r[dim]);
      const name = nameCol ? r[nameCol] : null;
      return [id, name ? `${name} (${id})` : id];
    });
}

export async function renderFilters(ctx: Ctx, form: HTMLFormElement): Promise<void> {
  const s = ctx.state;
  ensureZoneList();
  const opts = await Promise.all(
    FILTER_DIMENSIONS.map((d) => optionsFor(ctx, d.name).catch((): Array<[string, string]> => [])),
  );
  const option = (v: string, l: string, cur: string) =>
    `<option value="${escapeHtml(v)}"${v === cur ? ' selected' : ''}>${escapeHtml(l)}</option>`;
  form.innerHTML = `
    <label>Dates <select name="preset">${PRESETS.map((p) => option(p.id, p.label, s.preset)).join('')}</select></label>
    <label class="dates">From <input type="date" name="from" value="${ctx.range.from}"></label>
    <label class="dates">To <input type="date" name="to" value="${ctx.range.to}"></label>
    <label>Time zone <input name="tz" list="tz-list" value="${escapeHtml(s.tz)}" size="16" autocomplete="off" spellcheck="false" placeholder="Search zones"></label>
    ${FILTER_DIMENSIONS.map((d, i) => {
      const cur = s.filters[d.name] ?? '';
      const list = opts[i]!;
      // Keep a value from the URL even when it has no data in this range.
      if (cur && !list.some(([v]) => v === cur)) list.unshift([cur, cur]);
      return `<label class="dimension">${d.label} <select name="${d.name}">${option('', 'All', cur)}${list.map(([v, l]) => option(v, l, cur)).join('')}</select></label>`;
    }).join('')}
    <button type="button" name="reset" class="dimension">Clear filters</button>`;
  form.onchange = (e) => {
    const t = e.target as HTMLInputElement;
    if (t.name === 'preset') ctx.update({ preset: t.value, from: ctx.range.from, to: ctx.range.to });
    else if (t.name === 'from' || t.name === 'to') {
      const from = t.name === 'from' ? t.value : ctx.range.from;
      const to = t.name === 'to' ? t.value : ctx.range.to;
      const [first, last] = [from, to].sort();
      if (first && last) ctx.update({ preset: 'custom', from: first, to: last });
    } else if (t.name === 'tz') applyZone(ctx, t);
    else {
      const filters = { ...s.filters };
      if (t.value) filters[t.name] = t.value;
      else delete filters[t.name];
      ctx.update({ filters });
    }
  };
  form.onclick = (e) => {
    if ((e.target as HTMLButtonElement).name === 'reset') ctx.update({ filters: {} });
  };
  // Enter in the zone search submits the form: take the zone as typed.
  form.onsubmit = (e) => {
    e.preventDefault();
    applyZone(ctx, form.elements.namedItem('tz') as HTMLInputElement);
  };
}

function applyZone(ctx: Ctx, input: HTMLInputElement): void {
  const tz = input.value.trim();
  input.setCustomValidity(isTimeZone(tz) ? '' : `${tz} is not an IANA time zone`);
  if (!input.reportValidity() || tz === ctx.state.tz) return;
  ctx.update({ tz });
}
