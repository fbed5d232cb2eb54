// `npm run bench -- analysis [--events N] [--files K] [--trainings ctr,recommend]`: the analyses of issue #20 over a lake of N
// simulator events (generated and ingested as the batch bench does), each timed in a fresh child
// process so its peak RSS is its own, beside a baseline measured the same way in the same run:
// DuckDB counting distinct users over the same lake. Targets: each ≤ 5× the baseline, RSS < 2 GB.
// The analyses read the activity tables (src/analyses/activity.ts), folded in after the ingest as
// `adpipe analyze` does; that fold is timed on its own, whole and for a last tenth of the files.
// CTR training (target < 60 s) and the ALS recommendations (held-out precision@10 beside the
// popularity baseline) run once each, also in a fresh process.
// The simulator tags every user with experiment `floor_v2` (A/B, half each), which `ab` reads.

import { fork } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { refreshActivity } from '../src/analyses/activity.js';
import { findAnalysis } from '../src/analyses/registry.js';
import { parseConfig } from '../src/config.js';
import { lakeRelation } from '../src/lake/lake.js';
import { loadUnits } from '../src/loader/loader.js';
import { trainCtr } from '../src/models/ctr.js';
import { trainRecommend } from '../src/models/recommend.js';
import { loadMetadata } from '../src/pipeline/metadata.js';
import { EXPERIMENT } from '../src/simulator/catalogue.js';
import { generate } from '../src/simulator/index.js';
import { discoverInputs } from '../src/sources/files/discover.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import { benchDir, numberArg, peakRssMiB, saveResults } from './util.js';

const CONFIG = parseConfig({ experiments: [{ name: EXPERIMENT, variants: { A: 50, B: 50 }, control: 'A' }] });
const BASELINE = 'baseline_count_distinct_users';

/** What each case runs on the warehouse; the analyses with the CLI's parameters. */
const CASES: Record<string, (wh: Warehouse) => Promise<unknown>> = {
  [BASELINE]: async (wh) => wh.one(`SELECT count(DISTINCT user_id) AS users FROM ${await lakeRelation(wh)}`),
  'active-users': (wh) => findAnalysis('active-users').run(wh, CONFIG, {}),
  sessions: (wh) => findAnalysis('sessions').run(wh, CONFIG, {}),
  'attribution last': (wh) => findAnalysis('attribution').run(wh, CONFIG, { model: 'last' }),
  'attribution linear': (wh) => findAnalysis('attribution').run(wh, CONFIG, { model: 'linear' }),
  ab: (wh) => findAnalysis('ab').run(wh, CONFIG, { experiment: EXPERIMENT }),
};

/** Trainings: one timed run each, with the model's figures. */
const TRAININGS: Record<string, (wh: Warehouse) => Promise<Record<string, unknown>>> = {
  'ctr train': async (wh) => {
    const { metrics } = await trainCtr(wh, CONFIG, {});
    return { log_loss: metrics.log_loss, base_log_loss: metrics.base_log_loss, auc: metrics.auc };
  },
  'recommend train': async (wh) => ({ ...(await trainRecommend(wh, CONFIG, {})).metrics }),
};

interface Measure {
  seconds: number;
  peak_rss_mib: number;
  figures?: Record<string, unknown>;
}

const RUNS = 3;

/**
 * In the child: one case on a read-only warehouse — the median of RUNS runs after one warm-up (at
 * small sizes a single run is mostly noise) — and the process's peak RSS.
 */
async function measure(name: string, dataDir: string): Promise<Measure> {
  const wh = await Warehouse.open(dataDir, { readOnly: true });
  const training = TRAININGS[name];
  if (training) {
    const started = performance.now();
    const figures = await training(wh);
    wh.close();
    return { seconds: (performance.now() - started) / 1000, peak_rss_mib: peakRssMiB(), figures };
  }
  await CASES[name]!(wh);
  const seconds: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await CASES[name]!(wh);
    seconds.push((performance.now() - started) / 1000);
  }
  wh.close();
  return { seconds: seconds.sort((a, b) => a - b)[RUNS >> 1]!, peak_rss_mib: peakRssMiB() };
}

/** Runs a case in a fresh process (this file, under the same loader flags). */
function inChild(name: string, dataDir: string): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--bench-child', name, dataDir]);
    child.once('message', (m) => resolve(m as Measure));
    child.once('exit', (code) => code !== 0 && reject(new Error(`${name}: child exited ${code}`)));
  });
}

if (process.argv[2] === '--bench-child') {
  const [name, dataDir] = process.argv.slice(3) as [string, string];
  process.send!(await measure(name, dataDir));
  process.disconnect();
}

export async function run(args: string[]): Promise<void> {
  const events = numberArg(args, 'events', 10_000_000);
  const files = numberArg(args, 'files', 100);
  // ALS in JS takes minutes on the users of 10M events: a run may leave it out.
  const i = args.indexOf('--trainings');
  const trainings = Object.keys(TRAININGS).filter(
    (t) => i < 0 || args[i + 1]!.split(',').includes(t.split(' ')[0]!),
  );
  // The batch bench's input of the same size, generated once for both.
  const input = path.join(benchDir, 'data', `batch-${events}-${files}`);
  if (!existsSync(path.join(input, 'manifest.json'))) {
    console.log(`generating ${events} events in ${files} files under ${input} …`);
    await generate({ out: input, events, files, seed: 42, dirty: 0, format: 'jsonl.gz' });
  }
  const dataDir = path.join(benchDir, 'data', 'analysis-warehouse');
  rmSync(dataDir, { recursive: true, force: true });
  const wh = await Warehouse.open(dataDir);
  await loadMetadata(wh, path.join(input, 'metadata'));
  const inputs = await discoverInputs([path.join(input, 'events')]);
  const last = inputs.slice(Math.floor(inputs.length * 0.9));
  const summary = await loadUnits(wh, inputs.slice(0, inputs.length - last.length));
  const refresh = async () => {
    const started = performance.now();
    await refreshActivity(wh);
    return Number(((performance.now() - started) / 1000).toFixed(3));
  };
  const refreshSeconds = { first_nine_tenths: await refresh(), last_tenth: 0 };
  summary.accepted += (await loadUnits(wh, last)).accepted;
  refreshSeconds.last_tenth = await refresh();
  console.log(`activity tables: ${JSON.stringify(refreshSeconds)} s`);
  const users = await wh.one<{ n: bigint }>(
    `SELECT count(DISTINCT user_id) AS n FROM ${await lakeRelation(wh)}`,
  );
  wh.close();

  const results: Record<string, Measure> = {};
  for (const name of [...Object.keys(CASES), ...trainings]) {
    results[name] = await inChild(name, dataDir);
    console.log(`${name}: ${results[name].seconds.toFixed(3)} s, ${results[name].peak_rss_mib} MiB`);
  }
  const base = results[BASELINE]!;
  const rounded = (m: Measure) => ({ seconds: Number(m.seconds.toFixed(3)), peak_rss_mib: m.peak_rss_mib });
  const analyses = Object.fromEntries(
    Object.entries(results)
      .filter(([name]) => name in CASES && name !== BASELINE)
      .map(([name, m]) => [
        name,
        { ...rounded(m), ratio_to_baseline: Number((m.seconds / base.seconds).toFixed(2)) },
      ]),
  );
  saveResults('analysis', {
    events: summary.accepted,
    users: Number(users!.n),
    files,
    runs: `median of ${RUNS} after a warm-up, each case in a fresh process`,
    baseline: { what: 'DuckDB count(DISTINCT user_id) over the same lake', ...rounded(base) },
    analyses,
    activity_refresh_seconds: refreshSeconds,
    trainings: Object.fromEntries(
      trainings.map((name) => [name, { ...rounded(results[name]!), ...results[name]!.figures }]),
    ),
    targets: { ratio_to_baseline: 5, peak_rss_mib: 2048, ctr_train_seconds: 60 },
    meets_targets:
      Object.values(analyses).every((a) => a.ratio_to_baseline <= 5 && a.peak_rss_mib < 2048) &&
      (results['ctr train']?.seconds ?? 0) < 60,
  });
}
