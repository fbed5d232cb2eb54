// `npm run bench -- feed [--hours H] [--per-hour N] [--users U]`: bytes per event of seed 003's
// storage (json.dumps of an hour's logs, gzip level 9, raw and after its "string compaction": user
// ids as two B64UUIDs, method and URL as codes, inDate as digits) against Parquet on the same
// records: the seed's four columns with the lake's Parquet options, and adpipe's own lake after
// the records went through the feed client (Fernet tokens over HTTP, decrypted, content-hash
// event ids) and ingest. One file per hour in every layout, as the seed uploads one .gz per hour.

import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PARQUET_OPTIONS } from '../src/lake/lake.js';
import { loadUnits } from '../src/loader/loader.js';
import { Prng } from '../src/simulator/prng.js';
import { fetchFeedPage, writeFeedRecords } from '../src/sources/feed/client.js';
import { fernetEncrypt, generateFernetKey, parseFernetKey } from '../src/sources/feed/fernet.js';
import { discoverInputs } from '../src/sources/files/discover.js';
import { sqlString } from '../src/warehouse/quote.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import { benchDir, numberArg, saveResults } from './util.js';

interface SeedLog {
  user_id: string;
  method: string;
  url: string;
  inDate: string;
}

const URLS = [
  '/api/products/product/',
  '/api/products/list/',
  '/api/cart/',
  '/api/orders/',
  '/api/users/me/',
];

/** The seed's API logs: 64-hex user ids, GET/POST, a few URLs (one dominant), ms timestamps in order. */
function seedLogs(hour: number, perHour: number, users: string[], rng: Prng): SeedLog[] {
  const start = Date.UTC(2023, 2, 20, 0) + hour * 3_600_000;
  return Array.from({ length: perHour }, (_, i) => ({
    user_id: users[rng.below(users.length)] as string,
    method: rng.float() < 0.7 ? 'GET' : 'POST',
    url: URLS[rng.float() < 0.6 ? 0 : rng.below(URLS.length)] as string,
    inDate: new Date(start + Math.floor((i * 3_600_000) / perHour) + rng.below(1000)).toISOString(),
  }));
}

/** Python's json.dumps(list): ", " and ": " separators. */
const pyJsonDumps = (rows: object[]): string =>
  `[${rows
    .map(
      (r) =>
        `{${Object.entries(r)
          .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
          .join(', ')}}`,
    )
    .join(', ')}]`;

/** Seed 003's str_compress: B64UUID of each half of the user id, method and URL codes, date digits. */
function seedCompress(log: SeedLog): object {
  const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
  return {
    user_id: b64(log.user_id.slice(32)) + b64(log.user_id.slice(0, 32)),
    method: ({ GET: 1, POST: 2 } as Record<string, number>)[log.method] ?? 0,
    url: log.url === '/api/products/product/' ? 1 : 0,
    inDate: log.inDate.replace(/\D/g, '').slice(2),
  };
}

const dirBytes = (dir: string, ext: string): number =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);

export async function run(args: string[]): Promise<void> {
  const hours = numberArg(args, 'hours', 50);
  const perHour = numberArg(args, 'per-hour', 2000);
  const userCount = numberArg(args, 'users', 5000);
  const rng = new Prng(3);
  const users = Array.from({ length: userCount }, () =>
    Array.from({ length: 8 }, () => rng.next().toString(16).padStart(8, '0')).join(''),
  );
  const byHour = Array.from({ length: hours }, (_, h) => seedLogs(h, perHour, users, rng));
  const events = hours * perHour;

  const work = path.join(benchDir, 'data', `feed-${process.pid}`);
  const dirs = { raw: path.join(work, 'raw'), feed: path.join(work, 'feed'), cols: path.join(work, 'cols') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });

  let rawGz = 0;
  let compactGz = 0;
  byHour.forEach((logs, h) => {
    rawGz += gzipSync(pyJsonDumps(logs), { level: 9 }).length;
    compactGz += gzipSync(pyJsonDumps(logs.map(seedCompress)), { level: 9 }).length;
    writeFileSync(path.join(dirs.raw, `h${h}.jsonl`), logs.map((l) => JSON.stringify(l)).join('\n'));
  });

  // The seed's four columns as Parquet with the lake's options, one file per hour.
  const wh = await Warehouse.open(path.join(work, 'wh'));
  try {
    for (let h = 0; h < hours; h++) {
      await wh.run(
        `COPY (SELECT user_id, method, url, inDate::TIMESTAMPTZ AS in_date
               FROM read_json(${sqlString(path.join(dirs.raw, `h${h}.jsonl`))}, format = 'newline_delimited'))
         TO ${sqlString(path.join(dirs.cols, `h${h}.parquet`))} (${PARQUET_OPTIONS})`,
      );
    }
    // adpipe's lake: the same logs as seed-style feed pages, through the feed client and ingest,
    // mapped the simplest way (type custom, name = method, ts = inDate, url kept in props).
    const key = generateFernetKey();
    const pages = byHour.map((logs) =>
      JSON.stringify(
        logs.map((l) => ({
          data: fernetEncrypt(
            `{'type': 'custom', 'name': '${l.method}', 'ts': '${l.inDate}', 'user_id': '${l.user_id}', 'url': '${l.url}'}`,
            parseFernetKey(key),
          ),
        })),
      ),
    );
    const server = createServer((req, res) => res.end(pages[Number(req.url?.slice(3))] ?? '[]'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const t0 = process.hrtime.bigint();
    for (let h = 0; h < hours; h++) {
      await writeFeedRecords(await fetchFeedPage(`${base}/h/${h}`, { key: parseFernetKey(key) }), dirs.feed);
    }
    const pullSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    server.close();
    const summary = await loadUnits(wh, await discoverInputs([dirs.feed]));
    const lake = await wh.one<{ bytes: string; files: string }>(
      'SELECT sum(bytes)::VARCHAR AS bytes, count(*)::VARCHAR AS files FROM lake_files',
    );
    const per = (bytes: number) => Math.round((bytes / events) * 10) / 10;
    // Where the lake's bytes go, by column (compressed sizes from the Parquet footers).
    const files = await wh.all<{ path: string }>('SELECT path FROM lake_files');
    const columns = await wh.all<{ col: string; bytes: string }>(
      `SELECT path_in_schema AS col, sum(total_compressed_size)::VARCHAR AS bytes
       FROM parquet_metadata([${files.map((f) => sqlString(path.join(wh.lakeDir, f.path))).join(', ')}])
       GROUP BY 1 ORDER BY sum(total_compressed_size) DESC LIMIT 5`,
    );
    saveResults('feed', {
      events,
      hours,
      per_hour: perHour,
      users: userCount,
      accepted: summary.accepted,
      feed_pull_events_per_second: Math.round(events / pullSeconds),
      bytes_per_event: {
        seed_json_gzip9: per(rawGz),
        seed_compacted_json_gzip9: per(compactGz),
        parquet_seed_columns_lake_options: per(dirBytes(dirs.cols, '.parquet')),
        adpipe_lake: per(Number(lake?.bytes ?? 0)),
      },
      lake_files: Number(lake?.files ?? 0),
      adpipe_lake_top_columns_bytes_per_event: Object.fromEntries(
        columns.map((c) => [c.col, per(Number(c.bytes))]),
      ),
      note: 'adpipe_lake carries the full contract schema and a sha256 content id per event (64 hex chars that do not compress)',
    });
  } finally {
    wh.close();
    rmSync(work, { recursive: true, force: true });
  }
}
