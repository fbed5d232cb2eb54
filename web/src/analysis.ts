// Analyses (GET /v1/analysis/<name>) over the view's date range and zone, and their rows as a table.

import { getJson, type Row } from './api';
import type { Ctx } from './context';
import { escapeHtml, formatValue, type Kind } from './format';

export interface AnalysisResult {
  analysis: string;
  columns: Array<{ name: string; type: 'text' | 'count' | 'decimal' | 'number' }>;
  rows: Row[];
  meta: Record<string, unknown> & { warnings: string[] };
}

export function getAnalysis(
  ctx: Ctx,
  name: string,
  extra: Record<string, string> = {},
): Promise<AnalysisResult> {
  const params = new URLSearchParams({ from: ctx.range.from, to: ctx.range.to, tz: ctx.state.tz, ...extra });
  return getJson<AnalysisResult>(`/v1/analysis/${name}`, params);
}

export interface TableColumn {
  name: string;
  label: string;
  /** Absent: text. */
  kind?: Kind;
  /** The cell's text, when it is not one formatted value. */
  text?: (r: Row) => string;
}

/** Rows as a table; each numeric cell carries its exact value in data-value. */
export function analysisTable(rows: Row[], columns: TableColumn[]): string {
  const head = columns.map((c) => `<th${c.kind ? ' class="num"' : ''}>${escapeHtml(c.label)}</th>`).join('');
  const cell = (r: Row, c: TableColumn) => {
    const v = r[c.name];
    if (c.text) return `<td class="num" data-col="${c.name}">${escapeHtml(c.text(r))}</td>`;
    if (!c.kind) return `<td data-col="${c.name}">${escapeHtml(String(v ?? '–'))}</td>`;
    return `<td class="num" data-col="${c.name}" data-value="${escapeHtml(String(v ?? ''))}">${formatValue(v, c.kind)}</td>`;
  };
  return `<table class="breakdown"><thead><tr>${head}</tr></thead><tbody>${rows
    .map((r) => `<tr>${columns.map((c) => cell(r, c)).join('')}</tr>`)
    .join('')}</tbody></table>`;
}
