// Output targets. The generator hands a target batches of items per file; a target decides how to
// serialise and where to send them. Files are the only target today; HTTP and stream targets
// implement the same two methods.

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { ALIASES, ID_FIELDS, MONEY_FIELDS, TEXT_FIELDS } from '../events/contract.js';
import { type Item, isAltered } from './arrival.js';
import type { OutputFormat } from './options.js';
import { LineBuffer, type SimRecord, toRecord, writeJsonLine } from './record.js';

export interface FileSink {
  write(batch: readonly Item[]): Promise<void>;
  close(): Promise<void>;
}

export interface Target {
  open(file: number): Promise<FileSink>;
}

/** Zero-padded so that sorting file names gives the arrival order. */
export function fileName(file: number, format: OutputFormat): string {
  return `events-${String(file).padStart(5, '0')}.${format}`;
}

/** One JSON line per item; a malformed raw line is written as it is. */
export function writeItemLine(item: Item, tag: string, out: LineBuffer): void {
  if (!isAltered(item)) writeJsonLine(item, tag, out);
  else out.line(`${typeof item.altered === 'string' ? item.altered : JSON.stringify(item.altered)}\n`);
}

/** Columns of the tabular formats: the contract's canonical fields (aliases land in their canonical column). */
export const TABLE_COLUMNS: readonly string[] = [
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

export function fileTarget(dir: string, format: OutputFormat, tag: string): Target {
  return {
    async open(file) {
      const target = path.join(dir, fileName(file, format));
      switch (format) {
        case 'jsonl.gz':
        case 'jsonl':
          return lineSink(target, format === 'jsonl.gz', (item, out) => writeItemLine(item, tag, out));
        case 'csv':
          return lineSink(
            target,
            false,
            (item, out) => out.line(csvLine(item, tag)),
            `${TABLE_COLUMNS.join(',')}\n`,
          );
        case 'parquet':
          return parquetSink(target, tag);
      }
    },
  };
}

function lineSink(
  file: string,
  gzip: boolean,
  encode: (item: Item, out: LineBuffer) => void,
  header = '',
): FileSink {
  const buffer = new LineBuffer();
  const out = createWriteStream(file);
  // Level 1: on JSON lines it compresses nearly as well as the default at several times the speed.
  const gz = gzip ? createGzip({ level: 1, memLevel: 9 }) : null;
  const done = gz ? pipeline(gz, out) : null;
  const head: Writable = gz ?? out;
  if (header) head.write(header);
  return {
    async write(batch) {
      for (const item of batch) encode(item, buffer);
      if (!head.write(buffer.take())) await once(head, 'drain');
    },
    async close() {
      head.end();
      await (done ?? once(out as WriteStream, 'finish'));
    },
  };
}

function csvLine(item: Item, tag: string): string {
  if (isAltered(item) && typeof item.altered === 'string') return `${item.altered}\n`;
  const rec: SimRecord = isAltered(item) ? canonicalKeys(item.altered as SimRecord) : toRecord(item, tag);
  return `${TABLE_COLUMNS.map((c) => csvField(rec[c])).join(',')}\n`;
}

function canonicalKeys(rec: SimRecord): SimRecord {
  return Object.fromEntries(Object.entries(rec).map(([k, v]) => [ALIASES[k] ?? k, v]));
}

function csvField(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Parquet goes through DuckDB from a temporary JSON-lines file; every column is text so dirt survives. */
function parquetSink(file: string, tag: string): FileSink {
  const tmp = `${file}.tmp.jsonl`;
  // Without raw lines in parquet's dirt (see simulation.ts), every altered item is a record.
  const lines = lineSink(tmp, false, (item, out) => {
    const rec = isAltered(item) ? canonicalKeys(item.altered as SimRecord) : toRecord(item, tag);
    out.line(`${JSON.stringify(Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, String(v)])))}\n`);
  });
  return {
    write: (batch) => lines.write(batch),
    async close() {
      await lines.close();
      const db = await DuckDBInstance.create(':memory:', { threads: '1' });
      const conn = await db.connect();
      try {
        const columns = TABLE_COLUMNS.map((c) => `'${c}': 'VARCHAR'`).join(', ');
        await conn.run(
          `COPY (SELECT * FROM read_json('${sqlText(tmp)}', format = 'newline_delimited', columns = {${columns}})) ` +
            `TO '${sqlText(file)}' (FORMAT parquet)`,
        );
      } finally {
        conn.closeSync();
        db.closeSync();
        await rm(tmp, { force: true });
      }
    },
  };
}

function sqlText(s: string): string {
  return s.replace(/'/g, "''");
}
