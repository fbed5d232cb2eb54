// The Audience page: daily, weekly and monthly active users with stickiness, and weekly retention
// of each cohort as a heatmap.

import { type AnalysisResult, getAnalysis } from './analysis';
import { chartIn } from './charts';
import { type Ctx, setStatus } from './context';

export async function renderActiveUsers(ctx: Ctx, status: HTMLElement, chartEl: HTMLElement): Promise<void> {
  setStatus(status, 'loading');
  const chart = chartIn(chartEl);
  try {
    const res = await getAnalysis(ctx, 'active-users');
    const column = (name: string) => res.rows.map((r) => Number(r[name]));
    const counts = ['dau', 'wau', 'mau'].map((name) => ({
      name: name.toUpperCase(),
      type: 'line',
      showSymbol: false,
      data: column(name),
    }));
    const stickiness = {
      name: 'Stickiness (DAU/MAU)',
      type: 'line',
      yAxisIndex: 1,
      showSymbol: false,
      lineStyle: { type: 'dashed' },
      data: res.rows.map((r) => (r.stickiness === null ? null : Number(r.stickiness))),
    };
    setStatus(status, res.rows.some((r) => Number(r.dau) > 0) ? 'none' : 'empty');
    chart.setOption(
      {
        animation: false,
        tooltip: { trigger: 'axis' },
        legend: { top: 0 },
        grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: res.rows.map((r) => r.date) },
        yAxis: [
          { type: 'value', name: 'users' },
          { type: 'value', name: 'stickiness', min: 0, max: 1, splitLine: { show: false } },
        ],
        series: [...counts, stickiness],
      },
      true,
    );
    chartEl.dataset.dau = String(column('dau').reduce((a, b) => a + b, 0));
  } catch (err) {
    chart.clear();
    setStatus(status, 'error', `Could not load active users: ${(err as Error).message}`);
  }
}

/** The week_k columns of the retention analysis, in order. */
function weekColumns(res: AnalysisResult): string[] {
  return res.columns.map((c) => c.name).filter((n) => n.startsWith('week_'));
}

export async function renderRetention(ctx: Ctx, status: HTMLElement, chartEl: HTMLElement): Promise<void> {
  setStatus(status, 'loading');
  const chart = chartIn(chartEl);
  try {
    const res = await getAnalysis(ctx, 'retention');
    const weeks = weekColumns(res);
    const cohorts = res.rows.map((r) => `${r.cohort_week} (${r.users})`);
    // [week, cohort, share]; weeks with no value yet are left out, not drawn as 0 %.
    const cells = res.rows.flatMap((r, y) =>
      weeks.flatMap((w, x) => (r[w] === null || r[w] === '' ? [] : [[x, y, Number(r[w])]])),
    );
    setStatus(status, res.rows.length ? 'none' : 'empty');
    chart.setOption(
      {
        animation: false,
        tooltip: {
          formatter: (p: { value: number[] }) =>
            `${cohorts[p.value[1]!]}, ${weeks[p.value[0]!]}: ${(p.value[2]! * 100).toFixed(1)}%`,
        },
        grid: { left: 8, right: 16, top: 8, bottom: 56, containLabel: true },
        xAxis: { type: 'category', data: weeks.map((w) => w.replace('week_', 'week ')) },
        yAxis: { type: 'category', data: cohorts, inverse: true },
        visualMap: {
          min: 0,
          max: 1,
          orient: 'horizontal',
          left: 'center',
          bottom: 0,
          calculable: true,
          formatter: (v: number) => `${Math.round(v * 100)}%`,
        },
        series: [
          {
            type: 'heatmap',
            data: cells,
            label: { show: true, formatter: (p: { value: number[] }) => `${Math.round(p.value[2]! * 100)}%` },
          },
        ],
      },
      true,
    );
    chartEl.dataset.cohorts = String(res.rows.length);
    chartEl.dataset.users = String(res.rows.reduce((a, r) => a + Number(r.users), 0));
  } catch (err) {
    chart.clear();
    setStatus(status, 'error', `Could not load retention: ${(err as Error).message}`);
  }
}
