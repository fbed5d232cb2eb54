// The Experiments page: pick an experiment of the config, see each variant's users, converters,
// conversion rate and lift against the control with its 95 % interval and p-value, and a warning
// when the split itself is broken (sample-ratio mismatch).

import { analysisTable, getAnalysis } from './analysis';
import { getJson, type Row } from './api';
import { type Ctx, setStatus } from './context';
import { escapeHtml, formatValue, select } from './format';

export interface ExperimentInfo {
  name: string;
  control: string;
  variants: Array<{ name: string; weight: number }>;
}

let experiments: Promise<ExperimentInfo[]> | undefined;
/** The config's experiments, asked for once. */
function experimentList(): Promise<ExperimentInfo[]> {
  experiments ??= getJson<{ experiments: ExperimentInfo[] }>('/v1/experiments').then((r) => r.experiments);
  return experiments;
}

const percent = (v: Row[string]) => formatValue(v, 'percent');

export async function renderExperiment(
  ctx: Ctx,
  controls: HTMLElement,
  status: HTMLElement,
  banner: HTMLElement,
  tableEl: HTMLElement,
): Promise<void> {
  setStatus(status, 'loading');
  banner.hidden = true;
  try {
    const list = await experimentList();
    if (list.length === 0) {
      controls.innerHTML = tableEl.innerHTML = '';
      setStatus(status, 'empty', 'No experiments are declared in the config (experiments: in adpipe.yaml).');
      return;
    }
    const chosen = list.find((e) => e.name === ctx.state.experiment) ?? list[0]!;
    const split = chosen.variants.map((v) => `${v.name} ${v.weight}`).join(' / ');
    controls.innerHTML = `${select(
      'experiment',
      'Experiment',
      list.map((e) => [e.name, e.name]),
      chosen.name,
    )} <span class="muted">split ${escapeHtml(split)}, control ${escapeHtml(chosen.control)}</span>`;
    controls.onchange = (e) => ctx.update({ experiment: (e.target as HTMLSelectElement).value });

    const res = await getAnalysis(ctx, 'ab', { experiment: chosen.name });
    if (res.meta.srm === true) {
      banner.hidden = false;
      banner.textContent = `Sample-ratio mismatch: the users per variant do not match the declared split ${split} (χ² = ${Number(res.meta.srm_chi2).toFixed(1)}, p = ${Number(res.meta.srm_p_value).toPrecision(3)}). Assignment or logging is broken; do not trust these results.`;
    }
    setStatus(status, res.rows.some((r) => Number(r.users) > 0) ? 'none' : 'empty');
    tableEl.innerHTML = analysisTable(res.rows, [
      { name: 'variant', label: 'Variant' },
      { name: 'users', label: 'Users', kind: 'count' },
      { name: 'converters', label: 'Converters', kind: 'count' },
      { name: 'conversion_rate', label: 'Conversion rate', kind: 'percent' },
      { name: 'revenue_per_user', label: 'Revenue per user', kind: 'money' },
      { name: 'lift', label: 'Lift', kind: 'percent' },
      {
        name: 'ci',
        label: '95 % interval of the difference',
        text: (r) => (r.ci_low === null ? '–' : `${percent(r.ci_low)} to ${percent(r.ci_high)}`),
      },
      { name: 'p_value', label: 'p-value', text: (r) => String(r.p_value ?? '–') },
    ]);
  } catch (err) {
    tableEl.innerHTML = '';
    setStatus(status, 'error', `Could not load the experiment: ${(err as Error).message}`);
  }
}
