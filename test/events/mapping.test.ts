// One table of mapping cases run through both compilers: the SQL one (compileMappingSql inside
// mappedEventsSql, the bulk path) and the JS one (compileMappingJs, the collector's), each followed
// by its contract validator. Both must give the expected outcome, and so each other's.

import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdpipeError } from '../../src/errors.js';
import {
  compileMappingJs,
  contentId,
  mappedEventsSql,
  mappedLinesSql,
  parseMapping,
  validateMappedText,
} from '../../src/events/mapping/index.js';
import { REJECT_REASONS } from '../../src/events/reasons.js';
import { canonicalJson, EVENT_COLUMNS } from './contract-cases.js';

type Outcome = Record<string, string | null>;
interface MappingCase {
  name: string;
  mapping: Record<string, unknown>;
  text: string;
  /** A rejection `code@field`, or the event fields to check (others are not compared with the table). */
  expect: { reject: string } | Outcome;
}

const SEED004 = {
  time_zone: 'America/New_York',
  fields: { os: 'device', device: 'device', app_type: 'device' },
  values: {
    device: { iOS: 'MOBILE', Android: 'MOBILE', desktop: 'PC' },
    app_type: { iOS: 'IOS', Android: 'AOS' },
  },
};
const s004 = (ts: string, device = 'Android', more = '') =>
  `{"event_id":"E1","timestamp":"${ts}","user_id":"U1","campaign_id":"C003","ad_format":"interstitial","country":"US","device":"${device}","event_type":"impression","revenue":0.0${more}}`;
const SEED000 = {
  fields: {
    media_id: 'mid',
    inventory_id: 'ads[0].aid',
    ad_id: 'ads[0]._god',
    demand_id: 'ads[0].did',
    type: 'kind',
  },
};
const FMT = { time_zone: 'Asia/Seoul', time_format: '%Y%m%d%H%M%S', id_from_content: true };
const fmtRec = (inDate: unknown) => `{"type":"click","inDate":${JSON.stringify(inDate)},"user_id":"u"}`;
const FMT_TS = { ...FMT, fields: { ts: 'inDate' } };

const CASES: readonly MappingCase[] = [
  {
    name: 'seed 004: local time in New York (EST), device OS mapped to three fields',
    mapping: SEED004,
    text: s004('2026-01-10T00:46:21.994570'),
    expect: {
      ts: '2026-01-10T05:46:21.994Z',
      device: 'MOBILE',
      app_type: 'AOS',
      os: 'Android',
      type: 'impression',
      campaign_id: 'C003',
      props: null,
    },
  },
  {
    name: 'seed 004: local time in New York after the spring change (EDT)',
    mapping: SEED004,
    text: s004('2026-03-08T03:30:00'),
    expect: { ts: '2026-03-08T07:30:00.000Z' },
  },
  {
    name: 'seed 004: the hour New York skips is a mapping rejection',
    mapping: SEED004,
    text: s004('2026-03-08T02:30:00'),
    expect: { reject: 'mapping.dst_gap@ts' },
  },
  {
    name: 'seed 004: the hour New York repeats is read as standard time',
    mapping: SEED004,
    text: s004('2026-11-01T01:30:00'),
    expect: { ts: '2026-11-01T06:30:00.000Z' },
  },
  {
    name: 'seed 004: values compare ignoring ASCII case',
    mapping: SEED004,
    text: s004('2026-01-10 00:00', 'IOS'),
    expect: { ts: '2026-01-10T05:00:00.000Z', device: 'MOBILE', app_type: 'IOS', os: 'IOS' },
  },
  {
    name: 'values: an escaped string is compared by its text',
    mapping: SEED004,
    text: s004('2026-01-10T00:00:00', 'i\\u004fS'),
    expect: { device: 'MOBILE', app_type: 'IOS', os: 'iOS' },
  },
  {
    name: 'values: only ASCII letters fold (the Kelvin sign is not k)',
    mapping: { ...SEED004, values: { device: { k: 'PC' } } },
    text: s004('2026-01-10T00:00:00', '\u212a'),
    expect: { reject: 'device.invalid@device' },
  },
  {
    name: 'seed 004: an unlisted value passes through, and the contract rejects it',
    mapping: SEED004,
    text: s004('2026-01-10T00:00:00', 'Tizen'),
    expect: { reject: 'device.invalid@device' },
  },
  {
    name: 'a time with a zone is left as it is',
    mapping: SEED004,
    text: s004('2026-01-10T00:00:00+09:00'),
    expect: { ts: '2026-01-09T15:00:00.000Z' },
  },
  {
    name: 'an epoch is left as it is',
    mapping: SEED004,
    text: s004('1767225600'),
    expect: { ts: '2026-01-01T00:00:00.000Z' },
  },
  {
    name: 'a bare date is midnight in the zone',
    mapping: SEED004,
    text: s004('2026-01-10'),
    expect: { ts: '2026-01-10T05:00:00.000Z' },
  },
  {
    name: 'a local date that does not exist is ts.invalid',
    mapping: SEED004,
    text: s004('2026-02-30T00:00:00'),
    expect: { reject: 'ts.invalid@ts' },
  },
  {
    name: 'without time_zone a local time is rejected as today',
    mapping: { fields: { device: 'device' }, values: SEED004.values },
    text: s004('2026-01-10T00:00:00', 'desktop'),
    expect: { reject: 'ts.no_offset@ts' },
  },
  {
    name: 'unknown source fields go to props',
    mapping: SEED004,
    text: s004('2026-01-10T00:00:00', 'Android', ',"gender":"F","geo":{"lat":1}'),
    expect: { props: '{"gender":"F","geo":{"lat":1}}' },
  },
  {
    name: 'keep_unmapped: false drops them',
    mapping: { ...SEED004, keep_unmapped: false },
    text: s004('2026-01-10T00:00:00', 'Android', ',"gender":"F"'),
    expect: { props: null, country: 'US' },
  },
  {
    name: 'seed 000: paths into an array, epoch seconds',
    mapping: SEED000,
    text: '{"event_id":"x1","kind":"impression","ts":1767225600,"mid":"m1","ads":[{"aid":7,"_god":"g1","did":"d1"}],"revenue":"0.5"}',
    expect: {
      media_id: 'm1',
      inventory_id: '7',
      ad_id: 'g1',
      demand_id: 'd1',
      type: 'impression',
      revenue: '0.500000',
      props: null,
    },
  },
  {
    name: 'seed 000: an empty array leaves the fields absent',
    mapping: SEED000,
    text: '{"event_id":"x2","kind":"request","ts":1767225600,"mid":"m1","ads":[]}',
    expect: { media_id: 'm1', inventory_id: null, ad_id: null, demand_id: null, type: 'request' },
  },
  {
    name: 'seed 000: a required field whose path is absent is …missing',
    mapping: SEED000,
    text: '{"event_id":"x3","ts":1767225600,"mid":"m1"}',
    expect: { reject: 'type.missing@type' },
  },
  {
    name: 'time_format in Seoul, id from content',
    mapping: FMT_TS,
    text: fmtRec('20260101090000'),
    expect: { ts: '2026-01-01T00:00:00.000Z', event_id: contentId(fmtRec('20260101090000')) },
  },
  {
    name: 'a time not matching time_format is a mapping rejection',
    mapping: FMT_TS,
    text: fmtRec('2026/01/01 09:00'),
    expect: { reject: 'mapping.time_format@ts' },
  },
  {
    name: 'a time matching time_format but impossible is a mapping rejection',
    mapping: FMT_TS,
    text: fmtRec('20261301090000'),
    expect: { reject: 'mapping.time_format@ts' },
  },
  {
    name: 'with time_format an ISO time with a zone still reads',
    mapping: FMT_TS,
    text: fmtRec('2026-01-01T00:00:00Z'),
    expect: { ts: '2026-01-01T00:00:00.000Z' },
  },
  {
    name: 'a given id wins over the content hash',
    mapping: FMT_TS,
    text: '{"event_id":"mine","type":"click","inDate":"20260101090000"}',
    expect: { event_id: 'mine' },
  },
  {
    name: 'a time_format with %z needs no zone',
    mapping: { time_format: '%d/%m/%Y %H:%M:%S%z', fields: { ts: 'when' } },
    text: '{"event_id":"z","type":"click","when":"01/01/2026 09:00:00+0900"}',
    expect: { ts: '2026-01-01T00:00:00.000Z' },
  },
  {
    name: 'an empty ts is still ts.missing',
    mapping: FMT_TS,
    text: fmtRec(''),
    expect: { reject: 'ts.missing@ts' },
  },
  {
    name: 'a number where a time_format is expected passes through as an epoch',
    mapping: FMT_TS,
    text: fmtRec(1767225600),
    expect: { ts: '2026-01-01T00:00:00.000Z' },
  },
  {
    name: 'not JSON is rejected as unmapped',
    mapping: SEED004,
    text: '{"event_id":',
    expect: { reject: 'record.invalid_json@record' },
  },
  {
    name: 'not an object is rejected as unmapped',
    mapping: SEED004,
    text: '[1,2]',
    expect: { reject: 'record.not_object@record' },
  },
  {
    name: 'the canonical field wins over its alias, as unmapped',
    mapping: { time_zone: 'Europe/Berlin' },
    text: '{"event_id":"b","type":"click","ts":"2026-03-29T03:00:00","timestamp":"2020-01-01T00:00:00Z"}',
    expect: { ts: '2026-03-29T01:00:00.000Z', props: null },
  },
  {
    name: 'Berlin skips 02:00-03:00 on 2026-03-29',
    mapping: { time_zone: 'Europe/Berlin' },
    text: '{"event_id":"b","type":"click","ts":"2026-03-29T02:59:59.999"}',
    expect: { reject: 'mapping.dst_gap@ts' },
  },
  {
    name: 'a number id from a path keeps the contract rule (integers as text)',
    mapping: { fields: { event_id: 'id.n' } },
    text: '{"id":{"n":12},"type":"click","ts":"2026-01-01T00:00:00Z"}',
    expect: { event_id: '12', props: null },
  },
  // Plain lines (strings only, no unknown keys): mapped in the read pass by mappedLinesSql.
  {
    name: 'plain: seed 004 with money as text, values folded',
    mapping: SEED004,
    text: s004('2026-01-10 00:00', 'iOS').replace('"revenue":0.0', '"revenue":"0.25"'),
    expect: { ts: '2026-01-10T05:00:00.000Z', device: 'MOBILE', app_type: 'IOS', revenue: '0.250000' },
  },
  {
    name: 'plain: the hour New York skips is a mapping rejection',
    mapping: SEED004,
    text: s004('2026-03-08T02:30:00').replace('"revenue":0.0', '"revenue":"0"'),
    expect: { reject: 'mapping.dst_gap@ts' },
  },
  {
    name: 'plain: a non-ASCII value is folded as ASCII only',
    mapping: SEED004,
    text: s004('2026-01-10T00:00:00', 'ANDROİD').replace('"revenue":0.0', '"revenue":""'),
    expect: { reject: 'device.invalid@device' },
  },
  {
    name: 'plain: a value from `values` longer than the line is still held to the text limit',
    mapping: { values: { os: { android: 'x'.repeat(2100) } } },
    text: '{"event_id":"e","type":"click","ts":"2026-01-01T00:00:00Z","os":"Android"}',
    expect: { reject: 'text.invalid@os' },
  },
  {
    name: 'a kept field nested too deep is rejected as unmapped',
    mapping: { time_zone: 'UTC' },
    text: `{"event_id":"d","type":"click","ts":"2026-01-01T00:00:00","deep":${'['.repeat(70)}${']'.repeat(70)}}`,
    expect: { reject: 'record.too_deep@record' },
  },
];

function outcome(row: Record<string, unknown>): Outcome {
  if (row.reject !== null && row.reject !== undefined) return { reject: String(row.reject) };
  const out: Outcome = {};
  for (const c of EVENT_COLUMNS) out[c] = row[c] === null ? null : String(row[c]);
  out.props = canonicalJson(out.props ?? null);
  return out;
}

/** The outcome restricted to what the case names. */
function checked(full: Outcome, want: MappingCase['expect']): Outcome {
  if ('reject' in full || 'reject' in want) return full.reject ? { reject: full.reject } : full;
  return Object.fromEntries(Object.keys(want).map((k) => [k, full[k] ?? null]));
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
let instance: DuckDBInstance;
let conn: DuckDBConnection;
const sqlOutcomes: Outcome[] = [];
/** Each case as ingest reads a line: mappedLinesSql, and mappedEventsSql where it leaves the line general. */
const lineOutcomes: Outcome[] = [];
const lineGeneral: boolean[] = [];

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  // Not UTC on purpose: the mapping must not depend on the session's time zone.
  await conn.run("SET TimeZone='Asia/Tokyo'");
  const cols = EVENT_COLUMNS.map((c) => {
    if (c === 'ts') return `strftime(timezone('UTC', ts), '%Y-%m-%dT%H:%M:%S.%gZ') AS ts`;
    if (['revenue', 'cost', 'bid_price'].includes(c)) return `${c}::VARCHAR AS ${c}`;
    return c;
  });
  for (const c of CASES) {
    const raw = `(SELECT 1 AS file_seq, 'cases' AS source, 1::BIGINT AS line, ${q(c.text)} AS text)`;
    const reader = await conn.runAndReadAll(
      `SELECT reject, ${cols.join(', ')} FROM (${mappedEventsSql(parseMapping(c.mapping), raw)})`,
    );
    sqlOutcomes.push(outcome(reader.getRowObjectsJS()[0]!));
    const lines = `(SELECT 1 AS file_seq, 1::BIGINT AS line, ${q(c.text)} AS text)`;
    const line = await conn.runAndReadAll(
      `SELECT general, reject, ${cols.join(', ')} FROM (${mappedLinesSql(parseMapping(c.mapping), lines)})`,
    );
    const row = line.getRowObjectsJS()[0]!;
    lineOutcomes.push(row.general ? sqlOutcomes.at(-1)! : outcome(row));
    lineGeneral.push(row.general === true);
  }
});

afterAll(() => {
  conn?.closeSync();
  instance?.closeSync();
});

describe('mapping cases through the SQL and the JS compiler', () => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))('%s', (_name, c, i) => {
    const v = validateMappedText(compileMappingJs(parseMapping(c.mapping)), c.text);
    const js = outcome(
      v.ok ? { reject: null, ...v.event } : { reject: `${v.rejection.code}@${v.rejection.field}` },
    );
    const want =
      'reject' in c.expect ? c.expect : { ...c.expect, props: canonicalJson(c.expect.props ?? null) };
    const wanted = 'props' in c.expect ? want : { ...want, props: undefined };
    const pick = (o: Outcome) => {
      const r = checked(o, c.expect);
      if ('props' in c.expect && !('reject' in r)) r.props = o.props ?? null;
      return r;
    };
    expect(pick(sqlOutcomes[i]!)).toEqual(JSON.parse(JSON.stringify(wanted)));
    expect(sqlOutcomes[i]).toEqual(js);
  });
});

describe('mapping cases as lines (mappedLinesSql, then mappedEventsSql for general lines)', () => {
  it.each(CASES.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    expect(lineOutcomes[i]).toEqual(sqlOutcomes[i]);
  });

  it('plain lines take the one-pass path', () => {
    const plain = CASES.filter((_, i) => !lineGeneral[i]).map((c) => c.name);
    expect(plain).toEqual(
      expect.arrayContaining(CASES.filter((c) => c.name.startsWith('plain:')).map((c) => c.name)),
    );
  });
});

describe('mapping rejection codes', () => {
  it.each(Object.keys(REJECT_REASONS).filter((c) => c.startsWith('mapping.')))('%s is exercised', (code) => {
    expect(CASES.some((c) => 'reject' in c.expect && c.expect.reject?.startsWith(`${code}@`))).toBe(true);
  });
});

describe('mapping files', () => {
  it.each([
    [{ time_zone: 'Mars/Olympus' }, 'time_zone: not an IANA time zone'],
    [{ fields: { media: 'mid' } }, 'fields.media: not a contract field'],
    [{ fields: { media_id: 'ads[x]' } }, 'fields.media_id: not a source path'],
    [{ time_format: '%Y%m%d %Q' }, 'time_format: a format of'],
    [{ time_format: '%Y%m%d%H%M%S' }, 'time_format: a time_format without %z needs time_zone'],
    [{ keep_unmapped: 'yes' }, 'keep_unmapped:'],
    [{ zone: 'UTC' }, 'zone'],
  ])('%j is refused naming the path', (raw, message) => {
    let err: unknown;
    try {
      parseMapping(raw, 'm.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AdpipeError);
    expect((err as AdpipeError).code).toBe('ADP_ERR_SOURCE_MAPPING_INVALID');
    expect((err as AdpipeError).message).toContain('m.yaml');
    expect((err as AdpipeError).message).toContain(message);
  });
});
