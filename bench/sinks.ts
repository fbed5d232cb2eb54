// `npm run bench -- sinks [--rows N] [--baseline-rows N]`: rows/s of one delta into MariaDB and
// PostgreSQL through adpipe's path (DuckDB-written CSV → LOAD DATA / COPY into a temporary table →
// one additive upsert, in a transaction with the watermark), beside the seed's approach measured in
// the same run: batches of 1000 prepared single-row INSERT … ON DUPLICATE KEY UPDATE (ON CONFLICT for
// PostgreSQL), one transaction per batch. The delta rows are synthesized in DuckDB; each path runs
// twice: onto an empty table (inserts) and again (every key conflicts: updates). adpipePrevious is
// adpipe's path before MERGE / Aria staging (ON CONFLICT, InnoDB staging), also in the same run. Each adpipe run also
// reports its phases (wall seconds: load = transfer + parse + write into staging, upsert, commit)
// and the server CPU seconds they took (the PostgreSQL backend, the whole mariadbd process), read
// from /proc when the server runs on this machine: on a shared machine CPU time is the steadier figure.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import mysql2 from 'mysql2/promise';
import pg from 'pg';
import { mysql } from '../src/sinks/mysql/dialect.js';
import { mysqlSession } from '../src/sinks/mysql/index.js';
import { postgres } from '../src/sinks/postgres/dialect.js';
import { postgresSession } from '../src/sinks/postgres/index.js';
import { sqlSinkSchema } from '../src/sinks/sql/config.js';
import type { MergeDialect } from '../src/sinks/sql/dialect.js';
import { columnsOf, type SinkTable, sinkTables } from '../src/sinks/sql/table.js';
import { type SqlSession, transactionalSink } from '../src/sinks/sql/transactional.js';
import { numberArg as arg, saveResults, statCpuSeconds } from './util.js';

const MYSQL_URL = process.env.ADPIPE_TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test';
const PG_URL = process.env.ADPIPE_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const PREFIX = `adp_bench_${process.pid}_`;
const WATERMARKS = `${PREFIX}watermark`;
const BATCH = 1000;

/** Delta rows of the `ad` report: distinct keys over 30 days, counts and money with 6 decimals. */
async function synthesize(
  rows: number,
  file: string,
): Promise<{ sample: unknown[][]; deltaToCsv: { seconds: number; cpuSeconds: number } }> {
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  await db.run(`CREATE TABLE delta AS SELECT
      strftime(DATE '2025-01-01' + (i % 30)::INTEGER, '%Y-%m-%d') AS date,
      (100 + i % 7)::VARCHAR AS org_id, (2000 + i % 97)::VARCHAR AS media_id,
      (30000 + (i // 30) % 1009)::VARCHAR AS inventory_id, (60000 + i // 30270)::VARCHAR AS ad_id,
      (400 + i % 13)::VARCHAR AS demand_id,
      (i % 50)::BIGINT AS impressions, (i % 5)::BIGINT AS clicks, (i % 2)::BIGINT AS conversions,
      ((i % 100000) / 1000000 + 0.123456)::DECIMAL(18,6) AS revenue, ((i % 7919) / 1000000)::DECIMAL(18,6) AS cost
    FROM range(${rows}) t(i)`);
  const dupes = await db.runAndReadAll(
    `SELECT count(*) - count(DISTINCT (date, org_id, media_id, inventory_id, ad_id, demand_id)) FROM delta`,
  );
  if (Number(dupes.getRows()[0]![0]) !== 0) throw new Error('synthesized keys are not distinct');
  // In key order, as writeDelta produces it.
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await db.run(
    `COPY (SELECT * FROM delta ORDER BY date, org_id, media_id, inventory_id, ad_id, demand_id) TO '${file}' (FORMAT csv, HEADER false)`,
  );
  const cpu = process.cpuUsage(cpu0);
  const deltaToCsv = {
    seconds: round((performance.now() - started) / 1000),
    cpuSeconds: round((cpu.user + cpu.system) / 1e6),
  };
  const sample = await db.runAndReadAll(`SELECT * FROM delta LIMIT ${BATCH * 100}`);
  return { sample: sample.getRowsJson() as unknown[][], deltaToCsv };
}

const round = (x: number) => Math.round(x * 100) / 100;

/** CPU seconds (user + system) of a local process so far, undefined when it cannot be read. */
function processCpu(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    return statCpuSeconds(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
}

type Phase = 'staging' | 'load' | 'upsert' | 'commit' | 'other';

function phaseOf(sql: string): Phase {
  if (/^(DROP TEMPORARY|CREATE TEMP)/.test(sql)) return 'staging';
  if (/^(INSERT INTO|MERGE|ANALYZE|SET LOCAL)/.test(sql) && !sql.includes('watermark')) return 'upsert';
  if (sql === 'COMMIT') return 'commit';
  return 'other';
}

/** A session recording the wall and server CPU seconds of each phase of an apply. */
function timedSession(session: SqlSession, serverPid: number | undefined) {
  let phases: Partial<Record<Phase, { seconds: number; serverCpuSeconds?: number }>> = {};
  const time = async <T>(phase: Phase, fn: () => Promise<T>): Promise<T> => {
    const cpu = processCpu(serverPid);
    const started = performance.now();
    try {
      return await fn();
    } finally {
      const p = phases[phase] ?? { seconds: 0 };
      phases[phase] = p;
      p.seconds += (performance.now() - started) / 1000;
      const after = processCpu(serverPid);
      if (cpu !== undefined && after !== undefined)
        p.serverCpuSeconds = (p.serverCpuSeconds ?? 0) + after - cpu;
    }
  };
  const wrapped: SqlSession = {
    ...session,
    id: session.id,
    server: session.server,
    exec: (sql) => time(phaseOf(sql), () => session.exec(sql)),
    rows: (sql) => time('other', () => session.rows(sql)),
    loadCsv: (table, columns, file) => time('load', () => session.loadCsv(table, columns, file)),
  };
  return {
    session: wrapped,
    take() {
      const out = Object.fromEntries(
        Object.entries(phases).map(([k, v]) => [
          k,
          {
            seconds: round(v.seconds),
            ...(v.serverCpuSeconds !== undefined && { serverCpuSeconds: round(v.serverCpuSeconds) }),
          },
        ]),
      );
      phases = {};
      return out;
    },
  };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

/** adpipe's path, twice: inserts, then the same delta again as updates. */
async function adpipePath(
  d: MergeDialect,
  session: SqlSession,
  serverPid: number | undefined,
  t: SinkTable,
  file: string,
  rows: number,
) {
  const timing = timedSession(session, serverPid);
  const sink = transactionalSink(d, timing.session, WATERMARKS);
  await sink.init([t]);
  timing.take();
  const cpu0 = processCpu(serverPid);
  const insert = await timed(() => sink.apply(t, { file, rows, after: 0, upTo: 1 }));
  const cpu1 = processCpu(serverPid);
  const insertPhases = timing.take();
  const update = await timed(() => sink.apply(t, { file, rows, after: 1, upTo: 2 }));
  const cpu2 = processCpu(serverPid);
  const updatePhases = timing.take();
  const cpu = (a?: number, b?: number) => (a !== undefined && b !== undefined ? round(b - a) : undefined);
  return {
    insertRowsPerSecond: Math.round(rows / insert),
    updateRowsPerSecond: Math.round(rows / update),
    insertServerCpuSeconds: cpu(cpu0, cpu1),
    updateServerCpuSeconds: cpu(cpu1, cpu2),
    insertPhases,
    updatePhases,
  };
}

/** mariadbd's pid when it runs here (its pid file is readable), else undefined. */
async function mariadbPid(session: SqlSession): Promise<number | undefined> {
  try {
    const [[file]] = (await session.rows('SELECT @@pid_file')) as [[string]];
    return Number(readFileSync(file, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

/** The seed's approach: 1000-row batches of prepared single-row upserts, a transaction per batch. */
async function seedPath(
  exec: (sql: string, values: unknown[]) => Promise<void>,
  q: {
    begin: string;
    commit: string;
    upsert: string;
  },
  sample: unknown[][],
  rows: number,
) {
  const run = async () => {
    for (let i = 0; i < rows; i += BATCH) {
      await exec(q.begin, []);
      for (const r of sample.slice(i, i + BATCH)) await exec(q.upsert, r);
      await exec(q.commit, []);
    }
  };
  const insert = await timed(run);
  const update = await timed(run);
  return { insertRowsPerSecond: Math.round(rows / insert), updateRowsPerSecond: Math.round(rows / update) };
}

function tables(suffix: string): SinkTable {
  const cfg = sqlSinkSchema('mysql').parse({
    type: 'mysql',
    url: 'x',
    reports: ['ad'],
    table_prefix: `${PREFIX}${suffix}_`,
  });
  return sinkTables(cfg)[0]!;
}

export async function run(args: string[]): Promise<void> {
  const rows = arg(args, 'rows', 1_000_000);
  const baselineRows = Math.min(arg(args, 'baseline-rows', 20_000), BATCH * 100);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'adpipe-bench-sinks-'));
  const file = path.join(dir, 'delta.csv');
  const { sample, deltaToCsv } = await synthesize(rows, file);
  const fast = tables('fast');
  const prev = tables('prev');
  const seed = tables('seed');
  const cols = columnsOf(seed).map((c) => c.name);

  const my = await mysql2.createConnection({ uri: MYSQL_URL });
  const pgc = new pg.Client({ connectionString: PG_URL });
  await pgc.connect();
  try {
    // MariaDB
    const mySession = await mysqlSession(MYSQL_URL);
    const myPid = await mariadbPid(mySession);
    const mariadb = await adpipePath(mysql, mySession, myPid, fast, file, rows);
    // adpipe's previous path (InnoDB staging, as on MySQL), same run.
    const mariadbPrevious = await adpipePath(
      mysql,
      { ...mySession, server: { product: 'mysql', major: 8 } },
      myPid,
      prev,
      file,
      rows,
    );
    await mySession.close();
    for (const sql of mysql.createTable(seed)) await my.query(sql);
    const myUpsert = `INSERT INTO ${mysql.ident(seed.name)} (${cols.map(mysql.ident).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})
ON DUPLICATE KEY UPDATE ${seed.measures.map((m) => `${mysql.ident(m.name)} = ${mysql.ident(m.name)} + VALUES(${mysql.ident(m.name)})`).join(', ')}`;
    const mariadbSeed = await seedPath(
      async (sql, values) => {
        if (values.length) await my.execute(sql, values as string[]);
        else await my.query(sql);
      },
      { begin: 'BEGIN', commit: 'COMMIT', upsert: myUpsert },
      sample,
      baselineRows,
    );

    // PostgreSQL
    const pgSession = await postgresSession(PG_URL);
    const postgresql = await adpipePath(postgres, pgSession, Number(pgSession.id), fast, file, rows);
    // adpipe's previous path (INSERT … ON CONFLICT, as before PostgreSQL 15), same run.
    const postgresPrevious = await adpipePath(
      postgres,
      { ...pgSession, server: { product: 'postgres', major: 14 } },
      Number(pgSession.id),
      prev,
      file,
      rows,
    );
    await pgSession.close();
    for (const sql of postgres.createTable(seed)) await pgc.query(sql);
    const pgUpsert = {
      name: 'seed_upsert',
      text: `INSERT INTO ${postgres.ident(seed.name)} AS t (${cols.map(postgres.ident).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})
ON CONFLICT (${seed.keys.map((k) => postgres.ident(k.name)).join(', ')}) DO UPDATE SET ${seed.measures.map((m) => `${postgres.ident(m.name)} = t.${postgres.ident(m.name)} + EXCLUDED.${postgres.ident(m.name)}`).join(', ')}`,
    };
    const postgresSeed = await seedPath(
      async (sql, values) => {
        await pgc.query(values.length ? { ...pgUpsert, values } : sql);
      },
      { begin: 'BEGIN', commit: 'COMMIT', upsert: pgUpsert.text },
      sample,
      baselineRows,
    );

    const ratio = (a: { insertRowsPerSecond: number }, b: { insertRowsPerSecond: number }) =>
      Math.round((a.insertRowsPerSecond / b.insertRowsPerSecond) * 10) / 10;
    saveResults('sinks', {
      deltaRows: rows,
      baselineRows,
      loadAverage: os.loadavg().map(round),
      deltaToCsv,
      mariadb: {
        adpipe: mariadb,
        adpipePrevious: mariadbPrevious,
        seedBaseline: mariadbSeed,
        insertRatio: ratio(mariadb, mariadbSeed),
        updateRatio: Math.round((mariadb.updateRowsPerSecond / mariadbSeed.updateRowsPerSecond) * 10) / 10,
        target: 100_000,
      },
      postgres: {
        adpipe: postgresql,
        adpipePrevious: postgresPrevious,
        seedBaseline: postgresSeed,
        insertRatio: ratio(postgresql, postgresSeed),
        updateRatio:
          Math.round((postgresql.updateRowsPerSecond / postgresSeed.updateRowsPerSecond) * 10) / 10,
        target: 150_000,
      },
    });
  } finally {
    for (const t of [fast, prev, seed]) {
      await my.query(`DROP VIEW IF EXISTS ${mysql.ident(`${t.name}_v`)}`);
      await my.query(`DROP TABLE IF EXISTS ${mysql.ident(t.name)}`);
      await pgc.query(`DROP VIEW IF EXISTS ${postgres.ident(`${t.name}_v`)}`);
      await pgc.query(`DROP TABLE IF EXISTS ${postgres.ident(t.name)}`);
    }
    await my.query(`DROP TABLE IF EXISTS ${mysql.ident(WATERMARKS)}`);
    await pgc.query(`DROP TABLE IF EXISTS ${postgres.ident(WATERMARKS)}`);
    await my.end();
    await pgc.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
