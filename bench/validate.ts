// `npm run bench -- validate [--records N] [--rounds R] [--threads 1,2]`: the SQL validator
// (validatedEventsSql, the dominant stage of ingest) on simulator records, clean and 5% dirty,
// against a baseline measured in the same run on the same rows: the bare JSON parse
// (`try_cast(text AS JSON)`), which every validator pays. The ratio is validator time / parse time.
// `lines` is what ingest runs: validatedLinesSql, which validates plain lines in one pass, then the
// general validator on the lines it leaves (`plainShare` says how many it took).
// The machine may be shared, so runs are interleaved and medians reported, with CPU time (all
// threads) per record beside the wall-clock rate.

import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { validatedEventsSql, validatedLinesSql } from '../src/events/validate-sql.js';
import { generate } from '../src/simulator/index.js';
import { jsonLinesSql } from '../src/sources/files/formats.js';
import { benchDir, peakRssMiB, saveResults } from './util.js';

const SETS = { clean: 0, dirty: 0.05 } as const;

/** Simulator output for `records` events at this dirt rate, generated once and reused. */
async function dataset(name: keyof typeof SETS, records: number): Promise<string[]> {
  const out = path.join(benchDir, 'data', 'validate', name);
  const stamp = path.join(out, 'records.txt');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== String(records)) {
    rmSync(out, { recursive: true, force: true });
    await generate({ out, events: records, files: 10, seed: 7, dirty: SETS[name], format: 'jsonl.gz' });
    writeFileSync(stamp, String(records));
  }
  const dir = path.join(out, 'events');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl.gz'))
    .sort()
    .map((f) => path.join(dir, f));
}

async function timed(conn: DuckDBConnection, sql: string): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await conn.run(sql);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      records: { type: 'string', default: '1000000' },
      rounds: { type: 'string', default: '3' },
      threads: { type: 'string', default: '1,2' },
    },
  });
  const records = Number(values.records);
  const rounds = Number(values.rounds);
  const threads = values.threads.split(',').map(Number);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const load = loadavg()[0]!;
  const results: Record<string, unknown>[] = [];
  try {
    for (const name of Object.keys(SETS) as (keyof typeof SETS)[]) {
      const files = await dataset(name, records);
      // Raw lines as ingest stages them (src/pipeline/ingest.ts): (file_seq, source, line, text).
      await conn.run(`CREATE OR REPLACE TABLE raw_lines AS ${jsonLinesSql(files)}`);
      await conn.run(`CREATE OR REPLACE TABLE raw AS
        SELECT r.file_index::INTEGER + 1 AS file_seq, NULL::VARCHAR AS source, r.rowid - f.first + 1 AS line, r.text
        FROM raw_lines r JOIN (SELECT file_index, min(rowid) AS first FROM raw_lines GROUP BY ALL) f USING (file_index)
        WHERE r.text IS NOT NULL AND trim(r.text) <> ''`);
      await conn.run('DROP TABLE raw_lines');
      const reader = await conn.runAndReadAll(
        `SELECT count(*)::INTEGER, count(reject)::INTEGER FROM (${validatedEventsSql('raw')})`,
      );
      const [rows, rejected] = reader.getRows()[0] as [number, number];
      for (const t of threads) {
        await conn.run(`SET threads=${t}`);
        const parse: { wall: number; cpu: number }[] = [];
        const validate: { wall: number; cpu: number }[] = [];
        const lines: { wall: number; cpu: number }[] = [];
        for (let i = 0; i < rounds; i++) {
          parse.push(
            await timed(
              conn,
              'CREATE OR REPLACE TEMP TABLE parsed AS SELECT count(*) AS n FROM (SELECT try_cast(text AS JSON) AS j FROM raw) WHERE j IS NOT NULL',
            ),
          );
          validate.push(
            await timed(conn, `CREATE OR REPLACE TEMP TABLE validated AS ${validatedEventsSql('raw')}`),
          );
          const plain = await timed(
            conn,
            `CREATE OR REPLACE TEMP TABLE validated AS ${validatedLinesSql('(SELECT file_seq, line, text FROM raw)')}`,
          );
          const rest = await timed(
            conn,
            `CREATE OR REPLACE TEMP TABLE general AS ${validatedEventsSql('(SELECT file_seq, NULL::VARCHAR AS source, line, text FROM validated WHERE general)')}`,
          );
          lines.push({ wall: plain.wall + rest.wall, cpu: plain.cpu + rest.cpu });
        }
        const plainRows = Number(
          (await conn.runAndReadAll('SELECT count(*) FILTER (NOT general) FROM validated')).getRows()[0]![0],
        );
        const l = median(lines.map((x) => x.wall));
        const lCpu = median(lines.map((x) => x.cpu));
        const p = median(parse.map((x) => x.wall));
        const v = median(validate.map((x) => x.wall));
        const pCpu = median(parse.map((x) => x.cpu));
        const vCpu = median(validate.map((x) => x.cpu));
        results.push({
          set: name,
          threads: t,
          records: rows,
          rejected,
          validateRecordsPerSec: Math.round(rows / v),
          parseRecordsPerSec: Math.round(rows / p),
          validateCpuUsPerRecord: Number(((vCpu * 1e6) / rows).toFixed(3)),
          parseCpuUsPerRecord: Number(((pCpu * 1e6) / rows).toFixed(3)),
          ratio: Number((v / p).toFixed(2)),
          cpuRatio: Number((vCpu / pCpu).toFixed(2)),
          linesRecordsPerSec: Math.round(rows / l),
          linesCpuUsPerRecord: Number(((lCpu * 1e6) / rows).toFixed(3)),
          linesRatio: Number((l / p).toFixed(2)),
          plainShare: Number((plainRows / rows).toFixed(3)),
        });
      }
      await conn.run('DROP TABLE raw');
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  saveResults('validate', { records, rounds, loadAvgAtStart: load, peakRssMiB: peakRssMiB(), results });
}
