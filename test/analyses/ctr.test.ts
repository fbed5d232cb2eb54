// The CTR model on simulator data (seed 004's CTR by ad format: banner 5 %, interstitial 12 %,
// rewarded video 25 %): it beats the base rate on held-out users and ranks the formats right.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { loadUnits } from '../../src/loader/loader.js';
import { type CtrModel, predictCtr, trainCtr } from '../../src/models/ctr.js';
import { fitLogistic } from '../../src/models/logistic.js';
import { auc, calibration, logLoss } from '../../src/models/metrics.js';
import { saveModel } from '../../src/models/store.js';
import { generate } from '../../src/simulator/index.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { startServer } from '../api/fixture.js';
import { makeTempDir } from '../helpers/tmp.js';
import { lakeOf } from './lake.js';

let dataDir: string;
let model: CtrModel;
beforeAll(async () => {
  const out = makeTempDir('ctr-sim');
  await generate({ out, events: 80_000, files: 1, seed: 3, workers: 0 });
  dataDir = makeTempDir('ctr-data');
  const wh = await Warehouse.open(dataDir);
  try {
    await loadUnits(wh, await discoverInputs([path.join(out, 'events')]));
    model = await trainCtr(wh, parseConfig({}), {});
  } finally {
    wh.close();
  }
}, 120_000);

describe('ctr model', () => {
  it('beats the base rate on held-out users', () => {
    const m = model.metrics;
    expect(m.held_out.impressions).toBeGreaterThan(500);
    expect(m.log_loss).toBeLessThan(m.base_log_loss);
    expect(m.auc).toBeGreaterThan(0.6);
    expect(m.calibration).toHaveLength(10);
    expect(m.calibration.reduce((s, b) => s + b.trials, 0)).toBe(m.held_out.impressions);
  });

  it('ranks the formats as the simulator does, near their rates', async () => {
    const wh = await Warehouse.open(dataDir, { readOnly: true });
    try {
      const at = (ad_format: string) =>
        predictCtr(wh, model, {
          ad_format,
          ts: '2025-01-01T12:00:00.000Z',
          country: 'KR',
          device: null,
          os: null,
          app_type: null,
          media_id: null,
        });
      const [banner, interstitial, video] = [
        await at('banner'),
        await at('interstitial'),
        await at('rewarded_video'),
      ];
      expect(banner).toBeLessThan(interstitial);
      expect(interstitial).toBeLessThan(video);
    } finally {
      wh.close();
    }
  });
});

describe('training without clicks', () => {
  it('says what is missing', async () => {
    const impressions = ['u1', 'u2', 'u3'].map((user_id) => ({
      user_id,
      ad_id: 'x',
      ad_format: 'banner',
      type: 'impression',
      ts: '2025-02-03T10:00:00Z',
    }));
    const wh = await Warehouse.open(await lakeOf('ctr-no-clicks', impressions), { readOnly: true });
    try {
      await expect(trainCtr(wh, parseConfig({}), {})).rejects.toMatchObject({
        code: 'ADP_ERR_MODEL_NOTHING_TO_TRAIN',
        message: expect.stringMatching(/impressions and 0 clicks/),
      });
    } finally {
      wh.close();
    }
  });
});

describe('adpipe model ctr train', () => {
  it('prints the metrics and calibration and saves the model', () => {
    const r = spawnSync(
      process.execPath,
      [path.resolve('bin/adpipe.js'), '--data-dir', dataDir, 'model', 'ctr', 'train', '--bits', '12'],
      { encoding: 'utf8', env: { ...process.env, ADPIPE_CONFIG: '', ADPIPE_LOG_LEVEL: 'warn' } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/log-loss 0\.\d{4} \(base rate 0\.\d{4}: 0\.\d{4}\), AUC 0\.\d{4}/);
    expect(r.stdout).toMatch(/bin +impressions +clicks +avg_predicted +observed_ctr/);
    const saved = JSON.parse(readFileSync(path.join(dataDir, 'models', 'ctr.json'), 'utf8'));
    expect(saved).toMatchObject({ model: 'ctr', version: 1, features: { bits: 12 } });
  });
});

describe('POST /v1/predict/ctr', () => {
  it("answers the saved model's CTR for an event, 404 before training, with a read key only", async () => {
    const key = 'predict-read-key';
    rmSync(path.join(dataDir, 'models'), { recursive: true, force: true });
    const server = await startServer(dataDir, { server: { read_keys: [key] } });
    try {
      const post = (body: object, auth: string | null = key) =>
        server.app.inject({
          method: 'POST',
          url: '/v1/predict/ctr',
          payload: body,
          headers: auth ? { authorization: `Bearer ${auth}` } : {},
        });
      const event = { ad_format: 'rewarded_video', country: 'KR', ts: '2025-01-01T12:00:00Z' };
      const none = await post(event);
      expect(none.statusCode).toBe(404);
      expect(none.json().error.code).toBe('ADP_ERR_MODEL_NOT_TRAINED');
      await saveModel(dataDir, 'ctr', model);
      const r = await post(event);
      expect(r.statusCode, r.body).toBe(200);
      const expected = await predictCtr(server.warehouse, model, {
        ad_format: 'rewarded_video',
        country: 'KR',
        ts: '2025-01-01T12:00:00.000Z',
        device: null,
        os: null,
        app_type: null,
        media_id: null,
      });
      expect(r.json().ctr).toBeCloseTo(expected, 12);
      expect((await post(event, null)).statusCode).toBe(401);
      const bad = await post({ ts: 'yesterday' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('ADP_ERR_BAD_PARAM');
    } finally {
      await server.close();
    }
  });
});

describe('logistic regression and metrics', () => {
  it('recovers the log-odds of two groups', () => {
    // Group 1: 10 % of 10 000; group 2: 30 % of 10 000.
    const rows = [
      { active: [], trials: 10_000, successes: 1_000 },
      { active: [1], trials: 10_000, successes: 3_000 },
    ];
    const { weights } = fitLogistic(rows, 2, 1e-6);
    expect(weights[0]).toBeCloseTo(Math.log(1 / 9), 4);
    expect(weights[0]! + weights[1]!).toBeCloseTo(Math.log(3 / 7), 4);
  });

  it('computes AUC with ties, log-loss and equal-count calibration bins', () => {
    const rows = [
      { trials: 4, successes: 1, predicted: 0.25 },
      { trials: 4, successes: 3, predicted: 0.75 },
    ];
    // Positive/negative pairs: 3·3 wins, 1·1 loss, 3·1 + 1·3 tied pairs within rows count half.
    expect(auc(rows)).toBeCloseTo((3 * 3 + 0.5 * (1 * 3 + 3 * 1)) / 16, 12);
    expect(logLoss(rows)).toBeCloseTo(-(Math.log(0.25) + 3 * Math.log(0.75)) / 4, 12);
    const bins = calibration(rows, 2);
    expect(bins.map((b) => [b.trials, b.observed])).toEqual([
      [4, 0.25],
      [4, 0.75],
    ]);
  });
});
