import type { Command } from 'commander';
import type { Config } from '../../config.js';
import { type CtrModel, trainCtr } from '../../models/ctr.js';
import { type RecommendModel, trainRecommend } from '../../models/recommend.js';
import { type ModelName, saveModel } from '../../models/store.js';
import { toTable } from '../../reports/format.js';
import { Warehouse } from '../../warehouse/warehouse.js';
import { contextOf } from '../context.js';

const f4 = (x: number) => x.toFixed(4);

/** The data used, held-out metrics beside the base rate, and the calibration table. */
function ctrReport(m: CtrModel): string {
  const { train, held_out } = m.metrics;
  const calibration = {
    columns: ['bin', 'impressions', 'clicks', 'avg_predicted', 'observed_ctr'].map((name) => ({
      name,
      kind: 'metric',
    })),
    rows: m.metrics.calibration.map((b) => ({
      bin: b.bin,
      impressions: b.trials,
      clicks: b.successes,
      avg_predicted: f4(b.avg_predicted),
      observed_ctr: b.observed === null ? null : f4(b.observed),
    })),
  };
  return [
    `ctr model, ${m.range.from} to ${m.range.to} (${m.range.tz}), ${m.features.names.length} hashed features in 2^${m.features.bits} buckets, l2 ${m.l2}`,
    `train: ${train.impressions} impressions, ${train.clicks} clicks, ${train.rows} feature combinations (${m.metrics.iterations} Newton steps)`,
    `held out: ${held_out.impressions} impressions, ${held_out.clicks} clicks`,
    `log-loss ${f4(m.metrics.log_loss)} (base rate ${f4(m.metrics.base_rate)}: ${f4(m.metrics.base_log_loss)}), AUC ${f4(m.metrics.auc)}`,
    'calibration on held-out impressions, 10 bins of about equal impressions by predicted CTR:',
    toTable(calibration, '').trimEnd(),
  ].join('\n');
}

function recommendReport(m: RecommendModel): string {
  const x = m.metrics;
  const o = m.options;
  return [
    `recommend model, ${m.range.from} to ${m.range.to} (${m.range.tz}), ALS with ${o.factors} factors, ${o.iterations} iterations, l2 ${o.l2}, alpha ${o.alpha}, seed ${o.seed}`,
    `${x.users} users, ${x.ads} ads, ${x.interactions} user-ad pairs with clicks or conversions`,
    `held out: ${x.held_out_interactions} pairs of ${x.evaluated_users} users`,
    `precision@10 ${f4(x.precision_at_10)} (popularity baseline ${f4(x.popularity_precision_at_10)})`,
  ].join('\n');
}

/** `adpipe model <name> train`: fit on a read-only warehouse, save, print the report. */
function trainCommand<M extends object>(
  parent: Command,
  name: ModelName,
  describe: { model: string; options: Array<[string, string]> },
  train: (wh: Warehouse, config: Config, opts: Record<string, unknown>) => Promise<M>,
  report: (m: M) => string,
): void {
  const cmd = parent
    .command(name)
    .description(describe.model)
    .command('train')
    .description(`Fit on the lake and save <data-dir>/models/${name}.json`)
    .option('--from <date>', 'first local date, inclusive (default: first date with events)')
    .option('--to <date>', 'last local date, inclusive (default: last date with events)')
    .option('--tz <zone>', 'IANA time zone of the dates (default: config tz)');
  for (const [flags, help] of describe.options) cmd.option(flags, help);
  cmd.action(async (opts: Record<string, unknown>, self: Command) => {
    const { config, dataDir } = contextOf(self);
    const wh = await Warehouse.open(dataDir, { readOnly: true });
    let trained: M;
    try {
      trained = await train(wh, config, opts);
    } finally {
      wh.close();
    }
    const file = await saveModel(dataDir, name, trained);
    process.stdout.write(`${report(trained)}\nsaved ${file}\n`);
  });
}

export function register(program: Command): void {
  const model = program
    .command('model')
    .description('Train the models of docs/analyses.md (CTR, recommendations)');
  trainCommand(
    model,
    'ctr',
    {
      model: 'Click-through-rate model: logistic regression on hashed impression features',
      options: [
        ['--l2 <lambda>', 'L2 penalty on the weights (default 1)'],
        ['--bits <n>', 'hash features into 2^n buckets, 8 to 18 (default 18)'],
      ],
    },
    trainCtr,
    ctrReport,
  );
  trainCommand(
    model,
    'recommend',
    {
      model: 'Ad recommendations: implicit-feedback ALS on users × ads (clicks, conversions)',
      options: [
        ['--factors <n>', 'latent factors (default 10)'],
        ['--iterations <n>', 'ALS sweeps (default 15)'],
        ['--l2 <lambda>', 'ridge on the factors (default 100)'],
        ['--alpha <a>', 'confidence 1 + alpha × strength (default 10)'],
        ['--seed <n>', 'seed of the initial factors (default 42)'],
      ],
    },
    trainRecommend,
    recommendReport,
  );
}
