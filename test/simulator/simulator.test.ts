import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../src/events/contract.js';
import { validateEvent } from '../../src/events/validate.js';
import {
  ALT_FORMS,
  COUNTRIES,
  eventStream,
  FORMAT_CTR,
  FORMAT_FILL,
  generate,
  MALFORMED,
  type Manifest,
} from '../../src/simulator/index.js';
import { micros } from '../helpers/money.js';
import { readCsv, readLines, scratchDir, tryParse } from './files.js';

const TMP = scratchDir('library');
const dirOf = (name: string) => path.join(TMP, name);
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function bytesOf(out: string): string[] {
  return readLines(out).map((f) => f.lines.join('\n'));
}

describe('determinism', () => {
  it('writes identical bytes for the same seed and different bytes for another', async () => {
    const opts = { events: 20_000, files: 3, dirty: 0.05 };
    const a = await generate({ ...opts, out: dirOf('det-a'), seed: 11 });
    const b = await generate({ ...opts, out: dirOf('det-b'), seed: 11 });
    const c = await generate({ ...opts, out: dirOf('det-c'), seed: 12 });
    expect(bytesOf(dirOf('det-b'))).toEqual(bytesOf(dirOf('det-a')));
    expect(readFileSync(path.join(dirOf('det-b'), 'manifest.json'), 'utf8')).toBe(
      readFileSync(path.join(dirOf('det-a'), 'manifest.json'), 'utf8'),
    );
    expect(b).toEqual(a);
    const [fa, fc] = [bytesOf(dirOf('det-a')), bytesOf(dirOf('det-c'))];
    for (let f = 0; f < 3; f++) expect(fc[f]).not.toBe(fa[f]);
    expect(c.by_type.impression.revenue).not.toBe(a.by_type.impression.revenue);
  });
});

describe('jsonl.gz', () => {
  it('is one gzip member, identical run to run, with a trailer that gunzip and DuckDB agree with', async () => {
    // About 11 MB of lines in one file: several deflate chunks of a few MB each in one member.
    const opts = { events: 30_000, files: 1, seed: 4, workers: 0 };
    await generate({ ...opts, out: dirOf('gz-a') });
    await generate({ ...opts, out: dirOf('gz-b') });
    const file = (dir: string) => path.join(dirOf(dir), 'events', 'events-00000.jsonl.gz');
    const bytes = readFileSync(file('gz-a'));
    expect(readFileSync(file('gz-b')).equals(bytes)).toBe(true);
    const text = gunzipSync(bytes);
    expect(text.length).toBeGreaterThan(8 << 20);
    // The trailer's size is the whole file's (gunzip checks the CRC): ingest relies on it.
    expect(bytes.readUInt32LE(bytes.length - 4)).toBe(text.length % 2 ** 32);
    expect(readLines(dirOf('gz-a'))[0]!.lines.length).toBe(30_000);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const rows = await conn.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT event_id)::INTEGER AS ids FROM read_json('${file('gz-a')}', ` +
          `format = 'newline_delimited', columns = {'event_id': 'VARCHAR'})`,
      );
      expect(rows.getRowObjects()).toEqual([{ n: 30_000, ids: 30_000 }]);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });
});

describe('distributions', () => {
  type Counts = Record<string, number>;
  const bump = (m: Counts, k: string, n = 1) => {
    m[k] = (m[k] ?? 0) + n;
  };
  const impressions: Counts = {};
  const clicks: Counts = {};
  const requestsA: Counts = {};
  const responsesA: Counts = {};
  const krByLocalHour: Counts = {};
  const users = new Set<string>();
  const sessions = new Set<string>();
  const ecpmOutside: string[] = [];
  const invalid: string[] = [];
  /** Calls to each partner, and its responses and passbacks: `<demand_id> <type>`. */
  const partner: Counts = {};
  let requests = 0;

  beforeAll(async () => {
    const ranges = new Map(COUNTRIES.map((c) => [c.code, c.ecpmMicros]));
    for await (const rec of eventStream({ events: 150_000, seed: 7, fraud: 0, files: 2 })) {
      const v = validateEvent(rec);
      if (!v.ok) {
        invalid.push(JSON.stringify(rec));
        continue;
      }
      const ev = v.event;
      const fmt = ev.ad_format!;
      if (ev.type === 'impression') bump(impressions, fmt);
      if (ev.type === 'click') bump(clicks, fmt);
      if (ev.demand_id && ev.type !== 'impression' && ev.type !== 'click' && ev.type !== 'conversion')
        bump(partner, `${ev.demand_id} ${ev.type}`);
      if (ev.type === 'request' && !ev.demand_id) {
        requests++;
        users.add(ev.user_id!);
        sessions.add(ev.session_id!);
        if (ev.variant === 'A') bump(requestsA, fmt);
        if (ev.country === 'KR') bump(krByLocalHour, String((new Date(ev.ts).getUTCHours() + 9) % 24));
      }
      if (ev.type === 'response' && ev.variant === 'A') bump(responsesA, fmt);
      if (ev.type === 'impression' || ev.type === 'response') {
        // eCPM = revenue per impression x 1000 = the response's bid_price.
        const ecpm = ev.type === 'impression' ? micros(ev.revenue) * 1000n : micros(ev.bid_price);
        const [lo, hi] = ranges.get(ev.country!)!;
        if (ecpm < BigInt(lo) || ecpm > BigInt(hi)) ecpmOutside.push(`${ev.country} ${ecpm}`);
      }
    }
  });

  it('yields only events that pass the contract', () => {
    expect(invalid).toEqual([]);
    expect(requests).toBeGreaterThan(15_000);
  });

  it('clicks per impression follow seed 004 by format', () => {
    for (const [fmt, ctr] of Object.entries(FORMAT_CTR)) {
      expect(impressions[fmt]).toBeGreaterThan(1500);
      expect(Math.abs(clicks[fmt]! / impressions[fmt]! - ctr)).toBeLessThan(ctr * 0.15);
    }
  });

  it('offers each ad request to the partners in waterfall order, each call answered once', () => {
    const ids = [...new Set(Object.keys(partner).map((k) => k.split(' ')[0]!))].sort();
    expect(ids).toEqual(['401', '402', '403', '404', '405', '406']);
    // Exact but for the few auctions cut off at the end of a chunk.
    const near = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(10);
    const fill = ids.map((id) => {
      const calls = partner[`${id} request`]!;
      near(partner[`${id} response`]! + partner[`${id} passback`]!, calls);
      return partner[`${id} response`]! / calls;
    });
    // Every ad request reaches the first partner; later partners only see what earlier ones passed.
    near(partner['401 request']!, requests);
    for (let i = 1; i < ids.length; i++) {
      near(partner[`${ids[i]} request`]!, partner[`${ids[i - 1]} passback`]!);
      expect(fill[i]!).toBeLessThan(fill[i - 1]!);
    }
  });

  it('fills requests at the configured rate by format', () => {
    for (const [fmt, fill] of Object.entries(FORMAT_FILL)) {
      expect(Math.abs(responsesA[fmt]! / requestsA[fmt]! - fill)).toBeLessThan(0.03);
    }
  });

  it('keeps eCPM inside the country ranges', () => {
    expect(ecpmOutside).toEqual([]);
  });

  it('follows the local-time diurnal curve', () => {
    expect(krByLocalHour['21']!).toBeGreaterThan(4 * krByLocalHour['4']!);
  });

  it('has returning users with several sessions', () => {
    expect(users.size).toBeLessThan(requests / 3);
    expect(sessions.size).toBeGreaterThan(users.size);
    expect(sessions.size).toBeLessThan(requests);
  });

  it('adds fraud bursts only when asked', async () => {
    const bursts = async (fraud: number) => {
      const perMinute: Counts = {};
      for await (const rec of eventStream({ events: 30_000, seed: 3, fraud, files: 1 })) {
        if (typeof rec === 'string' || rec.type !== 'click') continue;
        bump(perMinute, `${rec.user_id} ${rec.ip} ${String(rec.ts).slice(0, 16)}`);
      }
      return Object.values(perMinute).filter((n) => n >= 10).length;
    };
    expect(await bursts(0)).toBe(0);
    expect(await bursts(0.05)).toBeGreaterThan(5);
  });
});

describe('files, metadata and manifest', () => {
  const out = dirOf('clean');
  let manifest: Manifest;
  let events: Array<Record<string, unknown>>;

  beforeAll(async () => {
    manifest = await generate({ out, events: 30_000, files: 3, seed: 5 });
    events = readLines(out).flatMap((f) => f.lines.map((l) => JSON.parse(l) as Record<string, unknown>));
  });

  it('writes every event once, valid, in the named files', () => {
    expect(manifest.files.map((f) => f.name)).toEqual([
      'events-00000.jsonl.gz',
      'events-00001.jsonl.gz',
      'events-00002.jsonl.gz',
    ]);
    expect(readLines(out).map((f) => f.lines.length)).toEqual(manifest.files.map((f) => f.records));
    expect(events.length).toBe(30_000);
    expect(new Set(events.map((e) => e.event_id)).size).toBe(30_000);
    expect(events.filter((e) => !validateEvent(e).ok)).toEqual([]);
    expect(events.every((e) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(String(e.ts)))).toBe(true);
  });

  it('states exact totals per type that equal the sums over the files', () => {
    for (const type of EVENT_TYPES) {
      const mine = events.filter((e) => e.type === type);
      const sum = (f: string) => mine.reduce((a, e) => a + micros(e[f]), 0n);
      expect(manifest.by_type[type].count).toBe(mine.length);
      expect(micros(manifest.by_type[type].revenue)).toBe(sum('revenue'));
      expect(micros(manifest.by_type[type].cost)).toBe(sum('cost'));
      expect(micros(manifest.by_type[type].bid_price)).toBe(sum('bid_price'));
    }
    expect(manifest.by_type.impression.count).toBeGreaterThan(0);
    expect(micros(manifest.by_type.conversion.revenue)).toBeGreaterThan(0n);
    const hourly = Object.values(manifest.by_hour).flatMap((h) => Object.values(h));
    expect(hourly.reduce((a, b) => a + b, 0)).toBe(30_000);
  });

  it('writes metadata that every event joins to', () => {
    const meta = (f: string) => readCsv(path.join(out, 'metadata', f));
    const inventory = new Map(meta('inventory.csv').map((r) => [r.inventory_id, r]));
    const media = new Map(meta('media.csv').map((r) => [r.media_id, r]));
    const orgs = new Set(meta('orgs.csv').map((r) => r.org_id));
    const demand = new Set(meta('demand.csv').map((r) => r.demand_id));
    const campaigns = new Map(meta('campaigns.csv').map((r) => [r.campaign_id, r]));
    for (const m of media.values()) {
      expect(orgs.has(m.org_id)).toBe(true);
      expect(Number(m.media_share)).toBeGreaterThanOrEqual(0.5);
      expect(Number(m.media_share)).toBeLessThanOrEqual(0.8);
    }
    const broken = events.filter((e) => {
      const inv = inventory.get(String(e.inventory_id));
      const med = inv && media.get(inv.media_id);
      return (
        !inv ||
        !med ||
        (e.media_id !== undefined && e.media_id !== inv.media_id) ||
        (e.org_id !== undefined && e.org_id !== med.org_id) ||
        (e.device !== undefined && e.device !== inv.device) ||
        e.ad_format !== inv.ad_type ||
        (e.demand_id !== undefined && !demand.has(String(e.demand_id))) ||
        (e.campaign_id !== undefined && campaigns.get(String(e.campaign_id))?.advertiser !== e.advertiser_id)
      );
    });
    expect(broken).toEqual([]);
  });

  it('leaves enrichment fields out of a few events only', () => {
    for (const field of ['org_id', 'media_id', 'device']) {
      const missing = events.filter((e) => e[field] === undefined).length / events.length;
      expect(missing).toBeGreaterThan(0.02);
      expect(missing).toBeLessThan(0.15);
    }
  });

  it('carries the funnel fields on the right types', () => {
    const conv = events.filter((e) => e.type === 'conversion');
    expect(conv.length).toBeGreaterThan(0);
    expect(conv.every((e) => e.campaign_id && e.revenue && !e.cost)).toBe(true);
    const custom = events.filter((e) => e.type === 'custom');
    expect(custom.every((e) => e.name === 'video_complete' && e.ad_format === 'rewarded_video')).toBe(true);
    expect(events.every((e) => e.experiment === 'floor_v2' && (e.variant === 'A' || e.variant === 'B'))).toBe(
      true,
    );
  });
});

describe('--dirty', () => {
  const out = dirOf('dirty');
  let manifest: Manifest;
  let files: ReturnType<typeof readLines>;

  beforeAll(async () => {
    manifest = await generate({ out, events: 40_000, files: 4, seed: 9, dirty: 0.05 });
    files = readLines(out);
  });

  it('writes malformed records of every kind that the contract rejects', () => {
    const expectedCode: Record<string, string> = {
      missing_event_id: 'event_id.missing',
      ts_no_offset: 'ts.no_offset',
      negative_revenue: 'money.negative',
      revenue_scale: 'money.scale',
      unknown_type: 'type.invalid',
    };
    const found: Record<string, number> = {};
    for (const line of files.flatMap((f) => f.lines)) {
      const rec = tryParse(line);
      const v = rec && validateEvent(rec);
      const kind = !rec
        ? 'bad_json'
        : v && !v.ok
          ? Object.keys(expectedCode).find((k) => expectedCode[k] === v.rejection.code)
          : undefined;
      if (kind) found[kind] = (found[kind] ?? 0) + 1;
    }
    for (const kind of MALFORMED) {
      expect(found[kind], kind).toBeGreaterThan(0);
      expect(found[kind], kind).toBe(manifest.dirt[`malformed.${kind}`]);
    }
  });

  it('writes valid alternative forms that count as clean', () => {
    const seen = new Map<string, Record<string, unknown>>();
    for (const line of files.flatMap((f) => f.lines)) {
      const rec = tryParse(line);
      if (rec && validateEvent(rec).ok) seen.set(String(rec.event_id), rec);
    }
    const form = (r: Record<string, unknown>) => {
      const ts = r.ts ?? r.timestamp;
      if ('event_type' in r) return 'aliases';
      if (typeof ts === 'number') return ts < 1e11 ? 'epoch_s' : 'epoch_ms';
      if (String(ts).endsWith('+09:00')) return 'offset';
      if (typeof r.inventory_id === 'number') return 'int_ids';
      return 'canonical';
    };
    const counts: Record<string, number> = {};
    for (const r of seen.values()) counts[form(r)] = (counts[form(r)] ?? 0) + 1;
    for (const f of ALT_FORMS) {
      expect(counts[f], f).toBeGreaterThan(0);
      expect(counts[f], f).toBe(manifest.dirt[`alternative.${f}`]);
    }
  });

  it('repeats events exactly, within and across files', () => {
    const where = new Map<string, { lines: Set<string>; files: Set<string>; n: number }>();
    for (const { file, lines } of files) {
      for (const line of lines) {
        const rec = tryParse(line);
        if (!rec || !validateEvent(rec).ok) continue;
        const id = String(rec.event_id);
        const w = where.get(id) ?? { lines: new Set(), files: new Set(), n: 0 };
        w.lines.add(line);
        w.files.add(file);
        w.n++;
        where.set(id, w);
      }
    }
    const repeated = [...where.values()].filter((w) => w.n > 1);
    expect(repeated.every((w) => w.lines.size === 1)).toBe(true);
    expect(repeated.some((w) => w.files.size > 1)).toBe(true);
    expect(repeated.some((w) => w.files.size === 1)).toBe(true);
    expect(repeated.reduce((a, w) => a + w.n - 1, 0)).toBe(manifest.dirt.duplicate);
  });

  it('delivers some old hours late, in a later file', () => {
    const late = files.slice(1).map(({ lines }) => {
      const times = lines
        .map(tryParse)
        .map((r) => r && validateEvent(r))
        .flatMap((v) => (v?.ok ? [Date.parse(v.event.ts)] : []));
      const median = [...times].sort((a, b) => a - b)[times.length >> 1]!;
      return times.filter((t) => t < median - 2 * 3_600_000).length;
    });
    expect(late.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(manifest.dirt.late).toBeGreaterThan(0);
  });

  it('states clean totals that survive deduplication of the valid records', () => {
    const clean = new Map<string, { type: string; revenue: string }>();
    for (const line of files.flatMap((f) => f.lines)) {
      const rec = tryParse(line);
      const v = rec && validateEvent(rec);
      if (v?.ok) clean.set(v.event.event_id, v.event);
    }
    expect(clean.size).toBe(manifest.events);
    for (const type of EVENT_TYPES) {
      const mine = [...clean.values()].filter((e) => e.type === type);
      expect(mine.length, type).toBe(manifest.by_type[type].count);
      expect(mine.reduce((a, e) => a + micros(e.revenue), 0n)).toBe(micros(manifest.by_type[type].revenue));
    }
  });
});
