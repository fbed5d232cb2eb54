// Fixture builders and an independent oracle for the pipeline tests.
//
// The builders write messy event files in every input format (with aliases, mixed spellings,
// duplicates, bad records) from a seeded PRNG. The oracle never calls adpipe code: it parses the
// files it is given with plain JS (JSON.parse, its own CSV reader, zlib), applies the contract
// rules that matter, deduplicates (first one wins, files in name order), enriches from the
// metadata CSVs, buckets by local date with hand-written zone rules and sums money as BigInt micros.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { TS_MAX_MS } from '../../src/events/validate.js';
import { type LoadOptions, type LoadSummary, loadUnits } from '../../src/loader/loader.js';
import { divRound, formatMicros, MICROS } from '../../src/money.js';
import { loadMetadata } from '../../src/pipeline/metadata.js';
import { type Grain, runReport } from '../../src/reports/query.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';

// ---------------------------------------------------------------------------------------------
// PRNG and small helpers

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rng: () => number, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

// ---------------------------------------------------------------------------------------------
// Metadata: some media ids numeric, a media without a share, inventory pointing at unknown media,
// inventory without media, lower-case devices.

export const METADATA: Record<string, string> = {
  'orgs.csv': 'org_id,name\no1,Daily News\no2,Game Studio\no3,"Numbers, Inc"\n',
  'media.csv': [
    'media_id,name,org_id,media_share',
    'm1,News Web,o1,0.7',
    'm2,Puzzle iOS,o2,0.333333',
    '12,Numeric Media,o3,0.5',
    'm4,No Share,o1,',
    'm5,Orgless,,0.123457',
  ].join('\n'),
  'inventory.csv': [
    'inventory_id,name,media_id,ad_type,device',
    'i1,Top banner,m1,banner,pc',
    'i2,Interstitial,m2,video,MOBILE',
    'i3,Feed,12,native,Mobile',
    'i4,No media,,banner,',
    'i5,Unknown media,m9,banner,PC',
    'i6,Orgless slot,m5,banner,tablet',
  ].join('\n'),
  'demand.csv': 'demand_id,name\nd1,Alpha\nd2,Beta\n',
  'campaigns.csv': 'campaign_id,name,advertiser\nc1,Spring,Shop\nc2,Launch,Games\n',
};

export function writeMetadata(dir: string, files: Record<string, string> = METADATA): string {
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), `${text}\n`);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Event generation

/** One event as the test means it; spelled in many ways when written. */
export interface Canon {
  event_id: string;
  type: string;
  tsMs: number;
  name?: string;
  org_id?: string;
  media_id?: string;
  inventory_id?: string;
  ad_id?: string;
  demand_id?: string;
  campaign_id?: string;
  device?: string;
  app_type?: string;
  country?: string;
  ad_format?: string;
  user_agent?: string;
  revenue?: bigint;
  cost?: bigint;
}

const TYPES = ['request', 'response', 'passback', 'impression', 'click', 'conversion'] as const;
const TYPE_WEIGHTS = [30, 22, 6, 26, 10, 4];

function weightedType(rng: () => number): string {
  let r = rng() * 98;
  for (let i = 0; i < TYPES.length; i++) {
    r -= TYPE_WEIGHTS[i]!;
    if (r < 0) return TYPES[i]!;
  }
  return 'request';
}

/** Instants the zones under test turn a day or an hour on (±1 ms), to catch off-by-one buckets. */
export function boundaryInstants(): number[] {
  const at = (iso: string) => Date.parse(iso);
  return [
    // UTC midnight, Kolkata (+05:30) midnight = 18:30Z, Kathmandu (+05:45) = 18:15Z.
    at('2024-03-09T23:59:59.999Z'),
    at('2024-03-10T00:00:00.000Z'),
    at('2024-03-09T18:29:59.999Z'),
    at('2024-03-09T18:30:00.000Z'),
    at('2024-03-10T18:14:59.999Z'),
    at('2024-03-10T18:15:00.000Z'),
    // New York: midnight EST = 05:00Z, DST starts 2024-03-10 07:00Z, midnight EDT = 04:00Z.
    at('2024-03-10T04:59:59.999Z'),
    at('2024-03-10T05:00:00.000Z'),
    at('2024-03-10T06:59:59.999Z'),
    at('2024-03-10T07:00:00.000Z'),
    at('2024-03-11T03:59:59.999Z'),
    at('2024-03-11T04:00:00.000Z'),
    // New York fall back: 2024-11-03 06:00Z; the local hour 01:00 happens twice.
    at('2024-11-03T03:59:59.999Z'),
    at('2024-11-03T04:00:00.000Z'),
    at('2024-11-03T05:30:00.000Z'),
    at('2024-11-03T05:59:59.999Z'),
    at('2024-11-03T06:00:00.000Z'),
    at('2024-11-03T06:30:00.000Z'),
    at('2024-11-04T04:59:59.999Z'),
    at('2024-11-04T05:00:00.000Z'),
  ];
}

export const WINDOWS = [
  { start: Date.parse('2024-03-09T00:00:00Z'), hours: 72 },
  { start: Date.parse('2024-11-02T00:00:00Z'), hours: 60 },
];

interface Slot {
  inventory?: string;
  media?: string;
  org?: string;
  device?: string;
}
// Ways an event names where it ran: by inventory only (media, device, org come from metadata),
// with its own values that must win, with unknown keys, or with nothing at all.
const SLOTS: Slot[] = [
  { inventory: 'i1' },
  { inventory: 'i2' },
  { inventory: 'i3' },
  { inventory: 'i4' },
  { inventory: 'i5' },
  { inventory: 'i6' },
  { inventory: 'i1', media: 'm2' },
  { inventory: 'i2', device: 'PC', org: 'o9' },
  { media: '12' },
  { media: 'm4' },
  { media: 'm5', device: 'MOBILE' },
  { inventory: 'i-unknown' },
  { media: 'm-unknown', org: 'o1' },
  {},
];

/** Random events in the windows plus events on the zone boundaries. */
export function makeEvents(rng: () => number, count: number, idPrefix: string): Canon[] {
  const instants = boundaryInstants();
  const out: Canon[] = [];
  for (let i = 0; i < count; i++) {
    const w = pick(rng, WINDOWS);
    const tsMs =
      i < instants.length && rng() < 0.8
        ? instants[i]!
        : w.start + Math.floor(rng() * w.hours * 3600) * 1000 + (rng() < 0.3 ? Math.floor(rng() * 1000) : 0);
    const slot = pick(rng, SLOTS);
    const type = rng() < 0.02 ? 'custom' : weightedType(rng);
    const ev: Canon = { event_id: `${idPrefix}${i}`, type, tsMs };
    if (type === 'custom') ev.name = pick(rng, ['signup', 'share']);
    if (slot.inventory) ev.inventory_id = slot.inventory;
    if (slot.media) ev.media_id = slot.media;
    if (slot.org) ev.org_id = slot.org;
    if (slot.device) ev.device = slot.device;
    if (rng() < 0.85) ev.ad_id = `ad${Math.floor(rng() * 4)}`;
    if (rng() < 0.8) ev.demand_id = pick(rng, ['d1', 'd2', 'd3']);
    if (rng() < 0.8) ev.campaign_id = pick(rng, ['c1', 'c2', 'c3']);
    if (rng() < 0.7) ev.app_type = pick(rng, ['WEB', 'IOS', 'AOS']);
    if (rng() < 0.9) ev.country = pick(rng, ['KR', 'US', 'IN', 'NP']);
    if (rng() < 0.5) ev.ad_format = pick(rng, ['banner', 'video']);
    if (rng() < 0.1) ev.user_agent = 'Mozilla/5.0 (X11; "quoted", comma)';
    // Odd micros everywhere, so media shares of 0.5 hit exact half-micro ties.
    const money = () => BigInt(Math.floor(rng() * 3_000_000)) * 2n + 1n;
    if (type === 'impression' || type === 'conversion' || type === 'custom') ev.revenue = money();
    if (type === 'click' || type === 'conversion') ev.cost = money();
    // adpipe books money on any ad event that carries it.
    if (type === 'request' && rng() < 0.05) ev.revenue = money();
    if (rng() < 0.01) ev.revenue = 999_999_999_999n; // large but exact (a decimal string)
    out.push(ev);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Spelling an event as a JSON object (aliases, cases, zones, epochs, integers, numbers for money)

function isoWithOffset(ms: number, offMin: number, style: 'colon' | 'compact' | 'hours'): string {
  const local = new Date(ms + offMin * 60_000).toISOString().slice(0, 23);
  const sign = offMin < 0 ? '-' : '+';
  const a = Math.abs(offMin);
  const hh = String(Math.floor(a / 60)).padStart(2, '0');
  const mm = String(a % 60).padStart(2, '0');
  return `${local}${sign}${style === 'colon' ? `${hh}:${mm}` : style === 'compact' ? `${hh}${mm}` : hh}`;
}

function spellTs(rng: () => number, ms: number, csv: boolean): unknown {
  const r = rng();
  if (r < 0.25) return new Date(ms).toISOString();
  if (r < 0.35) return new Date(ms).toISOString().replace('T', ' ').replace('Z', 'z');
  if (r < 0.45) return isoWithOffset(ms, 330, 'colon');
  if (r < 0.55) return isoWithOffset(ms, -480, 'compact');
  if (r < 0.62) return isoWithOffset(ms, 540, 'hours');
  if (r < 0.7) return isoWithOffset(ms, 345, 'colon');
  if (r < 0.8) return csv ? String(ms) : ms; // epoch milliseconds
  if (ms % 1000 === 0) return csv ? String(ms / 1000) : ms / 1000; // epoch seconds
  if (ms % 1000 === 500 || ms % 1000 === 250) return String(ms / 1000); // seconds with a fraction
  return `  ${new Date(ms).toISOString()} `; // spaces around are ignored
}

function spellMoney(rng: () => number, m: bigint, csv: boolean): unknown {
  const text = formatMicros(m);
  const r = rng();
  if (!csv && r < 0.3 && m < 1_000_000_000n) return Number(text); // a JSON number, exact below 15 digits
  if (r < 0.45) return `${text}000`; // trailing zeros do not count as digits
  if (r < 0.55) return `${(m * 10n).toString()}e-7`; // an exponent applied exactly
  if (r < 0.65) return text.replace(/0+$/, '').replace(/\.$/, '');
  return text;
}

function spellCase(rng: () => number, s: string): string {
  const r = rng();
  if (r < 0.2) return s.toUpperCase();
  if (r < 0.35) return s[0]!.toUpperCase() + s.slice(1).toLowerCase();
  return s.toLowerCase();
}

/** An event as a JSON object, spelled in one of the accepted ways. */
export function spellJson(rng: () => number, ev: Canon): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  o.event_id = /^[1-9]\d{0,14}$/.test(ev.event_id) && rng() < 0.5 ? Number(ev.event_id) : ev.event_id;
  const type = spellCase(rng, ev.type);
  const r = rng();
  if (r < 0.25) o.event_type = type;
  else if (r < 0.3)
    Object.assign(o, { type, event_type: 'nonsense' }); // the canonical name wins
  else if (r < 0.34)
    Object.assign(o, { type: null, event_type: type }); // null canonical: alias used
  else o.type = type;
  if (ev.name !== undefined) o.name = ev.name;
  const ts = spellTs(rng, ev.tsMs, false);
  if (rng() < 0.25) o.timestamp = ts;
  else o.ts = ts;
  for (const k of ['org_id', 'inventory_id', 'ad_id', 'demand_id', 'campaign_id', 'app_type'] as const) {
    if (ev[k] !== undefined) o[k] = k === 'app_type' ? spellCase(rng, ev[k]!) : ev[k];
  }
  if (ev.media_id !== undefined) o.media_id = ev.media_id === '12' && rng() < 0.5 ? 12 : ev.media_id;
  if (ev.device !== undefined) o.device = spellCase(rng, ev.device);
  else if (rng() < 0.1) o.device = rng() < 0.5 ? null : ''; // absent in two other ways
  if (ev.country !== undefined) o.country = ev.country;
  else if (rng() < 0.1) o.country = '';
  if (ev.ad_format !== undefined) o.ad_format = ev.ad_format;
  if (ev.user_agent !== undefined) o.user_agent = ev.user_agent;
  if (ev.revenue !== undefined) o.revenue = spellMoney(rng, ev.revenue, false);
  if (ev.cost !== undefined) o.cost = spellMoney(rng, ev.cost, false);
  else if (rng() < 0.05) o.cost = null;
  if (rng() < 0.1) o.extra = { nested: [1, 2], note: 'unknown fields go to props' };
  return o;
}

export const CSV_COLUMNS = [
  'event_id',
  'type',
  'name',
  'ts',
  'org_id',
  'media_id',
  'inventory_id',
  'ad_id',
  'demand_id',
  'campaign_id',
  'device',
  'app_type',
  'country',
  'ad_format',
  'user_agent',
  'revenue',
  'cost',
] as const;

/** An event as CSV cells (all text; '' is absent). */
export function spellCsv(rng: () => number, ev: Canon): Record<string, string> {
  const o: Record<string, string> = {};
  for (const c of CSV_COLUMNS) o[c] = '';
  o.event_id = ev.event_id;
  o.type = spellCase(rng, ev.type);
  o.name = ev.name ?? '';
  o.ts = String(spellTs(rng, ev.tsMs, true)).trim();
  for (const k of ['org_id', 'media_id', 'inventory_id', 'ad_id', 'demand_id', 'campaign_id'] as const)
    o[k] = ev[k] ?? '';
  o.device = ev.device ? spellCase(rng, ev.device) : '';
  o.app_type = ev.app_type ? spellCase(rng, ev.app_type) : '';
  o.country = ev.country ?? '';
  o.ad_format = ev.ad_format ?? '';
  o.user_agent = ev.user_agent ?? '';
  o.revenue = ev.revenue !== undefined ? String(spellMoney(rng, ev.revenue, true)) : '';
  o.cost = ev.cost !== undefined ? String(spellMoney(rng, ev.cost, true)) : '';
  return o;
}

// ---------------------------------------------------------------------------------------------
// Bad records (with the code the oracle must find for them; the tests check the oracle agrees)

const T0 = '2024-03-10T12:00:00Z';
/** Bad JSON-lines records: [raw line, intended code]. `id` lets a bad record reuse a good event's id. */
export function badJsonLines(id: (n: number) => string): Array<[string, string]> {
  return [
    ['{"event_id": "x", "type": "click", ', 'record.invalid_json'],
    ['[1, 2, 3]', 'record.not_object'],
    [JSON.stringify({ type: 'click', ts: T0 }), 'event_id.missing'],
    [JSON.stringify({ event_id: '', type: 'click', ts: T0 }), 'event_id.length'],
    [JSON.stringify({ event_id: true, type: 'click', ts: T0 }), 'event_id.type'],
    [JSON.stringify({ event_id: id(1), type: 'bogus', ts: T0 }), 'type.invalid'],
    [JSON.stringify({ event_id: id(2), type: 'impression', ts: '2024-03-10T12:00:00' }), 'ts.no_offset'],
    [JSON.stringify({ event_id: id(3), type: 'impression', ts: 'yesterday' }), 'ts.invalid'],
    [JSON.stringify({ event_id: id(4), type: 'impression', ts: T0, revenue: '-0.5' }), 'money.negative'],
    [JSON.stringify({ event_id: id(5), type: 'impression', ts: T0, revenue: '0.0000001' }), 'money.scale'],
    [JSON.stringify({ event_id: id(6), type: 'impression', ts: T0, device: 'TABLET' }), 'device.invalid'],
    [JSON.stringify({ event_id: id(7), type: 'custom', ts: T0 }), 'name.missing'],
    [JSON.stringify({ event_id: id(8), type: 'impression' }), 'ts.missing'],
    [JSON.stringify({ event_id: id(9), type: 'click', ts: T0, cost: '1,000' }), 'money.invalid'],
  ];
}

// ---------------------------------------------------------------------------------------------
// Writers

export type Format = 'jsonl' | 'ndjson' | 'json' | 'csv' | 'parquet';

export function writeMaybeGz(file: string, text: string): void {
  writeFileSync(file, file.endsWith('.gz') ? gzipSync(Buffer.from(text)) : text);
}

export function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Writes `items` (a spelled object, a raw line for JSON lines, or cells for CSV) in a format.
 * Parquet is written by DuckDB from a side-car JSON-lines file (`.<name>.source.jsonl`, hidden so
 * adpipe skips it) that the oracle reads instead, since this suite has no Parquet reader of its own.
 */
export const sidecarOf = (file: string) =>
  path.join(path.dirname(file), `.${path.basename(file)}.source.jsonl`);

export async function writeEvents(
  file: string,
  items: ReadonlyArray<Record<string, unknown> | string>,
  options: { csvHeader?: readonly string[] } = {},
): Promise<void> {
  const base = file.replace(/\.gz$/, '');
  if (base.endsWith('.jsonl') || base.endsWith('.ndjson')) {
    writeMaybeGz(file, `${items.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('\n')}\n`);
  } else if (base.endsWith('.json')) {
    writeMaybeGz(
      file,
      `[\n${items.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(',\n')}\n]\n`,
    );
  } else if (base.endsWith('.csv')) {
    const header = options.csvHeader ?? CSV_COLUMNS;
    const lines = [header.join(',')];
    for (const x of items) {
      if (typeof x === 'string') throw new Error('CSV rows must be objects');
      // Position i holds CSV_COLUMNS[i]'s value, whatever the header calls it (aliases).
      lines.push(header.map((_h, i) => csvCell(String(x[CSV_COLUMNS[i]!] ?? ''))).join(','));
    }
    writeMaybeGz(file, `${lines.join('\n')}\n`);
  } else if (base.endsWith('.parquet')) {
    const sidecar = sidecarOf(file);
    writeFileSync(sidecar, `${items.map((x) => JSON.stringify(x)).join('\n')}\n`);
    const cols = CSV_COLUMNS.map((c) => `'${c}': 'VARCHAR'`).join(', ');
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    // Typed columns as a real producer would write them: an instant and exact decimals.
    const select = CSV_COLUMNS.map((c) =>
      c === 'ts'
        ? `CAST(ts AS TIMESTAMPTZ) AS ts`
        : c === 'revenue' || c === 'cost'
          ? `CAST(${c} AS DECIMAL(18,6)) AS ${c}`
          : c,
    ).join(', ');
    await conn.run(
      `COPY (SELECT ${select} FROM read_json('${sidecar}', format='newline_delimited', columns={${cols}}))
       TO '${file}' (FORMAT parquet)`,
    );
    conn.closeSync();
    inst.closeSync();
  } else throw new Error(`unknown format: ${file}`);
}

// ---------------------------------------------------------------------------------------------
// The oracle: reading files

export interface RawRecord {
  source: string;
  line: number;
  /** The parsed value, or undefined when the text is not JSON. */
  value: unknown;
  invalidJson: boolean;
}

/** A small RFC 4180 reader: quotes, doubled quotes, commas and newlines inside quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else cell += ch;
      i++;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
    i++;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function readText(file: string): string {
  const buf = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
}

/** Records of one input file as the oracle reads them (Parquet: from its side-car). */
export function readRecords(file: string): RawRecord[] {
  const base = file.replace(/\.gz$/, '');
  const out: RawRecord[] = [];
  if (base.endsWith('.parquet')) {
    readFileSync(sidecarOf(file), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .forEach((l, i) => {
        const o = JSON.parse(l) as Record<string, unknown>;
        // A Parquet null is an absent field; everything else arrives typed.
        for (const k of Object.keys(o)) if (o[k] === '' || o[k] === null) delete o[k];
        out.push({ source: file, line: i + 1, value: o, invalidJson: false });
      });
    return out;
  }
  const text = readText(file);
  if (base.endsWith('.jsonl') || base.endsWith('.ndjson')) {
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    lines.forEach((l, i) => {
      const t = l.replace(/\r$/, '');
      if (t.trim() === '') return; // blank lines are skipped, but keep their number
      try {
        out.push({ source: file, line: i + 1, value: JSON.parse(t), invalidJson: false });
      } catch {
        out.push({ source: file, line: i + 1, value: undefined, invalidJson: true });
      }
    });
  } else if (base.endsWith('.json')) {
    (JSON.parse(text) as unknown[]).forEach((v, i) => {
      out.push({ source: file, line: i + 1, value: v, invalidJson: false });
    });
  } else if (base.endsWith('.csv')) {
    const [header, ...rows] = parseCsv(text);
    rows.forEach((cells, i) => {
      const o: Record<string, string> = {};
      header!.forEach((h, j) => {
        if ((cells[j] ?? '') !== '') o[h] = cells[j]!; // an empty cell is absent
      });
      out.push({ source: file, line: i + 2, value: o, invalidJson: false });
    });
  } else throw new Error(`oracle cannot read ${file}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The oracle: the contract rules that matter here

export interface OEvent {
  event_id: string;
  type: string;
  name: string | null;
  tsMs: number;
  dims: Record<string, string | null>;
  revenue: bigint;
  cost: bigint;
}

class Rej extends Error {}
const rej = (code: string): never => {
  throw new Rej(code);
};
const absent = (v: unknown) => v === undefined || v === null || v === '';

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** Event time in ms, or a rejection (ts.no_offset / ts.invalid). */
export function oracleTime(v: unknown): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) rej('ts.invalid');
    return v < 1e11 ? Math.round(v * 1000) : Math.round(v);
  }
  if (typeof v !== 'string') return rej('ts.invalid');
  const s = v.trim();
  const m =
    /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/.exec(
      s,
    );
  if (m) {
    const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as number[];
    if (mo! < 1 || mo! > 12 || d! < 1 || d! > daysInMonth(y!, mo!) || h! > 23 || mi! > 59 || se! > 59)
      rej('ts.invalid');
    const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
    let off = 0;
    if (!m[8]) {
      const oh = Number(m[10]);
      const om = Number(m[11] ?? '0');
      if (oh > 23 || om > 59) rej('ts.invalid');
      off = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
    }
    return Date.UTC(y!, mo! - 1, d!, h!, mi!, se!, ms) - off * 60_000;
  }
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?$/.test(s)) rej('ts.no_offset');
  if (/^\d+(\.\d+)?$/.test(s)) return oracleTime(Number(s));
  return rej('ts.invalid');
}

/** Money in micros, or a rejection (money.invalid / negative / scale / range). */
export function oracleMoney(v: unknown): bigint {
  if (absent(v)) return 0n;
  let s: string;
  if (typeof v === 'number') s = String(v);
  else if (typeof v === 'string') s = v.trim();
  else return rej('money.invalid');
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return rej('money.invalid');
  let digits = `${m[2]}${m[3] ?? ''}`.replace(/^0+/, '');
  let scale = (m[3] ?? '').length - Number(m[4] ?? '0');
  if (digits === '') return 0n; // zero, also -0
  if (m[1] === '-') rej('money.negative');
  while (scale > 0 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    scale--;
  }
  if (scale > 6) rej('money.scale');
  const micros = BigInt(digits) * 10n ** BigInt(6 - scale);
  if (micros >= 10n ** 15n) rej('money.range');
  return micros;
}

function idText(v: unknown, code: string, max = 128): string | null {
  if (absent(v)) return null;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) rej(code);
    return String(v);
  }
  if (typeof v !== 'string' || [...v].length > max) rej(code);
  return v as string;
}

const AD_TYPES = ['request', 'response', 'passback', 'impression', 'click', 'conversion'];

/** Validates and normalises one record the way the contract says. */
export function oracleValidate(r: RawRecord): { event: OEvent } | { code: string } {
  try {
    if (r.invalidJson) rej('record.invalid_json');
    const o = r.value;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) rej('record.not_object');
    const rec = o as Record<string, unknown>;
    const alias = (canon: string, alt: string) =>
      rec[canon] === undefined || rec[canon] === null ? rec[alt] : rec[canon];
    const id = rec.event_id;
    if (id === undefined || id === null) rej('event_id.missing');
    let eventId: string;
    if (typeof id === 'number') {
      if (!Number.isSafeInteger(id)) rej('event_id.type');
      eventId = String(id);
    } else if (typeof id === 'string') {
      if (id === '' || [...id].length > 128) rej('event_id.length');
      eventId = id;
    } else return rej('event_id.type');
    const t = alias('type', 'event_type');
    if (absent(t)) rej('type.missing');
    if (typeof t !== 'string') return rej('type.invalid');
    const type = t.replace(/[A-Z]/g, (c) => c.toLowerCase());
    if (![...AD_TYPES, 'custom'].includes(type)) rej('type.invalid');
    let name: string | null = null;
    if (absent(rec.name)) {
      if (type === 'custom') rej('name.missing');
    } else if (typeof rec.name !== 'string' || [...rec.name].length > 128) rej('name.invalid');
    else name = rec.name;
    const ts = alias('ts', 'timestamp');
    if (absent(ts)) rej('ts.missing');
    const tsMs = oracleTime(ts);
    if (tsMs > TS_MAX_MS) rej('ts.invalid');
    const dims: Record<string, string | null> = {};
    for (const k of [
      'org_id',
      'media_id',
      'inventory_id',
      'ad_id',
      'campaign_id',
      'demand_id',
      'advertiser_id',
    ])
      dims[k] = idText(rec[k], 'id.invalid');
    for (const [k, allowed] of [
      ['device', ['PC', 'MOBILE']],
      ['app_type', ['WEB', 'IOS', 'AOS']],
    ] as const) {
      const v = rec[k];
      if (absent(v)) dims[k] = null;
      else {
        const up = typeof v === 'string' ? v.replace(/[a-z]/g, (c) => c.toUpperCase()) : '';
        if (!(allowed as readonly string[]).includes(up)) rej(`${k}.invalid`);
        dims[k] = up;
      }
    }
    for (const k of [
      'ad_format',
      'country',
      'os',
      'browser',
      'city',
      'user_id',
      'session_id',
      'experiment',
      'variant',
      'ip',
      'user_agent',
    ])
      dims[k] = idText(rec[k], 'text.invalid', 2048);
    const revenue = oracleMoney(rec.revenue);
    const cost = oracleMoney(rec.cost);
    oracleMoney(rec.bid_price);
    return { event: { event_id: eventId, type, name, tsMs, dims, revenue, cost } };
  } catch (err) {
    if (err instanceof Rej) return { code: err.message };
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// The oracle: ingest (dedup across everything, enrichment)

export interface Meta {
  inventory: Map<string, { media_id: string | null; device: string | null }>;
  media: Map<string, { org_id: string | null; share: bigint | null }>;
}

export function parseMeta(files: Record<string, string> = METADATA): Meta {
  const table = (name: string) => {
    const text = files[name];
    if (!text) return [];
    const [header, ...rows] = parseCsv(text.trim());
    return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, (r[i] ?? '').trim() || null])));
  };
  const inventory = new Map<string, { media_id: string | null; device: string | null }>();
  for (const r of table('inventory.csv'))
    if (r.inventory_id && !inventory.has(r.inventory_id))
      inventory.set(r.inventory_id, {
        media_id: r.media_id ?? null,
        device: r.device?.toUpperCase() ?? null,
      });
  const media = new Map<string, { org_id: string | null; share: bigint | null }>();
  for (const r of table('media.csv'))
    if (r.media_id && !media.has(r.media_id))
      media.set(r.media_id, {
        org_id: r.org_id ?? null,
        share: r.media_share ? oracleMoney(r.media_share) : null,
      });
  return { inventory, media };
}

export interface OracleState {
  events: OEvent[];
  seen: Set<string>;
  rejects: Array<{ source: string; line: number; code: string }>;
  accepted: number;
  duplicates: number;
  rejected: number;
}

export function emptyState(): OracleState {
  return { events: [], seen: new Set(), rejects: [], accepted: 0, duplicates: 0, rejected: 0 };
}

/**
 * Feeds files (in the order given) through the oracle, after earlier runs in `state`.
 * Files in `setAside` are skipped whole.
 */
export function oracleIngest(
  state: OracleState,
  files: readonly string[],
  meta: Meta,
  setAside: ReadonlySet<string> = new Set(),
): OracleState {
  for (const f of files) {
    if (setAside.has(f)) continue;
    for (const r of readRecords(f)) {
      const v = oracleValidate(r);
      if ('code' in v) {
        state.rejects.push({ source: r.source, line: r.line, code: v.code });
        state.rejected++;
        continue;
      }
      const e = v.event;
      if (state.seen.has(e.event_id)) {
        state.duplicates++;
        continue;
      }
      state.seen.add(e.event_id);
      state.accepted++;
      // Enrichment: a value on the event wins; media from the inventory, org from the media.
      const inv = e.dims.inventory_id ? meta.inventory.get(e.dims.inventory_id) : undefined;
      e.dims.media_id ??= inv?.media_id ?? null;
      if (e.dims.device === null && (inv?.device === 'PC' || inv?.device === 'MOBILE'))
        e.dims.device = inv.device;
      e.dims.org_id ??= (e.dims.media_id ? meta.media.get(e.dims.media_id)?.org_id : null) ?? null;
      state.events.push(e);
    }
  }
  return state;
}

// ---------------------------------------------------------------------------------------------
// The oracle: time zones without Intl

/** UTC offset in minutes of the zones under test at an instant. */
export function offsetMinutes(tz: string, ms: number): number {
  switch (tz) {
    case 'UTC':
      return 0;
    case 'Asia/Kolkata':
      return 330;
    case 'Asia/Kathmandu':
      return 345;
    case 'America/New_York': {
      // Since 2007: EDT from the second Sunday of March 07:00Z to the first Sunday of November 06:00Z.
      const y = new Date(ms).getUTCFullYear();
      const firstSunday = (month: number) => 1 + ((7 - new Date(Date.UTC(y, month, 1)).getUTCDay()) % 7);
      const start = Date.UTC(y, 2, firstSunday(2) + 7, 7);
      const end = Date.UTC(y, 10, firstSunday(10), 6);
      return ms >= start && ms < end ? -240 : -300;
    }
    default:
      throw new Error(`oracle does not know ${tz}`);
  }
}

export function periodOf(tz: string, grain: Grain, ms: number): string {
  const local = new Date(ms + offsetMinutes(tz, ms) * 60_000).toISOString();
  if (grain === 'day') return local.slice(0, 10);
  if (grain === 'hour') return `${local.slice(0, 13)}:00`;
  if (grain === 'month') return local.slice(0, 7);
  if (grain === 'total') return 'total';
  throw new Error(`oracle does not do ${grain}`);
}

// ---------------------------------------------------------------------------------------------
// The oracle: reports

export interface Spec {
  name: string;
  dims: string[];
  all: string[];
  types: string[];
  /**
   * count of a type (requests: only the publisher's, without demand_id, or only partner calls, with
   * one), or sum of a money column over `of` (default: impressions and clicks, the ad money).
   */
  measures: Array<{
    name: string;
    count?: string;
    request?: 'publisher' | 'partner';
    sum?: 'revenue' | 'cost';
    of?: string[];
  }>;
  share?: boolean;
}

const AD_MONEY = ['impression', 'click'];
const FUNNEL = ['impression', 'click', 'conversion'];

export const SPECS: Spec[] = [
  {
    name: 'ad',
    dims: ['org_id', 'media_id', 'inventory_id', 'ad_id', 'demand_id'],
    all: [],
    types: FUNNEL,
    measures: [
      { name: 'impressions', count: 'impression' },
      { name: 'clicks', count: 'click' },
      { name: 'conversions', count: 'conversion' },
      { name: 'revenue', sum: 'revenue' },
      { name: 'cost', sum: 'cost' },
    ],
  },
  {
    name: 'ad_request',
    dims: ['org_id', 'media_id', 'inventory_id', 'device', 'app_type'],
    all: ['device', 'app_type'],
    types: ['request', 'response', 'passback'],
    measures: [
      { name: 'requests', count: 'request', request: 'publisher' },
      { name: 'responses', count: 'response' },
      { name: 'passbacks', count: 'passback' },
    ],
  },
  {
    name: 'demand',
    dims: ['demand_id'],
    all: [],
    types: ['request', 'response', 'passback', ...AD_MONEY],
    measures: [
      { name: 'requests', count: 'request', request: 'partner' },
      { name: 'responses', count: 'response' },
      { name: 'passbacks', count: 'passback' },
      { name: 'impressions', count: 'impression' },
      { name: 'clicks', count: 'click' },
      { name: 'revenue', sum: 'revenue' },
      { name: 'cost', sum: 'cost' },
    ],
  },
  {
    name: 'media',
    dims: ['org_id', 'media_id', 'device'],
    all: ['device'],
    types: AD_MONEY,
    measures: [
      { name: 'impressions', count: 'impression' },
      { name: 'clicks', count: 'click' },
      { name: 'gross_revenue', sum: 'revenue' },
    ],
    share: true,
  },
  {
    name: 'campaign',
    dims: ['campaign_id'],
    all: [],
    types: FUNNEL,
    measures: [
      { name: 'impressions', count: 'impression' },
      { name: 'clicks', count: 'click' },
      { name: 'conversions', count: 'conversion' },
      { name: 'revenue', sum: 'revenue' },
      { name: 'cost', sum: 'cost', of: FUNNEL },
      { name: 'conversion_value', sum: 'revenue', of: ['conversion'] },
    ],
  },
];

/** Whether an event adds to a spec's measure (1 for a count, its money for a sum). */
function counts(m: Spec['measures'][number], e: OEvent): boolean {
  if (m.count) {
    if (e.type !== m.count) return false;
    if (m.request === 'publisher') return !e.dims.demand_id;
    if (m.request === 'partner') return !!e.dims.demand_id;
    return true;
  }
  return (m.of ?? AD_MONEY).includes(e.type);
}

export const spec = (name: string): Spec => SPECS.find((s) => s.name === name)!;

/** gross × share (both micros) rounded half-even to micros. */
export function shareOf(gross: bigint, share: bigint): bigint {
  return divRound(gross * share, MICROS, 'half-even');
}

export interface ReportQuery {
  tz: string;
  grain?: Grain;
  by?: string[];
  from?: string;
  to?: string;
}

/** Expected report rows, one line each: period|dims|measures (money as 6-decimal text). */
export function expectedReport(s: Spec, events: readonly OEvent[], meta: Meta, q: ReportQuery): string[] {
  const grain = q.grain ?? 'day';
  const by = q.by ?? s.dims;
  const inner = [...new Set([...s.dims, ...by])];
  const names = s.measures.map((m) => m.name);
  // Inner rows: the report's own grain plus requested extras; all-zero rows are left out.
  // With a share, rows are also split by local day: each day's media revenue is rounded on its own.
  const innerRows = new Map<
    string,
    { period: string; day: string; key: Record<string, string>; v: bigint[] }
  >();
  for (const e of events) {
    if (!s.types.includes(e.type)) continue;
    const period = periodOf(q.tz, grain, e.tsMs);
    const day = s.share ? periodOf(q.tz, 'day', e.tsMs) : '';
    if (q.from || q.to) {
      const day = periodOf(q.tz, 'day', e.tsMs);
      if ((q.from && day < q.from) || (q.to && day > q.to)) continue;
    }
    const key = Object.fromEntries(inner.map((d) => [d, e.dims[d] ?? '']));
    const k = JSON.stringify([period, day, key]);
    let row = innerRows.get(k);
    if (!row) {
      row = { period, day, key, v: names.map(() => 0n) };
      innerRows.set(k, row);
    }
    s.measures.forEach((m, i) => {
      if (!counts(m, e)) return;
      if (m.count) row.v[i]! += 1n;
      else row.v[i]! += m.sum === 'revenue' ? e.revenue : e.cost;
    });
  }
  const share = (media: string) => meta.media.get(media)?.share ?? 0n;
  const rows = [...innerRows.values()].filter((r) => r.v.some((x) => x !== 0n));
  // Outer rows: the requested grouping, with ALL for the report's ALL dimensions (every subset).
  const allDims = s.all.filter((d) => by.includes(d));
  const subsets: string[][] = [[]];
  for (const d of allDims) for (const sub of [...subsets]) subsets.push([...sub, d]);
  const outer = new Map<string, { period: string; key: string[]; v: bigint[]; media: bigint }>();
  const daily = new Map<string, { period: string; key: string[]; v: bigint[]; media: bigint }>();
  const keepShare = by.includes('media_id');
  for (const r of rows) {
    for (const sub of subsets) {
      const key = by.map((d) => (sub.includes(d) ? 'ALL' : r.key[d]!));
      const k = JSON.stringify([r.period, r.day, key]);
      let o = daily.get(k);
      if (!o) {
        o = { period: r.period, key, v: names.map(() => 0n), media: 0n };
        daily.set(k, o);
      }
      r.v.forEach((x, i) => {
        o.v[i]! += x;
      });
      if (s.share && !keepShare) o.media += shareOf(r.v[2]!, share(r.key.media_id!));
    }
  }
  for (const d of daily.values()) {
    if (s.share && keepShare) d.media = shareOf(d.v[2]!, share(d.key[by.indexOf('media_id')]!));
    const k = JSON.stringify([d.period, d.key]);
    const o = outer.get(k);
    if (!o) outer.set(k, d);
    else {
      d.v.forEach((x, i) => {
        o.v[i]! += x;
      });
      o.media += d.media;
    }
  }
  return [...outer.values()]
    .map((o) => {
      const vals = s.measures.map((m, i) => (m.sum ? formatMicros(o.v[i]!) : String(o.v[i]!)));
      if (s.share) vals.push(formatMicros(o.media), formatMicros(o.v[2]! - o.media));
      return [o.period, ...o.key, ...vals].join('|');
    })
    .sort();
}

/** The same lines from adpipe's report. */
export async function actualReport(wh: Warehouse, report: string, q: ReportQuery): Promise<string[]> {
  const res = await runReport(wh, { report, tz: q.tz, grain: q.grain, by: q.by, from: q.from, to: q.to });
  const cols = res.columns.map((c) => c.name);
  return res.rows.map((r) => cols.map((c) => (r[c] === null ? 'NULL' : String(r[c]))).join('|')).sort();
}

// ---------------------------------------------------------------------------------------------
// Running adpipe

/** Opens a data dir, loads metadata, ingests the files (in discovery order), closes it. */
export async function ingestInProcess(
  dataDir: string,
  paths: readonly string[],
  options: LoadOptions & { metadata?: string } = {},
): Promise<LoadSummary> {
  const wh = await Warehouse.open(dataDir);
  try {
    if (options.metadata) await loadMetadata(wh, options.metadata);
    return await loadUnits(wh, await discoverInputs(paths), options);
  } finally {
    wh.close();
  }
}

export async function withWarehouse<T>(
  dataDir: string,
  fn: (wh: Warehouse) => Promise<T>,
  readOnly = false,
): Promise<T> {
  const wh = await Warehouse.open(dataDir, { readOnly });
  try {
    return await fn(wh);
  } finally {
    wh.close();
  }
}

/** Every dead letter of a data dir. */
export function deadLetters(dataDir: string): Array<Record<string, unknown>> {
  const dir = path.join(dataDir, 'deadletter');
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.ndjson'));
  } catch {
    return [];
  }
  return files.flatMap((f) =>
    readFileSync(path.join(dir, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
}

export const BIN = path.resolve('bin/adpipe.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `node bin/adpipe.js --data-dir <dir> ...args` (needs `npx tsc -p .` first). */
export function startCli(dataDir: string, args: readonly string[], env: Record<string, string> = {}) {
  mkdirSync(dataDir, { recursive: true });
  const child: ChildProcess = spawn(process.execPath, [BIN, '--data-dir', dataDir, ...args], {
    cwd: dataDir,
    env: { ...process.env, ADPIPE_CONFIG: '', VITEST: '', ADPIPE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = Date.now();
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started }),
    );
  });
  return { child, done, output: () => ({ stdout, stderr }) };
}

export function runCli(
  dataDir: string,
  args: readonly string[],
  env?: Record<string, string>,
): Promise<CliResult> {
  return startCli(dataDir, args, env).done;
}

/** An event for a typed Parquet file: ISO instant and decimal text (see writeEvents). */
export function spellParquet(e: Canon): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const c of CSV_COLUMNS) {
    if (c === 'ts' || c === 'revenue' || c === 'cost') continue;
    const v = e[c as keyof Canon];
    if (v !== undefined) o[c] = String(v);
  }
  o.ts = new Date(e.tsMs).toISOString();
  if (e.revenue !== undefined) o.revenue = formatMicros(e.revenue);
  if (e.cost !== undefined) o.cost = formatMicros(e.cost);
  return o;
}

/** Writes events spelled for the file's format, with raw bad items inserted before given indexes. */
export async function writeSpelled(
  file: string,
  rng: () => number,
  events: readonly Canon[],
  bad: ReadonlyArray<[number, Record<string, unknown> | string]> = [],
): Promise<void> {
  const base = file.replace(/\.gz$/, '');
  const spell = base.endsWith('.parquet')
    ? spellParquet
    : base.endsWith('.csv')
      ? (e: Canon) => spellCsv(rng, e)
      : (e: Canon) => spellJson(rng, e);
  const items: Array<Record<string, unknown> | string> = [];
  events.forEach((e, i) => {
    for (const [at, item] of bad) if (at === i) items.push(item);
    items.push(spell(e));
  });
  mkdirSync(path.dirname(file), { recursive: true });
  await writeEvents(file, items);
}
