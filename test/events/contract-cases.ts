// One table of event-contract cases (docs/events.md), run through BOTH validators:
// validate.test.ts (JS, validateEventText) and validate-sql.test.ts (DuckDB, validatedEventsSql).
// Each case is a raw input line and the expected outcome: a rejection `code@field`, or the
// normalised fields that differ from a plain accepted event (see `expectedEvent`).

import type { AdEvent } from '../../src/events/contract.js';
import { LAKE_COLUMNS } from '../../src/events/contract.js';
import type { RejectCode } from '../../src/events/reasons.js';
import { validateEventText } from '../../src/events/validate.js';

export type Rejected = { reject: `${RejectCode}@${string}` };
export type Accepted = Partial<Record<keyof AdEvent, string | null>>;
export interface ContractCase {
  name: string;
  text: string;
  expect: Rejected | Accepted;
}

/** The normalised event columns compared by the tests, in lake order. */
export const EVENT_COLUMNS: readonly (keyof AdEvent)[] = LAKE_COLUMNS.map(([c]) => c).filter(
  (c): c is keyof AdEvent => c !== 'source' && c !== 'batch_id',
);

const BASE = '"event_id":"e1","type":"click","ts":"2026-01-01T00:00:00Z"';
const T0 = '2026-01-01T00:00:00.000Z';

/** A record with the base fields followed by `more` (raw JSON members, so number spellings survive). */
const rec = (more = '') => `{${BASE}${more ? `,${more}` : ''}}`;
/** A record with only the given raw members. */
const only = (members: string) => `{${members}}`;
/** A record with the base event_id and type, and this ts member. */
const withTs = (ts: string) => `{"event_id":"e1","type":"click","ts":${ts}}`;

const reject = (r: Rejected['reject']): Rejected => ({ reject: r });
const at = (ts: string): Accepted => ({ ts });

const long = (n: number, ch = 'x') => ch.repeat(n);
const jstr = (s: string) => JSON.stringify(s);
/** `n` arrays nested in one another. */
const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

/** The full event expected for an accepted case: a plain click at T0 overlaid with the case's fields. */
export function expectedEvent(fields: Accepted): Record<string, string | null> {
  const ev: Record<string, string | null> = {};
  for (const c of EVENT_COLUMNS) ev[c] = null;
  Object.assign(ev, { event_id: 'e1', type: 'click', ts: T0 });
  Object.assign(ev, { revenue: '0.000000', cost: '0.000000', bid_price: '0.000000' });
  return Object.assign(ev, fields);
}

/** JSON text with object keys sorted, so props from JS (JSON.stringify) and DuckDB compare by value. */
export function canonicalJson(text: string | null): string | null {
  if (text === null) return null;
  const canon = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return `{${Object.keys(o)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canon(o[k])}`)
        .join(',')}}`;
    }
    return JSON.stringify(v);
  };
  return canon(JSON.parse(text));
}

/** A case's expected outcome in the form both validator tests compare. */
export function expectedOutcome(c: ContractCase): Record<string, string | null> {
  if ('reject' in c.expect) return { reject: c.expect.reject };
  const ev = expectedEvent(c.expect);
  return { ...ev, props: canonicalJson(ev.props ?? null) };
}

/** The JS validator's outcome for one input line. */
export function jsOutcome(text: string): Record<string, string | null> {
  const v = validateEventText(text);
  if (!v.ok) return { reject: `${v.rejection.code}@${v.rejection.field}` };
  const out: Record<string, string | null> = {};
  for (const c of EVENT_COLUMNS) out[c] = v.event[c];
  out.props = canonicalJson(v.event.props);
  return out;
}

export const CONTRACT_CASES: readonly ContractCase[] = [
  // ---- the record ------------------------------------------------------------------------------
  { name: 'plain click', text: rec(), expect: {} },
  { name: 'whitespace around the object', text: ` \t${rec()}\t `, expect: {} },
  { name: 'not JSON', text: 'not json', expect: reject('record.invalid_json@record') },
  { name: 'empty line', text: '', expect: reject('record.invalid_json@record') },
  {
    name: 'truncated JSON',
    text: '{"event_id":"e1","type":"click"',
    expect: reject('record.invalid_json@record'),
  },
  { name: 'an opening brace alone', text: '{', expect: reject('record.invalid_json@record') },
  { name: 'an unclosed string value', text: '{"event_id":"e1', expect: reject('record.invalid_json@record') },
  {
    // Repeated with the same value: which one a parser keeps (DuckDB the first, JSON.parse the last)
    // does not matter here; the line is not plain, so the general path decides.
    name: 'a plain-looking line with a key given twice',
    text: '{"event_id":"e1","type":"click","type":"click","ts":"2026-01-01T00:00:00Z"}',
    expect: {},
  },
  { name: 'trailing garbage', text: `${rec()} x`, expect: reject('record.invalid_json@record') },
  { name: 'two objects on a line', text: `${rec()}${rec()}`, expect: reject('record.invalid_json@record') },
  { name: 'NaN literal', text: rec('"revenue":NaN'), expect: reject('record.invalid_json@record') },
  { name: 'Infinity literal', text: withTs('Infinity'), expect: reject('record.invalid_json@record') },
  { name: '-Infinity literal', text: rec('"cost":-Infinity'), expect: reject('record.invalid_json@record') },
  { name: 'bare NaN', text: 'NaN', expect: reject('record.invalid_json@record') },
  {
    name: 'lone surrogate escape',
    text: rec('"city":"\\ud800"'),
    expect: reject('record.invalid_json@record'),
  },
  { name: 'surrogate pair escape', text: rec('"city":"\\ud83d\\ude00"'), expect: { city: '😀' } },
  { name: 'a number', text: '5', expect: reject('record.not_object@record') },
  { name: 'a string', text: '"click"', expect: reject('record.not_object@record') },
  { name: 'null', text: 'null', expect: reject('record.not_object@record') },
  { name: 'a boolean', text: 'true', expect: reject('record.not_object@record') },
  { name: 'empty array', text: '[]', expect: reject('record.not_object@record') },
  { name: 'array of events', text: `[${rec()}]`, expect: reject('record.not_object@record') },
  { name: 'empty object', text: '{}', expect: reject('event_id.missing@event_id') },

  // ---- event_id --------------------------------------------------------------------------------
  {
    name: 'event_id missing',
    text: only('"type":"click","ts":1767225600'),
    expect: reject('event_id.missing@event_id'),
  },
  {
    name: 'event_id null',
    text: only('"event_id":null,"type":"click","ts":1767225600'),
    expect: reject('event_id.missing@event_id'),
  },
  {
    name: 'event_id empty',
    text: only('"event_id":"","type":"click","ts":1767225600'),
    expect: reject('event_id.length@event_id'),
  },
  {
    name: 'event_id too long',
    text: only(`"event_id":"${long(129)}","type":"click","ts":1767225600`),
    expect: reject('event_id.length@event_id'),
  },
  {
    name: 'event_id of 128',
    text: only(`"event_id":"${long(128)}","type":"click","ts":1767225600`),
    expect: { event_id: long(128) },
  },
  {
    name: 'event_id of 128 emoji (code points, not UTF-16 units)',
    text: only(`"event_id":"${long(128, '😀')}","type":"click","ts":1767225600`),
    expect: { event_id: long(128, '😀') },
  },
  {
    name: 'event_id of 129 emoji',
    text: only(`"event_id":"${long(129, '😀')}","type":"click","ts":1767225600`),
    expect: reject('event_id.length@event_id'),
  },
  {
    name: 'event_id a space',
    text: only('"event_id":" ","type":"click","ts":1767225600'),
    expect: { event_id: ' ' },
  },
  {
    name: 'event_id integer',
    text: only('"event_id":12,"type":"click","ts":1767225600'),
    expect: { event_id: '12' },
  },
  {
    name: 'event_id negative integer',
    text: only('"event_id":-7,"type":"click","ts":1767225600'),
    expect: { event_id: '-7' },
  },
  {
    name: 'event_id integral float 1.0',
    text: only('"event_id":1.0,"type":"click","ts":1767225600'),
    expect: { event_id: '1' },
  },
  {
    name: 'event_id 1e2',
    text: only('"event_id":1e2,"type":"click","ts":1767225600'),
    expect: { event_id: '100' },
  },
  {
    name: 'event_id largest safe integer',
    text: only('"event_id":9007199254740991,"type":"click","ts":1767225600'),
    expect: { event_id: '9007199254740991' },
  },
  {
    name: 'event_id beyond safe integers',
    text: only('"event_id":9007199254740993,"type":"click","ts":1767225600'),
    expect: reject('event_id.type@event_id'),
  },
  {
    name: 'event_id beyond BIGINT',
    text: only('"event_id":12345678901234567890,"type":"click","ts":1767225600'),
    expect: reject('event_id.type@event_id'),
  },
  {
    name: 'event_id float',
    text: only('"event_id":1.5,"type":"click","ts":1767225600'),
    expect: reject('event_id.type@event_id'),
  },
  {
    name: 'event_id object',
    text: only('"event_id":{"a":1},"type":"click","ts":1767225600'),
    expect: reject('event_id.type@event_id'),
  },
  {
    name: 'event_id array',
    text: only('"event_id":["a"],"type":"click","ts":1767225600'),
    expect: reject('event_id.type@event_id'),
  },
  {
    name: 'event_id boolean',
    text: only('"event_id":true,"type":"click","ts":1767225600'),
    expect: reject('event_id.type@event_id'),
  },

  // ---- type ------------------------------------------------------------------------------------
  ...['request', 'response', 'passback', 'impression', 'click', 'conversion'].map((t) => ({
    name: `type ${t}`,
    text: only(`"event_id":"e1","type":"${t}","ts":"2026-01-01T00:00:00Z"`),
    expect: { type: t },
  })),
  {
    name: 'type missing',
    text: only('"event_id":"e1","ts":1767225600'),
    expect: reject('type.missing@type'),
  },
  {
    name: 'type empty',
    text: only('"event_id":"e1","type":"","ts":1767225600'),
    expect: reject('type.missing@type'),
  },
  {
    name: 'type null',
    text: only('"event_id":"e1","type":null,"ts":1767225600'),
    expect: reject('type.missing@type'),
  },
  {
    name: 'type unknown',
    text: only('"event_id":"e1","type":"view","ts":1767225600'),
    expect: reject('type.invalid@type'),
  },
  {
    name: 'type a number',
    text: only('"event_id":"e1","type":5,"ts":1767225600'),
    expect: reject('type.invalid@type'),
  },
  {
    name: 'type with a space',
    text: only('"event_id":"e1","type":" click","ts":1767225600'),
    expect: reject('type.invalid@type'),
  },
  {
    name: 'type upper case',
    text: only('"event_id":"e1","type":"CLICK","ts":1767225600'),
    expect: { type: 'click' },
  },
  {
    name: 'type mixed case',
    text: only('"event_id":"e1","type":"Impression","ts":1767225600'),
    expect: { type: 'impression' },
  },
  {
    name: 'type with a Kelvin sign is not click',
    text: only('"event_id":"e1","type":"clic\u212a","ts":1767225600'),
    expect: reject('type.invalid@type'),
  },
  {
    name: 'alias event_type',
    text: only('"event_id":"e1","event_type":"impression","ts":1767225600'),
    expect: { type: 'impression' },
  },
  {
    name: 'type wins over event_type',
    text: only('"event_id":"e1","type":"click","event_type":"impression","ts":1767225600'),
    expect: { type: 'click' },
  },
  {
    name: 'type null falls back to event_type',
    text: only('"event_id":"e1","type":null,"event_type":"request","ts":1767225600'),
    expect: { type: 'request' },
  },
  {
    name: 'type empty does not fall back',
    text: only('"event_id":"e1","type":"","event_type":"request","ts":1767225600'),
    expect: reject('type.missing@type'),
  },
  {
    name: 'event_type unknown',
    text: only('"event_id":"e1","event_type":"view","ts":1767225600'),
    expect: reject('type.invalid@type'),
  },

  // ---- custom events and name -------------------------------------------------------------------
  {
    name: 'custom with name',
    text: only('"event_id":"e1","type":"custom","name":"signup","ts":"2026-01-01T00:00:00Z"'),
    expect: { type: 'custom', name: 'signup' },
  },
  {
    name: 'CUSTOM upper case',
    text: only('"event_id":"e1","type":"CUSTOM","name":"signup","ts":"2026-01-01T00:00:00Z"'),
    expect: { type: 'custom', name: 'signup' },
  },
  {
    name: 'custom without name',
    text: only('"event_id":"e1","type":"custom","ts":1767225600'),
    expect: reject('name.missing@name'),
  },
  {
    name: 'custom with empty name',
    text: only('"event_id":"e1","type":"custom","name":"","ts":1767225600'),
    expect: reject('name.missing@name'),
  },
  {
    name: 'custom with null name',
    text: only('"event_id":"e1","type":"custom","name":null,"ts":1767225600'),
    expect: reject('name.missing@name'),
  },
  {
    name: 'custom with name too long',
    text: only(`"event_id":"e1","type":"custom","name":"${long(129)}","ts":1767225600`),
    expect: reject('name.invalid@name'),
  },
  {
    name: 'custom with name of 128',
    text: only(`"event_id":"e1","type":"custom","name":"${long(128)}","ts":"2026-01-01T00:00:00Z"`),
    expect: { type: 'custom', name: long(128) },
  },
  {
    name: 'custom with numeric name',
    text: only('"event_id":"e1","type":"custom","name":5,"ts":1767225600'),
    expect: reject('name.invalid@name'),
  },
  { name: 'name on an ad event is kept', text: rec('"name":"hero"'), expect: { name: 'hero' } },
  { name: 'empty name on an ad event is absent', text: rec('"name":""'), expect: {} },
  { name: 'object name on an ad event', text: rec('"name":{}'), expect: reject('name.invalid@name') },

  // ---- ts: accepted formats --------------------------------------------------------------------
  { name: 'ISO with Z', text: withTs('"2026-01-01T00:00:00Z"'), expect: at(T0) },
  { name: 'ISO with lower-case z', text: withTs('"2026-01-01T00:00:00z"'), expect: at(T0) },
  { name: 'ISO with +09:00', text: withTs('"2026-01-01T09:00:00+09:00"'), expect: at(T0) },
  { name: 'ISO with +0900', text: withTs('"2026-01-01T09:00:00+0900"'), expect: at(T0) },
  { name: 'ISO with +09', text: withTs('"2026-01-01T09:00:00+09"'), expect: at(T0) },
  { name: 'ISO with -05:30', text: withTs('"2025-12-31T18:30:00-05:30"'), expect: at(T0) },
  { name: 'ISO with +00:00', text: withTs('"2026-01-01T00:00:00+00:00"'), expect: at(T0) },
  { name: 'ISO with a space separator', text: withTs('"2026-01-01 00:00:00Z"'), expect: at(T0) },
  { name: 'ISO without seconds', text: withTs('"2026-01-01T09:00+09:00"'), expect: at(T0) },
  {
    name: 'ISO with .5 seconds',
    text: withTs('"2026-01-01T00:00:00.5Z"'),
    expect: at('2026-01-01T00:00:00.500Z'),
  },
  {
    name: 'ISO with milliseconds',
    text: withTs('"2026-01-01T00:00:00.123Z"'),
    expect: at('2026-01-01T00:00:00.123Z'),
  },
  {
    name: 'ISO with nanoseconds (truncated to ms)',
    text: withTs('"2026-01-01T00:00:00.123999999Z"'),
    expect: at('2026-01-01T00:00:00.123Z'),
  },
  { name: 'ISO with spaces around', text: withTs('" 2026-01-01T00:00:00Z "'), expect: at(T0) },
  { name: 'ISO leap day', text: withTs('"2024-02-29T12:00:00Z"'), expect: at('2024-02-29T12:00:00.000Z') },
  {
    name: 'ISO crossing midnight by offset',
    text: withTs('"2026-01-01T08:00:00+09:00"'),
    expect: at('2025-12-31T23:00:00.000Z'),
  },
  {
    name: 'ISO last instant',
    text: withTs('"9999-12-31T09:59:59.999Z"'),
    expect: at('9999-12-31T09:59:59.999Z'),
  },
  {
    name: 'ISO past the last instant: local 10000-01-01 at UTC+14',
    text: withTs('"9999-12-31T10:00:00.000Z"'),
    expect: reject('ts.invalid@ts'),
  },
  {
    name: 'ISO in year 9999 by offset, 10000 in UTC+14',
    text: withTs('"9999-12-31T23:00:00+09:00"'),
    expect: reject('ts.invalid@ts'),
  },
  {
    name: 'ISO five-digit year',
    text: withTs('"+10000-01-01T00:00:00+09:00"'),
    expect: reject('ts.invalid@ts'),
  },
  {
    name: 'ISO first instant',
    text: withTs('"1970-01-01T00:00:00Z"'),
    expect: at('1970-01-01T00:00:00.000Z'),
  },
  { name: 'epoch seconds', text: withTs('1767225600'), expect: at(T0) },
  {
    name: 'epoch seconds with a fraction',
    text: withTs('1767225600.25'),
    expect: at('2026-01-01T00:00:00.250Z'),
  },
  {
    name: 'epoch seconds rounded to ms',
    text: withTs('1767225600.0006'),
    expect: at('2026-01-01T00:00:00.001Z'),
  },
  { name: 'epoch seconds in exponent form', text: withTs('1.7672256e9'), expect: at(T0) },
  { name: 'epoch milliseconds', text: withTs('1767225600123'), expect: at('2026-01-01T00:00:00.123Z') },
  { name: 'epoch zero', text: withTs('0'), expect: at('1970-01-01T00:00:00.000Z') },
  {
    name: 'epoch just below 1e11 is seconds',
    text: withTs('99999999999'),
    expect: at('5138-11-16T09:46:39.000Z'),
  },
  {
    name: 'epoch 1e11 is milliseconds',
    text: withTs('100000000000'),
    expect: at('1973-03-03T09:46:40.000Z'),
  },
  { name: 'epoch 1e11 written 1e11', text: withTs('1e11'), expect: at('1973-03-03T09:46:40.000Z') },
  { name: 'epoch seconds as a string', text: withTs('"1767225600"'), expect: at(T0) },
  {
    name: 'epoch fractional seconds as a string',
    text: withTs('"1767225600.5"'),
    expect: at('2026-01-01T00:00:00.500Z'),
  },
  {
    name: 'epoch milliseconds as a string',
    text: withTs('"1767225600123"'),
    expect: at('2026-01-01T00:00:00.123Z'),
  },
  { name: 'epoch string with spaces', text: withTs('" 1767225600 "'), expect: at(T0) },
  { name: 'epoch ms last instant', text: withTs('253402250399999'), expect: at('9999-12-31T09:59:59.999Z') },
  {
    name: 'epoch ms past the last instant',
    text: withTs('253402250400000'),
    expect: reject('ts.invalid@ts'),
  },
  {
    name: 'alias timestamp',
    text: only('"event_id":"e1","type":"click","timestamp":"2026-01-01T00:00:00Z"'),
    expect: {},
  },
  {
    name: 'ts wins over timestamp',
    text: only('"event_id":"e1","type":"click","ts":1767225600,"timestamp":"2020-01-01T00:00:00Z"'),
    expect: {},
  },
  {
    name: 'ts null falls back to timestamp',
    text: only('"event_id":"e1","type":"click","ts":null,"timestamp":1767225600'),
    expect: {},
  },
  {
    name: 'timestamp invalid',
    text: only('"event_id":"e1","type":"click","timestamp":"soon"'),
    expect: reject('ts.invalid@ts'),
  },

  // ---- ts: rejected ----------------------------------------------------------------------------
  { name: 'ts missing', text: only('"event_id":"e1","type":"click"'), expect: reject('ts.missing@ts') },
  { name: 'ts empty', text: withTs('""'), expect: reject('ts.missing@ts') },
  { name: 'ts null', text: withTs('null'), expect: reject('ts.missing@ts') },
  { name: 'ts blank', text: withTs('"  "'), expect: reject('ts.invalid@ts') },
  {
    name: 'local time without offset',
    text: withTs('"2026-01-01T00:00:00"'),
    expect: reject('ts.no_offset@ts'),
  },
  {
    name: 'local time with a space and no seconds',
    text: withTs('"2026-01-01 00:00"'),
    expect: reject('ts.no_offset@ts'),
  },
  {
    name: 'local time with a fraction',
    text: withTs('"2026-01-01T00:00:00.123"'),
    expect: reject('ts.no_offset@ts'),
  },
  { name: 'date only', text: withTs('"2026-01-01"'), expect: reject('ts.no_offset@ts') },
  {
    name: 'local Feb 30 is still ambiguous first',
    text: withTs('"2026-02-30T00:00:00"'),
    expect: reject('ts.no_offset@ts'),
  },
  { name: 'Feb 30', text: withTs('"2026-02-30T00:00:00Z"'), expect: reject('ts.invalid@ts') },
  {
    name: 'Feb 29 in a common year',
    text: withTs('"2026-02-29T00:00:00Z"'),
    expect: reject('ts.invalid@ts'),
  },
  {
    name: 'Feb 29 1900 (not a leap year)',
    text: withTs('"1900-02-29T00:00:00Z"'),
    expect: reject('ts.invalid@ts'),
  },
  { name: 'month 13', text: withTs('"2026-13-01T00:00:00Z"'), expect: reject('ts.invalid@ts') },
  { name: 'day 00', text: withTs('"2026-01-00T00:00:00Z"'), expect: reject('ts.invalid@ts') },
  { name: 'hour 24', text: withTs('"2026-01-01T24:00:00Z"'), expect: reject('ts.invalid@ts') },
  { name: 'minute 60', text: withTs('"2026-01-01T00:60:00Z"'), expect: reject('ts.invalid@ts') },
  { name: 'leap second 60', text: withTs('"2026-12-31T23:59:60Z"'), expect: reject('ts.invalid@ts') },
  { name: 'offset +25:00', text: withTs('"2026-01-01T00:00:00+25:00"'), expect: reject('ts.invalid@ts') },
  { name: 'offset +09:60', text: withTs('"2026-01-01T00:00:00+09:60"'), expect: reject('ts.invalid@ts') },
  { name: 'offset +9', text: withTs('"2026-01-01T00:00:00+9"'), expect: reject('ts.invalid@ts') },
  { name: 'lower-case t separator', text: withTs('"2026-01-01t00:00:00Z"'), expect: reject('ts.invalid@ts') },
  {
    name: 'fraction without seconds',
    text: withTs('"2026-01-01T00:00.5Z"'),
    expect: reject('ts.invalid@ts'),
  },
  {
    name: 'fraction of 10 digits',
    text: withTs('"2026-01-01T00:00:00.1234567890Z"'),
    expect: reject('ts.invalid@ts'),
  },
  { name: 'comma fraction', text: withTs('"2026-01-01T00:00:00,5Z"'), expect: reject('ts.invalid@ts') },
  { name: 'before 1970', text: withTs('"1969-12-31T23:59:59Z"'), expect: reject('ts.invalid@ts') },
  {
    name: 'before 1970 by offset',
    text: withTs('"1970-01-01T08:59:59+09:00"'),
    expect: reject('ts.invalid@ts'),
  },
  {
    name: 'two-digit-era year 0075',
    text: withTs('"0075-01-01T00:00:00Z"'),
    expect: reject('ts.invalid@ts'),
  },
  {
    name: 'year 10000 by offset',
    text: withTs('"9999-12-31T23:59:59-01:00"'),
    expect: reject('ts.invalid@ts'),
  },
  { name: 'epoch ms beyond 9999', text: withTs('253402300800000'), expect: reject('ts.invalid@ts') },
  { name: 'epoch huge', text: withTs('1e400'), expect: reject('ts.invalid@ts') },
  { name: 'negative epoch', text: withTs('-1'), expect: reject('ts.invalid@ts') },
  { name: 'negative fractional epoch', text: withTs('-0.0001'), expect: reject('ts.invalid@ts') },
  { name: 'negative epoch string', text: withTs('"-1"'), expect: reject('ts.invalid@ts') },
  {
    name: 'epoch string with a trailing dot',
    text: withTs('"1767225600."'),
    expect: reject('ts.invalid@ts'),
  },
  { name: 'epoch string in exponent form', text: withTs('"1.7e9"'), expect: reject('ts.invalid@ts') },
  { name: 'non-numeric ts', text: withTs('"yesterday"'), expect: reject('ts.invalid@ts') },
  { name: 'ts boolean', text: withTs('true'), expect: reject('ts.invalid@ts') },
  { name: 'ts object', text: withTs('{"s":1}'), expect: reject('ts.invalid@ts') },
  { name: 'ts array', text: withTs('[1767225600]'), expect: reject('ts.invalid@ts') },

  // ---- ids -------------------------------------------------------------------------------------
  {
    name: 'every id, integers become strings',
    text: rec(
      '"org_id":1,"media_id":2,"inventory_id":3,"ad_id":4,"campaign_id":5,"demand_id":6,"advertiser_id":7',
    ),
    expect: {
      org_id: '1',
      media_id: '2',
      inventory_id: '3',
      ad_id: '4',
      campaign_id: '5',
      demand_id: '6',
      advertiser_id: '7',
    },
  },
  {
    name: 'every id as strings',
    text: rec(
      '"org_id":"o","media_id":"m","inventory_id":"i","ad_id":"a","campaign_id":"c","demand_id":"d","advertiser_id":"v"',
    ),
    expect: {
      org_id: 'o',
      media_id: 'm',
      inventory_id: 'i',
      ad_id: 'a',
      campaign_id: 'c',
      demand_id: 'd',
      advertiser_id: 'v',
    },
  },
  { name: 'empty ids are absent', text: rec('"org_id":"","media_id":"","ad_id":null'), expect: {} },
  { name: 'id integral float', text: rec('"media_id":2.0'), expect: { media_id: '2' } },
  { name: 'id negative integer', text: rec('"ad_id":-3'), expect: { ad_id: '-3' } },
  { name: 'id of 128', text: rec(`"campaign_id":"${long(128)}"`), expect: { campaign_id: long(128) } },
  {
    name: 'id too long',
    text: rec(`"campaign_id":"${long(129)}"`),
    expect: reject('id.invalid@campaign_id'),
  },
  { name: 'id float', text: rec('"ad_id":1.5'), expect: reject('id.invalid@ad_id') },
  { name: 'id object', text: rec('"org_id":{"id":1}'), expect: reject('id.invalid@org_id') },
  { name: 'id array', text: rec('"media_id":[1]'), expect: reject('id.invalid@media_id') },
  { name: 'id boolean', text: rec('"demand_id":false'), expect: reject('id.invalid@demand_id') },
  {
    name: 'id beyond safe integers',
    text: rec('"advertiser_id":9007199254740993'),
    expect: reject('id.invalid@advertiser_id'),
  },
  { name: 'first bad id wins', text: rec('"ad_id":1.5,"org_id":{}'), expect: reject('id.invalid@org_id') },

  // ---- device / app_type -------------------------------------------------------------------------
  { name: 'device pc', text: rec('"device":"pc"'), expect: { device: 'PC' } },
  { name: 'device Mobile', text: rec('"device":"Mobile"'), expect: { device: 'MOBILE' } },
  { name: 'device PC', text: rec('"device":"PC"'), expect: { device: 'PC' } },
  { name: 'device empty is absent', text: rec('"device":""'), expect: {} },
  { name: 'device null is absent', text: rec('"device":null'), expect: {} },
  { name: 'device unknown', text: rec('"device":"TV"'), expect: reject('device.invalid@device') },
  { name: 'device with spaces', text: rec('"device":" pc"'), expect: reject('device.invalid@device') },
  { name: 'device number', text: rec('"device":1'), expect: reject('device.invalid@device') },
  { name: 'app_type ios', text: rec('"app_type":"ios"'), expect: { app_type: 'IOS' } },
  { name: 'app_type Aos', text: rec('"app_type":"Aos"'), expect: { app_type: 'AOS' } },
  { name: 'app_type WEB', text: rec('"app_type":"WEB"'), expect: { app_type: 'WEB' } },
  { name: 'app_type empty is absent', text: rec('"app_type":""'), expect: {} },
  {
    name: 'app_type unknown',
    text: rec('"app_type":"android"'),
    expect: reject('app_type.invalid@app_type'),
  },
  {
    name: 'app_type with a long s is not AOS',
    text: rec('"app_type":"AO\u017f"'),
    expect: reject('app_type.invalid@app_type'),
  },
  { name: 'app_type boolean', text: rec('"app_type":true'), expect: reject('app_type.invalid@app_type') },

  // ---- text fields -----------------------------------------------------------------------------
  {
    name: 'every text field',
    text: rec(
      '"ad_format":"banner","country":"KR","os":"iOS","browser":"Safari","city":"Seoul","user_id":"u1","session_id":"s1","experiment":"exp","variant":"B","ip":"10.0.0.1","user_agent":"Mozilla/5.0"',
    ),
    expect: {
      ad_format: 'banner',
      country: 'KR',
      os: 'iOS',
      browser: 'Safari',
      city: 'Seoul',
      user_id: 'u1',
      session_id: 's1',
      experiment: 'exp',
      variant: 'B',
      ip: '10.0.0.1',
      user_agent: 'Mozilla/5.0',
    },
  },
  { name: 'empty text fields are absent', text: rec('"country":"","city":"","os":null'), expect: {} },
  {
    name: 'text keeps spaces and unicode',
    text: rec(`"city":${jstr(' 서울 ')}`),
    expect: { city: ' 서울 ' },
  },
  { name: 'text integer becomes a string', text: rec('"user_id":12345'), expect: { user_id: '12345' } },
  {
    name: 'text integral float becomes an integer string',
    text: rec('"session_id":7.0'),
    expect: { session_id: '7' },
  },
  { name: 'text float', text: rec('"os":14.2'), expect: reject('text.invalid@os') },
  { name: 'text object', text: rec('"country":{"code":"KR"}'), expect: reject('text.invalid@country') },
  { name: 'text array', text: rec('"browser":["Safari"]'), expect: reject('text.invalid@browser') },
  { name: 'text boolean', text: rec('"experiment":true'), expect: reject('text.invalid@experiment') },
  { name: 'text of 2048', text: rec(`"user_agent":"${long(2048)}"`), expect: { user_agent: long(2048) } },
  {
    name: 'text of 2048 emoji',
    text: rec(`"user_agent":"${long(2048, '😀')}"`),
    expect: { user_agent: long(2048, '😀') },
  },
  {
    name: 'text too long',
    text: rec(`"user_agent":"${long(2049)}"`),
    expect: reject('text.invalid@user_agent'),
  },

  // ---- money -----------------------------------------------------------------------------------
  {
    name: 'money defaults to 0',
    text: rec(),
    expect: { revenue: '0.000000', cost: '0.000000', bid_price: '0.000000' },
  },
  { name: 'money number', text: rec('"revenue":0.0123'), expect: { revenue: '0.012300' } },
  { name: 'money string', text: rec('"revenue":"0.0123"'), expect: { revenue: '0.012300' } },
  { name: 'money integer', text: rec('"cost":3'), expect: { cost: '3.000000' } },
  {
    name: 'money all three',
    text: rec('"revenue":"1.5","cost":0.25,"bid_price":"0.000001"'),
    expect: { revenue: '1.500000', cost: '0.250000', bid_price: '0.000001' },
  },
  { name: 'money 6 decimals', text: rec('"revenue":"0.123456"'), expect: { revenue: '0.123456' } },
  {
    name: 'money trailing zeros do not count',
    text: rec('"revenue":"1.50000000"'),
    expect: { revenue: '1.500000' },
  },
  { name: 'money leading zeros', text: rec('"revenue":"0007.5"'), expect: { revenue: '7.500000' } },
  { name: 'money .5', text: rec('"revenue":".5"'), expect: { revenue: '0.500000' } },
  { name: 'money 5.', text: rec('"revenue":"5."'), expect: { revenue: '5.000000' } },
  { name: 'money with spaces', text: rec('"revenue":" 2 "'), expect: { revenue: '2.000000' } },
  { name: 'money empty is 0', text: rec('"revenue":""'), expect: {} },
  { name: 'money null is 0', text: rec('"revenue":null'), expect: {} },
  { name: 'money negative zero', text: rec('"revenue":"-0"'), expect: {} },
  { name: 'money negative zero number', text: rec('"cost":-0.0'), expect: {} },
  {
    name: 'money maximum',
    text: rec('"revenue":"999999999.999999"'),
    expect: { revenue: '999999999.999999' },
  },
  { name: 'money 1e-6 number', text: rec('"revenue":1e-6'), expect: { revenue: '0.000001' } },
  { name: 'money 1e-6 string', text: rec('"revenue":"1e-6"'), expect: { revenue: '0.000001' } },
  { name: 'money 1E3', text: rec('"revenue":"1E3"'), expect: { revenue: '1000.000000' } },
  { name: 'money 2.5e+2', text: rec('"bid_price":2.5e+2'), expect: { bid_price: '250.000000' } },
  { name: 'money 123456e-6', text: rec('"revenue":"123456e-6"'), expect: { revenue: '0.123456' } },
  { name: 'money 0e99999999999 is 0', text: rec('"revenue":"0e99999999999"'), expect: {} },
  { name: 'money 1e8', text: rec('"revenue":1e8'), expect: { revenue: '100000000.000000' } },
  {
    name: 'money as a 15-digit JSON number',
    text: rec('"revenue":123456789.123456'),
    expect: { revenue: '123456789.123456' },
  },
  {
    name: 'money as a 15-digit string is exact',
    text: rec('"revenue":"987654321.987654"'),
    expect: { revenue: '987654321.987654' },
  },
  // A JSON number is a double: 20 significant digits do not survive, its shortest form is read.
  {
    name: 'money as a 20-digit JSON number is rounded',
    text: rec('"revenue":123456789.12345600001'),
    expect: { revenue: '123456789.123456' },
  },
  { name: 'money 7 decimals', text: rec('"revenue":"0.0000001"'), expect: reject('money.scale@revenue') },
  { name: 'money 7 decimals number', text: rec('"cost":0.1234567'), expect: reject('money.scale@cost') },
  { name: 'money 1e-7', text: rec('"revenue":1e-7'), expect: reject('money.scale@revenue') },
  { name: 'money 1e-19 is not 0', text: rec('"revenue":1e-19'), expect: reject('money.scale@revenue') },
  { name: 'money 1e-19 string', text: rec('"bid_price":"1e-19"'), expect: reject('money.scale@bid_price') },
  {
    name: 'money tiny exponent',
    text: rec('"revenue":"1e-99999999999"'),
    expect: reject('money.scale@revenue'),
  },
  { name: 'money negative', text: rec('"revenue":-1'), expect: reject('money.negative@revenue') },
  { name: 'money negative string', text: rec('"cost":"-0.5"'), expect: reject('money.negative@cost') },
  {
    name: 'money negative before scale',
    text: rec('"revenue":"-0.0000001"'),
    expect: reject('money.negative@revenue'),
  },
  { name: 'money negative 1e-19', text: rec('"revenue":-1e-19'), expect: reject('money.negative@revenue') },
  {
    name: 'money negative before range',
    text: rec('"revenue":-1e30'),
    expect: reject('money.negative@revenue'),
  },
  { name: 'money 1e9', text: rec('"revenue":1e9'), expect: reject('money.range@revenue') },
  {
    name: 'money 1000000000',
    text: rec('"revenue":"1000000000"'),
    expect: reject('money.range@revenue'),
  },
  {
    name: 'money past the bound that DECIMAL(18,6) would hold',
    text: rec('"revenue":"999999999999.999999"'),
    expect: reject('money.range@revenue'),
  },
  { name: 'money 1e12', text: rec('"revenue":1e12'), expect: reject('money.range@revenue') },
  {
    name: 'money 1000000000000',
    text: rec('"revenue":"1000000000000"'),
    expect: reject('money.range@revenue'),
  },
  { name: 'money 1e30', text: rec('"cost":1e30'), expect: reject('money.range@cost') },
  {
    name: 'money beyond BIGINT',
    text: rec('"revenue":12345678901234567890'),
    expect: reject('money.range@revenue'),
  },
  { name: 'money beyond double', text: rec('"revenue":1e400'), expect: reject('money.range@revenue') },
  {
    name: 'money huge exponent',
    text: rec('"revenue":"1e99999999999999999999"'),
    expect: reject('money.range@revenue'),
  },
  { name: 'money non-numeric', text: rec('"revenue":"abc"'), expect: reject('money.invalid@revenue') },
  { name: 'money blank', text: rec('"revenue":"  "'), expect: reject('money.invalid@revenue') },
  { name: 'money a dot', text: rec('"revenue":"."'), expect: reject('money.invalid@revenue') },
  { name: 'money plus sign', text: rec('"revenue":"+5"'), expect: reject('money.invalid@revenue') },
  { name: 'money hex', text: rec('"revenue":"0x10"'), expect: reject('money.invalid@revenue') },
  { name: 'money NaN string', text: rec('"revenue":"NaN"'), expect: reject('money.invalid@revenue') },
  {
    name: 'money Infinity string',
    text: rec('"revenue":"Infinity"'),
    expect: reject('money.invalid@revenue'),
  },
  {
    name: 'money thousands separator',
    text: rec('"revenue":"1,000"'),
    expect: reject('money.invalid@revenue'),
  },
  { name: 'money dangling exponent', text: rec('"revenue":"1e"'), expect: reject('money.invalid@revenue') },
  { name: 'money with a currency', text: rec('"revenue":"5 USD"'), expect: reject('money.invalid@revenue') },
  { name: 'money boolean', text: rec('"revenue":true'), expect: reject('money.invalid@revenue') },
  { name: 'money object', text: rec('"cost":{"amount":1}'), expect: reject('money.invalid@cost') },
  { name: 'money array', text: rec('"bid_price":[1]'), expect: reject('money.invalid@bid_price') },
  {
    name: 'first bad money field wins',
    text: rec('"bid_price":-1,"revenue":"x"'),
    expect: reject('money.invalid@revenue'),
  },

  // ---- rule order ------------------------------------------------------------------------------
  {
    name: 'event_id before type',
    text: only('"type":"view","ts":"soon"'),
    expect: reject('event_id.missing@event_id'),
  },
  {
    name: 'type before ts',
    text: only('"event_id":"e1","type":"view","ts":"soon"'),
    expect: reject('type.invalid@type'),
  },
  {
    name: 'name before ts',
    text: only('"event_id":"e1","type":"custom","ts":"soon"'),
    expect: reject('name.missing@name'),
  },
  {
    name: 'ts before ids',
    text: only('"event_id":"e1","type":"click","ts":"soon","ad_id":1.5'),
    expect: reject('ts.invalid@ts'),
  },
  { name: 'ids before device', text: rec('"device":"TV","ad_id":1.5'), expect: reject('id.invalid@ad_id') },
  {
    name: 'device before app_type',
    text: rec('"app_type":"x","device":"TV"'),
    expect: reject('device.invalid@device'),
  },
  {
    name: 'app_type before text',
    text: rec('"country":{},"app_type":"x"'),
    expect: reject('app_type.invalid@app_type'),
  },
  {
    name: 'text before money',
    text: rec('"revenue":-1,"country":{}'),
    expect: reject('text.invalid@country'),
  },

  // ---- nesting: the record's braces are level 1, RECORD_MAX_DEPTH (64) levels at most ---------------
  {
    name: 'props nested to the depth limit kept',
    text: rec(`"p":${nested(63)}`),
    expect: { props: `{"p":${nested(63)}}` },
  },
  {
    name: 'props nested one level too deep',
    text: rec(`"p":${nested(64)}`),
    expect: reject('record.too_deep@record'),
  },
  {
    name: 'a record nested 100000 levels deep',
    text: rec(`"p":${nested(100_000)}`),
    expect: reject('record.too_deep@record'),
  },
  {
    name: 'brackets inside strings do not nest',
    text: rec(`"p":${jstr(`${'[{'.repeat(100)}\\"`)},"q":["]]]"]`),
    expect: { props: `{"p":${jstr(`${'[{'.repeat(100)}\\"`)},"q":["]]]"]}` },
  },
  {
    name: 'invalid JSON before too deep',
    text: rec(`"p":${nested(100)}]`),
    expect: reject('record.invalid_json@record'),
  },

  // ---- unknown fields → props --------------------------------------------------------------------
  { name: 'unknown field kept in props', text: rec('"foo":1'), expect: { props: '{"foo":1}' } },
  {
    name: 'unknown fields of every JSON type',
    text: rec('"s":"x","n":1.5,"b":true,"z":null,"a":[1,"2",{"k":[]}],"o":{"deep":{"er":1}}'),
    expect: { props: '{"s":"x","n":1.5,"b":true,"z":null,"a":[1,"2",{"k":[]}],"o":{"deep":{"er":1}}}' },
  },
  {
    name: 'unknown field numbers compare by value',
    text: rec('"x":1.0,"y":1e21'),
    expect: { props: '{"x":1,"y":1e21}' },
  },
  {
    name: 'field names are case-sensitive',
    text: rec('"Type":"view","Revenue":5'),
    expect: { props: '{"Type":"view","Revenue":5}' },
  },
  { name: 'aliases are not props', text: rec('"event_type":"view","timestamp":"x"'), expect: {} },
  {
    name: 'a __proto__ field is kept as data',
    text: rec('"__proto__":{"x":1}'),
    expect: { props: '{"__proto__":{"x":1}}' },
  },
  {
    name: 'unicode unknown field',
    text: rec(`${jstr('키')}:${jstr('값\n')}`),
    expect: { props: '{"키":"값\\n"}' },
  },
  {
    name: 'a full event',
    text: JSON.stringify({
      event_id: 987,
      event_type: 'Impression',
      timestamp: '2026-03-01T12:34:56.789+09:00',
      media_id: 'm1',
      inventory_id: 44,
      device: 'mobile',
      app_type: 'aos',
      country: 'KR',
      revenue: '0.0015',
      cost: 0.001,
      extra: { k: 'v' },
    }),
    expect: {
      event_id: '987',
      type: 'impression',
      ts: '2026-03-01T03:34:56.789Z',
      media_id: 'm1',
      inventory_id: '44',
      device: 'MOBILE',
      app_type: 'AOS',
      country: 'KR',
      revenue: '0.001500',
      cost: '0.001000',
      props: '{"extra":{"k":"v"}}',
    },
  },
];
