// `npm run bench -- query [--events 50000000] [--requests 200]`: API latency of report queries over
// rollups representing 50M events (30 days × 96 fifteen-minute buckets × realistic dimension
// cardinalities), synthesised directly in DuckDB. Requests go through the real fastify app
// (inject: routing, validation, SQL, serialisation; no socket). Baselines measured in the same run:
// a `SELECT 1` round trip through the same connection pool path, and the same 2-dimension
// breakdown computed by DuckDB from raw events (a 1M-event sample, i.e. 1/50 of the data).

import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../src/config.js';
import { Runtime } from '../src/runtime/runtime.js';
import { buildServer } from '../src/server/app.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import { numberArg as arg, benchDir, nearestRank, peakRssMiB, saveResults } from './util.js';

function percentiles(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => Number(nearestRank(s, p / 100).toFixed(2));
  return { p50: at(50), p95: at(95), p99: at(99), n: s.length };
}

async function time(n: number, fn: (i: number) => Promise<void>): Promise<ReturnType<typeof percentiles>> {
  for (let i = 0; i < Math.min(5, n); i++) await fn(i); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return percentiles(ms);
}

// Cardinalities: 20 publishers, 200 media, 2000 ad units, 400 ads, 25 demand partners, 12 countries.
const DIMS = `'o' || (h % 20) AS org_id, 'm' || (h % 200) AS media_id, 'i' || (h % 2000) AS inventory_id,
  'a' || (h % 400) AS ad_id, 'd' || ((h // 7) % 25) AS demand_id,
  ['KR','US','JP','DE','GB','FR','BR','IN','ID','VN','TH','CA'][1 + (h // 11) % 12] AS country`;

export async function run(args: string[]): Promise<void> {
  const events = arg(args, 'events', 50_000_000);
  const requests = arg(args, 'requests', 200);
  const rowsPerBucket = 400;
  const buckets = 30 * 96;
  const dir = path.join(benchDir, 'data', 'query');
  rmSync(dir, { recursive: true, force: true });
  const wh = await Warehouse.open(dir);
  // Each rollup row stands for events/rows events: impressions, clicks, conversions and requests
  // that never show in this report; revenue in exact micros.
  const perRow = Math.round(events / (buckets * rowsPerBucket));
  const t0 = Date.now();
  await wh.run(`INSERT INTO rollup_ad BY NAME
    SELECT 1 AS batch_id, TIMESTAMPTZ '2024-04-01 00:00:00+00' + INTERVAL 15 MINUTE * b AS bucket, ${DIMS},
      (${perRow} * 0.6)::BIGINT AS impressions, (${perRow} * 0.012)::BIGINT + (h % 3) AS clicks, (h % 2)::BIGINT AS conversions,
      ((h % 997) * 0.001731)::DECIMAL(38,6) AS revenue, ((h % 13) * 0.0123)::DECIMAL(38,6) AS cost
    FROM range(${buckets}) b(b), range(${rowsPerBucket}) r(r), LATERAL (SELECT (hash(b * 7919 + r * 104729) % 1000003)::BIGINT AS h)`);
  await wh.run(
    `INSERT INTO dim_media SELECT 'm' || i, 'Media ' || i, 'o' || (i % 20), 0.7 FROM range(200) t(i)`,
  );
  await wh.run(`INSERT INTO dim_demand SELECT 'd' || i, 'Demand ' || i FROM range(25) t(i)`);
  // Baseline source: raw events, 1/50 of the volume, same dimensions.
  const sample = Math.round(events / 50);
  await wh.run(`CREATE TABLE raw_events AS
    SELECT TIMESTAMPTZ '2024-04-01 00:00:00+00' + INTERVAL 1 SECOND * (i * (30 * 86400 // ${sample})) AS ts, ${DIMS},
      CASE WHEN i % 50 = 0 THEN 'click' ELSE 'impression' END AS type, ((h % 997) * 0.000001)::DECIMAL(18,6) AS revenue
    FROM range(${sample}) t(i), LATERAL (SELECT (hash(i) % 1000003)::BIGINT AS h)`);
  const rows = await wh.one<{ n: string; events: string }>(
    'SELECT count(*) AS n, sum(impressions + clicks + conversions) AS events FROM rollup_ad',
  );
  const setupSeconds = (Date.now() - t0) / 1000;

  const app = await buildServer({
    config: parseConfig({}),
    dataDir: dir,
    warehouse: wh,
    runtime: await Runtime.open(wh),
    onShutdown: () => undefined,
  });
  await app.ready();
  const get = async (url: string) => {
    const r = await app.inject(url);
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body.slice(0, 300)}`);
  };
  const range = 'from=2024-04-01&to=2024-04-30&tz=Asia/Seoul';
  const breakdown = await time(requests, () =>
    get(`/v1/reports/ad?${range}&grain=total&by=media_id,demand_id&names=true&order=-revenue&limit=100`),
  );
  const breakdownCompare = await time(requests, () =>
    get(`/v1/reports/ad?${range}&grain=total&by=media_id,country&compare=previous&limit=100`),
  );
  const series = await time(requests, () => get(`/v1/reports/ad?${range}&grain=day&by=country&top=8`));
  const filtered = await time(requests, (i) =>
    get(`/v1/reports/ad?${range}&grain=total&by=inventory_id,ad_id&filter=media_id:m${i % 200}&limit=100`),
  );
  const roundTrip = await time(requests, () => get('/v1/reports'));
  const reader = await wh.fork();
  const selectOne = await time(requests, async () => {
    await reader.all('SELECT 1');
  });
  const rawBreakdown = await time(Math.min(requests, 30), async () => {
    await reader.all(`SELECT media_id, demand_id, count(*) FILTER (WHERE type = 'impression') AS impressions,
        sum(revenue) AS revenue FROM raw_events GROUP BY ALL ORDER BY revenue DESC LIMIT 100`);
  });
  reader.close();
  await app.close();
  wh.close();

  const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
  saveResults('query', {
    // Each rollup row stands for perRow events; the ad report shows only its ad types of them.
    events_represented: perRow * Number(rows!.n),
    ad_report_events: Number(rows!.events),
    rollup_rows: Number(rows!.n),
    setup_seconds: setupSeconds,
    requests,
    target: 'p95 < 50 ms for a 30-day 2-dimension breakdown',
    api_breakdown_2dims_ms: breakdown,
    api_breakdown_2dims_compare_ms: breakdownCompare,
    api_timeseries_day_top8_ms: series,
    api_filtered_breakdown_ms: filtered,
    baseline_api_model_roundtrip_ms: roundTrip,
    baseline_duckdb_select1_ms: selectOne,
    baseline_raw_events_breakdown_1_50th_sample_ms: rawBreakdown,
    ratios: {
      breakdown_p95_vs_api_roundtrip_p95: ratio(breakdown.p95, roundTrip.p95),
      breakdown_p95_vs_select1_p95: ratio(breakdown.p95, selectOne.p95),
      breakdown_p95_vs_raw_sample_p95: ratio(breakdown.p95, rawBreakdown.p95),
    },
    meets_target: breakdown.p95 < 50,
    peak_rss_mib: peakRssMiB(),
  });
}
