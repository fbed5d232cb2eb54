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
  NAME_MAX_LENGTH,
  TEXT_FIELDS,
  TEXT_MAX_LENGTH,
} from './contract.js';
import { type RejectCode, type Rejection, rejection } from './reasons.js';

export type Validation = { ok: true; event: AdEvent } | { ok: false; rejection: Rejection };

const ISO_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|z|[+-]\d{2}(?::?\d{2})?)$/;
const ISO_LOCAL = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$/;
const NUMERIC = /^\d+(?:\.\d+)?$/;
const DECIMAL = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const TYPE_SET = new Set<string>(EVENT_TYPES);
const KNOWN_SET = new Set(KNOWN_FIELDS);

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

function idValue(v: unknown, field: string, code: RejectCode): string | null {
  if (v === undefined || v === null) return null;
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) s = String(v);
  else if (typeof v === 'bigint') s = v.toString();
  else fail(code, field);
  if (s.length < 1 || s.length > ID_MAX_LENGTH)
    fail(code === 'event_id.type' ? 'event_id.length' : code, field);
  return s;
}

/** Milliseconds since the epoch, or a rejection. Exported for the pixel endpoints. */
export function parseEventTime(v: unknown): number {
  if (typeof v === 'number') return epochToMs(v);
  if (typeof v !== 'string') fail('ts.invalid', 'ts');
  const s = v.trim();
  if (NUMERIC.test(s)) return epochToMs(Number(s));
  const m = ISO_WITH_ZONE.exec(s);
  if (!m) fail(ISO_LOCAL.test(s) ? 'ts.no_offset' : 'ts.invalid', 'ts');
  const [, y, mo, d, h, mi, sec] = m;
  // Date.parse accepts impossible dates (Feb 30 rolls over); check the calendar fields ourselves.
  const probe = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, sec ? +sec : 0));
  if (
    probe.getUTCMonth() !== +mo! - 1 ||
    probe.getUTCDate() !== +d! ||
    +h! > 23 ||
    +mi! > 59 ||
    +(sec ?? 0) > 59
  ) {
    fail('ts.invalid', 'ts');
  }
  const ms = Date.parse(s.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(ms)) fail('ts.invalid', 'ts');
  return ms;
}

function epochToMs(n: number): number {
  if (!Number.isFinite(n) || n < 0) fail('ts.invalid', 'ts');
  const ms = n < EPOCH_MS_THRESHOLD ? n * 1000 : n;
  if (ms > 253402300799999) fail('ts.invalid', 'ts');
  return Math.round(ms);
}

/** Normalises a money value to a plain decimal string with exactly 6 fractional digits. */
export function parseMoney(v: unknown, field: string): string {
  if (v === undefined || v === null || v === '') return '0.000000';
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail('money.invalid', field);
    text = String(v);
  } else if (typeof v === 'string') text = v.trim();
  else fail('money.invalid', field);
  const m = DECIMAL.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) fail('money.invalid', field);
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let point = (m[2] ?? '').length + Number(m[4] ?? 0);
  // Move the decimal point by the exponent on the digit string: exact, no float.
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  let int = digits.slice(0, point).replace(/^0+(?=\d)/, '') || '0';
  let frac = digits.slice(point).replace(/0+$/, '');
  const isZero = /^0*$/.test(int + frac);
  if (m[1] === '-' && !isZero) fail('money.negative', field);
  if (frac.length > 6) fail('money.scale', field);
  if (int.length > 12) fail('money.range', field);
  frac = frac.padEnd(6, '0');
  int = int === '' ? '0' : int;
  return `${int}.${frac}`;
}

function textValue(
  v: unknown,
  field: string,
  max = TEXT_MAX_LENGTH,
  code: RejectCode = 'text.invalid',
): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v.length > max) fail(code, field);
  return v;
}

function enumValue<T extends string>(
  v: unknown,
  field: string,
  allowed: readonly T[],
  code: RejectCode,
): T | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') fail(code, field);
  const up = v.toUpperCase() as T;
  if (!allowed.includes(up)) fail(code, field);
  return up;
}

function unknownFields(rec: Record<string, unknown>): string | null {
  let props: Record<string, unknown> | null = null;
  for (const k of Object.keys(rec)) {
    if (KNOWN_SET.has(k)) continue;
    props ??= {};
    props[k] = rec[k];
  }
  return props ? JSON.stringify(props) : null;
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
  if (typeof rawType !== 'string' || !TYPE_SET.has(rawType.toLowerCase())) fail('type.invalid', 'type');
  const type = rawType.toLowerCase() as EventType;

  let name: string | null = null;
  const rawName = rec.name;
  if (type === 'custom' && (rawName === undefined || rawName === null || rawName === ''))
    fail('name.missing', 'name');
  if (rawName !== undefined && rawName !== null && rawName !== '') {
    if (typeof rawName !== 'string' || rawName.length > NAME_MAX_LENGTH) fail('name.invalid', 'name');
    name = rawName;
  }

  const rawTs = pick(rec, 'ts');
  if (rawTs === undefined || rawTs === '') fail('ts.missing', 'ts');
  const ts = new Date(parseEventTime(rawTs)).toISOString();

  const ev: Record<string, unknown> = { event_id, type, name, ts };
  for (const f of ID_FIELDS) ev[f] = rec[f] === '' ? null : idValue(rec[f], f, 'id.invalid');
  ev.device = enumValue(rec.device, 'device', DEVICES, 'device.invalid');
  ev.app_type = enumValue(rec.app_type, 'app_type', APP_TYPES, 'app_type.invalid');
  for (const f of TEXT_FIELDS) ev[f] = rec[f] === '' ? null : textValue(rec[f], f);
  for (const f of MONEY_FIELDS) ev[f] = parseMoney(rec[f], f);
  ev.props = unknownFields(rec);
  return ev as unknown as AdEvent;
}
