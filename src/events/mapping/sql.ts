// A mapping compiled to DuckDB SQL, for files and streams: one set-based query over the raw
// records, the same rules as js.ts (test/events/mapping.test.ts runs both on one table of cases).
// Values are moved as JSON (json_extract keeps their types), `values` become CASE tables, a local
// time is read in the zone with ICU's timezone(), and the mapped values go straight into the
// columns the contract's rules read: no record is rebuilt as text and parsed again (#18's 1.3×).

import { sqlIdent, sqlString } from '../../warehouse/quote.js';
import { KNOWN_FIELDS, RECORD_MAX_DEPTH } from '../contract.js';
import { EPOCH_TEXT_PATTERN, ISO_TIME_PATTERN } from '../validate.js';
import {
  bracketsOf,
  FIELDS,
  JSON_SPACE,
  nonFiniteAmong,
  PLAIN_SHAPED,
  plainSize,
  recordShapeSql,
  rulesSql,
  tooDeep,
} from '../validate-sql.js';
import { jsonPathOf, type SourcePath } from './paths.js';
import { aliasesOf, type MappedField, type MappingPlan, mappingPlan } from './plan.js';
import type { Mapping } from './schema.js';
import { LOCAL_TIME_FORMAT, type TimeFormat } from './time.js';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** foldAscii in SQL. */
const foldAscii = (e: string) => `translate(${e}, '${UPPER}', '${UPPER.toLowerCase()}')`;
const jsonText = (v: string) => `${sqlString(JSON.stringify(v))}::JSON`;
const col = (f: string) => `"v_${f}"`;

/**
 * Its value after `values`: the CASE table over a string's folded text, else as read. A string of
 * ASCII without escapes (nearly all) is looked up by its JSON text, where lower() is ASCII
 * folding; others are unquoted and folded first. In plain form the value is a string's text.
 */
function valueSql({ field, table }: MappedField, plain: boolean): string {
  const r = `"r_${field}"`;
  if (!table || table.size === 0) return r;
  const to = (v: string) => (plain ? sqlString(v) : jsonText(v));
  const when = (key: (from: string) => string) =>
    [...table].map(([from, to_]) => `WHEN ${sqlString(key(from))} THEN ${to(to_)}`).join(' ');
  if (plain)
    return `CASE WHEN strlen(${r}) = length(${r}) THEN CASE lower(${r}) ${when((f) => f)} ELSE ${r} END
      ELSE CASE ${foldAscii(r)} ${when((f) => f)} ELSE ${r} END END`;
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
 * How the mapping's steps read and write values: `json`, each value as its JSON text (any record),
 * or plain, each a string's text (records of plain strings, which the rules read without type tests).
 */
interface Form {
  /** The value of the first of these top-level keys or paths present and not null. */
  read: (paths: readonly SourcePath[]) => string;
  plain: boolean;
}

/**
 * The mapping's columns over `base()` (a relation with `text`, `obj` and what `form` reads, built
 * once the steps have named every path they read): `j_<field>` for the rules' FIELDS, each value
 * as the form writes it, and `mapping_reject`, the mapping rule a value broke (objects only).
 */
function mappingStepsSql(m: Mapping, plan: MappingPlan, form: Form, base: () => string): string {
  const time = timeSteps(m);
  const mappedSet = new Set(plan.mapped.map((f) => f.field));
  const asValue = (e: string) => (form.plain ? e : `to_json(${e})`);
  const reads = plan.mapped.map(({ field, paths }) => `${form.read(paths)} AS "r_${field}"`);
  // Contract fields the mapping leaves alone are read from the record as they are, unless dropped.
  const kept = FIELDS.filter((f) => !mappedSet.has(f)).map((f) => {
    const keys = [f, ...aliasesOf(f)].filter((k) => !plan.dropped.has(k)).map((k) => [k]);
    return `${keys.length ? form.read(keys) : `NULL::${form.plain ? 'VARCHAR' : 'JSON'}`} AS ${col(f)}`;
  });
  const eventId = m.idFromContent ? `coalesce(${col('event_id')}, ${asValue('sha256(text)')})` : undefined;
  const tsOut = time
    ? `CASE WHEN ts_kind IN ('fmt', 'local') THEN ${asValue(`strftime(make_timestamp(ts_at * 1000), '%Y-%m-%dT%H:%M:%S.%gZ')`)} ELSE ${col('ts')} END`
    : undefined;
  const out = (f: string) => (f === 'ts' && tsOut) || (f === 'event_id' && eventId) || col(f);
  const value = (f: string) =>
    `${form.plain ? out(f) : `nullif(${out(f)}, 'null'::JSON)::VARCHAR`} AS j_${f}`;
  const reject = time
    ? `CASE WHEN ts_kind = 'bad' OR (ts_kind = 'fmt' AND ts_local IS NULL) THEN 'mapping.time_format@ts'
        WHEN ts_kind = 'local' AND ts_local IS NULL THEN 'ts.invalid@ts'
        WHEN ts_kind IS NOT NULL AND ts_at IS NULL THEN 'mapping.dst_gap@ts' END`
    : 'NULL::VARCHAR';
  const values = plan.mapped.map((f) => `${valueSql(f, form.plain)} AS ${col(f.field)}`);
  const ts = col('ts');
  const tsCols = !time
    ? []
    : form.plain
      ? [`trim(${ts}) AS ts_s`, `coalesce(${ts} = '', false) AS ts_blank`]
      : [
          // A string's text off its JSON text where it has no escape, as validate-sql.ts reads them.
          `CASE WHEN NOT starts_with(${ts}, '"') THEN NULL
          WHEN contains(${ts}, '\\') THEN trim(${ts} ->> '$')
          ELSE trim(substr(${ts}, 2, strlen(${ts}) - 2)) END AS ts_s`,
          `coalesce(${ts} = '""', false) AS ts_blank`,
        ];
  const steps = time
    ? [`${time.kind} AS ts_kind`, time.parts, `${time.local} AS ts_local`, `${time.at} AS ts_at`]
    : [];
  const levels = [
    [...reads, ...kept].join(', '),
    values.join(', '),
    tsCols.join(', '),
    ...steps,
    `${FIELDS.map(value).join(', ')}, CASE WHEN obj THEN ${reject} END AS mapping_reject`,
  ];
  let sql = base();
  for (const step of levels.filter((x) => x !== '')) sql = `(SELECT *, ${step} FROM ${sql})`;
  return sql;
}

/**
 * The mapping over `raw`, a relation (file_seq, source, line, text), as the columns the contract's
 * rules read (rulesSql in validate-sql.ts), so a mapped record is never written out as JSON text
 * and parsed again: one parse of the source record (the cast), one json_extract of every path read
 * (the mapping's, the unmapped contract fields', the top-level keys that tell whether the record
 * is compact or has unknown ones), then each field's value as JSON text (`j_<field>`). A rule of
 * the mapping a value broke comes first, as the record's `shape`; `text` stays the text as read,
 * for dead letters. The rebuilt record (one json_merge_patch) is made only where props need it
 * (records with unknown fields) or where it might be too deep. A text that is not a JSON object is
 * rejected as it would be unmapped.
 */
function mappedExtractedSql(m: Mapping, raw: string): string {
  const plan = mappingPlan(m);
  const paths: string[] = [];
  const at = (p: string) => {
    if (!paths.includes(p)) paths.push(p);
    return `jr[${paths.indexOf(p) + 1}]`;
  };
  const read = (keys: readonly SourcePath[]) => {
    const values = keys.map((k) => `nullif(${at(jsonPathOf(k))}, 'null'::JSON)`);
    return values.length === 1 ? values[0]! : `coalesce(${values.join(', ')})`;
  };
  const { compact, unknown } = compactSql(plan, at);
  const record = rebuiltSql(plan);
  const parsed = `(SELECT file_seq, source, line, text, sj, coalesce(starts_with(ltrim(sj, ${JSON_SPACE}), '{'), false) AS obj
      FROM (SELECT file_seq, source, line, text, try_cast(text AS JSON) AS sj FROM ${raw}))`;
  const sql = mappingStepsSql(
    m,
    plan,
    { read, plain: false },
    () =>
      `(SELECT *, ${unknown} AS has_unknown FROM (SELECT *, ${compact} AS compact
        FROM (SELECT *, json_extract(sj, [${paths.map(sqlString).join(', ')}]) AS jr FROM ${parsed})))`,
  );
  // Flat: every value given is a string without escapes, read by dropping its quotes.
  const plain = (f: string) =>
    `(j_${f} IS NULL OR (starts_with(j_${f}, '"') AND NOT contains(j_${f}, '\\')))`;
  const unquoted = (f: string) =>
    `CASE WHEN flat THEN substr(j_${f}, 2, length(j_${f}) - 2) ELSE j_${f} END AS j_${f}`;
  // Brackets of the rebuilt record are only measured where the text has that many at all (a
  // compact record has one pair).
  const opening = `strlen(text) - strlen(replace(replace(text, '{', ''), '[', ''))`;
  const deep = `CASE WHEN compact THEN false WHEN ${opening} > ${RECORD_MAX_DEPTH} THEN ${tooDeep(bracketsOf(`(${record})::VARCHAR`))} END`;
  const nonFinite = `CASE WHEN NOT flat THEN ${nonFiniteAmong(FIELDS.map((f) => `j_${f}`))} ELSE false END`;
  const shape = `coalesce(mapping_reject, ${recordShapeSql('sj', nonFinite, deep)})`;
  return `(SELECT file_seq, source, line, text, flat, ${shape} AS shape, has_unknown,
      CASE WHEN has_unknown THEN ${record} END AS j,
      ${recordBytes(plan)} AS record_bytes,
      ${FIELDS.map(unquoted).join(',\n      ')}
    FROM (SELECT *, obj AND ${FIELDS.map(plain).join(' AND ')} AS flat FROM ${sql}))`;
}

/**
 * `compact` (the record is a compact object of escape-free strings, with no keys but the
 * contract's and the dropped ones: proven by its length, as validatedLinesSql proves a line plain)
 * and `has_unknown` (it has keys that are neither, for props), which only records not compact
 * count their keys for.
 */
function compactSql(plan: MappingPlan, at: (path: string) => string): { compact: string; unknown: string } {
  const keys = [...new Set([...KNOWN_FIELDS, ...plan.dropped])];
  const v = (k: string) => at(jsonPathOf([k]));
  const size = `1 + ${keys.map((k) => `coalesce(strlen(${v(k)}) + ${Buffer.byteLength(k) + 4}, 0)`).join(' + ')}`;
  const strings = keys.map((k) => `coalesce(starts_with(${v(k)}, '"'), true)`).join(' AND ');
  const present = keys.map((k) => `(${v(k)} IS NOT NULL)::INTEGER`).join(' + ');
  const compact = `coalesce(obj AND NOT contains(text, '\\') AND strlen(text) = ${size} AND ${strings}, false)`;
  const unknown = plan.keepOnlyKnown
    ? 'false'
    : `CASE WHEN NOT obj OR compact THEN false ELSE len(json_keys(sj)) <> ${present} END`;
  return { compact, unknown };
}

/** The mapped record as JSON: the kept keys, null for each key dropped, each mapped field's value. */
function rebuiltSql(plan: MappingPlan): string {
  const base = plan.keepOnlyKnown
    ? `json_merge_patch('{}', json_object(${KNOWN_FIELDS.filter((k) => !plan.dropped.has(k))
        .map((k) => `${sqlString(k)}, json_extract(sj, ${sqlString(jsonPathOf([k]))})`)
        .join(', ')}))`
    : 'sj';
  // Keys set by the mapping are also in dropped: json_object keeps the last of a repeated key.
  const patch = `json_object(${[
    ...[...plan.dropped].map((k) => `${sqlString(k)}, NULL::JSON`),
    ...plan.mapped.map(({ field }) => `${sqlString(field)}, j_${field}::JSON`),
  ].join(', ')})`;
  return `json_merge_patch(${base}, ${patch})`;
}

/**
 * At least the length of any string value of the record (the rules skip length checks below their
 * limits): a value is text of the record, a `values` entry, a time written out or a content hash.
 */
function recordBytes(plan: MappingPlan): string {
  const longest = Math.max(
    64,
    ...plan.mapped.flatMap((f) => [...(f.table?.values() ?? [])].map((v) => Buffer.byteLength(v))),
  );
  return `strlen(text) + ${longest}`;
}

/**
 * The contract validator over mapped records: `raw` is (file_seq, source, line, text) and the
 * result has validatedEventsSql's columns, with a mapping rule's rejection before the contract's
 * and `text` the original (the caller keeps it for dead letters).
 */
export function mappedEventsSql(m: Mapping, raw: string): string {
  return rulesSql(mappedExtractedSql(m, raw));
}

/**
 * mappedEventsSql over JSON lines (file_seq, line, text) in the read pass, as validatedLinesSql
 * does for unmapped ones: plain lines (compact, strings without escapes, no keys but the contract's
 * and the mapping's, proven by the length) are read with one json_transform into text and mapped
 * and validated without type tests; the others are `general`, left (with their text) for
 * mappedEventsSql. `record_bytes` is the line's length, for the gzip check (the rules are given a
 * bound that also covers the mapping's own values). A mapping that reads
 * into arrays or objects has no plain lines.
 */
export function mappedLinesSql(m: Mapping, lines: string): string {
  const plan = mappingPlan(m);
  const keys = [...new Set([...KNOWN_FIELDS, ...plan.dropped])];
  const nested = plan.mapped.some((f) => f.paths.some((p) => p.length > 1));
  const w = (k: string) => `w.${sqlIdent(k)}`;
  const read = (paths: readonly SourcePath[]) => {
    const values = paths.map((p) => w(p[0] as string));
    return values.length === 1 ? values[0]! : `coalesce(${values.join(', ')})`;
  };
  const struct = sqlString(JSON.stringify(Object.fromEntries(keys.map((k) => [k, 'VARCHAR']))));
  const readable = nested ? 'false' : `coalesce(${PLAIN_SHAPED} AND json_valid(text), false)`;
  const transformed = `(SELECT file_seq, line, text, true AS obj, w,
        NOT coalesce(readable AND strlen(text) = ${plainSize(keys, w)}, false) AS general
      FROM (SELECT file_seq, line, text, readable, CASE WHEN readable THEN json_transform(text, ${struct}) END AS w
        FROM (SELECT file_seq, line, text, ${readable} AS readable FROM ${lines})))`;
  const mapped = mappingStepsSql(m, plan, { read, plain: true }, () => transformed);
  const extracted = `(SELECT file_seq, NULL::VARCHAR AS source, line, text, NULL::JSON AS j, true AS flat,
      mapping_reject AS shape, false AS has_unknown, ${recordBytes(plan)} AS record_bytes,
      strlen(text) AS line_bytes, general,
      ${FIELDS.map((f) => `j_${f}`).join(', ')} FROM ${mapped})`;
  return `SELECT * EXCLUDE (line_bytes) REPLACE (CASE WHEN general OR reject IS NOT NULL THEN text END AS text),
      line_bytes AS record_bytes
    FROM (${rulesSql(extracted, true, ['general', 'line_bytes'])})`;
}
