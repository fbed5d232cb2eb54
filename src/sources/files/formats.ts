// Input formats, by file extension. Each becomes the same relation of raw records
// (file_seq, source, line, text: one JSON object as text), so one validator serves every format.

import { sqlString } from '../../warehouse/warehouse.js';

export type FileFormat = 'jsonl' | 'json' | 'csv' | 'parquet';

export interface FormatInfo {
  format: FileFormat;
  gzip: boolean;
}

const EXTENSIONS: ReadonlyArray<[RegExp, FileFormat]> = [
  [/\.(jsonl|ndjson)$/i, 'jsonl'],
  [/\.json$/i, 'json'],
  [/\.csv$/i, 'csv'],
  [/\.parquet$/i, 'parquet'],
];

/** The format of a file from its name, or undefined when adpipe does not read it. */
export function formatOf(name: string): FormatInfo | undefined {
  const gzip = /\.gz$/i.test(name);
  const base = gzip ? name.slice(0, -3) : name;
  const hit = EXTENSIONS.find(([re]) => re.test(base));
  if (!hit || (gzip && hit[1] === 'parquet')) return undefined;
  return { format: hit[1], gzip };
}

/**
 * A relation of raw records for one file. Line numbers are 1-based physical lines for JSON lines
 * and CSV (counting the header), element indexes for JSON arrays, row numbers for Parquet.
 */
export function rawRecordsSql(localPath: string, info: FormatInfo, fileSeq: number, source: string): string {
  const file = sqlString(localPath);
  const head = `${fileSeq} AS file_seq, ${sqlString(source)} AS source`;
  const compression = `compression=${info.gzip ? "'gzip'" : "'none'"}`;
  switch (info.format) {
    case 'jsonl':
      // Each physical line as one string: \x01 cannot occur unescaped in valid JSON, so it is a
      // safe delimiter; DuckDB keeps file order, so row_number() is the line number.
      return `(SELECT ${head}, line, text FROM (
  SELECT row_number() OVER () AS line, text FROM read_csv(${file}, columns={'text': 'VARCHAR'}, header=false,
    delim=E'\\x01', quote='', escape='', auto_detect=false, strict_mode=false, ${compression}, max_line_size=16777216)
) WHERE text IS NOT NULL AND trim(text) <> '')`;
    case 'json':
      return `(SELECT ${head}, row_number() OVER () AS line, json::VARCHAR AS text
  FROM read_json_objects(${file}, format='array', ${compression}, maximum_object_size=16777216))`;
    case 'csv':
      return `(SELECT ${head}, row_number() OVER () + 1 AS line, to_json(t)::VARCHAR AS text
  FROM read_csv(${file}, header=true, all_varchar=true, ${compression}) t)`;
    case 'parquet':
      return `(SELECT ${head}, row_number() OVER () AS line, to_json(t)::VARCHAR AS text FROM read_parquet(${file}) t)`;
  }
}
