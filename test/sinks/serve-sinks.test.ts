// #17's done-when: `adpipe serve` with a PostgreSQL and a MariaDB sink keeps both equal to the
// embedded reports with no command run by hand, within 10 s of the events arriving over HTTP. The
// PostgreSQL sink reaches the shared server through a TCP proxy the test owns: closing it makes
// that sink unreachable (the server itself stays up for everyone else), which must delay only that
// sink, shown as failing on /v1/pipeline and /metrics, until it catches up once the proxy is back.

import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import path from 'node:path';
import mysql2 from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import type { SubscriberStatus } from '../../src/runtime/subscriber.js';
import { openSinks } from '../../src/sinks/configured.js';
import { mysqlDriver } from '../../src/sinks/mysql/index.js';
import { postgresDriver } from '../../src/sinks/postgres/index.js';
import { sqlSinkSchema } from '../../src/sinks/sql/config.js';
import { type SinkDriver, watermarkTableOf } from '../../src/sinks/sql/connection.js';
import { type SinkTable, sinkTables } from '../../src/sinks/sql/table.js';
import { differences } from '../../src/sinks/sql/verify.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { describeWith, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { uniquePrefix } from './conformance.js';

const REPORTS = ['campaign', 'media', 'ad'];
const TARGET_MS = 10_000;

/** A TCP proxy to PostgreSQL that can be cut (listener closed, live connections destroyed) and restored. */
class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const closed = new Promise((resolve) => this.server?.close(resolve));
    for (const s of this.sockets) s.destroy();
    await closed;
    this.server = undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls check until it returns true; the time it took, or an error naming what it last saw. */
async function until(what: string, limitMs: number, check: () => Promise<boolean | string>): Promise<number> {
  const started = Date.now();
  let last: boolean | string = false;
  while (Date.now() - started < limitMs) {
    last = await check().catch((err: Error) => `check failed: ${err.message}`);
    if (last === true) return Date.now() - started;
    await sleep(150);
  }
  throw new Error(`${what} not within ${limitMs} ms (last: ${last})`);
}

(await describeWith('postgres', 'mariadb'))('adpipe serve keeps its sinks in sync', () => {
  const prefix = uniquePrefix('serve');
  const pgUrl = new URL(testServices.pgUrl);
  const proxy = new TcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
  const dataDir = makeTempDir('serve-sinks');
  let child: ChildProcess;
  let base: string;
  let sent = 0;
  const sinkYaml = (type: 'postgres' | 'mysql', name: string, url: string) => ({
    type,
    name,
    url,
    reports: REPORTS,
    table_prefix: `${prefix}${name}_`,
    retry_max_ms: 2000,
  });
  interface TestSink {
    name: string;
    /** Its adpipe.yaml entry, reaching the database directly. */
    yaml: ReturnType<typeof sinkYaml>;
    driver: SinkDriver;
  }
  const direct: Record<'pg' | 'maria', TestSink> = {
    pg: { name: 'pg', yaml: sinkYaml('postgres', 'pg', testServices.pgUrl), driver: postgresDriver },
    maria: { name: 'maria', yaml: sinkYaml('mysql', 'maria', testServices.mysqlUrl), driver: mysqlDriver },
  };

  /** The embedded report's rows for a sink table, as the running server answers them. */
  const apiRows = async (t: SinkTable) => {
    const res = await fetch(`${base}/v1/reports/${t.report.name}?grain=day&tz=UTC&totals=false&limit=100000`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
  };

  /** True when every table of the sink is at the latest batch and equal to the report; else why not. */
  const inSync = async (s: TestSink): Promise<true | string> => {
    const pipeline = (await (await fetch(`${base}/v1/pipeline`)).json()) as {
      files: { accepted: number };
      batches: { batch_id: number }[];
    };
    if (pipeline.files.accepted !== sent) return `${pipeline.files.accepted} of ${sent} events committed`;
    const latest = pipeline.batches[0]!.batch_id;
    const tables = sinkTables(sqlSinkSchema(s.yaml.type).parse(s.yaml));
    // MySQL/PostgreSQL tables hold one loader's sums: the loader id means nothing to their drivers.
    const conn = await s.driver.connect(s.yaml.url, watermarkTableOf(s.yaml), 'unused');
    try {
      for (const t of tables) {
        const w = (await conn.watermark(t)).batchId;
        if (w !== latest) return `${s.name}.${t.name} at batch ${w} of ${latest}`;
      }
      const diffs = await differences(tables, apiRows, (t) => conn.read(t));
      return diffs.length === 0 || `${s.name}: ${diffs.length} differences, e.g. ${JSON.stringify(diffs[0])}`;
    } finally {
      await conn.close();
    }
  };

  const statusOf = async (name: string) => {
    const body = (await (await fetch(`${base}/v1/pipeline`)).json()) as { subscribers: SubscriberStatus[] };
    return body.subscribers.find((s) => s.name === name)!;
  };

  let seq = 0;
  /** Posts n events of the campaign funnel with money, today, and counts them as sent. */
  const send = async (n: number) => {
    const types = ['impression', 'impression', 'impression', 'click', 'conversion'];
    const lines = Array.from({ length: n }, () => {
      const i = seq++;
      return JSON.stringify({
        event_id: `${prefix}${i}`,
        type: types[i % types.length],
        ts: new Date(Date.now() - (i % 3) * 86_400_000).toISOString(),
        media_id: `m${i % 4}`,
        campaign_id: `c${i % 5}`,
        revenue: `0.${String(1000 + (i % 97)).padStart(6, '0')}`,
        cost: `0.${String(500 + (i % 89)).padStart(6, '0')}`,
      });
    });
    const res = await fetch(`${base}/v1/events`, {
      method: 'POST',
      body: lines.join('\n'),
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(n);
    sent += n;
  };

  beforeAll(async () => {
    await proxy.open();
    const viaProxy = new URL(testServices.pgUrl);
    viaProxy.port = String(proxy.port);
    const config = path.join(dataDir, 'adpipe.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        server: { drain_interval_ms: 200 },
        sinks: [sinkYaml('postgres', 'pg', viaProxy.toString()), direct.maria.yaml],
      }),
    );
    child = spawn(
      process.execPath,
      [path.resolve('bin/adpipe.js'), '--config', config, '--data-dir', dataDir, 'serve', '--port', '0'],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ADPIPE_LOG_LEVEL: 'warn' } },
    );
    base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /serving on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`serve exited early with ${code}: ${out}`)));
    });
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await proxy.cut().catch(() => undefined);
    const pgc = new pg.Client({ connectionString: testServices.pgUrl });
    await pgc.connect();
    const my = await mysql2.createConnection({ uri: testServices.mysqlUrl });
    try {
      const like = `${prefix.replace(/_/g, '\\_')}%`;
      const { rows } = await pgc.query<{ t: string; v: boolean }>(
        `SELECT table_name AS t, table_type = 'VIEW' AS v FROM information_schema.tables WHERE table_name LIKE $1 ORDER BY 2 DESC`,
        [like],
      );
      for (const r of rows) await pgc.query(`DROP ${r.v ? 'VIEW' : 'TABLE'} IF EXISTS "${r.t}" CASCADE`);
      const [mrows] = (await my.query(
        `SELECT table_name AS t, table_type = 'VIEW' AS v FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ? ORDER BY 2 DESC`,
        [like],
      )) as unknown as [{ t: string; v: number }[]];
      for (const r of mrows) await my.query(`DROP ${r.v ? 'VIEW' : 'TABLE'} IF EXISTS \`${r.t}\``);
    } finally {
      await pgc.end();
      await my.end();
    }
  });

  it('brings both sinks equal to the embedded reports within 10 s of the events arriving', async () => {
    const started = Date.now();
    await send(300);
    await until('both sinks in sync', 30_000, async () => {
      const pgState = await inSync(direct.pg);
      const mariaState = await inSync(direct.maria);
      return pgState === true && mariaState === true ? true : `${pgState} / ${mariaState}`;
    });
    expect(Date.now() - started).toBeLessThan(TARGET_MS);
    expect(await statusOf('pg')).toMatchObject({ state: 'ok', failures: 0 });
    expect(await statusOf('maria')).toMatchObject({ state: 'ok', failures: 0 });
  }, 60_000);

  it('delays only the sink whose database is unreachable, which catches up once it is back', async () => {
    await proxy.cut();
    await send(200);
    await until('MariaDB in sync while PostgreSQL is cut off', 30_000, () => inSync(direct.maria));
    await until('the PostgreSQL sink shown failing', 30_000, async () => {
      const s = await statusOf('pg');
      return s.state === 'failing' || JSON.stringify(s);
    });
    const pgStatus = await statusOf('pg');
    expect(pgStatus.handledBatch).toBeLessThan(pgStatus.latestBatch!);
    expect(pgStatus.retryAt).toBeDefined();
    expect(pgStatus.detail).toBeTruthy();
    expect(await inSync(direct.pg)).not.toBe(true);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/adpipe_subscriber_up\{subscriber="pg"\} 0/);
    expect(metrics).toMatch(/adpipe_subscriber_up\{subscriber="maria"\} 1/);
    expect(metrics).toMatch(/adpipe_subscriber_lag_batches\{subscriber="pg"\} [1-9]/);
    expect(metrics).toMatch(/adpipe_subscriber_lag_batches\{subscriber="maria"\} 0/);

    await proxy.open();
    // Backoff is at most retry_max_ms (2 s) plus jitter, then one sync.
    await until('PostgreSQL caught up', 30_000, () => inSync(direct.pg));
    expect(await statusOf('pg')).toMatchObject({ state: 'ok', failures: 0 });
  }, 90_000);

  it('stops cleanly, and both sinks verify clean against the warehouse', async () => {
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.once('exit', resolve);
    });
    expect(code).toBe(0);
    const wh = await Warehouse.open(dataDir);
    try {
      const config = parseConfig({ sinks: [direct.pg.yaml, direct.maria.yaml] });
      for (const sink of await openSinks(config, wh)) expect(await sink.verify!(), sink.name).toEqual([]);
    } finally {
      wh.close();
    }
  }, 60_000);
});
