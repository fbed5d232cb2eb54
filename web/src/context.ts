// What every panel needs: the report model, the view state, the resolved date range, and a way to
// build a report query with the filters that apply to that report.

import type { ReportModel } from './api';
import { FILTER_DIMENSIONS, type ViewState } from './state';

export interface Ctx {
  models: ReportModel[];
  state: ViewState;
  range: { from: string; to: string };
  /** The local hour (YYYY-MM-DDTHH:00) of the newest event: later periods have no data yet. */
  latest: string;
  /** Re-render after a state change (and write it to the URL). */
  update(change: Partial<ViewState>): void;
}

export function model(ctx: Ctx, name: string): ReportModel {
  return ctx.models.find((m) => m.name === name) ?? ctx.models[0]!;
}

export function hasDimensions(m: ReportModel, dims: string[]): boolean {
  return dims.every((d) => m.dimensions.some((x) => x.name === d));
}

/** Query parameters for a report; filters on dimensions the report lacks are listed, not sent. */
export function reportQuery(
  ctx: Ctx,
  report: string,
  extra: Record<string, string>,
): { params: URLSearchParams; skipped: string[] } {
  const m = model(ctx, report);
  const params = new URLSearchParams({ from: ctx.range.from, to: ctx.range.to, tz: ctx.state.tz, ...extra });
  const skipped: string[] = [];
  for (const [dim, value] of Object.entries(ctx.state.filters)) {
    if (hasDimensions(m, [dim])) params.append('filter', `${dim}:${value}`);
    else skipped.push(FILTER_DIMENSIONS.find((f) => f.name === dim)?.label ?? dim);
  }
  return { params, skipped };
}

export function skippedNote(skipped: string[], report: ReportModel): string {
  return skipped.length
    ? `Not filtered by ${skipped.join(', ')}: the ${report.title} report has no such dimension.`
    : '';
}

export function setStatus(
  el: HTMLElement,
  kind: 'loading' | 'empty' | 'error' | 'note' | 'none',
  text = '',
): void {
  el.className = `status ${kind}`;
  el.textContent =
    kind === 'loading'
      ? 'Loading…'
      : kind === 'empty'
        ? text || 'No data for this range and these filters.'
        : text;
}
