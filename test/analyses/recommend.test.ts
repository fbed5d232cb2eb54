// Recommendations: users in planted groups each click (and sometimes convert on) ads of their own
// group's disjoint set; ALS recommends a user their group's other ads and beats popularity on
// held-out precision@10.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { type RecommendModel, recommendFor, trainRecommend } from '../../src/models/recommend.js';
import { Prng } from '../../src/simulator/prng.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { startServer } from '../api/fixture.js';
import { lakeOf, type TestEvent } from './lake.js';

const GROUPS = ['a', 'b', 'c'];
const USERS_PER_GROUP = 50;
const ADS_PER_GROUP = 12;
const ADS_PER_USER = 6;

/** Each user clicks ADS_PER_USER distinct ads of their group; the first one also converts. */
function plantedEvents(): TestEvent[] {
  const rng = new Prng(5);
  return GROUPS.flatMap((g) =>
    Array.from({ length: USERS_PER_GROUP }, (_, u) => {
      const ads = Array.from({ length: ADS_PER_GROUP }, (_, i) => `${g}-ad-${i}`);
      for (let i = ads.length - 1; i > 0; i--) {
        const j = rng.below(i + 1);
        [ads[i], ads[j]] = [ads[j]!, ads[i]!];
      }
      const user_id = `${g}-user-${u}`;
      return ads.slice(0, ADS_PER_USER).flatMap((ad_id, i): TestEvent[] => {
        const click: TestEvent = {
          user_id,
          ad_id,
          type: 'click',
          ts: `2025-02-03T10:${String(i).padStart(2, '0')}:00Z`,
        };
        return i === 0
          ? [click, { ...click, type: 'conversion', ts: '2025-02-03T11:00:00Z', revenue: '5' }]
          : [click];
      });
    }).flat(),
  );
}

let dataDir: string;
let model: RecommendModel;
const train = async (params: Record<string, unknown> = {}) => {
  const wh = await Warehouse.open(dataDir, { readOnly: true });
  try {
    return await trainRecommend(wh, parseConfig({}), params);
  } finally {
    wh.close();
  }
};
beforeAll(async () => {
  dataDir = await lakeOf('rec-planted', plantedEvents());
  model = await train();
});

describe('recommend model', () => {
  it('beats the popularity baseline on held-out precision@10', () => {
    const m = model.metrics;
    expect(m).toMatchObject({
      users: 150,
      ads: 36,
      interactions: 900,
      held_out_interactions: 150,
      evaluated_users: 150,
    });
    // One held-out ad per user: 0.1 is perfect.
    expect(m.precision_at_10).toBeGreaterThan(0.08);
    expect(m.precision_at_10).toBeGreaterThan(2 * m.popularity_precision_at_10);
  });

  it("with as many factors as groups, recommends exactly a user's group's unseen ads first", async () => {
    const planted = await train({ factors: String(GROUPS.length) });
    expect(planted.metrics.precision_at_10).toBeCloseTo(0.1, 9);
    const r = recommendFor(planted, 'b-user-3', 10);
    expect(r.source).toBe('als');
    const seen = new Set(planted.users['b-user-3']!.seen.map((i) => planted.ads[i]));
    const top = r.rows.slice(0, ADS_PER_GROUP - ADS_PER_USER).map((row) => row.ad_id);
    expect(top.every((ad) => ad.startsWith('b-') && !seen.has(ad))).toBe(true);
    expect(r.rows.map((row) => row.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('falls back to the most popular ads for a user it has not seen', () => {
    const r = recommendFor(model, 'stranger', 3);
    expect(r.source).toBe('popular');
    expect(r.rows).toHaveLength(3);
    expect(r.rows[0]!.score).toBeGreaterThanOrEqual(r.rows[2]!.score);
  });

  it('says what is missing when there is too little to train on', async () => {
    const tiny = await lakeOf('rec-tiny', [
      { user_id: 'u1', ad_id: 'x', type: 'click', ts: '2025-02-03T10:00:00Z' },
    ]);
    const wh = await Warehouse.open(tiny, { readOnly: true });
    try {
      await expect(trainRecommend(wh, parseConfig({}), {})).rejects.toMatchObject({
        code: 'ADP_ERR_MODEL_NOTHING_TO_TRAIN',
        message: expect.stringMatching(/1 users and 1 ads/),
      });
    } finally {
      wh.close();
    }
  });

  it('is deterministic for a seed', async () => {
    const again = await train();
    expect(again.ad_factors).toEqual(model.ad_factors);
    expect(again.metrics).toEqual(model.metrics);
    const other = await train({ seed: '7' });
    expect(other.ad_factors).not.toEqual(model.ad_factors);
  });
});

// The CLI runs before the server: DuckDB lets one process at a time open the data dir.
describe('adpipe model recommend train, adpipe recommend and GET /v1/recommend', () => {
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [path.resolve('bin/adpipe.js'), '--data-dir', dataDir, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ADPIPE_CONFIG: '', ADPIPE_LOG_LEVEL: 'warn' },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  let fromCli: unknown;

  it('trains, saves and recommends from the CLI, and says ADP_ERR_MODEL_NOT_TRAINED before training', () => {
    const none = cli('recommend', '--user', 'a-user-1');
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/ADP_ERR_MODEL_NOT_TRAINED/);
    const trained = cli('model', 'recommend', 'train');
    expect(trained.status, trained.stderr).toBe(0);
    expect(trained.stdout).toMatch(/precision@10 0\.\d{4} \(popularity baseline 0\.\d{4}\)/);
    expect(trained.stdout).toMatch(/saved .*models[/\\]recommend\.json/);
    const r = cli('recommend', '--user', 'a-user-1', '--top', '4', '--format', 'json');
    expect(r.status, r.stderr).toBe(0);
    fromCli = JSON.parse(r.stdout);
    expect(fromCli).toMatchObject({ user: 'a-user-1', source: 'als' });
  });

  it('the API answers what the CLI printed, with a read key', async () => {
    const key = 'recommend-read-key';
    const server = await startServer(dataDir, { server: { read_keys: [key] } });
    try {
      const get = (url: string, auth: string | null = key) =>
        server.app.inject({ url, headers: auth ? { authorization: `Bearer ${auth}` } : {} });
      const r = await get('/v1/recommend?user=a-user-1&top=4');
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual(fromCli);
      expect((await get('/v1/recommend?user=a-user-1', null)).statusCode).toBe(401);
      const bad = await get('/v1/recommend?top=4');
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('ADP_ERR_BAD_PARAM');
    } finally {
      await server.close();
    }
  });
});
