// KPI tiles: totals of the range from the engine, with the change against the previous period of
// the same length (while the range is running, the same time into it). Each group reads the first report that has every filtered dimension.

import { getJson, type ReportResponse } from './api';
import { type Ctx, hasDimensions, reportQuery } from './context';
import { escapeHtml, formatChange, formatValue, type Kind } from './format';

interface Tile {
  label: string;
  /** The value's name in the report: the first one present. */
  names: string[];
  kind: Kind;
}

const GROUPS: Array<{ reports: string[]; tiles: Tile[] }> = [
  {
    reports: ['ad_request', 'demand'],
    tiles: [
      { label: 'Requests', names: ['requests'], kind: 'count' },
      { label: 'Fill rate', names: ['fill_rate'], kind: 'percent' },
    ],
  },
  {
    reports: ['ad', 'media', 'demand', 'campaign'],
    tiles: [
      { label: 'Impressions', names: ['impressions'], kind: 'count' },
      { label: 'Clicks', names: ['clicks'], kind: 'count' },
      { label: 'CTR', names: ['ctr'], kind: 'percent' },
      { label: 'Revenue', names: ['revenue', 'gross_revenue'], kind: 'money' },
      { label: 'eCPM', names: ['ecpm'], kind: 'money' },
    ],
  },
];

function tileHtml(t: Tile, body: string, cls = ''): string {
  const id = t.names[0];
  return `<div class="kpi ${cls}" data-kpi="${id}"><div class="kpi-label">${t.label}</div>${body}</div>`;
}

export async function renderKpis(ctx: Ctx, el: HTMLElement): Promise<void> {
  const filtered = Object.keys(ctx.state.filters);
  el.innerHTML = GROUPS.flatMap((g) =>
    g.tiles.map((t) => tileHtml(t, '<div class="kpi-value">…</div>', 'loading')),
  ).join('');
  const parts = await Promise.all(
    GROUPS.map(async (g) => {
      const report = g.reports.find((r) => hasDimensions(ctx.models.find((m) => m.name === r)!, filtered));
      if (!report)
        return g.tiles.map((t) =>
          tileHtml(
            t,
            '<div class="kpi-value">n/a</div><div class="kpi-note">not available with these filters</div>',
          ),
        );
      try {
        const { params } = reportQuery(ctx, report, { by: '', grain: 'total', compare: 'previous' });
        const res = await getJson<ReportResponse>(`/v1/reports/${report}`, params);
        // A running period is compared with the same time into the previous one (the API cuts it).
        const c = res.compare;
        const upTo = c?.before
          ? `, up to ${new Date(c.before).toLocaleString('en-CA', { timeZone: ctx.state.tz, hourCycle: 'h23' })}`
          : '';
        const against = c ? `compared with ${c.from} to ${c.to}${upTo}` : '';
        return g.tiles.map((t) => {
          const name = t.names.find((n) => res.totals && n in res.totals) ?? t.names[0]!;
          const change = formatChange(res.compare?.change[name]);
          return tileHtml(
            t,
            `<div class="kpi-value" data-value="${escapeHtml(String(res.totals?.[name] ?? ''))}">${formatValue(res.totals?.[name], t.kind)}</div>
             <div class="kpi-change ${change.cls}" title="${escapeHtml(against)}">${change.text}${c?.before ? ', same hours' : ''}</div><div class="kpi-note">from the ${report} report</div>`,
          );
        });
      } catch (err) {
        return g.tiles.map((t) =>
          tileHtml(
            t,
            `<div class="kpi-value">!</div><div class="kpi-note error">${escapeHtml((err as Error).message)}</div>`,
          ),
        );
      }
    }),
  );
  el.innerHTML = parts.flat().join('');
}
