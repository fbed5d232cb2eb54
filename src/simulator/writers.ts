// Output targets. The generator hands a target batches of items per file; a target decides how to
// serialise and where to send them. Files are the only target today; HTTP and stream targets
// implement the same two methods.

import { closeSync, openSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { ALIASES, CANONICAL_FIELDS } from '../events/contract.js';
import { sqlString } from '../warehouse/quote.js';
import { type Item, isAltered } from './arrival.js';
import type { World } from './funnel.js';
import type { OutputFormat } from './options.js';
import { Encoder, type SimRecord, toRecord } from './record.js';

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
export function writeItemLine(item: Item, out: Encoder): void {
  if (!isAltered(item)) out.event(item);
  else out.text(`${typeof item.altered === 'string' ? item.altered : JSON.stringify(item.altered)}\n`);
}

/** Columns of the tabular formats: the contract's canonical fields (aliases land in their canonical column). */
export const TABLE_COLUMNS: readonly string[] = CANONICAL_FIELDS;

export function fileTarget(dir: string, format: OutputFormat, world: World): Target {
  return {
    async open(file) {
      const target = path.join(dir, fileName(file, format));
      switch (format) {
        case 'jsonl.gz':
        case 'jsonl':
          return lineSink(target, format === 'jsonl.gz', world, writeItemLine);
        case 'csv':
          return lineSink(
            target,
            false,
            world,
            (item, out) => out.text(csvLine(item, world)),
            `${TABLE_COLUMNS.join(',')}\n`,
          );
        case 'parquet':
          return parquetSink(target, world);
      }
    },
  };
}

/** Bytes of lines compressed per deflate call. */
const GZIP_CHUNK = 4 << 20;
// Level 1: on JSON lines it compresses nearly as well as the default at several times the speed.
// A sync flush ends each chunk on a byte boundary without ending the stream, so chunks compressed
// by separate calls concatenate into one deflate stream.
const DEFLATE = { level: 1, memLevel: 9, chunkSize: 1 << 19, finishFlush: constants.Z_SYNC_FLUSH } as const;
// RFC 1952 member header: deflate, no name, mtime 0 (so the bytes depend only on the seed), OS unknown.
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
// A final, empty fixed-Huffman block: ends the deflate stream.
const DEFLATE_END = Buffer.from([0x03, 0x00]);

const spare = new WeakMap<World, Encoder[]>();

/**
 * Lines are encoded into one reused buffer and written synchronously every few MB. With gzip, each
 * few MB are deflated by one call and appended to a single gzip member whose CRC and size are kept
 * as we go: one member, as most writers produce, so readers can check a file is whole from its
 * trailer (ingest does), and one call per chunk costs less than a stream.
 */
function lineSink(
  file: string,
  gzip: boolean,
  world: World,
  encode: (item: Item, out: Encoder) => void,
  header = '',
): FileSink {
  // A worker writes file after file: reusing encoders keeps its memory flat instead of leaving a
  // few MB of buffer per file for the garbage collector.
  const pool = spare.get(world) ?? [];
  spare.set(world, pool);
  const enc = pool.pop() ?? new Encoder(world, GZIP_CHUNK);
  enc.reset();
  const fd = openSync(file, 'w');
  const put = (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
  };
  let crc = 0;
  let size = 0;
  if (gzip) put(GZIP_HEADER);
  const flush = () => {
    const chunk = enc.output();
    if (gzip) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      put(deflateRawSync(chunk, DEFLATE));
    } else put(chunk);
    enc.reset();
  };
  if (header) enc.text(header);
  return {
    async write(batch) {
      for (const item of batch) {
        encode(item, enc);
        if (enc.size >= GZIP_CHUNK) flush();
      }
    },
    async close() {
      if (enc.size > 0) flush();
      if (gzip) {
        const trailer = Buffer.alloc(8);
        trailer.writeUInt32LE(crc >>> 0, 0);
        trailer.writeUInt32LE(size % 2 ** 32, 4);
        put(DEFLATE_END);
        put(trailer);
      }
      closeSync(fd);
      pool.push(enc);
    },
  };
}

function csvLine(item: Item, world: World): string {
  if (isAltered(item) && typeof item.altered === 'string') return `${item.altered}\n`;
  const rec: SimRecord = isAltered(item) ? canonicalKeys(item.altered as SimRecord) : toRecord(item, world);
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
function parquetSink(file: string, world: World): FileSink {
  const tmp = `${file}.tmp.jsonl`;
  // Without raw lines in parquet's dirt (see simulation.ts), every altered item is a record.
  const lines = lineSink(tmp, false, world, (item, out) => {
    const rec = isAltered(item) ? canonicalKeys(item.altered as SimRecord) : toRecord(item, world);
    out.text(`${JSON.stringify(Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, String(v)])))}\n`);
  });
  return {
    write: (batch) => lines.write(batch),
    async close() {
      await lines.close();
      // Loaded here only: importing DuckDB costs each thread about 0.2 s of CPU that line formats never need.
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const db = await DuckDBInstance.create(':memory:', { threads: '1' });
      const conn = await db.connect();
      try {
        const columns = TABLE_COLUMNS.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ');
        await conn.run(
          `COPY (SELECT * FROM read_json(${sqlString(tmp)}, format = 'newline_delimited', columns = {${columns}})) ` +
            `TO ${sqlString(file)} (FORMAT parquet)`,
        );
      } finally {
        conn.closeSync();
        db.closeSync();
        await rm(tmp, { force: true });
      }
    },
  };
}
