import type { Command } from 'commander';
import { usage } from '../../errors.js';
import { formatReport, type OutputFormat } from '../../reports/format.js';
import { derivedMetrics, REPORTS, rollupDimensions } from '../../reports/model.js';
import { GRAINS, type Grain, type ReportRequest, type ReportResult, runReport } from '../../reports/query.js';
import { Warehouse } from '../../warehouse/warehouse.js';
import { contextOf } from '../context.js';
import { ask, onServerOr, type Server } from '../remote.js';

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function parseFilters(values: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const v of values) {
    const at = v.indexOf(':');
    if (at < 1) throw usage(`--filter expects dim:value1|value2, got ${v}`);
    out[v.slice(0, at)] = v.slice(at + 1).split('|');
  }
  return out;
}

export function register(program: Command): void {
  program
    .command('report')
    .description(`Print a report (${REPORTS.map((r) => r.name).join(', ')}) from the rollups`)
    .argument('<name>', 'report name')
    .option('--from <date>', 'first local date, inclusive (YYYY-MM-DD)')
    .option('--to <date>', 'last local date, inclusive (YYYY-MM-DD)')
    .option('--tz <zone>', 'IANA time zone for dates (default: config tz, else UTC)')
    .option('--grain <grain>', `period: ${GRAINS.join('|')}`, 'day')
    .option('--by <dims>', 'regroup by these dimensions (comma-separated)', list)
    .option(
      '--filter <dim:values>',
      'keep only these values (repeatable; values separated by |)',
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option('--metrics', 'add derived metrics (fill_rate, ctr, ecpm, …)', false)
    .option('--order <col>', 'sort by a column, - for descending')
    .option('--limit <n>', 'at most n rows', (v) => Number(v))
    .option('--format <fmt>', 'table|csv|json', 'table')
    // Evaluated when help is shown, so reports registered by plugins are listed too.
    .addHelpText(
      'after',
      () => `\nReports (dimensions for --by and --filter; measures; --metrics):\n${reportsHelp()}`,
    )
    .action(async (name: string, opts: Record<string, unknown>, cmd: Command) => {
      const { config, dataDir } = contextOf(cmd);
      const format = opts.format as OutputFormat;
      if (!['table', 'csv', 'json'].includes(format)) throw usage('--format must be table, csv or json');
      const request: ReportRequest = {
        report: name,
        from: opts.from as string | undefined,
        to: opts.to as string | undefined,
        tz: (opts.tz as string | undefined) ?? config.tz,
        grain: opts.grain as Grain,
        by: opts.by as string[] | undefined,
        filters: parseFilters(opts.filter as string[]),
        metrics: opts.metrics as boolean,
        order: opts.order as string | undefined,
        limit: opts.limit as number | undefined,
      };
      const result = await onServerOr(
        { config, dataDir },
        (server) => remoteReport(server, request),
        async () => {
          const wh = await Warehouse.open(dataDir, { readOnly: true });
          try {
            return await runReport(wh, request);
          } finally {
            wh.close();
          }
        },
      );
      process.stdout.write(formatReport(result, format));
    });
}

/** The API's largest page: a report without --limit asked of a server stops there. */
const API_MAX_LIMIT = 100_000;

/** The same report from GET /v1/reports/:name, as runReport returns it (no totals, no extra keys). */
async function remoteReport(server: Server, req: ReportRequest): Promise<ReportResult> {
  const q = new URLSearchParams({ totals: 'false', limit: String(req.limit ?? API_MAX_LIMIT) });
  for (const key of ['from', 'to', 'tz', 'grain', 'order'] as const) {
    const v = req[key];
    if (v !== undefined) q.set(key, v);
  }
  if (req.by) q.set('by', req.by.join(','));
  // The API adds every derived metric unless told which: none, as the CLI without --metrics.
  if (req.metrics !== true) q.set('metrics', '');
  for (const [dim, values] of Object.entries(req.filters ?? {}))
    q.append('filter', `${dim}:${values.join('|')}`);
  const { report, tz, grain, columns, rows } = await ask<ReportResult>(
    server,
    'GET',
    `/v1/reports/${encodeURIComponent(req.report)}?${q}`,
  );
  return { report, tz, grain, columns, rows };
}

/** Each report's dimensions, measures and derived metrics, from the report model. */
export function reportsHelp(): string {
  const names = (items: ReadonlyArray<{ name: string }>) => items.map((i) => i.name).join(', ');
  return REPORTS.map(
    (r) =>
      `  ${r.name}: ${r.title}\n` +
      `    dimensions: ${names(rollupDimensions(r))}\n` +
      `    measures:   ${names(r.measures)}\n` +
      `    metrics:    ${names(derivedMetrics(r)) || '(none)'}\n`,
  ).join('');
}
