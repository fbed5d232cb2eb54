import type { Command } from 'commander';
import { type CtrModel, trainCtr } from '../../models/ctr.js';
import { saveModel } from '../../models/store.js';
import { Warehouse } from '../../warehouse/warehouse.js';
import { contextOf } from '../context.js';

const f4 = (x: number) => x.toFixed(4);

/** What a person reads after training: the data used, held-out metrics beside the base rate, calibration. */
function ctrReport(m: CtrModel, file: string): string {
  const { train, held_out, calibration } = m.metrics;
  const header = ['bin', 'impressions', 'clicks', 'avg_predicted', 'observed_ctr'];
  const table = [
    header,
    ...calibration.map((b) => [
      String(b.bin),
      String(b.trials),
      String(b.successes),
      f4(b.avg_predicted),
      b.observed === null ? '' : f4(b.observed),
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  return [
    `ctr model, ${m.range.from} to ${m.range.to} (${m.range.tz}), ${m.features.names.length} hashed features in 2^${m.features.bits} buckets, l2 ${m.l2}`,
    `train: ${train.impressions} impressions, ${train.clicks} clicks, ${train.rows} feature combinations (${m.metrics.iterations} Newton steps)`,
    `held out: ${held_out.impressions} impressions, ${held_out.clicks} clicks`,
    `log-loss ${f4(m.metrics.log_loss)} (base rate ${f4(m.metrics.base_rate)}: ${f4(m.metrics.base_log_loss)}), AUC ${f4(m.metrics.auc)}`,
    'calibration on held-out impressions, 10 bins of about equal impressions by predicted CTR:',
    ...table.map((r) => r.map((c, i) => c.padStart(widths[i]!)).join('  ')),
    `saved ${file}`,
    '',
  ].join('\n');
}

export function register(program: Command): void {
  const model = program.command('model').description('Train the models of docs/analyses.md (CTR)');
  model
    .command('ctr')
    .description('Click-through-rate model: logistic regression on hashed impression features')
    .command('train')
    .description('Fit on the lake and save <data-dir>/models/ctr.json')
    .option('--from <date>', 'first local date, inclusive (default: first date with events)')
    .option('--to <date>', 'last local date, inclusive (default: last date with events)')
    .option('--tz <zone>', 'IANA time zone of the dates (default: config tz)')
    .option('--l2 <lambda>', 'L2 penalty on the weights (default 1)')
    .option('--bits <n>', 'hash features into 2^n buckets, 8 to 18 (default 18)')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const { config, dataDir } = contextOf(cmd);
      const wh = await Warehouse.open(dataDir, { readOnly: true });
      let trained: CtrModel;
      try {
        trained = await trainCtr(wh, config, opts);
      } finally {
        wh.close();
      }
      const file = await saveModel(dataDir, 'ctr', trained);
      process.stdout.write(ctrReport(trained, file));
    });
}
