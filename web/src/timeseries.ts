// Any measure of any report over time, by hour or day in the chosen zone, optionally stacked by a
// dimension (top 8, the rest as "other").

import { getJson, type ReportResponse } from './api';
import { chartIn } from './charts';
import { type Ctx, model, reportQuery, setStatus, skippedNote } from './context';
import { select } from './format';
import { previousRange } from './state';

const DAY = 86_400_000;

/** Every period of the range, so gaps show as zero rather than vanishing. */
function periods(from: string, to: string, grain: 'hour' | 'day'): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY) {
    const day = new Date(t).toISOString().slice(0, 10);
    if (grain === 'day') out.push(day);
    else for (let h = 0; h < 24; h++) out.push(`${day}T${String(h).padStart(2, '0')}:00`);
  }
  return out;
}

/** The same query over another range, as one total (no stacking, no top N). */
function withRange(params: URLSearchParams, range: { from: string; to: string }): URLSearchParams {
  const out = new URLSearchParams(params);
  for (const k of ['top', 'order']) out.delete(k);
  out.set('by', '');
  out.set('from', range.from);
  out.set('to', range.to);
  return out;
}

/** Sums a measure per period (of `x`) and per series label. */
function seriesOf(
  rows: ReportResponse['rows'],
  x: string[],
  periodCol: string,
  measure: string,
  label: (r: ReportResponse['rows'][number]) => string,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of rows) {
    const key = label(r);
    if (!out.has(key)) out.set(key, new Array(x.length).fill(0));
    const i = x.indexOf(String(r[periodCol]));
    if (i >= 0) out.get(key)![i]! += Number(r[measure]);
  }
  return out;
}

export function renderTimeseriesControls(ctx: Ctx, el: HTMLElement): void {
  const m = model(ctx, ctx.state.tsReport);
  const measures: Array<[string, string]> = ctx.models.flatMap((r) =>
    r.measures.map((x) => [`${r.name}.${x.name}`, `${x.label} (${r.title})`] as [string, string]),
  );
  const measure = m.measures.some((x) => x.name === ctx.state.tsMeasure)
    ? ctx.state.tsMeasure
    : m.measures[0]!.name;
  el.innerHTML =
    select('measure', 'Measure', measures, `${m.name}.${measure}`) +
    select(
      'grain',
      'By',
      [
        ['hour', 'hour'],
        ['day', 'day'],
      ],
      ctx.state.tsGrain,
    ) +
    select(
      'stack',
      'Stacked by',
      [['', 'nothing'], ...m.dimensions.map((d) => [d.name, d.label] as [string, string])],
      ctx.state.tsStack,
    ) +
    `<label><input type="checkbox" name="compare"${ctx.state.tsCompare ? ' checked' : ''}> Previous period</label>`;
  el.onchange = (e) => {
    const t = e.target as HTMLInputElement;
    if (t.name === 'compare') ctx.update({ tsCompare: t.checked });
    else if (t.name === 'measure') {
      const [tsReport, tsMeasure] = t.value.split('.') as [string, string];
      const keepStack = model(ctx, tsReport).dimensions.some((d) => d.name === ctx.state.tsStack);
      ctx.update({ tsReport, tsMeasure, tsStack: keepStack ? ctx.state.tsStack : '' });
    } else if (t.name === 'grain') ctx.update({ tsGrain: t.value as 'hour' | 'day' });
    else ctx.update({ tsStack: t.value });
  };
}

export async function renderTimeseries(ctx: Ctx, status: HTMLElement, chartEl: HTMLElement): Promise<void> {
  const m = model(ctx, ctx.state.tsReport);
  const measure = m.measures.find((x) => x.name === ctx.state.tsMeasure) ?? m.measures[0]!;
  const stack = m.dimensions.find((d) => d.name === ctx.state.tsStack);
  const { grain } = { grain: ctx.state.tsGrain };
  const { params, skipped } = reportQuery(ctx, m.name, {
    grain,
    by: stack?.name ?? '',
    metrics: '',
    totals: 'false',
    names: 'true',
    ...(stack ? { top: '8', order: `-${measure.name}` } : {}),
  });
  setStatus(status, 'loading');
  const chart = chartIn(chartEl);
  const previous = previousRange(ctx.range);
  try {
    const [res, prev] = await Promise.all([
      getJson<ReportResponse>(`/v1/reports/${m.name}`, params),
      ctx.state.tsCompare
        ? getJson<ReportResponse>(`/v1/reports/${m.name}`, withRange(params, previous))
        : undefined,
    ]);
    // Periods after the newest event have no data yet: left out, not drawn as a fall to zero.
    const cut = grain === 'hour' ? ctx.latest : ctx.latest.slice(0, 10);
    const all = periods(ctx.range.from, ctx.range.to, grain);
    const x = all.filter((p) => p <= cut);
    const periodCol = res.columns[0]!.name;
    const label = (r: Record<string, unknown>) => {
      if (!stack) return measure.label;
      const id = String(r[stack.name] ?? '');
      const name = stack.nameColumn ? r[stack.nameColumn] : null;
      return id === '' ? '(none)' : name ? `${name} (${id})` : id;
    };
    const rows = stack ? res.rows.filter((r) => r[stack.name] !== 'ALL') : res.rows;
    const series = seriesOf(rows, x, periodCol, measure.name, label);
    // The previous period, aligned period by period with this one, as one total line.
    const before = prev
      ? (
          seriesOf(
            prev.rows,
            periods(previous.from, previous.to, grain),
            periodCol,
            measure.name,
            () => '',
          ).get('') ?? new Array<number>(all.length).fill(0)
        ).slice(0, x.length)
      : undefined;
    const note = skippedNote(skipped, m);
    if (res.rows.length === 0) setStatus(status, 'empty', note ? `No data. ${note}` : '');
    else setStatus(status, note ? 'note' : 'none', note);
    chart.setOption(
      {
        animation: false,
        tooltip: { trigger: 'axis' },
        legend: { type: 'scroll', top: 0 },
        grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: grain === 'hour' ? x.map((p) => p.replace('T', ' ')) : x },
        yAxis: { type: 'value' },
        series: [
          ...[...series].map(([name, data]) => ({
            name,
            type: stack ? 'bar' : 'line',
            stack: stack ? 'total' : undefined,
            areaStyle: stack ? undefined : { opacity: 0.15 },
            showSymbol: false,
            data,
          })),
          ...(prev
            ? [
                {
                  name: `Previous period (${previous.from} to ${previous.to})`,
                  type: 'line',
                  showSymbol: false,
                  lineStyle: { type: 'dashed', color: '#888' },
                  itemStyle: { color: '#888' },
                  data: before,
                },
              ]
            : []),
        ],
      },
      true,
    );
    chartEl.dataset.series = String(series.size);
    chartEl.dataset.previous = before ? String(before.reduce((a, b) => a + b, 0)) : '';
    chartEl.dataset.sum = String([...series.values()].flat().reduce((a, b) => a + b, 0));
  } catch (err) {
    chart.clear();
    setStatus(status, 'error', `Could not load the chart: ${(err as Error).message}`);
  }
}
