// Several runs of messy files in every format: duplicates across files and runs, late data into old
// and existing hours, bad records, unknown metadata keys. Every report in four zones (UTC, New York
// across both DST changes, Kolkata +05:30, Kathmandu +05:45) must equal the independent oracle
// exactly, and equal a from-scratch run of the same files into a fresh data dir.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LoadSummary } from '../../src/loader/loader.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  actualReport,
  type Canon,
  deadLetters,
  emptyState,
  expectedReport,
  ingestInProcess,
  makeEvents,
  type OracleState,
  oracleIngest,
  parseMeta,
  prng,
  type ReportQuery,
  SPECS,
  spec,
  withWarehouse,
  writeMetadata,
  writeSpelled,
} from './fixtures.js';

const ZONES = ['UTC', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu'];
const META = parseMeta();

const root = makeTempDir('pipe-exact');
const metadata = writeMetadata(path.join(root, 'metadata'));
const input = path.join(root, 'input');
const f = (name: string) => path.join(input, name);

const RUN1 = [
  f('01-web.jsonl'),
  f('02-app.csv.gz'),
  f('03-batch.json'),
  f('04-stream.ndjson.gz'),
  f('05-export.parquet'),
  f('06-web.jsonl.gz'),
];
const RUN2 = [f('07-late.jsonl'), f('08-late.csv')];

let run1: LoadSummary;
let run2: LoadSummary;
let oracle1: { accepted: number; duplicates: number; rejected: number };
let oracle: OracleState;
const incremental = path.join(root, 'incremental');
const scratch = path.join(root, 'scratch');

beforeAll(async () => {
  const rng = prng(2024);
  const events = makeEvents(rng, 1800, 'ev');
  const T = '2024-03-10T12:00:00Z';
  // Run 1: six files; later files repeat ids of earlier ones with other values (first one wins).
  for (let i = 0; i < RUN1.length; i++) {
    const mine = events.slice(i * 250, (i + 1) * 250);
    const repeats: Canon[] =
      i > 0
        ? events.slice((i - 1) * 250, (i - 1) * 250 + 15).map((e) => ({ ...e, revenue: 5n, cost: 3n }))
        : [];
    const bad: Array<[number, Record<string, unknown> | string]> =
      i === 5
        ? [
            [3, 'not json at all'],
            [7, { event_id: 'ev1505', type: 'impression', ts: '2024-03-10T10:00:00' }], // its id arrives valid in run 2
            [9, { event_id: 'neg', type: 'impression', ts: T, revenue: '-2' }],
          ]
        : i === 1
          ? [[2, { event_id: 'ev-late-1', type: 'bogus', ts: T, revenue: '', cost: '' }]]
          : [];
    await writeSpelled(RUN1[i]!, rng, [...mine, ...repeats], bad);
  }
  // Run 2 (late data): an old day that has no partition yet, hours that already have one, ids
  // already ingested by run 1 (duplicates), and an id whose only earlier record was rejected.
  const late = makeEvents(prng(7), 300, 'late-').map((e, i) => ({
    ...e,
    tsMs:
      i % 3 === 0
        ? Date.parse('2024-03-01T22:00:00Z') + i * 61_000 // crosses midnight in every zone under test
        : e.tsMs,
  }));
  late[0]!.event_id = 'ev-late-1';
  const dupes = events.slice(100, 140).map((e) => ({ ...e, revenue: 1n }));
  await writeSpelled(RUN2[0]!, rng, [...late.slice(0, 200), ...dupes]);
  await writeSpelled(RUN2[1]!, rng, [...late.slice(200), ...events.slice(1500, 1510)]);
  // Events of run 1 not written anywhere: ids ev1500.. exist only once (in 08-late.csv).

  run1 = await ingestInProcess(incremental, RUN1, { metadata, batchFiles: 2 });
  run2 = await ingestInProcess(incremental, RUN2, { metadata });
  await ingestInProcess(scratch, [input], { metadata, batchFiles: 3 });

  oracle = oracleIngest(emptyState(), RUN1, META);
  oracle1 = { accepted: oracle.accepted, duplicates: oracle.duplicates, rejected: oracle.rejected };
  oracleIngest(oracle, RUN2, META);
}, 120_000);

describe('exact reports over messy, late and repeated data', () => {
  it('counts accepted, duplicate and rejected records per run as the oracle does', () => {
    expect(run1.setAside).toEqual([]);
    expect({ accepted: run1.accepted, duplicates: run1.duplicates, rejected: run1.rejected }).toEqual(
      oracle1,
    );
    expect({
      accepted: run1.accepted + run2.accepted,
      duplicates: run1.duplicates + run2.duplicates,
      rejected: run1.rejected + run2.rejected,
    }).toEqual({ accepted: oracle.accepted, duplicates: oracle.duplicates, rejected: oracle.rejected });
    expect(run2.duplicates).toBeGreaterThanOrEqual(40); // against the earlier run
    expect(run2.accepted).toBe(310);
    expect(run1.batches.length).toBe(3);
  });

  it('dead-letters every bad record with source, line, code and message; neighbours are kept', () => {
    const letters = deadLetters(incremental);
    expect(letters.map((d) => `${d.source}:${d.line}:${d.code}`).sort()).toEqual(
      oracle.rejects.map((r) => `${r.source}:${r.line}:${r.code}`).sort(),
    );
    expect(letters.length).toBe(4);
    for (const d of letters) expect(String(d.message)).toContain(String(d.field));
    // The neighbours of the bad lines in 06-web.jsonl.gz (lines 4, 9, 12) all count.
    const ids = new Set(oracle.events.map((e) => e.event_id));
    for (const n of [1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257]) expect(ids.has(`ev${n}`)).toBe(true);
  });

  it.each(ZONES)('every report by local day in %s equals the oracle and a from-scratch run', async (tz) => {
    const q: ReportQuery = { tz };
    const fromScratch = await withWarehouse(scratch, async (wh) => {
      const out: Record<string, string[]> = {};
      for (const s of SPECS) out[s.name] = await actualReport(wh, s.name, q);
      return out;
    });
    await withWarehouse(incremental, async (wh) => {
      for (const s of SPECS) {
        const expected = expectedReport(s, oracle.events, META, q);
        expect(expected.length).toBeGreaterThan(10);
        const actual = await actualReport(wh, s.name, q);
        expect(actual, `${s.name} in ${tz}`).toEqual(expected);
        expect(fromScratch[s.name], `${s.name} from scratch in ${tz}`).toEqual(expected);
      }
    });
  });

  it.each([
    ['America/New_York', 'hour'],
    ['Asia/Kathmandu', 'hour'],
    ['Asia/Kolkata', 'month'],
  ] as const)('reports by local %s in %s equal the oracle', async (tz, grain) => {
    await withWarehouse(incremental, async (wh) => {
      for (const name of ['media', 'ad_request', 'campaign']) {
        const q: ReportQuery = { tz, grain };
        expect(await actualReport(wh, name, q), `${name} by ${grain} in ${tz}`).toEqual(
          expectedReport(spec(name), oracle.events, META, q),
        );
      }
    });
  });

  it('the New York fall-back day has 25 local hours and the spring-forward day 23', async () => {
    await withWarehouse(incremental, async (wh) => {
      const hours = async (day: string) => {
        const rows = await actualReport(wh, 'demand', {
          tz: 'America/New_York',
          grain: 'hour',
          from: day,
          to: day,
        });
        return new Set(rows.map((r) => r.split('|')[0]));
      };
      const expected = (day: string) =>
        new Set(
          expectedReport(spec('demand'), oracle.events, META, {
            tz: 'America/New_York',
            grain: 'hour',
            from: day,
            to: day,
          }).map((r) => r.split('|')[0]),
        );
      // The local hour 01:00 of 2024-11-03 spans two UTC hours and is one row; 02:00 of 2024-03-10 never happens.
      expect(await hours('2024-11-03')).toEqual(expected('2024-11-03'));
      expect(await hours('2024-03-10')).toEqual(expected('2024-03-10'));
      expect(expected('2024-03-10').has('2024-03-10T02:00')).toBe(false);
    });
  });

  it.each([
    ['America/New_York', '2024-03-10', '2024-03-10'],
    ['America/New_York', '2024-11-03', '2024-11-04'],
    ['Asia/Kathmandu', '2024-03-01', '2024-03-02'],
    ['Asia/Kolkata', '2024-03-10', '2024-11-02'],
  ])('--from/--to select whole local days (%s %s..%s)', async (tz, from, to) => {
    await withWarehouse(incremental, async (wh) => {
      for (const s of SPECS) {
        const q: ReportQuery = { tz, from, to };
        const expected = expectedReport(s, oracle.events, META, q);
        expect(expected.length).toBeGreaterThan(0);
        expect(await actualReport(wh, s.name, q), `${s.name} ${tz} ${from}..${to}`).toEqual(expected);
      }
    });
  });

  it('late data lands in its own hour partitions, old and existing', async () => {
    await withWarehouse(incremental, async (wh) => {
      const parts = await wh.all<{ dt: string; hour: string; batches: string }>(
        `SELECT dt, hour, count(DISTINCT batch_id)::VARCHAR AS batches FROM lake_files GROUP BY ALL`,
      );
      const old = parts.filter((p) => p.dt === '2024-03-01' || p.dt === '2024-03-02');
      expect(old.length).toBeGreaterThan(1);
      const lastBatch = run2.batches.at(-1)!.batchId;
      const touched = await wh.all<{ n: string }>(
        `SELECT count(*)::VARCHAR AS n FROM (SELECT dt, hour FROM lake_files GROUP BY ALL
           HAVING bool_or(batch_id = ${lastBatch}) AND bool_or(batch_id < ${run2.batches[0]!.batchId}))`,
      );
      expect(Number(touched[0]!.n)).toBeGreaterThan(5); // existing hours got a second file
      // The lake holds exactly the oracle's events, once each.
      const lake = await wh.one<{ n: string; ids: string }>(
        `SELECT count(*)::VARCHAR AS n, count(DISTINCT event_id)::VARCHAR AS ids FROM read_parquet('${wh.lakeDir}/**/*.parquet')`,
      );
      expect(lake).toEqual({ n: String(oracle.accepted), ids: String(oracle.accepted) });
    });
  });

  it('running the same files again changes nothing', async () => {
    const before = await withWarehouse(incremental, async (wh) => {
      const out: string[][] = [];
      for (const s of SPECS) out.push(await actualReport(wh, s.name, { tz: 'Asia/Kathmandu' }));
      out.push(
        (await wh.all('SELECT path, batch_id::VARCHAR AS b FROM lake_files ORDER BY path')).map((r) =>
          JSON.stringify(r),
        ),
      );
      return out;
    });
    const again = await ingestInProcess(incremental, [input], { metadata });
    expect(again.filesSkipped).toBe(RUN1.length + RUN2.length);
    expect(again.filesRead).toBe(0);
    expect(again.batches).toEqual([]);
    const after = await withWarehouse(incremental, async (wh) => {
      const out: string[][] = [];
      for (const s of SPECS) out.push(await actualReport(wh, s.name, { tz: 'Asia/Kathmandu' }));
      out.push(
        (await wh.all('SELECT path, batch_id::VARCHAR AS b FROM lake_files ORDER BY path')).map((r) =>
          JSON.stringify(r),
        ),
      );
      return out;
    });
    expect(after).toEqual(before);
  });
});

describe('metadata never drops an event', () => {
  it('counts every event with no metadata at all, and with unknown keys', async () => {
    const dir = makeTempDir('pipe-nometa');
    const file = path.join(dir, 'in', 'events.jsonl');
    const rng = prng(77);
    await writeSpelled(file, rng, makeEvents(rng, 400, 'n'));
    await ingestInProcess(path.join(dir, 'bare'), [file]);
    // Metadata with only some files, and an inventory.csv without its optional columns.
    const partial = writeMetadata(path.join(dir, 'partial'), {
      'inventory.csv': 'inventory_id,media_id\ni1,m1\ni3,12',
      'media.csv': 'media_id,org_id,media_share\nm1,o1,0.7',
    });
    await ingestInProcess(path.join(dir, 'partial-data'), [file], { metadata: partial });
    for (const [data, meta] of [
      ['bare', parseMeta({})],
      [
        'partial-data',
        parseMeta({
          'inventory.csv': 'inventory_id,media_id\ni1,m1\ni3,12',
          'media.csv': 'media_id,org_id,media_share\nm1,o1,0.7',
        }),
      ],
    ] as const) {
      const o = oracleIngest(emptyState(), [file], meta);
      expect(o.accepted).toBe(400);
      await withWarehouse(path.join(dir, data), async (wh) => {
        for (const s of SPECS)
          expect(await actualReport(wh, s.name, { tz: 'Asia/Kolkata' }), `${s.name} with ${data}`).toEqual(
            expectedReport(s, o.events, meta, { tz: 'Asia/Kolkata' }),
          );
      });
    }
  });
});
