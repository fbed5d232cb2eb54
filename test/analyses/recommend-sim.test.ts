// Recommendations on simulator data, where users like 2 of 8 campaign topics (targeting and CTR
// follow them): ALS, with its default ridge, beats the popularity baseline on held-out precision@10.
import path from 'node:path';
import { expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { loadUnits } from '../../src/loader/loader.js';
import { trainRecommend } from '../../src/models/recommend.js';
import { generate } from '../../src/simulator/index.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';

it('ALS beats the popularity baseline on simulator data (500k events)', async () => {
  const out = makeTempDir('rec-sim');
  await generate({ out, events: 500_000, files: 1, seed: 11, workers: 0 });
  const wh = await Warehouse.open(makeTempDir('rec-sim-data'));
  try {
    await loadUnits(wh, await discoverInputs([path.join(out, 'events')]));
    const { metrics } = await trainRecommend(wh, parseConfig({}), {});
    expect(metrics.evaluated_users).toBeGreaterThan(500);
    // Seeded data and a seeded fit: the same figures every run (0.0429 against 0.0373; 0.0281 with the ridge at 0.1).
    expect(metrics.precision_at_10).toBeGreaterThan(metrics.popularity_precision_at_10);
  } finally {
    wh.close();
  }
}, 300_000);
