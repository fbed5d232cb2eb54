import type { Command } from 'commander';
import { parseParams } from '../../analyses/analysis.js';
import { usage } from '../../errors.js';
import { type RecommendModel, recommendationParams, recommendFor } from '../../models/recommend.js';
import { loadModel } from '../../models/store.js';
import { toCsv, toTable } from '../../reports/format.js';
import { contextOf } from '../context.js';

const COLUMNS = ['rank', 'ad_id', 'score'].map((name) => ({ name, kind: 'metric' }));

export function register(program: Command): void {
  program
    .command('recommend')
    .description("A user's top ads by the model of `adpipe model recommend train`")
    .requiredOption('--user <id>', 'user_id')
    .option('--top <n>', 'how many ads (default 10)')
    .option('--format <fmt>', 'table|csv|json', 'table')
    .action(async (opts: { user: string; top?: string; format: string }, cmd: Command) => {
      const { dataDir } = contextOf(cmd);
      if (!['table', 'csv', 'json'].includes(opts.format)) throw usage('--format must be table, csv or json');
      const { user, top } = parseParams('recommend', recommendationParams, {
        user: opts.user,
        top: opts.top,
      });
      const r = recommendFor(await loadModel<RecommendModel>(dataDir, 'recommend'), user, top);
      const table = { columns: COLUMNS, rows: r.rows };
      const footer = `(${r.rows.length} ads for ${user}, ${r.source === 'als' ? 'by ALS' : 'most popular: the model has not seen this user'})`;
      process.stdout.write(
        opts.format === 'json'
          ? `${JSON.stringify(r, null, 2)}\n`
          : opts.format === 'csv'
            ? toCsv(table)
            : toTable(table, footer),
      );
    });
}
