// The Attribution page: the chosen model's conversions and revenue per campaign, and the five
// models side by side (conversions per campaign per model), over the same lookback.

import { type AnalysisResult, analysisTable, getAnalysis } from './analysis';
import { type Ctx, setStatus } from './context';
import { escapeHtml, select } from './format';
import { ATTRIBUTION_MODELS } from './state';

const LOOKBACKS = ['1h', '24h', '7d', '30d'];

export function renderAttributionControls(ctx: Ctx, el: HTMLElement): void {
  const lookbacks = LOOKBACKS.includes(ctx.state.attrLookback)
    ? LOOKBACKS
    : [ctx.state.attrLookback, ...LOOKBACKS];
  el.innerHTML =
    select(
      'model',
      'Model',
      ATTRIBUTION_MODELS.map((m) => [m, m]),
      ctx.state.attrModel,
    ) +
    select(
      'lookback',
      'Lookback',
      lookbacks.map((l) => [l, l]),
      ctx.state.attrLookback,
    );
  el.onchange = (e) => {
    const t = e.target as HTMLSelectElement;
    if (t.name === 'model') ctx.update({ attrModel: t.value });
    if (t.name === 'lookback') ctx.update({ attrLookback: t.value });
  };
}

export async function renderAttribution(
  ctx: Ctx,
  status: HTMLElement,
  tableEl: HTMLElement,
  compareEl: HTMLElement,
): Promise<void> {
  setStatus(status, 'loading');
  try {
    const results = await Promise.all(
      ATTRIBUTION_MODELS.map((model) =>
        getAnalysis(ctx, 'attribution', { model, lookback: ctx.state.attrLookback }),
      ),
    );
    // A model the URL names that does not exist falls back to the API's default, last touch.
    const index = (ATTRIBUTION_MODELS as readonly string[]).indexOf(ctx.state.attrModel);
    const chosen = results[index >= 0 ? index : ATTRIBUTION_MODELS.indexOf('last')]!;
    if (chosen.rows.length === 0) {
      setStatus(status, 'empty', 'No conversions in this range.');
      tableEl.innerHTML = compareEl.innerHTML = '';
      return;
    }
    setStatus(status, 'note', `${chosen.meta.conversions} conversions, model ${chosen.meta.model}.`);
    tableEl.innerHTML = analysisTable(chosen.rows, [
      { name: 'campaign_id', label: 'Campaign' },
      { name: 'conversions', label: 'Conversions', kind: 'ratio' },
      { name: 'revenue', label: 'Revenue', kind: 'money' },
    ]);
    compareEl.innerHTML = comparison(results);
  } catch (err) {
    tableEl.innerHTML = compareEl.innerHTML = '';
    setStatus(status, 'error', `Could not load attribution: ${(err as Error).message}`);
  }
}

/** Conversions per campaign (rows) per model (columns), campaigns in the order of the last model. */
function comparison(results: AnalysisResult[]): string {
  const campaigns = [...new Set(results.flatMap((r) => r.rows.map((row) => String(row.campaign_id))))];
  const credit = (res: AnalysisResult, campaign: string) =>
    res.rows.find((row) => String(row.campaign_id) === campaign)?.conversions ?? '0';
  const head = ATTRIBUTION_MODELS.map((m) => `<th class="num">${m}</th>`).join('');
  const rows = campaigns
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c)}</td>${results
          .map((res, i) => {
            const v = String(credit(res, c));
            return `<td class="num" data-model="${ATTRIBUTION_MODELS[i]}" data-value="${v}">${Number(v).toFixed(2)}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('');
  return `<table class="breakdown"><thead><tr><th>Campaign</th>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}
