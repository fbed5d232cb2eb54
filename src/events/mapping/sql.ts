// A mapping compiled to DuckDB SQL, for files and streams: one set-based query over the raw
// records, the same rules as js.ts (test/events/mapping.test.ts runs both on one table of cases).
// Values are moved as JSON (json_extract keeps their types), `values` become CASE tables, a local
// time is read in the zone with ICU's timezone(), and the record is rebuilt with one
// json_merge_patch: null for each key dropped, the mapped value (null when absent) for each field.

import { sqlString } from '../../warehouse/quote.js';
import { KNOWN_FIELDS } from '../contract.js';
import { EPOCH_TEXT_PATTERN, ISO_TIME_PATTERN } from '../validate.js';
import { validatedEventsSql, validatedLinesSql } from '../validate-sql.js';
import { jsonPathOf } from './paths.js';
import { type MappedField, mappingPlan } from './plan.js';
import type { Mapping } from './schema.js';
import { LOCAL_TIME_FORMAT, type TimeFormat } from './time.js';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** foldAscii in SQL. */
const foldAscii = (e: string) => `translate(${e}, '${UPPER}', '${UPPER.toLowerCase()}')`;
const jsonText = (v: string) => `${sqlString(JSON.stringify(v))}::JSON`;
const col = (f: string) => `"v_${f}"`;

/**
 * Every path the mapping reads, in one json_extract (one parse of the record, a list of values),
 * and each mapped field's source value (column r_<field>) from that list: the first of its paths
 * present and not JSON null, else SQL NULL.
 */
function readsSql(mapped: readonly MappedField[]): { paths: string; reads: string[] } {
  const all: string[] = [];
  const at = (p: string) => {
    if (!all.includes(p)) all.push(p);
    return all.indexOf(p) + 1;
  };
  const reads = mapped.map(({ field, paths }) => {
    const values = paths.map((p) => `nullif(jr[${at(jsonPathOf(p))}], 'null'::JSON)`);
    return `${values.length === 1 ? values[0] : `coalesce(${values.join(', ')})`} AS "r_${field}"`;
  });
  return { paths: `json_extract(j, [${all.map(sqlString).join(', ')}]) AS jr`, reads };
}

/**
 * Its value after `values`: the CASE table over a string's folded text, else as read. A string of
 * ASCII without escapes (nearly all) is looked up by its JSON text, where lower() is ASCII
 * folding; others are unquoted and folded first.
 */
function valueSql({ field, table }: MappedField): string {
  const r = `"r_${field}"`;
  if (!table || table.size === 0) return r;
  const when = (key: (from: string) => string) =>
    [...table].map(([from, to]) => `WHEN ${sqlString(key(from))} THEN ${jsonText(to)}`).join(' ');
  return `CASE WHEN NOT starts_with(${r}, '"') THEN ${r}
      WHEN strlen(${r}) = length(${r}) AND NOT contains(${r}, '\\') THEN CASE lower(${r}) ${when(JSON.stringify)} ELSE ${r} END
      ELSE CASE ${foldAscii(`${r} ->> '$'`)} ${when((f) => f)} ELSE ${r} END END`;
}

const int = (e: string) => `coalesce(try_cast(nullif(${e}, '') AS BIGINT), 0)`;

/** partsMs in SQL over the struct column `tp` of a format's parts (NULL when a part is out of range). */
function partsMsSql(format: TimeFormat, tp: string): string {
  const p = (k: string) => (format.parts.includes(k as never) ? `${tp}.${k}` : `''`);
  const n = (k: string) => int(p(k));
  const year = format.parts.includes('y') ? n('y') : `2000 + ${n('yy')}`;
  return `CASE WHEN ${n('h')} <= 23 AND ${n('mi')} <= 59 AND ${n('s')} <= 59 AND ${n('oh')} <= 23 AND ${n('om')} <= 59
      THEN (try(make_date(${year}, ${n('mo')}, ${n('d')})) - DATE '1970-01-01') * 86400000
        + ${n('h')} * 3600000 + ${n('mi')} * 60000 + ${n('s')} * 1000 + ${int(`left(rpad(${p('f')}, 3, '0'), 3)`)}
        - (CASE WHEN ${p('sg')} = '-' THEN -1 ELSE 1 END) * (${n('oh')} * 60 + ${n('om')}) * 60000
    END`;
}

/**
 * The ts columns over `ts_s` (the trimmed string, NULL for other types) and `ts_blank`: `ts_kind`
 * (fmt, local, bad or NULL to pass through), `ts_local` (wall-clock ms) and `ts_at` (the instant's
 * ms, NULL in a DST gap). One query level per step, each over the one before.
 */
function timeSteps(m: Mapping): { kind: string; parts: string; local: string; at: string } | undefined {
  const { timeZone, timeFormat } = m;
  if (!timeZone && !timeFormat) return undefined;
  const matches = (f: TimeFormat) => `regexp_matches(ts_s, ${sqlString(f.pattern)})`;
  const parts = (f: TimeFormat) =>
    `regexp_extract(ts_s, ${sqlString(f.pattern)}, [${f.parts.map((x) => sqlString(x)).join(', ')}])`;
  const localOk = timeZone ? matches(LOCAL_TIME_FORMAT) : 'false';
  const kinds = [
    timeFormat && `WHEN ${matches(timeFormat)} THEN 'fmt'`,
    timeFormat &&
      `WHEN NOT (regexp_matches(ts_s, ${sqlString(ISO_TIME_PATTERN)}) OR regexp_matches(ts_s, ${sqlString(EPOCH_TEXT_PATTERN)}) OR ${localOk}) THEN 'bad'`,
    timeZone && `WHEN ${localOk} THEN 'local'`,
  ].filter(Boolean);
  // A time ending in Z (the common spelling) has a zone: no pattern needs trying unless a format might match.
  const zoned = timeFormat ? '' : ` OR right(ts_s, 1) IN ('Z', 'z')`;
  const kind = `CASE WHEN ts_s IS NULL OR ts_blank${zoned} THEN NULL ${kinds.join(' ')} END`;
  // The parts of each format read, as struct columns ts_fp (time_format) and ts_lp (local ISO).
  const partCols = [
    timeFormat && `CASE WHEN ts_kind = 'fmt' THEN ${parts(timeFormat)} END AS ts_fp`,
    timeZone && `CASE WHEN ts_kind = 'local' THEN ${parts(LOCAL_TIME_FORMAT)} END AS ts_lp`,
  ].filter(Boolean);
  const local = `CASE ts_kind ${timeFormat ? `WHEN 'fmt' THEN ${partsMsSql(timeFormat, 'ts_fp')}` : ''} ${
    timeZone ? `WHEN 'local' THEN ${partsMsSql(LOCAL_TIME_FORMAT, 'ts_lp')}` : ''
  } END`;
  const zone = sqlString(timeZone ?? 'UTC');
  const naive = 'make_timestamp(ts_local * 1000)';
  // Read in the zone, an instant whose wall clock differs from the time read is in the gap.
  const inZone = `CASE WHEN timezone(${zone}, timezone(${zone}, ${naive})) = ${naive} THEN epoch_ms(timezone(${zone}, ${naive})) END`;
  const at =
    timeFormat?.zoned === true ? `CASE WHEN ts_kind = 'fmt' THEN ts_local ELSE ${inZone} END` : inZone;
  return { kind, parts: partCols.join(', '), local, at };
}

/**
 * The mapping over `raw`, a relation (file_seq, line, text): the same rows with `text` the contract
 * record to validate (NULL where `reject` is set), `original` the text as read, and `reject` the
 * mapping rule a value broke as `code@field`, or NULL. A text that is not a JSON object is passed
 * through for the contract to reject as it would unmapped.
 */
export function compileMappingSql(m: Mapping, raw: string): string {
  const plan = mappingPlan(m);
  const time = timeSteps(m);
  const base = plan.keepOnlyKnown
    ? `json_merge_patch('{}', json_object(${KNOWN_FIELDS.filter((k) => !plan.dropped.has(k))
        .map((k) => `${sqlString(k)}, json_extract(j, ${sqlString(jsonPathOf([k]))})`)
        .join(', ')}))`
    : 'j';
  const eventId = m.idFromContent ? `coalesce(${col('event_id')}, to_json(sha256(original)))` : undefined;
  const tsOut = time
    ? `CASE WHEN ts_kind IN ('fmt', 'local') THEN to_json(strftime(make_timestamp(ts_at * 1000), '%Y-%m-%dT%H:%M:%S.%gZ')) ELSE ${col('ts')} END`
    : undefined;
  const out = (f: string) => (f === 'ts' && tsOut) || (f === 'event_id' && eventId) || col(f);
  const patch = `json_object(${[
    ...[...plan.dropped].map((k) => `${sqlString(k)}, NULL::JSON`),
    ...plan.mapped.map(({ field }) => `${sqlString(field)}, ${out(field)}`),
  ].join(', ')})`;
  // Keys set by the mapping are also in dropped: json_object keeps the last of a repeated key.
  const record = `json_merge_patch(${base}, ${patch})::VARCHAR`;
  const reject = time
    ? `CASE WHEN ts_kind = 'bad' OR (ts_kind = 'fmt' AND ts_local IS NULL) THEN 'mapping.time_format@ts'
        WHEN ts_kind = 'local' AND ts_local IS NULL THEN 'ts.invalid@ts'
        WHEN ts_kind IS NOT NULL AND ts_at IS NULL THEN 'mapping.dst_gap@ts' END`
    : 'NULL::VARCHAR';
  const { paths, reads } = readsSql(plan.mapped);
  const values = plan.mapped.map((f) => `${valueSql(f)} AS ${col(f.field)}`);
  const tsCols = time
    ? [
        // A string's text off its JSON text where it has no escape, as validate-sql.ts reads them.
        `CASE WHEN NOT starts_with(${col('ts')}, '"') THEN NULL
          WHEN contains(${col('ts')}, '\\') THEN trim(${col('ts')} ->> '$')
          ELSE trim(substr(${col('ts')}, 2, strlen(${col('ts')}) - 2)) END AS ts_s`,
        `coalesce(${col('ts')} = '""', false) AS ts_blank`,
      ]
    : [];
  const steps = time
    ? [`${time.kind} AS ts_kind`, time.parts, `${time.local} AS ts_local`, `${time.at} AS ts_at`]
    : [];
  let sql = `(SELECT file_seq, line, text AS original, j, coalesce(starts_with(ltrim(j, ' ' || chr(9) || chr(10) || chr(13)), '{'), false) AS obj
      FROM (SELECT file_seq, line, text, try_cast(text AS JSON) AS j FROM ${raw}))`;
  const levels = plan.mapped.length ? [paths, reads.join(', '), values.join(', ')] : [];
  for (const step of [...levels, tsCols.join(', '), ...steps].filter((s) => s !== ''))
    sql = `(SELECT *, ${step} FROM ${sql})`;
  return `SELECT file_seq, line, original, reject, CASE WHEN NOT obj THEN original WHEN reject IS NULL THEN ${record} END AS text
    FROM (SELECT *, CASE WHEN obj THEN ${reject} END AS reject FROM ${sql})`;
}

/**
 * validatedEventsSql over mapped records: `raw` is (file_seq, source, line, text) as there, and the
 * result has its columns, with a mapping rule's rejection before the contract's and `text` the
 * original wherever a record is rejected (the caller keeps it for the dead letter). Mapped records
 * that are plain lines (validatedLinesSql) take its one-pass path, as unmapped lines do; only the
 * rejected ones are joined back to their original text.
 */
export function mappedEventsSql(m: Mapping, raw: string): string {
  return `WITH mapped AS MATERIALIZED (${compileMappingSql(m, raw)}),
    lines AS MATERIALIZED (${validatedLinesSql('(SELECT file_seq, line, text FROM mapped)')}),
    checked AS (
      SELECT * EXCLUDE (general, record_bytes) FROM lines WHERE NOT general
      UNION ALL BY NAME
      SELECT * FROM (${validatedEventsSql('(SELECT file_seq, source, line, text FROM lines WHERE general)')})
    )
    SELECT * FROM checked WHERE reject IS NULL
    UNION ALL BY NAME
    SELECT c.* REPLACE (coalesce(mp.reject, c.reject) AS reject, mp.original AS text)
    FROM (SELECT * FROM checked WHERE reject IS NOT NULL) c JOIN mapped mp USING (file_seq, line)`;
}
