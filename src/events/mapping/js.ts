// A mapping compiled for records one at a time (the HTTP collector): one closure built once from
// the mapping, giving the record the contract validator then reads, or the mapping rule a value
// broke. test/events/mapping.test.ts runs it and the SQL version (sql.ts) on one table of cases.

import { createHash } from 'node:crypto';
import { stringifyDeep } from '../json-depth.js';
import { type RejectCode, type Rejection, rejection } from '../reasons.js';
import {
  EPOCH_TEXT_PATTERN,
  ISO_TIME_PATTERN,
  parseJsonText,
  type Validation,
  validateEvent,
} from '../validate.js';
import { valueAt } from './paths.js';
import { KNOWN_SET, mappingPlan } from './plan.js';
import { foldAscii, type Mapping } from './schema.js';
import { LOCAL_TIME_FORMAT, localToInstant, partsMs, type TimeFormat, timeParts } from './time.js';

export type MappingResult = { ok: true; record: unknown } | { ok: false; rejection: Rejection };

/** A record (parsed JSON) and, when known, its text as received (what id_from_content hashes). */
export type MapRecord = (record: unknown, text?: string) => MappingResult;

class MappingReject extends Error {
  constructor(readonly code: RejectCode) {
    super(code);
  }
}

/** sha256 of the record's text as received, hex: the same as DuckDB's sha256(). */
export function contentId(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const ISO_TIME = new RegExp(ISO_TIME_PATTERN);
const EPOCH_TEXT = new RegExp(EPOCH_TEXT_PATTERN);

/** The ts conversion of a mapping, or undefined when it has none. */
function timeOf(m: Mapping): ((v: unknown) => unknown) | undefined {
  const { timeZone, timeFormat } = m;
  if (!timeZone && !timeFormat) return undefined;
  const formatRe = timeFormat && new RegExp(timeFormat.pattern);
  const localRe = new RegExp(LOCAL_TIME_FORMAT.pattern);
  const instant = (format: TimeFormat, ms: number, bad: RejectCode): string => {
    if (Number.isNaN(ms)) throw new MappingReject(bad);
    const at = format.zoned ? ms : localToInstant(timeZone!, ms);
    if (at === undefined) throw new MappingReject('mapping.dst_gap');
    return new Date(at).toISOString();
  };
  return (v) => {
    if (typeof v !== 'string' || v === '') return v;
    const s = v.trim();
    if (timeFormat) {
      const p = timeParts(timeFormat, formatRe!, s);
      if (p) return instant(timeFormat, partsMs(p), 'mapping.time_format');
      if (!ISO_TIME.test(s) && !EPOCH_TEXT.test(s) && !(timeZone && localRe.test(s)))
        throw new MappingReject('mapping.time_format');
    }
    const local = timeZone && timeParts(LOCAL_TIME_FORMAT, localRe, s);
    return local ? instant(LOCAL_TIME_FORMAT, partsMs(local), 'ts.invalid') : v;
  };
}

export function compileMappingJs(m: Mapping): MapRecord {
  const plan = mappingPlan(m);
  const time = timeOf(m);
  const fields = plan.mapped.map(({ field, paths, table }) => {
    const read = (rec: unknown) => {
      for (const p of paths) {
        const v = valueAt(rec, p);
        if (v !== undefined && v !== null) return v;
      }
      return undefined;
    };
    const lookup = table && ((v: unknown) => (typeof v === 'string' ? (table.get(foldAscii(v)) ?? v) : v));
    const convert = field === 'ts' ? time : undefined;
    return { field, read, lookup, convert };
  });
  const kept = (k: string) => !plan.dropped.has(k) && (!plan.keepOnlyKnown || KNOWN_SET.has(k));
  return (record, text) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) return { ok: true, record };
    const src = record as Record<string, unknown>;
    // fromEntries defines own properties, so a key like `__proto__` stays data.
    const entries: Array<[string, unknown]> = Object.keys(src)
      .filter(kept)
      .map((k) => [k, src[k]]);
    try {
      for (const { field, read, lookup, convert } of fields) {
        let v: unknown = read(src);
        if (lookup) v = lookup(v);
        if (convert) v = convert(v);
        if (field === 'event_id' && m.idFromContent && v === undefined)
          v = contentId(text ?? stringifyDeep(record));
        if (v !== undefined && v !== null) entries.push([field, v]);
      }
    } catch (err) {
      if (err instanceof MappingReject) return { ok: false, rejection: rejection(err.code, 'ts') };
      throw err;
    }
    return { ok: true, record: Object.fromEntries(entries) };
  };
}

/** A line of text mapped and validated: validateParsedText's answer for the record the mapping makes. */
export function validateMappedText(map: MapRecord, text: string): Validation {
  const parsed = parseJsonText(text);
  if (!parsed.ok) return parsed;
  const mapped = map(parsed.value, text);
  return mapped.ok ? validateEvent(mapped.record) : mapped;
}
