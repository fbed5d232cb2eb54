// Input formats, by file extension. Each becomes rows of the same raw relation
// (file_seq, source, line, text: one JSON object as text), so one validator serves every format.

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { sqlIdent, sqlString } from '../../warehouse/quote.js';

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

/** A file to read, with its position in the group and its ledger key. */
export interface RawInput {
  seq: number;
  key: string;
  localPath: string;
  info: FormatInfo;
  /** Parquet columns of DECIMAL type (parquetDecimalsSql): read as text, see recordsSql. */
  decimalColumns?: readonly string[];
}

/**
 * The physical lines of JSON-lines files, read by one multi-file scan so DuckDB decompresses files
 * in parallel. \x01 cannot occur unescaped in valid JSON, so it is a safe column delimiter; blank
 * lines come through as NULL and keep their line number. Output keeps file order (DuckDB preserves
 * insertion order), so a row's position within its file_index is its line number.
 */
export function jsonLinesSql(paths: readonly string[]): string {
  return `SELECT file_index, text FROM read_csv([${paths.map(sqlString).join(', ')}], columns={'text': 'VARCHAR'},
    header=false, delim=E'\\x01', quote='', escape='', auto_detect=false, strict_mode=false, compression='auto',
    max_line_size=16777216)`;
}

/**
 * One record per row as JSON text, for the other formats: element index for JSON arrays, data row
 * number for CSV (the header is line 1) and Parquet.
 */
export function recordsSql(input: RawInput): string {
  const file = sqlString(input.localPath);
  const compression = `compression=${input.info.gzip ? "'gzip'" : "'none'"}`;
  switch (input.info.format) {
    case 'json':
      // read_json_objects spells "no compression" 'uncompressed' ('none' is an error there).
      return `SELECT json::VARCHAR AS text FROM read_json_objects(${file}, format='array', compression=${input.info.gzip ? "'gzip'" : "'uncompressed'"}, maximum_object_size=16777216)`;
    case 'csv':
      return `SELECT to_json(t)::VARCHAR AS text FROM read_csv(${file}, header=true, all_varchar=true, ${compression}) t`;
    case 'parquet': {
      // A DECIMAL becomes a JSON number, which the validator reads as a double (a 17-digit amount
      // would change), so DECIMAL columns go in as decimal strings, which are read exactly.
      const cols = input.decimalColumns ?? [];
      const exact = cols.length
        ? ` REPLACE (${cols.map((c) => `CAST(${sqlIdent(c)} AS VARCHAR) AS ${sqlIdent(c)}`).join(', ')})`
        : '';
      return `SELECT to_json(t)::VARCHAR AS text FROM (SELECT *${exact} FROM read_parquet(${file})) t`;
    }
    case 'jsonl':
      return `SELECT text FROM (${jsonLinesSql([input.localPath])})`;
  }
}

/** The DECIMAL columns of a Parquet file (column_name), for RawInput.decimalColumns. */
export function parquetDecimalsSql(localPath: string): string {
  return `SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(${sqlString(localPath)})) WHERE column_type LIKE 'DECIMAL%'`;
}

/** Line numbers are counted from 1; CSV data starts on line 2, after the header. */
export function firstLine(info: FormatInfo): number {
  return info.format === 'csv' ? 2 : 1;
}

/**
 * Why a gzip file is unreadable (cut off, bad CRC), or undefined when it decompresses to its end.
 * DuckDB reads a truncated gzip stream up to the cut without an error, so a cut-off file would
 * otherwise count in part; the check streams on the thread pool, so files are checked in parallel.
 */
export async function gzipProblem(localPath: string): Promise<string | undefined> {
  try {
    await pipeline(
      createReadStream(localPath, { highWaterMark: 1 << 20 }),
      createGunzip(),
      new Writable({ write: (_chunk, _enc, done) => done() }),
    );
    return undefined;
  } catch (err) {
    return `gzip: ${(err as Error).message}`;
  }
}

/** The uncompressed size mod 2^32 a gzip file's last member records in its trailer (ISIZE). */
export async function gzipTrailerSize(localPath: string): Promise<bigint | undefined> {
  const handle = await open(localPath, 'r');
  try {
    const { size } = await handle.stat();
    if (size < 18) return undefined;
    const tail = Buffer.alloc(4);
    await handle.read(tail, 0, 4, size - 4);
    return BigInt(tail.readUInt32LE(0));
  } finally {
    await handle.close();
  }
}
