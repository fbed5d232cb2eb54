// The contract checked in JS, one record at a time, for paths that must answer per record before
// anything reaches the engine (the HTTP collector, the simulator's self-check). Bulk file ingest
// uses the equivalent SQL in validate-sql.ts; test/events/contract-cases.ts runs both on one table.

import {
  type AdEvent,
  ALIASES,
  APP_TYPES,
  DEVICES,
  EPOCH_MS_THRESHOLD,
  EVENT_TYPES,
  type EventType,
  ID_FIELDS,
  ID_MAX_LENGTH,
  KNOWN_FIELDS,
  MONEY_FIELDS,
  MONEY_MAX,
  MONEY_SCALE,
  NAME_MAX_LENGTH,
  TEXT_FIELDS,
  TEXT_MAX_LENGTH,
} from './contract.js';
import { type RejectCode, type Rejection, rejection } from './reasons.js';

export type Validation = { ok: true; event: AdEvent } | { ok: false; rejection: Rejection };

// The text formats of the contract, written once and read alike by JS RegExp and DuckDB's RE2, so
// the SQL validator (validate-sql.ts) uses these very patterns.

/** ISO-8601 with a zone: `Z`/`z`, `±hh:mm`, `±hhmm` or `±hh`; seconds and a fraction are optional. */
export const ISO_TIME_PATTERN = String.raw`^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$`;
/** The same without a zone (or a bare date): ambiguous, rejected as ts.no_offset. */
export const LOCAL_TIME_PATTERN = String.raw`^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$`;
/** A Unix epoch written as a string. */
export const EPOCH_TEXT_PATTERN = String.raw`^\d+(?:\.\d+)?$`;
/** A decimal with an optional sign, fraction and exponent: groups sign, integer digits, fraction digits, exponent. */
export const DECIMAL_PATTERN = String.raw`^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$`;
/** Event times must lie in [1970-01-01T00:00:00.000Z, 9999-12-31T23:59:59.999Z]. */
export const TS_MAX_MS = 253402300799999;
/** Integers beyond this lose digits in a JS number, so neither validator accepts them as ids. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Integer digits a money value may have (MONEY_MAX is 12 nines, a point and 6 nines). */
export const MONEY_INT_DIGITS = MONEY_MAX.indexOf('.');

const ISO_TIME = new RegExp(ISO_TIME_PATTERN);
const LOCAL_TIME = new RegExp(LOCAL_TIME_PATTERN);
const EPOCH_TEXT = new RegExp(EPOCH_TEXT_PATTERN);
const DECIMAL = new RegExp(DECIMAL_PATTERN);
const TYPE_SET = new Set<string>(EVENT_TYPES);
const KNOWN_SET = new Set(KNOWN_FIELDS);
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

class Reject extends Error {
  constructor(readonly rejection: Rejection) {
    super(rejection.message);
  }
}

function fail(code: RejectCode, field: string): never {
  throw new Reject(rejection(code, field));
}

function pick(rec: Record<string, unknown>, field: string): unknown {
  const v = rec[field];
  if (v !== undefined && v !== null) return v;
  for (const [alias, canonical] of Object.entries(ALIASES)) {
    if (canonical === field && rec[alias] !== undefined && rec[alias] !== null) return rec[alias];
  }
  return undefined;
}

/** True when `s` has more than `max` characters, counted as Unicode code points (as DuckDB does). */
function tooLong(s: string, max: number): boolean {
  if (s.length <= max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return true;
  return false;
}

/** An integer value as text, or null when `v` is not an integer a JS number holds exactly. */
function integerText(v: unknown): string | null {
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= MAX_SAFE) return String(v);
  if (typeof v === 'bigint' && v <= BigInt(MAX_SAFE) && v >= -BigInt(MAX_SAFE)) return v.toString();
  return null;
}

function idValue(v: unknown, field: string, code: RejectCode): string | null {
  if (v === undefined || v === null) return null;
  const s = typeof v === 'string' ? v : integerText(v);
  if (s === null) fail(code, field);
  if (s.length < 1 || tooLong(s, ID_MAX_LENGTH))
    fail(code === 'event_id.type' ? 'event_id.length' : code, field);
  return s;
}

/** Milliseconds since the epoch, or a rejection. Exported for the pixel endpoints. */
export function parseEventTime(v: unknown): number {
  let ms: number;
  if (typeof v === 'number') ms = epochToMs(v);
  else if (typeof v !== 'string') fail('ts.invalid', 'ts');
  else {
    const s = v.trim();
    if (EPOCH_TEXT.test(s)) ms = epochToMs(Number(s));
    else {
      const m = ISO_TIME.exec(s);
      if (!m) fail(LOCAL_TIME.test(s) ? 'ts.no_offset' : 'ts.invalid', 'ts');
      ms = isoToMs(m);
    }
  }
  if (!(ms >= 0 && ms <= TS_MAX_MS)) fail('ts.invalid', 'ts');
  return ms;
}

/** Seconds below EPOCH_MS_THRESHOLD, milliseconds otherwise; rounded to the millisecond. NaN when negative. */
function epochToMs(n: number): number {
  if (!(n >= 0)) return Number.NaN;
  return Math.round(n < EPOCH_MS_THRESHOLD ? n * 1000 : n);
}

/** Days from 1970-01-01 to a proleptic Gregorian date (exact integer arithmetic, any year). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** The instant of an ISO_TIME match; NaN when a field is out of range (Feb 30, 24:00, +25:00). */
function isoToMs(m: RegExpExecArray): number {
  const [y, mo, d, h, mi] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const sec = Number(m[6] ?? 0);
  // Digits beyond the millisecond are dropped.
  const milli = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const oh = Number(m[10] ?? 0);
  const om = Number(m[11] ?? 0);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return Number.NaN;
  if (h > 23 || mi > 59 || sec > 59 || oh > 23 || om > 59) return Number.NaN;
  const offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60000;
  return daysFromCivil(y, mo, d) * 86400000 + h * 3600000 + mi * 60000 + sec * 1000 + milli - offset;
}

/**
 * Normalises a money value to a plain decimal string with exactly 6 fractional digits. Works on the
 * decimal digits (never through a float), so any exponent is exact and cheap: `1e-6` is 0.000001,
 * `1e-7` breaks the scale, `1e-19` too (it is not 0).
 */
export function parseMoney(v: unknown, field: string): string {
  if (v === undefined || v === null || v === '') return '0.000000';
  let text: string;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) fail('money.invalid', field);
    // JSON.parse turns a literal beyond the double range (1e400) into Infinity.
    if (!Number.isFinite(v)) fail(v < 0 ? 'money.negative' : 'money.range', field);
    text = String(v);
  } else if (typeof v === 'string') text = v.trim();
  else fail('money.invalid', field);
  const m = DECIMAL.exec(text);
  const digits = (m?.[2] ?? '') + (m?.[3] ?? '');
  if (!m || digits === '') fail('money.invalid', field);
  // The decimal point sits before digits[point]; the exponent moves it.
  const point = (m[2] ?? '').length + Number(m[4] ?? 0);
  const first = digits.search(/[1-9]/);
  if (first < 0) return '0.000000';
  const end = digits.replace(/0+$/, '').length;
  if (m[1] === '-') fail('money.negative', field);
  if (end - point > MONEY_SCALE) fail('money.scale', field);
  if (point - first > MONEY_INT_DIGITS) fail('money.range', field);
  // Now the significant digits lie within 12 places before and 6 after the point.
  const width = MONEY_INT_DIGITS + MONEY_SCALE;
  const pad = '0'.repeat(width);
  const from = pad.length + point - MONEY_INT_DIGITS;
  const window = (pad + digits + pad).slice(from, from + width);
  const int = window.slice(0, MONEY_INT_DIGITS).replace(/^0+(?=\d)/, '');
  return `${int}.${window.slice(MONEY_INT_DIGITS)}`;
}

/** A free-text field: a string of at most TEXT_MAX_LENGTH characters, or an integer (kept as its text). */
function textValue(v: unknown, field: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  const s = typeof v === 'string' ? v : integerText(v);
  if (s === null || tooLong(s, TEXT_MAX_LENGTH)) fail('text.invalid', field);
  return s;
}

/** Closed vocabularies are matched ignoring ASCII case only (`ſ` is not `s`, the Kelvin sign is not `k`). */
const ASCII_WORD = /^[A-Za-z]+$/;

function enumValue<T extends string>(
  v: unknown,
  field: string,
  allowed: readonly T[],
  code: RejectCode,
): T | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || !ASCII_WORD.test(v)) fail(code, field);
  const up = v.toUpperCase() as T;
  if (!allowed.includes(up)) fail(code, field);
  return up;
}

function unknownFields(rec: Record<string, unknown>): string | null {
  // fromEntries defines own properties, so a key like `__proto__` is kept as data.
  const entries = Object.keys(rec)
    .filter((k) => !KNOWN_SET.has(k))
    .map((k) => [k, rec[k]] as const);
  return entries.length > 0 ? JSON.stringify(Object.fromEntries(entries)) : null;
}

function rejectLoneSurrogates(key: string, value: unknown): unknown {
  if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value)))
    throw new SyntaxError('lone surrogate');
  return value;
}

/**
 * Parses one line of JSON and validates it: what the bulk path (validatedEventsSql) does per line.
 * A lone UTF-16 surrogate escape (`"\\ud800"`) is not valid Unicode text and is rejected as invalid JSON,
 * as DuckDB does.
 */
export function validateEventText(text: string): Validation {
  let input: unknown;
  try {
    input = JSON.parse(text, SURROGATE_ESCAPE.test(text) ? rejectLoneSurrogates : undefined);
  } catch {
    return { ok: false, rejection: rejection('record.invalid_json', 'record') };
  }
  return validateEvent(input);
}

/** Checks one parsed record against the contract and returns the normalised event or the first rule it breaks. */
export function validateEvent(input: unknown): Validation {
  try {
    return { ok: true, event: normalise(input) };
  } catch (err) {
    if (err instanceof Reject) return { ok: false, rejection: err.rejection };
    throw err;
  }
}

function normalise(input: unknown): AdEvent {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    fail('record.not_object', 'record');
  const rec = input as Record<string, unknown>;

  const rawId = pick(rec, 'event_id');
  if (rawId === undefined || rawId === '')
    fail(rawId === '' ? 'event_id.length' : 'event_id.missing', 'event_id');
  const event_id = idValue(rawId, 'event_id', 'event_id.type')!;

  const rawType = pick(rec, 'type');
  if (rawType === undefined || rawType === '') fail('type.missing', 'type');
  if (typeof rawType !== 'string' || !ASCII_WORD.test(rawType) || !TYPE_SET.has(rawType.toLowerCase()))
    fail('type.invalid', 'type');
  const type = rawType.toLowerCase() as EventType;

  let name: string | null = null;
  const rawName = rec.name;
  if (type === 'custom' && (rawName === undefined || rawName === null || rawName === ''))
    fail('name.missing', 'name');
  if (rawName !== undefined && rawName !== null && rawName !== '') {
    if (typeof rawName !== 'string' || tooLong(rawName, NAME_MAX_LENGTH)) fail('name.invalid', 'name');
    name = rawName;
  }

  const rawTs = pick(rec, 'ts');
  if (rawTs === undefined || rawTs === '') fail('ts.missing', 'ts');
  const ts = new Date(parseEventTime(rawTs)).toISOString();

  const ev: Record<string, unknown> = { event_id, type, name, ts };
  for (const f of ID_FIELDS) ev[f] = rec[f] === '' ? null : idValue(rec[f], f, 'id.invalid');
  ev.device = enumValue(rec.device, 'device', DEVICES, 'device.invalid');
  ev.app_type = enumValue(rec.app_type, 'app_type', APP_TYPES, 'app_type.invalid');
  for (const f of TEXT_FIELDS) ev[f] = textValue(rec[f], f);
  for (const f of MONEY_FIELDS) ev[f] = parseMoney(rec[f], f);
  ev.props = unknownFields(rec);
  return ev as unknown as AdEvent;
}
