// Issue #17 item 5: `report`, `query`, `verify` and `sink status|sync|verify` run beside a real
// `adpipe serve` (spawned from bin/adpipe.js: needs `npx tsc -p tsconfig.json`) print exactly what
// they print with no server, by asking it with the CLI's own key; a writer (`ingest`) is refused
// saying what to do; `kill -9` of the server and an immediate restart takes the lock over and
// replays the spool. The sink is a real PostgreSQL with a table prefix of its own.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generate } from '../../src/simulator/index.js';
import { describeWith, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { type CliResult, runCli, startCli } from '../pipeline/fixtures.js';

const ADMIN = 'admin-key-0123456789';
const READ = 'read-key-0123456789';
const WRITE = 'write-key-0123456789';
const prefix = `opr${process.pid}_`;

const root = makeTempDir('beside-serve');
const dataDir = path.join(root, 'data');
const sim = path.join(root, 'sim');
const sinkConfig = {
  type: 'postgres',
  url: testServices.pgUrl,
  table_prefix: prefix,
  reports: ['ad_request'],
};
/** A config file with these server keys (YAML is a superset of JSON). */
function configWith(name: string, server: Record<string, unknown>): string {
  const file = path.join(root, `${name}.yaml`);
  writeFileSync(file, JSON.stringify({ server: { drain_interval_ms: 100, ...server }, sinks: [sinkConfig] }));
  return file;
}
const keys = { read_keys: [READ], write_keys: [WRITE], admin_keys: [ADMIN] };
const operator = configWith('operator', keys);
/** The CLI of an analyst: only a read key. */
const analyst = configWith('analyst', { read_keys: [READ] });
const nobody = configWith('nobody', {});

const cli = (config: string, args: string[]) => runCli(dataDir, ['-c', config, ...args]);
const outcome = (r: CliResult) => ({ code: r.code, stdout: r.stdout });

const COMMANDS: string[][] = [
  ['report', 'ad_request', '--metrics'],
  ['report', 'ad_request', '--format', 'json', '--by', 'media_id', '--filter', 'app_type:app|web'],
  ['report', 'ad_request', '--format', 'csv', '--grain', 'hour', '--tz', 'Asia/Seoul', '--limit', '7'],
  ['query', 'SELECT type, count(*) AS n FROM lake GROUP BY type ORDER BY type'],
  ['query', '--format', 'json', '--max-rows', '2', 'SELECT event_id FROM lake ORDER BY event_id'],
  ['analyze', 'active-users', '--by', 'media_id'],
  ['deadletter', 'list'],
  ['verify'],
  ['sink', 'status'],
  ['sink', 'sync'],
  ['sink', 'verify', 'postgres'],
];

/** `adpipe serve` on every interface; `url` resolves with the address it prints once listening. */
function serve(config: string) {
  const server = startCli(dataDir, ['-c', config, 'serve', '--port', '0', '--host', '0.0.0.0']);
  const url = new Promise<string>((resolve, reject) => {
    const poll = setInterval(() => {
      const m = /serving on (http:\/\/\S+)/.exec(server.output().stdout);
      if (m) resolve(m[1]!);
      else if (server.child.exitCode !== null) reject(new Error(`serve exited: ${server.output().stderr}`));
      else return;
      clearInterval(poll);
    }, 50);
  });
  return { ...server, url };
}

(await describeWith('postgres'))('commands beside a running adpipe serve', () => {
  const alone = new Map<string, { code: number | null; stdout: string }>();
  /** What each command wrote to stderr alone: said when it did not succeed, to tell why. */
  const aloneStderr = new Map<string, string>();
  let server: ReturnType<typeof serve> | undefined;

  beforeAll(async () => {
    await generate({ out: sim, events: 3000, files: 3, hours: 5, seed: 17, format: 'jsonl' });
    const ingest = await cli(operator, [
      'ingest',
      path.join(sim, 'events'),
      '-m',
      path.join(sim, 'metadata'),
    ]);
    expect(ingest.code, ingest.stderr).toBe(0);
    expect((await cli(operator, ['sink', 'sync'])).code).toBe(0);
    for (const args of COMMANDS) {
      const result = await cli(operator, args);
      alone.set(args.join(' '), outcome(result));
      aloneStderr.set(args.join(' '), result.stderr);
    }
    server = serve(operator);
    await server.url;
  }, 120_000);

  afterAll(async () => {
    server?.child.kill('SIGKILL');
    const db = new pg.Client({ connectionString: testServices.pgUrl });
    await db.connect();
    const { rows } = await db.query<{ name: string; kind: string }>(
      `SELECT table_name AS name, table_type AS kind FROM information_schema.tables WHERE table_name LIKE $1`,
      [`${prefix}%`],
    );
    for (const r of rows.filter((r) => r.kind === 'VIEW')) await db.query(`DROP VIEW IF EXISTS "${r.name}"`);
    for (const r of rows.filter((r) => r.kind !== 'VIEW')) await db.query(`DROP TABLE IF EXISTS "${r.name}"`);
    await db.end();
  });

  it('the lock file names the serving process and a reachable address', async () => {
    const [first, address] = readFileSync(path.join(dataDir, 'adpipe.lock'), 'utf8').split('\n');
    expect(first!.split(' ')[0]).toBe(String(server!.child.pid));
    // Listening on every interface: announced on the loopback one.
    expect(address).toBe((await server!.url).replace('0.0.0.0', '127.0.0.1'));
  });

  it.each(COMMANDS)('%s … prints what it prints alone', async (...args: string[]) => {
    const before = alone.get(args.join(' '))!;
    expect(before.code, `${before.stdout}\n${aloneStderr.get(args.join(' '))}`).toBe(0);
    expect(before.stdout.length).toBeGreaterThan(20);
    const beside = await cli(operator, args);
    expect(beside.stderr).not.toContain('ADP_ERR');
    expect(outcome(beside)).toEqual(before);
  });

  it('a read key runs reports but not admin commands; no key is told which key to set', async () => {
    expect(outcome(await cli(analyst, COMMANDS[0]!))).toEqual(alone.get(COMMANDS[0]!.join(' ')));
    const verify = await cli(analyst, ['verify']);
    expect(verify.code).toBe(2);
    expect(verify.stderr).toContain(
      'ADP_ERR_HTTP_FORBIDDEN: this key may not run admin commands (it is a read key)',
    );
    const report = await cli(nobody, ['report', 'ad_request']);
    expect(report.code).toBe(2);
    expect(report.stderr).toMatch(
      /ADP_ERR_HTTP_UNAUTHORIZED: missing or invalid key; adpipe serve \(pid \d+, http:/,
    );
    expect(report.stderr).toContain('server.admin_keys[0], else server.read_keys[0]');
  });

  it.each([
    ['ingest', path.join(sim, 'events'), '-m', path.join(sim, 'metadata')],
    ['compact'],
    ['model', 'ctr', 'train'],
  ])('%s is refused, naming the server, its collector and how to stop it', async (...args: string[]) => {
    const r = await cli(operator, args);
    const pid = server!.child.pid;
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(
      `ADP_ERR_WAREHOUSE_LOCKED: the data dir ${dataDir} is held by another adpipe process (pid ${pid})`,
    );
    expect(r.stderr).toContain(`send events to its collector (POST http://127.0.0.1:`);
    expect(r.stderr).toContain(`or stop it (kill -TERM ${pid}) first`);
  });

  it('kill -9 and an immediate restart: the lock is taken over with a log line, the spool replayed', async () => {
    const url = await server!.url;
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({
        event_id: `opr-${i}`,
        type: 'impression',
        ts: '2025-05-05T05:05:05Z',
        media_id: 'm1',
      }),
    );
    const res = await fetch(`${url}/v1/events`, {
      method: 'POST',
      body: lines.join('\n'),
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${WRITE}` },
    });
    expect(res.status).toBe(200);
    const killed = server!.child.pid!;
    server!.child.kill('SIGKILL');
    server = serve(operator);
    await server.url;
    expect(server.output().stderr).toMatch(
      new RegExp(`taking over a stale lock: pid ${killed} is (not running|a zombie)`),
    );
    const count = ['query', "SELECT count(*) AS n FROM lake WHERE event_id LIKE 'opr-%'"];
    await expect
      .poll(async () => (await cli(operator, count)).stdout.split('\n')[2]?.trim(), { timeout: 20_000 })
      .toBe('40');
  }, 60_000);

  it('sink sync beside the server applies what the collector committed; status then matches the one alone', async () => {
    // The server's own sink subscriber may have synced the batch already: then there is nothing left.
    const sync = await cli(operator, ['sink', 'sync']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toMatch(
      new RegExp(
        `^postgres: (up to date|${prefix}ad_request: batches \\d+\\.\\.\\d+, \\d+ rows in \\d+\\.\\d\\d s)\n$`,
      ),
    );
    const verify = await cli(operator, ['sink', 'verify', 'postgres']);
    expect(outcome(verify)).toEqual({ code: 0, stdout: 'postgres: 0 difference(s)\n' });
    const beside = outcome(await cli(operator, ['sink', 'status']));
    server!.child.kill('SIGTERM');
    await server!.done;
    server = undefined;
    expect(outcome(await cli(operator, ['sink', 'status']))).toEqual(beside);
  }, 60_000);
});
