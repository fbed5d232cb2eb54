// The contract checked inside DuckDB, for bulk ingest: one set-based query instead of a JS loop.
// Input: a relation of raw records `(file_seq, source, line, text)` where text is one JSON object.
// Output: the same rows with `reject` (the first broken rule as `code@field`, or NULL) and the
// normalised event columns. The rules, their order and the text patterns are those of validate.ts;
// test/events runs both validators on one table of cases (test/events/contract-cases.ts).
//
// Two ways in, one set of rules (rulesSql). validatedEventsSql takes any text: one JSON parse (the
// cast), one json_transform reading every known field (a second one, keeping JSON types, for the
// rare records that are not flat) and one json_merge_patch for unknown fields. validatedLinesSql
// takes JSON lines and validates the plain ones (compact, string values, known keys) with a single
// json_transform, leaving the others to validatedEventsSql. Everything else works on the small
// extracted values.

import { sqlIdent, sqlString } from '../warehouse/quote.js';
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
  RECORD_MAX_DEPTH,
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

const list = (xs: readonly string[]) => `[${xs.map(sqlString).join(', ')}]`;

// The fields pulled out of each record with a single JSON parse (json_transform into a struct;
// JSON null reads as SQL NULL, which the contract treats as absent anyway). Flat records, whose
// values are all strings (nearly all of them), read every field as VARCHAR text at once; the others
// read each field's raw JSON text and take its type and text from that.
const EXTRACTED = [...new Set([...KNOWN_FIELDS])];
const struct = (type: string) =>
  sqlString(JSON.stringify(Object.fromEntries(EXTRACTED.map((f) => [f, type]))));

/** The value of a field in struct `v` (or a column when v is ''), falling back to its aliases; JSON null counts as absent. */
function present(v: string, field: string): string {
  const names = [
    field,
    ...Object.entries(ALIASES)
      .filter(([, c]) => c === field)
      .map(([a]) => a),
  ];
  const ref = (n: string) => (v ? `${v}.${sqlIdent(n)}` : sqlIdent(n));
  return names.length === 1 ? ref(field) : `coalesce(${names.map(ref).join(', ')})`;
}

/**
 * A record is flat when it is an object and every value in it is a string. In valid JSON a colon
 * outside strings always follows a key's closing quote, possibly after whitespace, so with no
 * whitespace before any colon, every key is followed by `":` and then its value: flat when that is
 * always a quote. Text that merely looks suspicious inside a string only takes the general path.
 */
const FLAT = `starts_with(text, '{') AND NOT (${[' ', '\t', '\n', '\r']
  .map((w) => `contains(text, ${sqlString(`${w}:`)})`)
  .join(' OR ')} OR regexp_matches(text, '":[^"]'))`;

/**
 * A field's JSON type (as json_type names it) and text (as `->> '$'` gives it). In a flat record
 * every given field is a string read as text already; otherwise they come off the raw JSON text:
 * strings by their first character and, without a backslash, by dropping the quotes; anything else
 * through the JSON functions.
 */
const typeExpr = (f: string) =>
  `CASE WHEN flat OR starts_with(j_${f}, '"') THEN 'VARCHAR' ELSE json_type(j_${f}) END`;
const textExpr = (f: string) =>
  `CASE WHEN flat THEN j_${f} WHEN starts_with(j_${f}, '"') AND NOT contains(j_${f}, '\\') THEN substr(j_${f}, 2, length(j_${f}) - 2) ELSE j_${f} ->> '$' END`;

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
 * Strings skip it at once.
 */
function integerTextExpr(f: string): string {
  const d = `try_cast(${str(f)} AS DOUBLE)`;
  return `CASE WHEN ${isStr(f)} THEN NULL
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

/**
 * The common spelling, UTC with at most milliseconds and every time part in range: the cast reads
 * it exactly (and gives NULL for a day the month lacks, as make_date does); anything else takes the
 * general path.
 */
const PLAIN_UTC_PATTERN = String.raw`^\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,3})?Z$`;

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

/**
 * The common spelling, a plain string of at most MONEY_INT_DIGITS (9) integer and 6 fraction digits: valid, and the
 * cast reads it exactly (`mf_<f>`, also true when blank). Anything else takes the general path.
 */
const PLAIN_MONEY_PATTERN = String.raw`^\d{1,${MONEY_INT_DIGITS}}(?:\.\d{1,${MONEY_SCALE}})?$`;
const plainMoney = (f: string) =>
  `(j_${f} IS NULL OR (${isStr(f)} AND (${str(f)} = '' OR regexp_full_match(${str(f)}, ${sqlString(PLAIN_MONEY_PATTERN)})))) AS mf_${f}`;

// Money is read from its decimal digits, as in parseMoney: `mp_<f>` holds the DECIMAL_PATTERN parts
// of the trimmed text (a JSON number's text is its shortest form, as JS's String(n)), `md_<f>` the
// digits and `mpt_<f>` where the decimal point sits in them once the exponent is applied.
const moneyParts = (f: string) =>
  `CASE WHEN NOT mf_${f} AND (${isNum(f)} OR ${isStr(f)}) THEN regexp_extract(trim(${str(f)}), ${sqlString(DECIMAL_PATTERN)}, ['sg', 'i', 'f', 'e']) END AS mp_${f}`;
const moneyDigits = (f: string) =>
  `mp_${f}.i || mp_${f}.f AS md_${f}, length(mp_${f}.i) + coalesce(try_cast(nullif(mp_${f}.e, '') AS DOUBLE), 0) AS mpt_${f}`;
const mFirst = (f: string) => `(length(md_${f}) - length(ltrim(md_${f}, '0')))`;
const mEnd = (f: string) => `length(rtrim(md_${f}, '0'))`;
const mNonZero = (f: string) => `ltrim(md_${f}, '0') <> ''`;

function moneyRules(f: string): string {
  const general = `NOT mf_${f} AND NOT ${blank(f)}`;
  const checked = `${general} AND ${mNonZero(f)}`;
  return [
    `WHEN ${general} AND coalesce(md_${f}, '') = '' THEN ${sqlString(`money.invalid@${f}`)}`,
    `WHEN ${checked} AND mp_${f}.sg = '-' THEN ${sqlString(`money.negative@${f}`)}`,
    `WHEN ${checked} AND ${mEnd(f)} - mpt_${f} > ${MONEY_SCALE} THEN ${sqlString(`money.scale@${f}`)}`,
    `WHEN ${checked} AND mpt_${f} - ${mFirst(f)} > ${MONEY_INT_DIGITS} THEN ${sqlString(`money.range@${f}`)}`,
  ].join('\n      ');
}

/** The value of a valid money field: the MONEY_INT_DIGITS + 6 digits around the point, read as DECIMAL(18,6). */
function moneyValue(f: string): string {
  const width = MONEY_INT_DIGITS + MONEY_SCALE;
  const pad = `repeat('0', ${width})`;
  const from = `try_cast(${width} + mpt_${f} - ${MONEY_INT_DIGITS} + 1 AS BIGINT)`;
  const window = `substr(${pad} || md_${f} || ${pad}, ${from}, ${width})`;
  return `CASE WHEN ${blank(f)} THEN CAST(0 AS ${MONEY_SQL_TYPE})
      WHEN mf_${f} THEN CAST(${str(f)} AS ${MONEY_SQL_TYPE})
      WHEN NOT ${mNonZero(f)} THEN CAST(0 AS ${MONEY_SQL_TYPE})
      ELSE try_cast(left(${window}, ${MONEY_INT_DIGITS}) || '.' || right(${window}, ${MONEY_SCALE}) AS ${MONEY_SQL_TYPE}) END`;
}

// ---- rules ---------------------------------------------------------------------------------------

function idRule(f: string, code: string): string {
  return `WHEN ${given(f)} AND NOT ((${isStr(f)} AND length(${str(f)}) <= ${ID_MAX_LENGTH}) OR ${integerText(f)} IS NOT NULL) THEN ${sqlString(`${code}@${f}`)}`;
}

/** Closed vocabularies ignore ASCII case only, as in validate.ts. */
const asciiWord = (f: string) => `regexp_full_match(${str(f)}, '[A-Za-z]+')`;

/** In a closed vocabulary: the canonical spelling at once, else any ASCII case of it. */
const inVocabulary = (f: string, fold: 'lower' | 'upper', allowed: readonly string[]) =>
  `(${str(f)} IN (${allowed.map(sqlString).join(', ')}) OR (${asciiWord(f)} AND ${fold}(${str(f)}) IN (${allowed.map(sqlString).join(', ')})))`;

/**
 * Rules `WHEN c THEN code` tried as one: skipped at once where `pass` shows none can break (a flat
 * record's strings are no longer in characters than in bytes, nor than the whole text), otherwise
 * the first that breaks, in order.
 */
function group(pass: string, rules: readonly string[]): string {
  const conds = rules.flatMap((r) =>
    r.split('\n').map((w) => w.trim().replace(/^WHEN (.*) THEN '[^']*'$/s, '($1)')),
  );
  return `WHEN NOT coalesce(${pass}, false) AND (${conds.join(' OR ')}) THEN CASE ${rules.join('\n      ')} END`;
}

function rejectExpr(): string {
  const ts = `trim(${str('ts')})`;
  const enumRule = (f: string, allowed: readonly string[]) =>
    `WHEN NOT ${blank(f)} AND NOT (${isStr(f)} AND ${inVocabulary(f, 'upper', allowed)}) THEN ${sqlString(`${f}.invalid@${f}`)}`;
  const textRule = (f: string) =>
    `WHEN ${given(f)} AND NOT ((${isStr(f)} AND length(${str(f)}) <= ${TEXT_MAX_LENGTH}) OR ${integerText(f)} IS NOT NULL) THEN ${sqlString(`text.invalid@${f}`)}`;
  return `CASE
      WHEN shape IS NOT NULL THEN shape
      WHEN j_event_id IS NULL THEN 'event_id.missing@event_id'
      WHEN ${isStr('event_id')} AND ${str('event_id')} = '' THEN 'event_id.length@event_id'
      WHEN NOT (${isStr('event_id')} OR ${integerText('event_id')} IS NOT NULL) THEN 'event_id.type@event_id'
      ${idRule('event_id', 'event_id.length')}
      WHEN ${blank('type')} THEN 'type.missing@type'
      WHEN NOT (${isStr('type')} AND ${inVocabulary('type', 'lower', EVENT_TYPES)}) THEN 'type.invalid@type'
      WHEN lower(${str('type')}) = 'custom' AND ${blank('name')} THEN 'name.missing@name'
      WHEN NOT ${blank('name')} AND NOT (${isStr('name')} AND length(${str('name')}) <= ${NAME_MAX_LENGTH}) THEN 'name.invalid@name'
      WHEN ${blank('ts')} THEN 'ts.missing@ts'
      WHEN NOT ts_plain AND ${isStr('ts')} AND regexp_full_match(${ts}, ${sqlString(LOCAL_TIME_PATTERN)}) THEN 'ts.no_offset@ts'
      WHEN ts_ms IS NULL THEN 'ts.invalid@ts'
      ${group(
        `flat AND coalesce(greatest(${ID_FIELDS.map((f) => `strlen(${str(f)})`).join(', ')}), 0) <= ${ID_MAX_LENGTH}`,
        ID_FIELDS.map((f) => idRule(f, 'id.invalid')),
      )}
      ${enumRule('device', DEVICES)}
      ${enumRule('app_type', APP_TYPES)}
      ${group(`flat AND record_bytes <= ${TEXT_MAX_LENGTH}`, TEXT_FIELDS.map(textRule))}
      ${group(MONEY_FIELDS.map((f) => `mf_${f}`).join(' AND '), MONEY_FIELDS.map(moneyRules))}
    END`;
}

export const JSON_SPACE = `' ' || chr(9) || chr(10) || chr(13)`;
/** Fields that take an integer in place of a string. */
const INTEGER_FIELDS = ['event_id', ...ID_FIELDS, ...TEXT_FIELDS];
const KNOWN_AS_NULLS = sqlString(JSON.stringify(Object.fromEntries(KNOWN_FIELDS.map((f) => [f, null]))));
/** NaN and Infinity literals: DuckDB's JSON reader takes them, JSON.parse (and the contract) does not. */
const NON_FINITE = '(?i)[+-]?(nan|inf|infinity)';

/** True when one of the JSON values is a bare NaN or Infinity. */
export const nonFiniteAmong = (values: readonly string[]) =>
  `len(list_filter([${values.join(', ')}], x -> regexp_full_match(x::VARCHAR, ${sqlString(NON_FINITE)}))) > 0`;

/**
 * The record-level rejection of `j`, a text cast to JSON (NULL when it is not JSON): not JSON, not
 * an object, `nonFinite` (a bare NaN or Infinity) or `tooDeep`; NULL for a record the rules read.
 */
export function recordShapeSql(j: string, nonFinite: string, tooDeep: string): string {
  return `CASE
      WHEN ${j} IS NULL THEN 'record.invalid_json@record'
      WHEN NOT starts_with(ltrim(${j}::VARCHAR, ${JSON_SPACE}), '{') THEN
        CASE WHEN regexp_full_match(trim(${j}::VARCHAR, ${JSON_SPACE}), ${sqlString(NON_FINITE)}) THEN 'record.invalid_json@record' ELSE 'record.not_object@record' END
      WHEN ${nonFinite} THEN 'record.invalid_json@record'
      WHEN ${tooDeep} THEN 'record.too_deep@record'
    END`;
}

/** A JSON text's brackets alone, its strings cut out: what tooDeep measures. */
export const bracketsOf = (text: string) =>
  `regexp_replace(regexp_replace(${text}, '"(?:[^"\\\\]|\\\\.)*"', '', 'g'), '[^\\[\\]{}]', '', 'g')`;

/**
 * True when brackets (bracketsOf) nest more than RECORD_MAX_DEPTH levels: DuckDB reads JSON of any
 * depth, the JS validator rejects it. Innermost pairs are removed RECORD_MAX_DEPTH times and what
 * remains is deeper; only a text with that many brackets pays for it.
 */
export const tooDeep = (brackets: string) => {
  let inner = brackets;
  for (let i = 0; i < RECORD_MAX_DEPTH; i++) inner = `regexp_replace(${inner}, '\\[\\]|\\{\\}', '', 'g')`;
  return `CASE WHEN strlen(${brackets}) > ${2 * RECORD_MAX_DEPTH} THEN ${inner} <> '' END`;
};

/** The canonical fields the rules read, each from its extracted JSON value `j_<field>`. */
export const FIELDS = [
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

/**
 * Validates and normalises raw records. `raw` must be a relation (table name or parenthesised
 * query) with columns file_seq, source, line, text. `ts` is a TIMESTAMPTZ at millisecond precision,
 * independent of the session's TimeZone.
 */
export function validatedEventsSql(raw: string): string {
  return rulesSql(extractedFromTextSql(raw));
}

/**
 * The length of a plain line holding the fields read into columns: each field given adds
 * `"key":"value",` (the last one's comma stands for the opening brace).
 */
export const plainSize = (keys: readonly string[], ref: (key: string) => string) =>
  `1 + ${keys.map((k) => `coalesce(strlen(${ref(k)}) + ${Buffer.byteLength(k) + 6}, 0)`).join(' + ')}`;
const PLAIN_SIZE = plainSize(EXTRACTED, sqlIdent);

/** A line that may be plain: an object without escapes, every key followed by a quoted value. */
export const PLAIN_SHAPED = `starts_with(text, '{') AND NOT contains(text, '\\') AND NOT regexp_matches(text, '":[^"]')`;

/**
 * Validates JSON lines in one pass where they are plain: compact objects whose values are all
 * strings without escapes, with no keys but the known ones. Those read every field as text with one
 * json_transform and take rules without type tests. `lines` is a relation (file_seq, line, text);
 * the result is validatedEventsSql's plus `general`, true for the other lines (their columns are
 * not filled: the caller validates them with validatedEventsSql), and `record_bytes`, the line's length.
 *
 * Plain is proven per line, cheaply: no backslash (so every string's bytes are its text's), every
 * key directly followed by a quoted value, and the line exactly as long as the compact object of
 * the known fields read: any other key, space, repeated key or trailing text would add bytes.
 */
export function validatedLinesSql(lines: string): string {
  // Only lines that look plain and are valid JSON are transformed: json_transform fails on invalid
  // JSON, and try() would redo every vector holding one bad line row by row (3x slower on 5 % dirt).
  return `SELECT * REPLACE (CASE WHEN general OR reject IS NOT NULL THEN text END AS text) FROM (${rulesSql(
    `(SELECT file_seq, NULL::VARCHAR AS source, line, text, NULL::JSON AS j, true AS flat,
        NULL::VARCHAR AS shape, false AS has_unknown, strlen(text) AS record_bytes,
        NOT coalesce(readable AND strlen(text) = ${PLAIN_SIZE}, false) AS general,
        ${FIELDS.map((f) => `${present('', f)} AS j_${f}`).join(',\n        ')}
      FROM (SELECT file_seq, line, text, readable,
              unnest(CASE WHEN readable THEN json_transform(text, ${struct('VARCHAR')}) END)
            FROM (SELECT file_seq, line, text, coalesce(${PLAIN_SHAPED} AND json_valid(text), false) AS readable FROM ${lines})))`,
    true,
    ['general', 'record_bytes'],
  )})`;
}

/**
 * validatedLinesSql for lines the collector's JS validator has accepted already (spool segments):
 * a plain line is read with one json_transform and normalised as the rules normalise it, without
 * testing the rules again (the JS and SQL validators agree on every contract case). Spool lines are
 * valid JSON whose known fields are all strings, so the length alone proves a line plain: an
 * unknown field (props) or an escape makes it longer. Those lines are `general`, as in
 * validatedLinesSql, and the caller validates them in full.
 */
export function acceptedLinesSql(lines: string): string {
  const text = (f: string) => `nullif(${sqlIdent(f)}, '') AS ${f}`;
  // Casts only where the line is plain: a general line is left to the full rules.
  const plain = (e: string) => `CASE WHEN NOT general THEN ${e} END`;
  const money = (f: string) =>
    `${plain(`CAST(coalesce(nullif(${sqlIdent(f)}, ''), '0') AS ${MONEY_SQL_TYPE})`)} AS ${f}`;
  return `SELECT file_seq, NULL::VARCHAR AS source, line, CASE WHEN general THEN text END AS text, general,
    strlen(text) AS record_bytes, NULL::VARCHAR AS reject,
    nullif(event_id, '') AS event_id, type, nullif(name, '') AS name,
    ${plain(`timezone('UTC', make_timestamp(epoch_ms(CAST(ts AS TIMESTAMP)) * 1000))`)} AS ts,
    ${ID_FIELDS.map(text).join(', ')},
    upper(nullif(device, '')) AS device, upper(nullif(app_type, '')) AS app_type,
    ${TEXT_FIELDS.map(text).join(', ')},
    ${MONEY_FIELDS.map(money).join(', ')},
    NULL::VARCHAR AS props
  FROM (SELECT *, strlen(text) <> ${PLAIN_SIZE} AS general
    FROM (SELECT file_seq, line, text, unnest(json_transform(text, ${struct('VARCHAR')})) FROM ${lines}))`;
}

/**
 * The extraction for validatedEventsSql, from raw text: one JSON parse (the cast), one
 * json_transform that reads every known field of a flat record as text, and for the rare other
 * records one more that reads each field's JSON text.
 */
function extractedFromTextSql(raw: string): string {
  // Records that are not flat are rare: one more json_transform reads each of their fields as its
  // JSON text (the same text json_extract gives), so nothing on the flat path carries those columns.
  const extract = (n: string) => `nullif(jw.${sqlIdent(n)}::VARCHAR, 'null')`;
  const rawOf = (field: string) => {
    const names = [field, ...Object.keys(ALIASES).filter((a) => ALIASES[a] === field)];
    return names.length === 1 ? extract(field) : `coalesce(${names.map(extract).join(', ')})`;
  };
  // A bare NaN/Infinity can only hide in a value that is not a string.
  const nonFinite = `CASE WHEN NOT flat THEN ${nonFiniteAmong(EXTRACTED.map((f) => `jw.${sqlIdent(f)}`))} ELSE false END`;
  const shape = recordShapeSql('j', nonFinite, tooDeep('brackets'));
  // A flat record has unknown fields unless every key was one of the known fields read (a repeated
  // key counts twice in json_keys, once in the struct).
  const knownCount = EXTRACTED.map((f) => `(w.${sqlIdent(f)} IS NOT NULL)::INTEGER`).join(' + ');
  return `(SELECT file_seq, source, line, text, j, flat, ${shape} AS shape,
      j IS NOT NULL AND (NOT flat OR len(json_keys(j)) <> ${knownCount}) AS has_unknown,
      strlen(text) AS record_bytes,
      ${FIELDS.map((f) => `CASE WHEN flat THEN ${present('w', f)} ELSE ${rawOf(f)} END AS j_${f}`).join(',\n      ')}
    FROM (SELECT file_seq, source, line, text, j, flat, json_transform(j, ${struct('VARCHAR')}) AS w,
            CASE WHEN NOT flat THEN json_transform(j, ${struct('JSON')}) END AS jw,
            CASE WHEN NOT flat THEN ${bracketsOf('text')} END AS brackets
          FROM (SELECT file_seq, source, line, text, j, coalesce(j IS NOT NULL AND ${FLAT}, false) AS flat
                FROM (SELECT file_seq, source, line, text, try_cast(text AS JSON) AS j FROM ${raw}))))`;
}

/**
 * The rules over extracted records: file_seq, source, line, text, j, `flat` (every j_<field> is
 * already its string's text), `shape` (a record-level rejection or NULL), `has_unknown` (props to
 * keep from j), record_bytes (at least any string's length) and j_<field> for FIELDS. Mappings
 * (mapping/sql.ts) give their mapped values here too, never rebuilding a record as text.
 */
export function rulesSql(extracted: string, plainStrings = false, keep: readonly string[] = []): string {
  // Where every value is known to be a plain string, types and integer texts are constants, which
  // DuckDB evaluates once per vector instead of once per row.
  const typed = (f: string) =>
    plainStrings
      ? `'VARCHAR' AS t_${f}, j_${f} AS s_${f}`
      : `${typeExpr(f)} AS t_${f}, ${textExpr(f)} AS s_${f}`;
  const integer = (f: string) => `${plainStrings ? 'NULL::VARCHAR' : integerTextExpr(f)} AS i_${f}`;
  const tsStr = `trim(${str('ts')})`;
  const props = `CASE WHEN reject IS NULL AND has_unknown
    THEN nullif(json_merge_patch(j, ${KNOWN_AS_NULLS})::VARCHAR, '{}') END`;
  const sql = `
SELECT file_seq, source, line, text, ${keep.map((k) => `${k}, `).join('')}reject,
  CASE WHEN reject IS NULL THEN ${textOf('event_id')} END AS event_id,
  lower(${str('type')}) AS type,
  nullif(${str('name')}, '') AS name,
  timezone('UTC', make_timestamp(ts_ms * 1000)) AS ts,
  ${ID_FIELDS.map((f) => `${textOf(f)} AS ${f}`).join(',\n  ')},
  upper(nullif(${str('device')}, '')) AS device,
  upper(nullif(${str('app_type')}, '')) AS app_type,
  ${TEXT_FIELDS.map((f) => `${textOf(f)} AS ${f}`).join(',\n  ')},
  ${MONEY_FIELDS.map((f) => `CASE WHEN reject IS NULL THEN ${moneyValue(f)} END AS ${f}`).join(',\n  ')},
  ${props} AS props
FROM (
  SELECT *, ${rejectExpr()} AS reject
  FROM (
    SELECT *,
      CASE WHEN ts_raw BETWEEN 0 AND ${TS_MAX_MS} THEN CAST(ts_raw AS BIGINT) END AS ts_ms,
      ${MONEY_FIELDS.map(moneyDigits).join(',\n      ')}
    FROM (
      SELECT *,
        CASE
          WHEN ts_plain THEN epoch_ms(try_cast(${str('ts')} AS TIMESTAMP))
          WHEN ${isNum('ts')} THEN ${epochMs(`try_cast(${str('ts')} AS DOUBLE)`)}
          WHEN ${isStr('ts')} AND regexp_full_match(${tsStr}, ${sqlString(EPOCH_TEXT_PATTERN)}) THEN ${epochMs(`try_cast(${tsStr} AS DOUBLE)`)}
          WHEN ${isStr('ts')} THEN ${isoMs()}
        END AS ts_raw
      FROM (
        SELECT *,
          CASE WHEN NOT ts_plain AND ${isStr('ts')} THEN regexp_extract(${tsStr}, ${sqlString(ISO_TIME_PATTERN)}, ${list(ISO_PARTS)}) END AS tp,
          ${MONEY_FIELDS.map(moneyParts).join(',\n          ')},
          ${INTEGER_FIELDS.map(integer).join(',\n          ')}
        FROM (
          SELECT *,
            coalesce(${isStr('ts')} AND regexp_full_match(${str('ts')}, ${sqlString(PLAIN_UTC_PATTERN)}), false) AS ts_plain,
            ${MONEY_FIELDS.map(plainMoney).join(',\n            ')}
          FROM (
            SELECT *,
              ${FIELDS.map(typed).join(',\n              ')}
            FROM ${extracted}
          )
        )
      )
    )
  )
)`;
  return plainStrings ? withPlainTypes(sql) : sql;
}

/**
 * The type tests of generated rules as constants, for records whose values are all plain strings,
 * so the optimizer folds them away: a string test is true, a number test false, no integer text.
 */
function withPlainTypes(sql: string): string {
  return sql
    .replace(/\bt_\w+ = 'VARCHAR'/g, 'true')
    .replace(/\bt_\w+ IN \('BIGINT', 'UBIGINT', 'DOUBLE'\)/g, 'false')
    .replace(/\bi_(\w+) IS NOT NULL/g, 'false');
}
