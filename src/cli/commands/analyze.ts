import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { AnalysisResult } from '../../analyses/analysis.js';
import { ANALYSES, findAnalysis, formatAnalysis } from '../../analyses/registry.js';
import { AdpipeError, usage } from '../../errors.js';
import type { OutputFormat } from '../../reports/format.js';
import { contextOf } from '../context.js';
import { ask, onServerOr } from '../remote.js';
import { withWriter } from '../writer.js';

/** commander's camelCase option names as the analyses' snake_case parameters (halfLife → half_life). */
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function register(program: Command): void {
  program
    .command('analyze')
    .description(
      `Run an analysis over the lake (${ANALYSES.map((a) => a.name).join(', ')}); see docs/analyses.md`,
    )
    .argument('<name>', 'analysis name')
    .option('--from <date>', 'first local date, inclusive (YYYY-MM-DD; default: first date with events)')
    .option('--to <date>', 'last local date, inclusive (YYYY-MM-DD; default: last date with events)')
    .option('--tz <zone>', 'IANA time zone for dates (default: config tz, else UTC)')
    .option('--format <fmt>', 'table|csv|json', 'table')
    .option('--by <dim>', 'active-users: a leading column, media_id|app_type|country')
    .option('--gap <duration>', 'sessions, segments: inactivity that ends a session (default 30m)')
    .option('--summary', 'segments: users and revenue per segment')
    .option('--model <model>', 'attribution: first|last|linear|time-decay|position (default last)')
    .option('--lookback <duration>', 'attribution: touches this long before a conversion count (default 24h)')
    .option('--half-life <duration>', 'attribution time-decay: weight halves every (default 7d)')
    .option('--experiment <name>', 'ab: the experiment, as declared in the config')
    .option('--k <n>', 'audiences: number of clusters (default 5)')
    .option('--seed <n>', 'audiences: seed of the k-means++ initialisation (default 42)')
    .action(async (name: string, opts: Record<string, unknown>, cmd: Command) => {
      const { config, dataDir } = contextOf(cmd);
      const { format, ...given } = opts;
      if (!['table', 'csv', 'json'].includes(format as string))
        throw usage('--format must be table, csv or json');
      const analysis = findAnalysis(name);
      const params = Object.fromEntries(Object.entries(given).map(([k, v]) => [snake(k), v]));
      const result = await onServerOr(
        { config, dataDir },
        (server) => {
          const given = Object.entries(params).filter(([, v]) => v !== undefined);
          const q = new URLSearchParams(given.map(([k, v]): [string, string] => [k, String(v)]));
          return ask<AnalysisResult>(server, 'GET', `/v1/analysis/${encodeURIComponent(analysis.name)}?${q}`);
        },
        async () => {
          // Nothing to analyse is the reader's answer, not a new empty warehouse.
          if (!existsSync(path.join(dataDir, 'warehouse.duckdb')))
            throw new AdpipeError('ADP_ERR_WAREHOUSE_NO_DATA', [dataDir]);
          // As the data dir's writer: the analysis folds the batches committed since the last one into
          // the activity tables (src/analyses/activity.ts) before reading them.
          return withWriter(dataDir, (wh) => analysis.run(wh, config, params));
        },
      );
      process.stdout.write(formatAnalysis(result, format as OutputFormat));
    });
}
