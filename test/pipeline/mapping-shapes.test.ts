// The four seed shapes (adpipe generate --shape), ingested from files with their example mapping
// (examples/mappings/<shape>.yaml) and posted to the collector with server.mapping: both give the
// hourly ad report an independent computation over the shaped lines gives (local hours read off
// the lines' own wall-clock text), in the mapping's zone, across a DST change where the zone has
// one; money exact.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMapping } from '../../src/events/mapping/index.js';
import { loadMetadata } from '../../src/pipeline/metadata.js';
import { runReport } from '../../src/reports/query.js';
import { generate } from '../../src/simulator/index.js';
import { reshapeFiles } from '../../src/simulator/shapes.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { startServer } from '../collector/server.js';
import { makeTempDir } from '../helpers/tmp.js';
import { deadLetters, ingestInProcess, withWarehouse } from './fixtures.js';

const EXAMPLES = path.resolve('examples/mappings');

interface ShapeCase {
  shape: string;
  /** The report zone: the mapping's, where the shape's times are wall clocks. */
  tz: string;
  start: string;
  /** The local hour (YYYY-MM-DDTHH) of a shaped line, read off its own text. */
  hour(r: Record<string, unknown>): string;
  type(r: Record<string, unknown>): string;
  /** Revenue as written (a JSON number's text), absent when the log has none. */
  revenue(r: Record<string, unknown>): unknown;
  cost(r: Record<string, unknown>): unknown;
  /** Rows without ids are one event per distinct text (id_from_content). */
  key(line: string, r: Record<string, unknown>): string;
}

const SEED000_TYPES: Record<string, string> = { imp: 'impression', clk: 'click', conv: 'conversion' };
/** Seoul is UTC+9 all year. */
const seoulHour = (seconds: number) => new Date(seconds * 1000 + 9 * 3600_000).toISOString().slice(0, 13);

const CASES: readonly ShapeCase[] = [
  {
    shape: 'seed004',
    tz: 'America/New_York',
    start: '2026-03-07T20:00:00Z', // New York: Mar 7 15:00 EST .. Mar 8 16:00 EDT
    hour: (r) => String(r.timestamp).slice(0, 13),
    type: (r) => String(r.event_type),
    revenue: (r) => r.revenue,
    cost: () => undefined,
    key: (_, r) => String(r.event_id),
  },
  {
    shape: 'seed001',
    tz: 'Europe/Berlin',
    start: '2026-03-28T12:00:00Z', // Berlin: Mar 28 13:00 CET .. Mar 29 14:00 CEST
    hour: (r) => String(r.timestamp).replace(' ', 'T').slice(0, 13),
    type: (r) => String(r.event_type),
    revenue: (r) => r.revenue,
    cost: (r) => r.cost,
    key: (line) => line,
  },
  {
    shape: 'seed000',
    tz: 'Asia/Seoul',
    start: '2026-01-01T10:00:00Z',
    hour: (r) => seoulHour(Number(r.ts)),
    type: (r) => SEED000_TYPES[String(r.evt)] ?? String(r.evt),
    revenue: (r) => r.price,
    cost: () => undefined,
    key: (_, r) => String(r.lid),
  },
  {
    shape: 'seed003',
    tz: 'Asia/Seoul',
    start: '2026-01-01T10:00:00Z',
    hour: (r) => String(r.inDate).replace(/^(\d{4})(\d{2})(\d{2})(\d{2}).*/, '$1-$2-$3T$4'),
    type: (r) => (r.method === 'GET' ? 'impression' : 'click'),
    revenue: () => undefined,
    cost: () => undefined,
    key: (line) => line,
  },
];

/** Exact micros of a JSON number or decimal string with at most 6 fractional digits. */
function micros(v: unknown): bigint {
  if (v === undefined || v === null) return 0n;
  const [int, frac = ''] = String(v).split('.');
  if (/e/i.test(String(v)) || frac.length > 6) throw new Error(`not a plain amount: ${v}`);
  return BigInt(int!) * 1_000_000n + BigInt(frac.padEnd(6, '0'));
}

const money = (m: bigint) => `${m / 1_000_000n}.${String(m % 1_000_000n).padStart(6, '0')}`;

/** The hourly ad report computed from the shaped lines alone. */
function expectedAdReport(c: ShapeCase, lines: readonly string[]): string[] {
  const seen = new Set<string>();
  const days = new Map<
    string,
    { impressions: number; clicks: number; conversions: number; revenue: bigint; cost: bigint }
  >();
  for (const line of lines) {
    const r = JSON.parse(line) as Record<string, unknown>;
    const key = c.key(line, r);
    if (seen.has(key)) continue;
    seen.add(key);
    const type = c.type(r);
    if (!['impression', 'click', 'conversion'].includes(type)) continue;
    const d = c.hour(r);
    const day = days.get(d) ?? { impressions: 0, clicks: 0, conversions: 0, revenue: 0n, cost: 0n };
    days.set(d, day);
    if (type === 'impression') day.impressions++;
    if (type === 'click') day.clicks++;
    if (type === 'conversion') day.conversions++;
    else {
      day.revenue += micros(c.revenue(r));
      day.cost += micros(c.cost(r));
    }
  }
  return [...days]
    .map(
      ([d, v]) => `${d}|${v.impressions}|${v.clicks}|${v.conversions}|${money(v.revenue)}|${money(v.cost)}`,
    )
    .sort();
}

async function adReport(wh: Warehouse, tz: string): Promise<string[]> {
  const res = await runReport(wh, { report: 'ad', tz, grain: 'hour', by: [] });
  const cols = ['hour', 'impressions', 'clicks', 'conversions', 'revenue', 'cost'];
  return res.rows
    .map((r) => cols.map((k) => String(r[k]).slice(0, k === 'hour' ? 13 : undefined)).join('|'))
    .sort();
}

describe.each(CASES)('shape $shape with its example mapping', (c) => {
  const mappingFile = path.join(EXAMPLES, `${c.shape}.yaml`);
  const setup = async () => {
    const out = makeTempDir(`shape-${c.shape}`);
    const manifest = await generate({
      out,
      events: 4000,
      seed: 7,
      start: c.start,
      hours: 24,
      files: 2,
      format: 'jsonl',
    });
    const names = manifest.files.map((f) => f.name);
    await reshapeFiles(path.join(out, 'events'), names, c.shape);
    const lines = names.flatMap((n) =>
      readFileSync(path.join(out, 'events', n), 'utf8')
        .split('\n')
        .filter(Boolean),
    );
    return { out, lines, expected: expectedAdReport(c, lines) };
  };

  it('ingested from files, reports equal the independent computation; again, nothing changes', async () => {
    const { out, lines, expected } = await setup();
    expect(expected.length).toBeGreaterThanOrEqual(2);
    const dataDir = makeTempDir('shape-data');
    const options = { mapping: loadMapping(mappingFile), metadata: path.join(out, 'metadata') };
    const first = await ingestInProcess(dataDir, [path.join(out, 'events')], options);
    expect(first.rejected).toBe(0);
    expect(first.accepted + first.duplicates).toBe(lines.length);
    await withWarehouse(dataDir, async (wh) => expect(await adReport(wh, c.tz)).toEqual(expected));
    // The same rows in a new file: every id (given or hashed) is known already.
    writeFileSync(path.join(out, 'again.jsonl'), `${lines.join('\n')}\n`);
    const again = await ingestInProcess(dataDir, [path.join(out, 'again.jsonl')], options);
    expect(again.accepted).toBe(0);
    await withWarehouse(dataDir, async (wh) => expect(await adReport(wh, c.tz)).toEqual(expected));
  });

  it('posted to the collector with server.mapping, reports are the same', async () => {
    const { out, lines, expected } = await setup();
    const dataDir = makeTempDir('shape-http');
    await withWarehouse(dataDir, (wh) => loadMetadata(wh, path.join(out, 'metadata')));
    const server = await startServer({ mapping: mappingFile }, dataDir);
    try {
      for (let i = 0; i < lines.length; i += 500) {
        const res = await fetch(`${server.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body: `${lines.slice(i, i + 500).join('\n')}\n`,
        });
        const body = (await res.json()) as { rejected: number };
        expect(res.status).toBe(200);
        expect(body.rejected).toBe(0);
      }
    } finally {
      await server.stop();
    }
    await withWarehouse(dataDir, async (wh) => expect(await adReport(wh, c.tz)).toEqual(expected));
  });
});

describe('a value the mapping cannot convert', () => {
  it('is dead-lettered with its original text and the mapping rule, from files and the collector', async () => {
    const dir = makeTempDir('shape-gap');
    const gap =
      '{"event_id":"g1","timestamp":"2026-03-08T02:30:00.000000","device":"iOS","event_type":"click","revenue":0.5}';
    const good =
      '{"event_id":"g2","timestamp":"2026-03-08T03:30:00.000000","device":"iOS","event_type":"click","revenue":0.5}';
    writeFileSync(path.join(dir, 'e.jsonl'), `${gap}\n${good}\n`);
    const dataDir = makeTempDir('shape-gap-data');
    const summary = await ingestInProcess(dataDir, [path.join(dir, 'e.jsonl')], {
      mapping: loadMapping(path.join(EXAMPLES, 'seed004.yaml')),
    });
    expect([summary.accepted, summary.rejected]).toEqual([1, 1]);
    const [dead] = deadLetters(dataDir);
    expect(dead).toMatchObject({ code: 'mapping.dst_gap', field: 'ts', line: 1, text: gap });
    expect(String(dead!.message)).toContain('ts: ts is a local time');

    const httpDir = makeTempDir('shape-gap-http');
    const server = await startServer({ mapping: path.join(EXAMPLES, 'seed004.yaml') }, httpDir);
    try {
      const res = await fetch(`${server.url}/v1/events`, { method: 'POST', body: `${gap}\n${good}\n` });
      const body = (await res.json()) as { accepted: number; errors: Array<{ index: number; code: string }> };
      expect(body.accepted).toBe(1);
      expect(body.errors).toEqual([expect.objectContaining({ index: 0, code: 'mapping.dst_gap' })]);
    } finally {
      await server.stop();
    }
    const [httpDead] = deadLetters(httpDir);
    expect(JSON.parse(String(httpDead!.text))).toEqual(JSON.parse(gap));
  });
});

describe('the CLI', () => {
  const adpipe = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.resolve('test/collector/cli.ts'), ...args], {
      encoding: 'utf8',
    });

  it('generate --shape writes a shape that ingest --mapping reads whole; a bad mapping names its key', () => {
    const dir = makeTempDir('shape-cli');
    const gen = adpipe('generate', '--out', dir, '--events', '500', '--files', '1', '--shape', 'seed003');
    expect(gen.stderr).toBe('');
    const lines = readFileSync(path.join(dir, 'events', 'events-00000.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(Object.keys(JSON.parse(lines[0]!))).toEqual(['user_id', 'method', 'url', 'inDate']);
    const dataDir = path.join(dir, 'data');
    const mapping = path.join(EXAMPLES, 'seed003.yaml');
    const run = adpipe('--data-dir', dataDir, 'ingest', path.join(dir, 'events'), '--mapping', mapping);
    expect(run.stdout).toMatch(/rejected 0;/);
    const accepted = Number(/events accepted (\d+)/.exec(run.stdout)?.[1]);
    const duplicates = Number(/duplicates (\d+)/.exec(run.stdout)?.[1]);
    expect(accepted + duplicates).toBe(lines.length);
    expect(accepted).toBe(new Set(lines).size);

    writeFileSync(path.join(dir, 'bad.yaml'), 'time_zone: Asia/Seoul\nfields: { media: mid }\n');
    const bad = adpipe(
      '--data-dir',
      dataDir,
      'ingest',
      path.join(dir, 'events'),
      '--mapping',
      path.join(dir, 'bad.yaml'),
    );
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/ADP_ERR_SOURCE_MAPPING_INVALID.*fields\.media: not a contract field/);
  });
});
