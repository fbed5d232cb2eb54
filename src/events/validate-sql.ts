// The contract checked inside DuckDB, for bulk ingest: one set-based query instead of a JS loop.
// Input: a relation of raw records `(file_seq, source, line, text)` where text is one JSON object.
// Output: the same rows with `reject` (the first broken rule as `code@field`, or NULL) and the
// normalised event columns. The rules, their order and the text patterns are those of validate.ts;
// test/events runs both validators on one table of cases (test/events/contract-cases.ts).
//
// Cost per record: one JSON validation (the cast), one json_extract with a path list that pulls
// every known field at once, and one json_merge_patch for the unknown fields of accepted records.
// Everything else works on the small extracted values.

import {
  ALIASES,
  APP_TYPES,
  DEVICES,
  EPOCH_MS_THRESHOLD,
  EVENT_TYPES,
  ID_FIELDS,
  ID_MAX_LENGTH,
  KNOWN_FIELDS,
  MONEY_FIELDS,
  MONEY_SCALE,
  MONEY_SQL_TYPE,
  NAME_MAX_LENGTH,
  TEXT_FIELDS,
  TEXT_MAX_LENGTH,
} from './contract.js';
import {
  DECIMAL_PATTERN,
  EPOCH_TEXT_PATTERN,
  ISO_TIME_PATTERN,
  LOCAL_TIME_PATTERN,
  MONEY_INT_DIGITS,
  TS_MAX_MS,
} from './validate.js';

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
const list = (xs: readonly string[]) => `[${xs.map(q).join(', ')}]`;

// The fields pulled out of each record with a single JSON parse (json_extract with a path list).
const EXTRACTED = [...new Set([...KNOWN_FIELDS])];
const slot = (field: string) => EXTRACTED.indexOf(field) + 1;
const json = (field: string) => `v[${slot(field)}]`;

/** The value of a field, falling back to its aliases; JSON null counts as absent. */
function present(field: string): string {
  const names = [
    field,
    ...Object.entries(ALIASES)
      .filter(([, c]) => c === field)
      .map(([a]) => a),
  ];
  const exprs = names.map((n) => `CASE WHEN json_type(${json(n)}) <> 'NULL' THEN ${json(n)} END`);
  return exprs.length === 1 ? exprs[0]! : `coalesce(${exprs.join(', ')})`;
}

// Each field's JSON type, text and integer text are computed once per row (columns t_, s_, i_).
const str = (f: string) => `s_${f}`;
const typ = (f: string) => `t_${f}`;
const isNum = (f: string) => `${typ(f)} IN ('BIGINT', 'UBIGINT', 'DOUBLE')`;
const isStr = (f: string) => `${typ(f)} = 'VARCHAR'`;
const given = (f: string) => `j_${f} IS NOT NULL`;
/** Absent for an optional field: missing, JSON null or the empty string. */
const blank = (f: string) => `(j_${f} IS NULL OR (${isStr(f)} AND ${str(f)} = ''))`;

const MAX_SAFE = String(Number.MAX_SAFE_INTEGER);

/**
 * The text of an integer value, or NULL when the field is not a number a JS number holds exactly
 * (the JS validator sees JSON.parse's numbers: 1.0 is 1, 9007199254740993 is not exact).
 */
function integerTextExpr(f: string): string {
  const d = `try_cast(${str(f)} AS DOUBLE)`;
  return `CASE
      WHEN ${typ(f)} IN ('BIGINT', 'UBIGINT') AND abs(try_cast(${str(f)} AS HUGEINT)) <= ${MAX_SAFE} THEN ${str(f)}
      WHEN ${typ(f)} = 'DOUBLE' AND isfinite(${d}) AND ${d} = trunc(${d}) AND abs(${d}) <= ${MAX_SAFE}
        THEN CAST(try_cast(${d} AS BIGINT) AS VARCHAR)
    END`;
}

const integerText = (f: string) => `i_${f}`;

/** A string or integer field as text (NULL when blank or not one of those). */
const textOf = (f: string) => `CASE WHEN ${isStr(f)} THEN nullif(${str(f)}, '') ELSE ${integerText(f)} END`;

// ---- event time ----------------------------------------------------------------------------------

const ISO_PARTS = ['y', 'mo', 'd', 'h', 'mi', 's', 'f', 'z', 'sg', 'oh', 'om'];
const int = (e: string) => `coalesce(try_cast(nullif(${e}, '') AS BIGINT), 0)`;

/** Milliseconds of an epoch number (seconds below the threshold), NULL when negative. */
function epochMs(n: string): string {
  return `CASE WHEN ${n} >= 0 THEN round(CASE WHEN ${n} < ${EPOCH_MS_THRESHOLD} THEN ${n} * 1000 ELSE ${n} END) END`;
}

/** Milliseconds of the ISO parts `tp`, NULL when a part is out of range (Feb 30, 24:00, +25:00). */
function isoMs(): string {
  const p = (k: string) => int(`tp.${k}`);
  return `CASE WHEN tp.y <> '' AND ${p('h')} <= 23 AND ${p('mi')} <= 59 AND ${p('s')} <= 59 AND ${p('oh')} <= 23 AND ${p('om')} <= 59
      THEN (try(make_date(${p('y')}, ${p('mo')}, ${p('d')})) - DATE '1970-01-01') * 86400000
        + ${p('h')} * 3600000 + ${p('mi')} * 60000 + ${p('s')} * 1000 + ${int("left(rpad(tp.f, 3, '0'), 3)")}
        - (CASE WHEN tp.sg = '-' THEN -1 ELSE 1 END) * (${p('oh')} * 60 + ${p('om')}) * 60000
    END`;
}

// ---- money ---------------------------------------------------------------------------------------

// Money is read from its decimal digits, as in parseMoney: `mp_<f>` holds the DECIMAL_PATTERN parts
// of the trimmed text (a JSON number's text is its shortest form, as JS's String(n)), `md_<f>` the
// digits and `mpt_<f>` where the decimal point sits in them once the exponent is applied.
const moneyParts = (f: string) =>
  `CASE WHEN ${isNum(f)} OR ${isStr(f)} THEN regexp_extract(trim(${str(f)}), '${DECIMAL_PATTERN}', ['sg', 'i', 'f', 'e']) END AS mp_${f}`;
const moneyDigits = (f: string) =>
  `mp_${f}.i || mp_${f}.f AS md_${f}, length(mp_${f}.i) + coalesce(try_cast(nullif(mp_${f}.e, '') AS DOUBLE), 0) AS mpt_${f}`;
const mFirst = (f: string) => `(length(md_${f}) - length(ltrim(md_${f}, '0')))`;
const mEnd = (f: string) => `length(rtrim(md_${f}, '0'))`;
const mNonZero = (f: string) => `ltrim(md_${f}, '0') <> ''`;

function moneyRules(f: string): string {
  const checked = `NOT ${blank(f)} AND ${mNonZero(f)}`;
  return [
    `WHEN NOT ${blank(f)} AND coalesce(md_${f}, '') = '' THEN 'money.invalid@${f}'`,
    `WHEN ${checked} AND mp_${f}.sg = '-' THEN 'money.negative@${f}'`,
    `WHEN ${checked} AND ${mEnd(f)} - mpt_${f} > ${MONEY_SCALE} THEN 'money.scale@${f}'`,
    `WHEN ${checked} AND mpt_${f} - ${mFirst(f)} > ${MONEY_INT_DIGITS} THEN 'money.range@${f}'`,
  ].join('\n      ');
}

/** The value of a valid money field: the 18 digits around the point, read as DECIMAL(18,6). */
function moneyValue(f: string): string {
  const width = MONEY_INT_DIGITS + MONEY_SCALE;
  const pad = `repeat('0', ${width})`;
  const from = `try_cast(${width} + mpt_${f} - ${MONEY_INT_DIGITS} + 1 AS BIGINT)`;
  const window = `substr(${pad} || md_${f} || ${pad}, ${from}, ${width})`;
  return `CASE WHEN ${blank(f)} OR NOT ${mNonZero(f)} THEN CAST(0 AS ${MONEY_SQL_TYPE})
      ELSE try_cast(left(${window}, ${MONEY_INT_DIGITS}) || '.' || right(${window}, ${MONEY_SCALE}) AS ${MONEY_SQL_TYPE}) END`;
}

// ---- rules ---------------------------------------------------------------------------------------

function idRule(f: string, code: string): string {
  return `WHEN ${given(f)} AND NOT ((${isStr(f)} AND length(${str(f)}) <= ${ID_MAX_LENGTH}) OR ${integerText(f)} IS NOT NULL) THEN '${code}@${f}'`;
}

/** Closed vocabularies ignore ASCII case only, as in validate.ts. */
const asciiWord = (f: string) => `regexp_full_match(${str(f)}, '[A-Za-z]+')`;

function rejectExpr(): string {
  const ts = `trim(${str('ts')})`;
  const enumRule = (f: string, allowed: readonly string[]) =>
    `WHEN NOT ${blank(f)} AND NOT (${isStr(f)} AND ${asciiWord(f)} AND upper(${str(f)}) IN (${allowed.map(q).join(', ')})) THEN '${f}.invalid@${f}'`;
  const textRule = (f: string) =>
    `WHEN ${given(f)} AND NOT ((${isStr(f)} AND length(${str(f)}) <= ${TEXT_MAX_LENGTH}) OR ${integerText(f)} IS NOT NULL) THEN 'text.invalid@${f}'`;
  return `CASE
      WHEN j IS NULL THEN 'record.invalid_json@record'
      WHEN NOT starts_with(ltrim(j::VARCHAR, ${JSON_SPACE}), '{') THEN
        CASE WHEN regexp_full_match(trim(j::VARCHAR, ${JSON_SPACE}), '${NON_FINITE}') THEN 'record.invalid_json@record' ELSE 'record.not_object@record' END
      WHEN non_finite THEN 'record.invalid_json@record'
      WHEN j_event_id IS NULL THEN 'event_id.missing@event_id'
      WHEN ${isStr('event_id')} AND ${str('event_id')} = '' THEN 'event_id.length@event_id'
      WHEN NOT (${isStr('event_id')} OR ${integerText('event_id')} IS NOT NULL) THEN 'event_id.type@event_id'
      ${idRule('event_id', 'event_id.length')}
      WHEN ${blank('type')} THEN 'type.missing@type'
      WHEN NOT (${isStr('type')} AND ${asciiWord('type')} AND lower(${str('type')}) IN (${EVENT_TYPES.map(q).join(', ')})) THEN 'type.invalid@type'
      WHEN lower(${str('type')}) = 'custom' AND ${blank('name')} THEN 'name.missing@name'
      WHEN NOT ${blank('name')} AND NOT (${isStr('name')} AND length(${str('name')}) <= ${NAME_MAX_LENGTH}) THEN 'name.invalid@name'
      WHEN ${blank('ts')} THEN 'ts.missing@ts'
      WHEN ${isStr('ts')} AND regexp_full_match(${ts}, '${LOCAL_TIME_PATTERN}') THEN 'ts.no_offset@ts'
      WHEN ts_ms IS NULL THEN 'ts.invalid@ts'
      ${ID_FIELDS.map((f) => idRule(f, 'id.invalid')).join('\n      ')}
      ${enumRule('device', DEVICES)}
      ${enumRule('app_type', APP_TYPES)}
      ${TEXT_FIELDS.map(textRule).join('\n      ')}
      ${MONEY_FIELDS.map(moneyRules).join('\n      ')}
    END`;
}

const JSON_SPACE = `' ' || chr(9) || chr(10) || chr(13)`;
/** Fields that take an integer in place of a string. */
const INTEGER_FIELDS = ['event_id', ...ID_FIELDS, ...TEXT_FIELDS];
const KNOWN_AS_NULLS = `'${JSON.stringify(Object.fromEntries(KNOWN_FIELDS.map((f) => [f, null])))}'`;
/** NaN and Infinity literals: DuckDB's JSON reader takes them, JSON.parse (and the contract) does not. */
const NON_FINITE = '(?i)[+-]?(nan|inf|infinity)';

/**
 * Validates and normalises raw records. `raw` must be a relation (table name or parenthesised
 * query) with columns file_seq, source, line, text. `ts` is a TIMESTAMPTZ at millisecond precision,
 * independent of the session's TimeZone.
 */
export function validatedEventsSql(raw: string): string {
  const extracted = `json_extract(j, ${list(EXTRACTED.map((f) => `$."${f}"`))})`;
  const fields = [
    'event_id',
    'type',
    'name',
    'ts',
    ...ID_FIELDS,
    'device',
    'app_type',
    ...TEXT_FIELDS,
    ...MONEY_FIELDS,
  ];
  const tsStr = `trim(${str('ts')})`;
  return `
SELECT file_seq, source, line, text, reject,
  CASE WHEN reject IS NULL THEN ${textOf('event_id')} END AS event_id,
  lower(${str('type')}) AS type,
  nullif(${str('name')}, '') AS name,
  timezone('UTC', make_timestamp(ts_ms * 1000)) AS ts,
  ${ID_FIELDS.map((f) => `${textOf(f)} AS ${f}`).join(',\n  ')},
  upper(nullif(${str('device')}, '')) AS device,
  upper(nullif(${str('app_type')}, '')) AS app_type,
  ${TEXT_FIELDS.map((f) => `${textOf(f)} AS ${f}`).join(',\n  ')},
  ${MONEY_FIELDS.map((f) => `CASE WHEN reject IS NULL THEN ${moneyValue(f)} END AS ${f}`).join(',\n  ')},
  CASE WHEN reject IS NULL THEN nullif(json_merge_patch(j, ${KNOWN_AS_NULLS})::VARCHAR, '{}') END AS props
FROM (
  SELECT *, ${rejectExpr()} AS reject
  FROM (
    SELECT *,
      CASE WHEN ts_raw BETWEEN 0 AND ${TS_MAX_MS} THEN CAST(ts_raw AS BIGINT) END AS ts_ms,
      ${MONEY_FIELDS.map(moneyDigits).join(',\n      ')}
    FROM (
      SELECT *,
        CASE
          WHEN ${isNum('ts')} THEN ${epochMs(`try_cast(${str('ts')} AS DOUBLE)`)}
          WHEN ${isStr('ts')} AND regexp_full_match(${tsStr}, '${EPOCH_TEXT_PATTERN}') THEN ${epochMs(`try_cast(${tsStr} AS DOUBLE)`)}
          WHEN ${isStr('ts')} THEN ${isoMs()}
        END AS ts_raw
      FROM (
        SELECT *,
          CASE WHEN ${isStr('ts')} THEN regexp_extract(${tsStr}, '${ISO_TIME_PATTERN}', ${list(ISO_PARTS)}) END AS tp,
          ${MONEY_FIELDS.map(moneyParts).join(',\n          ')}
        FROM (
          SELECT *,
            ${INTEGER_FIELDS.map((f) => `${integerTextExpr(f)} AS i_${f}`).join(',\n            ')}
          FROM (
            SELECT *,
              ${fields.map((f) => `json_type(j_${f}) AS t_${f}, j_${f} ->> '$' AS s_${f}`).join(',\n              ')}
            FROM (
              SELECT file_seq, source, line, text, j,
                len(list_filter(v, x -> regexp_full_match(x::VARCHAR, '${NON_FINITE}'))) > 0 AS non_finite,
                ${fields.map((f) => `${present(f)} AS j_${f}`).join(',\n                ')}
              FROM (SELECT file_seq, source, line, text, j, ${extracted} AS v
                    FROM (SELECT file_seq, source, line, text, try_cast(text AS JSON) AS j FROM ${raw}))
            )
          )
        )
      )
    )
  )
)`;
}
