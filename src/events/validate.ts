// The contract checked in JS, one record at a time, for paths that must answer per record before
// anything reaches the engine (the HTTP collector, the simulator's self-check). Bulk file ingest
// uses the equivalent SQL in validate-sql.ts; test/events/contract-cases.ts runs both on one table.

import {
  type AdEvent,
  ALIASES,
  APP_TYPES,
  CANONICAL_FIELDS,
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
  RECORD_MAX_DEPTH,
  TEXT_FIELDS,
  TEXT_MAX_LENGTH,
} from './contract.js';
import { deeperThan } from './json-depth.js';
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
/**
 * Event times must lie in [1970-01-01T00:00:00.000Z, 9999-12-31T09:59:59.999Z]: the last instant whose
 * local date is still in 9999 in every zone (UTC+14 at most), so report periods never need a
 * five-digit year (which would sort before 1970 as text).
 */
export const TS_MAX_MS = 253402250399999;
/** Integers beyond this lose digits in a JS number, so neither validator accepts them as ids. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Integer digits a money value may have (MONEY_MAX is 9 nines, a point and 6 nines). */
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
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function daysInMonth(y: number, m: number): number {
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
  // Now the significant digits lie within MONEY_INT_DIGITS places before and 6 after the point.
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
  const plain = plainLineEvent(text);
  return plain ? { ok: true, event: plain } : validateParsedText(text);
}

/** validateEventText for a line plainLineEvent has already turned down: JSON.parse, then the rules. */
export function validateParsedText(text: string): Validation {
  const parsed = parseJsonText(text);
  return parsed.ok ? validateEvent(parsed.value) : parsed;
}

/** JSON.parse as the contract reads a line: a lone surrogate escape is invalid JSON, as in DuckDB. */
export function parseJsonText(
  text: string,
): { ok: true; value: unknown } | { ok: false; rejection: Rejection } {
  try {
    return {
      ok: true,
      value: JSON.parse(text, SURROGATE_ESCAPE.test(text) ? rejectLoneSurrogates : undefined),
    };
  } catch {
    return { ok: false, rejection: rejection('record.invalid_json', 'record') };
  }
}

/** Checks one parsed record against the contract and returns the normalised event or the first rule it breaks. */
export function validateEvent(input: unknown): Validation {
  const fast = fastNormalise(input);
  if (fast !== undefined) return { ok: true, event: fast };
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
  if (deeperThan(rec, RECORD_MAX_DEPTH)) fail('record.too_deep', 'record');

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

// The fast path: the shape nearly every record has (string ids and text, an exact-case enum, a
// `YYYY-MM-DDTHH:MM:SS.sssZ` time, plain decimal money, no aliases) is checked with no regex, no
// exception and no intermediate arrays. It only ever answers "valid, and this is the event"; on
// anything else it answers undefined and `normalise` above decides, so both give the same results
// by construction (test/events runs the contract cases through validateEvent).

const ALIAS_SET = new Set(Object.keys(ALIASES));
const TYPE_EXACT = new Set<string>(EVENT_TYPES);
/** Exact spellings taken without the case-folding path: the canonical upper case and the lower case. */
const exactEnum = (values: readonly string[]) =>
  new Map<string, string>(values.flatMap((v) => [[v, v] as const, [v.toLowerCase(), v] as const]));
const DEVICE_EXACT = exactEnum(DEVICES);
const APP_TYPE_EXACT = exactEnum(APP_TYPES);
const ZERO_MONEY = '0.000000';
const MONEY_FRACTION_PAD = ['000000', '00000', '0000', '000', '00', '0', ''];
/** Sentinel for "not on the fast path". */
const SLOW = Symbol('slow');

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

/**
 * `YYYY-MM-DDTHH:MM:SS.sssZ` exactly, in range: that is already what toISOString gives for it, so
 * the text is kept. Anything else is left to parseEventTime.
 */
function fastTs(s: string): boolean {
  if (s.length !== 24) return false;
  if (
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    s.charCodeAt(10) !== 84 ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58 ||
    s.charCodeAt(19) !== 46 ||
    s.charCodeAt(23) !== 90
  )
    return false;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  const ms = digits(s, 20, 3);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59) return false;
  if (sec < 0 || sec > 59 || ms < 0 || d > daysInMonth(y, mo)) return false;
  // Past TS_MAX_MS: the last hours of 9999-12-31.
  return !(y === 9999 && mo === 12 && d === 31 && h >= 10);
}

/** Plain `d{1,9}` or `d{1,9}.d{1,6}` money text, normalised; SLOW otherwise. */
function fastMoney(v: unknown): string | typeof SLOW {
  if (v === undefined || v === null || v === '') return ZERO_MONEY;
  if (typeof v !== 'string') return SLOW;
  const n = v.length;
  let i = 0;
  while (i < n && isDigit(v.charCodeAt(i))) i++;
  let intEnd = i;
  let fracLen = 0;
  if (i < n) {
    if (v.charCodeAt(i) !== 46) return SLOW;
    let j = i + 1;
    while (j < n && isDigit(v.charCodeAt(j))) j++;
    fracLen = j - i - 1;
    if (j !== n || fracLen === 0 || fracLen > MONEY_SCALE) return SLOW;
  }
  if (intEnd === 0) return SLOW;
  let start = 0;
  while (start < intEnd - 1 && v.charCodeAt(start) === 48) start++;
  if (intEnd - start > MONEY_INT_DIGITS) return SLOW;
  const int = start === 0 && intEnd === n ? v : v.slice(start, intEnd);
  if (fracLen === 0) return `${int}.000000`;
  intEnd++;
  return `${int}.${v.slice(intEnd)}${MONEY_FRACTION_PAD[fracLen]}`;
}

/** A string id or text up to `max` UTF-16 units (so surely up to `max` code points); null when absent; SLOW otherwise. */
function fastText(v: unknown, max: number): string | null | typeof SLOW {
  if (v === undefined || v === null || v === '') return null;
  return typeof v === 'string' && v.length <= max ? v : SLOW;
}

function fastEnum(v: unknown, exact: ReadonlyMap<string, string>): string | null | typeof SLOW {
  if (v === undefined || v === null || v === '') return null;
  return (typeof v === 'string' && exact.get(v)) || SLOW;
}

/** Each canonical field's position in CANONICAL_FIELDS (AdEvent's order): the fast path's value slots. */
const SLOT = new Map(CANONICAL_FIELDS.map((f, i) => [f, i]));
const slotsOf = <T extends readonly string[]>(fields: T) =>
  fields.map((f) => SLOT.get(f)!) as unknown as { [K in keyof T]: number };
const [EVENT_ID, TYPE, NAME, TS] = slotsOf(['event_id', 'type', 'name', 'ts'] as const);
const ID_SLOTS = slotsOf(ID_FIELDS);
const [ORG, MEDIA, INVENTORY, AD, CAMPAIGN, DEMAND, ADVERTISER] = ID_SLOTS;
const [DEVICE, APP_TYPE] = slotsOf(['device', 'app_type'] as const);
const TEXT_SLOTS = slotsOf(TEXT_FIELDS);
const [AD_FORMAT, COUNTRY, OS, BROWSER, CITY, USER, SESSION, EXPERIMENT, VARIANT, IP, USER_AGENT] =
  TEXT_SLOTS;
const [REVENUE, COST, BID_PRICE] = slotsOf(MONEY_FIELDS);

/** The fast path's values by slot, reused call after call: `filled` has a bit set per slot in use. */
const slots: unknown[] = new Array(CANONICAL_FIELDS.length).fill(undefined);
let filled = 0;

function fill(slot: number, value: unknown): void {
  slots[slot] = value;
  filled |= 1 << slot;
}

function clearSlots(): undefined {
  for (let m = filled; m !== 0; m &= m - 1) slots[31 - Math.clz32(m & -m)] = undefined;
  filled = 0;
  return undefined;
}

function fastNormalise(input: unknown): AdEvent | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const rec = input as Record<string, unknown>;
  let unknown = false;
  for (const k in rec) {
    if (!Object.hasOwn(rec, k)) return clearSlots();
    const slot = SLOT.get(k);
    if (slot !== undefined) fill(slot, rec[k]);
    else if (ALIAS_SET.has(k)) return clearSlots();
    else unknown = true;
  }
  // Only unknown fields can nest (known ones must be strings here); normalise rejects a deep record.
  if (unknown && deeperThan(rec, RECORD_MAX_DEPTH)) return clearSlots();
  const ev = fastEvent();
  if (ev && unknown) ev.props = unknownFields(rec);
  return ev;
}

/** No escape and no control character anywhere: a plain line's strings are its text as it stands. */
const NOT_PLAIN = /[\\\u0000-\u001f]/;

/**
 * Slots by key length, first and last character: distinct for every canonical field (checked
 * here), so a key is found by three numbers and one comparison, without hashing a new string.
 */
const keyCode = (length: number, first: number, last: number) => (length << 16) | (first << 8) | last;
const SLOT_BY_CODE = new Map(
  CANONICAL_FIELDS.map((f, i) => [keyCode(f.length, f.charCodeAt(0), f.charCodeAt(f.length - 1)), i]),
);
if (SLOT_BY_CODE.size !== CANONICAL_FIELDS.length) throw new Error('canonical fields share a key code');

/**
 * JSON.parse and fastNormalise in one pass, for a plain line: a compact object of canonical fields,
 * each once, every value a string without escapes or control characters. Such a line parses to an
 * object of those very strings, so reading them straight into the slots gives fastNormalise's
 * answer without building that object (and without JSON.parse interning every key and short
 * value). Anything else is undefined, and validateEventText decides as before.
 */
export function plainLineEvent(text: string): AdEvent | undefined {
  const n = text.length;
  if (n < 2 || text.charCodeAt(0) !== 123 || text.charCodeAt(n - 1) !== 125 || NOT_PLAIN.test(text))
    return undefined;
  for (let i = 1; ; ) {
    // At `"key":"value"` followed by `,` or the closing `}`.
    if (text.charCodeAt(i) !== 34) return clearSlots();
    const keyEnd = text.indexOf('"', i + 1);
    if (keyEnd < 0 || text.charCodeAt(keyEnd + 1) !== 58 || text.charCodeAt(keyEnd + 2) !== 34)
      return clearSlots();
    const slot = SLOT_BY_CODE.get(
      keyCode(keyEnd - i - 1, text.charCodeAt(i + 1), text.charCodeAt(keyEnd - 1)),
    );
    if (slot === undefined || filled & (1 << slot) || !text.startsWith(CANONICAL_FIELDS[slot]!, i + 1))
      return clearSlots();
    const valueEnd = text.indexOf('"', keyEnd + 3);
    if (valueEnd < 0) return clearSlots();
    fill(slot, text.slice(keyEnd + 3, valueEnd));
    const next = text.charCodeAt(valueEnd + 1);
    if (next === 125 && valueEnd + 2 === n) return fastEvent();
    if (next !== 44) return clearSlots();
    i = valueEnd + 2;
  }
}

/** The event in the slots when it is on the fast path, else undefined; the slots are cleared either way. */
function fastEvent(): AdEvent | undefined {
  const v = slots;
  const event_id = v[EVENT_ID];
  const type = v[TYPE];
  const rawName = v[NAME];
  const ts = v[TS];
  if (typeof event_id !== 'string' || event_id === '' || event_id.length > ID_MAX_LENGTH) return clearSlots();
  if (typeof type !== 'string' || !TYPE_EXACT.has(type)) return clearSlots();
  let name: string | null = null;
  if (rawName !== undefined && rawName !== null && rawName !== '') {
    if (typeof rawName !== 'string' || rawName.length > NAME_MAX_LENGTH) return clearSlots();
    name = rawName;
  } else if (type === 'custom') return clearSlots();
  if (typeof ts !== 'string' || !fastTs(ts)) return clearSlots();

  for (const slot of ID_SLOTS) if (fastText(v[slot], ID_MAX_LENGTH) === SLOW) return clearSlots();
  const device = fastEnum(v[DEVICE], DEVICE_EXACT);
  const app_type = fastEnum(v[APP_TYPE], APP_TYPE_EXACT);
  if (device === SLOW || app_type === SLOW) return clearSlots();
  for (const slot of TEXT_SLOTS) if (fastText(v[slot], TEXT_MAX_LENGTH) === SLOW) return clearSlots();
  const revenue = fastMoney(v[REVENUE]);
  const cost = fastMoney(v[COST]);
  const bid_price = fastMoney(v[BID_PRICE]);
  if (revenue === SLOW || cost === SLOW || bid_price === SLOW) return clearSlots();
  // The field order is normalise's, so both paths build the same object. Ids and text passed
  // fastText above: each is a string, or absent (null).
  const t = (slot: number) =>
    v[slot] === undefined || v[slot] === null || v[slot] === '' ? null : (v[slot] as string);
  const ev: AdEvent = {
    event_id,
    type: type as EventType,
    name,
    ts,
    org_id: t(ORG),
    media_id: t(MEDIA),
    inventory_id: t(INVENTORY),
    ad_id: t(AD),
    campaign_id: t(CAMPAIGN),
    demand_id: t(DEMAND),
    advertiser_id: t(ADVERTISER),
    device: device as AdEvent['device'],
    app_type: app_type as AdEvent['app_type'],
    ad_format: t(AD_FORMAT),
    country: t(COUNTRY),
    os: t(OS),
    browser: t(BROWSER),
    city: t(CITY),
    user_id: t(USER),
    session_id: t(SESSION),
    experiment: t(EXPERIMENT),
    variant: t(VARIANT),
    ip: t(IP),
    user_agent: t(USER_AGENT),
    revenue,
    cost,
    bid_price,
    props: null,
  };
  clearSlots();
  return ev;
}
