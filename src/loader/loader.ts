// The loader: a source's units (files, spool segments, stream ranges) → validate → dedup → enrich →
// lake + rollups → ledger and source positions, in groups. Each group commits atomically: the
// Parquet files it wrote, its rollup rows, the dedup ids, the ledger entries and the positions the
// source resumes from become visible in one warehouse transaction, or not at all (files of a group
// that died before its commit are orphans that removeOrphans deletes on the next run). Rollup rows
// are computed before the commit (rollup-stage.ts), so an event they cannot take is dead-lettered
// there instead of failing the group, and with it every later one, for good.

import { mkdirSync } from 'node:fs';
import { AdpipeError } from '../errors.js';
import { type Mapping, mappedEventsSql, mappedLinesSql } from '../events/mapping/index.js';
import { REJECT_REASONS } from '../events/reasons.js';
import { acceptedLinesSql, validatedEventsSql, validatedLinesSql } from '../events/validate-sql.js';
import { recordFiles, writePartitions } from '../lake/lake.js';
import { componentLogger } from '../logger.js';
import { deadLetterFile } from '../pipeline/deadletter.js';
import {
  firstLine,
  gzipProblem,
  gzipTrailerSize,
  jsonLinesSql,
  parquetDecimalsSql,
  type RawInput,
  recordsSql,
} from '../sources/files/formats.js';
import type { Positions, Unit } from '../sources/source.js';
import { nextBatchId } from '../warehouse/batches.js';
import { sqlString } from '../warehouse/quote.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { commitRollups, dropStagedRollups, stageRollups } from './rollup-stage.js';

const log = componentLogger('loader');

export interface LoadOptions {
  /** Input units per atomic group (seed 000 took 10 files at a time). */
  batchFiles?: number;
  /** Re-read files whose content changed since they were ingested. */
  reprocess?: boolean;
  /** What produced the inputs, recorded on the batch (files, http, …). */
  kind?: string;
  /** The source's positions once these units are committed (source_positions), written with the last group. */
  positions?: { source: string; positions: Positions };
  /** Called as input is read and each stage of a group ends, so progress moves within a group too. */
  onProgress?: (progress: LoadProgress) => void;
  /** Turns the inputs' records into contract records before validation (docs/events.md, "Mapping your data"). */
  mapping?: Mapping;
}

export interface LoadProgress {
  /** Input bytes through the pipeline: whole groups, plus the current group's share by stage. */
  bytes: number;
  totalBytes: number;
  /** The stage just finished: read, validate, dedup, lake, seen_ids, rollups. */
  stage: string;
}

// The share of a group's time each stage ends at, measured with ADPIPE_LOG_LEVEL=debug on the demo
// (validate 26 %, dedup 2, rollups 24, lake 44, seen_ids 4): only for a progress bar that moves.
// Rollup rows are computed before the lake is written, so a poison event is set aside first.
const STAGE_DONE: Record<string, number> = {
  read: 0.02,
  validate: 0.28,
  dedup: 0.3,
  rollups: 0.54,
  lake: 0.98,
  seen_ids: 1,
};

export interface SetAside {
  key: string;
  reason: string;
}

export interface BatchResult {
  batchId: number;
  files: number;
  accepted: number;
  duplicates: number;
  rejected: number;
}

export interface LoadSummary {
  filesRead: number;
  filesSkipped: number;
  setAside: SetAside[];
  accepted: number;
  duplicates: number;
  rejected: number;
  seconds: number;
  eventsPerSecond: number;
  batches: BatchResult[];
}

/** Reports that a stage of the current group ended; `share` overrides the stage's share (reading file n of k). */
type OnStage = (stage: string, share?: number) => void;

interface Staged {
  input: Unit;
  hash: string;
  seq: number;
  localPath: string;
}

/** A summary of nothing loaded yet, to add batches to (addToSummary) and finish (finishSummary). */
export function emptySummary(): LoadSummary {
  return {
    filesRead: 0,
    filesSkipped: 0,
    setAside: [],
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    seconds: 0,
    eventsPerSecond: 0,
    batches: [],
  };
}

/** Adds a load's counts to a running total (the runtime's, over many source batches). */
export function addToSummary(total: LoadSummary, part: LoadSummary): void {
  total.filesRead += part.filesRead;
  total.filesSkipped += part.filesSkipped;
  total.setAside.push(...part.setAside);
  total.accepted += part.accepted;
  total.duplicates += part.duplicates;
  total.rejected += part.rejected;
  total.batches.push(...part.batches);
}

/** Sets the time taken since `started` (process.hrtime.bigint()) and the rate. */
export function finishSummary(summary: LoadSummary, started: bigint): LoadSummary {
  summary.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const events = summary.accepted + summary.duplicates + summary.rejected;
  summary.eventsPerSecond = summary.seconds > 0 ? Math.round(events / summary.seconds) : 0;
  return summary;
}

/**
 * Loads units in groups of `batchFiles`, one commit each; the positions, if any, go with the last
 * group (or alone when there are no units, e.g. a stream range of messages that carried no events).
 */
export async function loadUnits(
  wh: Warehouse,
  inputs: readonly Unit[],
  options: LoadOptions = {},
): Promise<LoadSummary> {
  const started = process.hrtime.bigint();
  const groupSize = options.batchFiles ?? 10;
  const summary = emptySummary();
  const totalBytes = inputs.reduce((n, f) => n + f.size, 0);
  let bytesBefore = 0;
  for (let i = 0; i < inputs.length || (i === 0 && options.positions); i += groupSize) {
    const group = inputs.slice(i, i + groupSize);
    const groupBytes = group.reduce((n, f) => n + f.size, 0);
    const onStage = (stage: string, share = STAGE_DONE[stage] ?? 0) =>
      options.onProgress?.({ bytes: bytesBefore + Math.round(groupBytes * share), totalBytes, stage });
    const last = i + groupSize >= inputs.length;
    const positions = last ? options.positions : undefined;
    const result = await loadGroup(wh, group, { ...options, positions }, summary, onStage);
    onStage('done', 1); // also when every file of the group was skipped
    bytesBefore += groupBytes;
    if (result) {
      summary.batches.push(result);
      summary.accepted += result.accepted;
      summary.duplicates += result.duplicates;
      summary.rejected += result.rejected;
    }
  }
  return finishSummary(summary, started);
}

async function loadGroup(
  wh: Warehouse,
  group: readonly Unit[],
  options: LoadOptions,
  summary: LoadSummary,
  onStage: OnStage,
): Promise<BatchResult | undefined> {
  const batchId = await nextBatchId(wh);
  const startedAt = new Date().toISOString();
  const fresh: Staged[] = [];
  const releases: Array<() => Promise<void>> = [];
  try {
    const fetched: Array<{ localPath: string; hash: string }> = [];
    for (const [n, input] of group.entries()) {
      onStage('read', (STAGE_DONE.read! * n) / group.length);
      const unit = await input.fetch();
      releases.push(unit.release);
      fetched.push(unit);
    }
    const previous = await ledgerHashes(
      wh,
      group.map((u) => u.key),
    );
    for (const [n, input] of group.entries()) {
      const { hash, localPath } = fetched[n]!;
      const before = previous.get(input.key);
      if (before === hash) {
        summary.filesSkipped++;
        continue;
      }
      if (before !== undefined && !options.reprocess)
        throw new AdpipeError('ADP_ERR_SOURCE_CHANGED', [input.key]);
      fresh.push({ input, hash, seq: fresh.length + 1, localPath });
    }
    if (fresh.length === 0) {
      // Every unit was committed before; a stream may still have moved on (e.g. past messages it skips).
      if (options.positions) await wh.transaction(() => recordPositions(wh, options.positions!, undefined));
      return undefined;
    }
    const setAside = await timed(batchId, 'validate', () => stage(wh, fresh, options.mapping), onStage);
    const staged = fresh.filter((f) => !setAside.some((s) => s.key === f.input.key));
    summary.setAside.push(...setAside);
    summary.filesRead += staged.length;
    const sources = fresh.map((f) => f.input.key);
    return await commitGroup(
      wh,
      batchId,
      startedAt,
      staged,
      setAside,
      sources,
      options.kind ?? 'files',
      onStage,
      options.positions,
    );
  } finally {
    await wh.run('DROP TABLE IF EXISTS raw; DROP TABLE IF EXISTS staged; DROP TABLE IF EXISTS rejected');
    await dropStagedRollups(wh);
    for (const release of releases) await release();
  }
}

/**
 * Reads and validates every file of the group into the temp table staged (validatedEventsSql's
 * columns; text kept only where a dead letter needs it). JSON-lines files (the common case) are read
 * by one parallel multi-file scan and validated in the same pass where their lines are plain
 * (validatedLinesSql); the other lines, and the records of other formats, go through the general
 * validator from the temp table raw. If the scan fails, each file is probed alone so only the
 * unreadable ones are set aside whole.
 */
async function stage(wh: Warehouse, all: readonly Staged[], mapping?: Mapping): Promise<SetAside[]> {
  await wh.run('CREATE OR REPLACE TEMP TABLE raw (file_seq INTEGER, line BIGINT, text VARCHAR)');
  const setAside: SetAside[] = [];
  const fail = (f: Staged, err: unknown) => {
    const reason = (err as Error).message.split('\n')[0]!;
    log.warn({ file: f.input.key, reason }, 'file set aside');
    setAside.push({ key: f.input.key, reason });
  };
  // A cut-off gzip file must be set aside whole: DuckDB reads it up to the cut without an error.
  // JSON lines are checked cheaply after the read (truncatedGzipFiles); other formats in full here.
  const problems = await Promise.all(
    all.map((f) =>
      f.input.info.gzip && f.input.info.format !== 'jsonl' ? gzipProblem(f.localPath) : undefined,
    ),
  );
  const files = all.filter((f, i) => {
    if (problems[i]) fail(f, new Error(problems[i]));
    return !problems[i];
  });
  let lines = files.filter((f) => f.input.info.format === 'jsonl');
  const accepted = lines.length > 0 && lines.every((f) => f.input.accepted);
  // Mapping hook (#18): with a mapping lines are mapped and validated in the read pass.
  const generalLines = mapping ? (rel: string) => mappedLinesSql(mapping, rel) : validatedLinesSql;
  const stageLines = (readable: readonly Staged[], linesSql = generalLines) =>
    wh.run(`CREATE OR REPLACE TEMP TABLE staged AS ${linesSql(linesRelation(readable))}`);
  try {
    await stageLines(lines, accepted && !mapping ? acceptedLinesSql : generalLines);
  } catch {
    // Units that cannot be read are set aside; the rest are validated in full, accepted or not (an
    // accepted unit the trusted read failed on is not what the collector wrote).
    const readable: Staged[] = [];
    for (const f of lines) {
      try {
        await wh.run(`SELECT count(*) FROM (${jsonLinesSql([f.localPath])})`);
        readable.push(f);
      } catch (err) {
        fail(f, err);
      }
    }
    lines = readable;
    await stageLines(lines);
  }
  // Rows keep file order, so a row's offset from its file's first rowid is its line number.
  await wh.run(`UPDATE staged SET line = staged.rowid - f.first + 1
    FROM (SELECT file_seq, min(rowid) AS first FROM staged GROUP BY ALL) f WHERE f.file_seq = staged.file_seq`);
  const cut = await truncatedGzipFiles(wh, lines);
  for (const f of cut) fail(f, new Error('gzip: unexpected end of file'));
  if (cut.length) await wh.run(`DELETE FROM staged WHERE file_seq IN (${cut.map((f) => f.seq).join(', ')})`);
  await wh.run(`INSERT INTO raw SELECT file_seq, line, text FROM staged WHERE general AND trim(text) <> ''`);
  await wh.run('DELETE FROM staged WHERE general');

  for (const f of files.filter((x) => x.input.info.format !== 'jsonl')) {
    const input: RawInput = { seq: f.seq, key: f.input.key, localPath: f.localPath, info: f.input.info };
    try {
      if (f.input.info.format === 'parquet') {
        const decimals = await wh.all<{ column_name: string }>(parquetDecimalsSql(f.localPath));
        input.decimalColumns = decimals.map((d) => d.column_name);
      }
      await wh.run(
        `INSERT INTO raw SELECT ${f.seq}, row_number() OVER () + ${firstLine(f.input.info) - 1}, text FROM (${recordsSql(input)})`,
      );
    } catch (err) {
      fail(f, err);
    }
  }
  // Planning the general validator alone takes ~50 ms: skipped when every line was plain.
  if (!(await wh.one('SELECT 1 AS one FROM raw LIMIT 1'))) return setAside;
  // Validation needs each record's source only for dead letters; it is a constant per file.
  const records = '(SELECT file_seq, NULL::VARCHAR AS source, line, text FROM raw)';
  // Mapping hook (#18): mapped, then validated; a rejected record keeps its original text.
  await wh.run(`INSERT INTO staged BY NAME
    SELECT * REPLACE (CASE WHEN reject IS NOT NULL THEN text END AS text)
    FROM (${mapping ? mappedEventsSql(mapping, records) : validatedEventsSql(records)})`);
  return setAside;
}

/** JSON-lines files as one relation (file_seq, line, text): line is filled in after the read. */
function linesRelation(files: readonly Staged[]): string {
  if (files.length === 0)
    return '(SELECT NULL::INTEGER AS file_seq, NULL::BIGINT AS line, NULL::VARCHAR AS text WHERE false)';
  const seqs = `[${files.map((f) => f.seq).join(', ')}]`;
  return `(SELECT ${seqs}[file_index::BIGINT + 1] AS file_seq, NULL::BIGINT AS line, text
    FROM (${jsonLinesSql(files.map((f) => f.localPath))}))`;
}

/**
 * Runs one stage and logs its duration at debug level (ADPIPE_LOG_LEVEL=debug), for profiling: wall
 * time, and the process's CPU time (every thread: DuckDB's too), which a shared machine moves less.
 * Its end is reported to onStage, for progress.
 */
async function timed<T>(batchId: number, stage: string, fn: () => Promise<T>, onStage: OnStage): Promise<T> {
  const t = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const result = await fn();
  const { user, system } = process.cpuUsage(cpu);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  log.debug({ batchId, stage, ms, cpu_ms: (user + system) / 1000 }, 'stage done');
  onStage(stage);
  return result;
}

/**
 * The gzip JSON-lines files of staged that were cut off. A gzip trailer records the uncompressed
 * size mod 2^32: when the bytes DuckDB read (lines plus newlines) match it, the file is whole.
 * Otherwise (a cut, or legitimately: several gzip members, CRLF line ends) the file is decompressed
 * in full to decide, so the common case costs no second decompression.
 */
async function truncatedGzipFiles(wh: Warehouse, lines: readonly Staged[]): Promise<Staged[]> {
  if (!lines.some((f) => f.input.info.gzip)) return [];
  const sizes = await wh.all<{ seq: number; bytes: string }>(
    `SELECT file_seq AS seq, (sum(coalesce(record_bytes, 0)) + count(*))::VARCHAR AS bytes FROM staged GROUP BY ALL`,
  );
  const read = new Map(sizes.map((r) => [Number(r.seq), BigInt(r.bytes)]));
  const cut = await Promise.all(
    lines.map(async (f) => {
      if (!f.input.info.gzip) return false;
      const trailer = await gzipTrailerSize(f.localPath);
      const bytes = read.get(f.seq) ?? 0n;
      const mod = 2n ** 32n;
      // The last line may lack its newline.
      if (trailer !== undefined && (trailer === bytes % mod || trailer === (bytes - 1n + mod) % mod))
        return false;
      return (await gzipProblem(f.localPath)) !== undefined;
    }),
  );
  return lines.filter((_, i) => cut[i]);
}

/** SQL for a record's source (ledger key) from its 1-based position in the group. */
function sourceOf(sources: readonly string[], fileSeq: string): string {
  return `[${sources.map(sqlString).join(', ')}][${fileSeq}]`;
}

/**
 * Turns staged into the group's accepted events, in place: rejected records move to the temp table
 * rejected (for their dead letters), then repeats of an id within the group (the first by file and
 * line wins) and ids seen in any earlier batch go, then missing keys are filled from metadata.
 * Rejects, duplicates and gaps are rare, so each step touches few rows; nothing copies the whole
 * group again.
 */
async function acceptInPlace(wh: Warehouse): Promise<void> {
  await wh.run(`CREATE OR REPLACE TEMP TABLE rejected AS
    SELECT file_seq, line, text, reject, NULL::VARCHAR AS detail FROM staged WHERE reject IS NOT NULL`);
  await wh.run('DELETE FROM staged WHERE reject IS NOT NULL');
  await wh.run(`DELETE FROM staged WHERE rowid IN (
    SELECT rowid FROM (
      SELECT rowid, row_number() OVER (PARTITION BY event_id ORDER BY file_seq, line) AS n
      FROM staged WHERE event_id IN (SELECT event_id FROM staged GROUP BY event_id HAVING count(*) > 1)
    ) WHERE n > 1
    UNION ALL
    SELECT s.rowid FROM staged s SEMI JOIN seen_ids USING (event_id))`);
  await wh.run(`UPDATE staged SET
      media_id = coalesce(staged.media_id, e.media_id),
      device = coalesce(staged.device, e.device),
      org_id = coalesce(staged.org_id, e.org_id)
    FROM (
      SELECT s.rowid AS row, inv.media_id, CASE WHEN upper(inv.device) IN ('PC', 'MOBILE') THEN upper(inv.device) END AS device,
        m.org_id
      FROM staged s
      LEFT JOIN dim_inventory inv ON inv.inventory_id = s.inventory_id
      LEFT JOIN dim_media m ON m.media_id = coalesce(s.media_id, inv.media_id)
      WHERE s.media_id IS NULL OR s.device IS NULL OR s.org_id IS NULL
    ) e
    WHERE staged.rowid = e.row`);
}

async function commitGroup(
  wh: Warehouse,
  batchId: number,
  startedAt: string,
  staged: readonly Staged[],
  setAside: readonly SetAside[],
  sources: readonly string[],
  kind: string,
  onStage: OnStage,
  positions: LoadOptions['positions'],
): Promise<BatchResult> {
  const counts = await wh.all<{ seq: number; records: string }>(
    'SELECT file_seq AS seq, count(*)::VARCHAR AS records FROM staged GROUP BY ALL',
  );
  const stats = new Map(
    counts.map((r) => [Number(r.seq), { records: Number(r.records), rejected: 0, accepted: 0 }]),
  );
  const total = (k: 'records' | 'rejected' | 'accepted') =>
    [...stats.values()].reduce((n, st) => n + st[k], 0);
  await timed(batchId, 'dedup', () => acceptInPlace(wh), onStage);
  // Before the lake is written: an event the rollups cannot take moves to rejected.
  await timed(batchId, 'rollups', () => stageRollups(wh, batchId), onStage);
  const kept = await wh.all<{ seq: number; accepted: string; rejected: string }>(
    `SELECT file_seq AS seq, count(*) FILTER (WHERE NOT dead)::VARCHAR AS accepted, count(*) FILTER (WHERE dead)::VARCHAR AS rejected
     FROM (SELECT file_seq, false AS dead FROM staged UNION ALL SELECT file_seq, true FROM rejected) GROUP BY ALL`,
  );
  for (const r of kept)
    Object.assign(stats.get(Number(r.seq))!, { accepted: Number(r.accepted), rejected: Number(r.rejected) });
  const accepted = total('accepted');
  const records = total('records');
  const duplicates = records - accepted - total('rejected');
  const preRejected = staged.reduce((n, s) => n + (s.input.rejected?.length ?? 0), 0);
  const rejected = total('rejected') + preRejected;
  await writeDeadLetters(wh, batchId, rejected, setAside, sources, staged);

  // The lake's rows carry their input unit and batch.
  const events = `(SELECT * REPLACE (${sourceOf(sources, 'file_seq')} AS source), ${batchId}::BIGINT AS batch_id FROM staged)`;
  const files = await timed(batchId, 'lake', () => writePartitions(wh, events, `b${batchId}`), onStage);

  await wh.transaction(async () => {
    await timed(
      batchId,
      'seen_ids',
      () => wh.run('INSERT INTO seen_ids SELECT event_id FROM staged'),
      onStage,
    );
    await commitRollups(wh);
    await recordFiles(wh, batchId, files);
    const entries = staged.map((s) => {
      const st = stats.get(s.seq);
      const records = st?.records ?? 0;
      const accepted = st?.accepted ?? 0;
      return {
        path: s.input.key,
        size: s.input.size,
        hash: s.hash,
        records,
        accepted,
        duplicates: records - accepted - (st?.rejected ?? 0),
        rejected: (st?.rejected ?? 0) + (s.input.rejected?.length ?? 0),
      };
    });
    // One statement for the group's units (a stream batch has dozens): a statement costs milliseconds.
    await wh.run(
      `INSERT OR REPLACE INTO ledger
       SELECT path, size, hash, $batch, records, accepted, duplicates, rejected, now()
       FROM ${jsonRows('entries', { path: 'VARCHAR', size: 'BIGINT', hash: 'VARCHAR', records: 'BIGINT', accepted: 'BIGINT', duplicates: 'BIGINT', rejected: 'BIGINT' })}`,
      { batch: batchId, entries: JSON.stringify(entries) },
    );
    await wh.run(
      `INSERT INTO batches SELECT $1, $2, $3::TIMESTAMPTZ, now(), $4, $5, $6, $7, min(ts), max(ts) FROM staged`,
      [batchId, kind, startedAt, staged.length, accepted, duplicates, rejected],
    );
    if (positions) await recordPositions(wh, positions, batchId);
  });
  log.info({ batchId, files: staged.length, accepted, duplicates, rejected }, 'batch committed');
  return { batchId, files: staged.length, accepted, duplicates, rejected };
}

/** A source's stream positions, inside the caller's transaction. */
async function recordPositions(
  wh: Warehouse,
  { source, positions }: NonNullable<LoadOptions['positions']>,
  batchId: number | undefined,
): Promise<void> {
  const rows = Object.entries(positions).map(([stream, position]) => ({ stream, position }));
  if (rows.length === 0) return;
  await wh.run(
    `INSERT OR REPLACE INTO source_positions
     SELECT $source, stream, position, $batch::BIGINT, now()
     FROM ${jsonRows('rows', { stream: 'VARCHAR', position: 'VARCHAR' })}`,
    { source, batch: batchId ?? null, rows: JSON.stringify(rows) },
  );
}

/**
 * The rows of the JSON parameter `$param` (an array of objects) as a relation with these columns:
 * many rows as one bound value, where a statement per row costs milliseconds each.
 */
function jsonRows(param: string, columns: Record<string, string>): string {
  return `(SELECT unnest(from_json($${param}::JSON, ${sqlString(JSON.stringify([columns]))}), recursive := true))`;
}

/** The ledger's hash of each key it holds, in one query. */
async function ledgerHashes(wh: Warehouse, keys: readonly string[]): Promise<Map<string, string>> {
  const rows = await wh.all<{ path: string; hash: string }>(
    `SELECT path, hash FROM ledger WHERE path IN (SELECT unnest(from_json($keys::JSON, '["VARCHAR"]')))`,
    { keys: JSON.stringify(keys) },
  );
  return new Map(rows.map((r) => [r.path, r.hash]));
}

/** The positions committed for a source, by stream. */
export async function committedPositions(wh: Warehouse, source: string): Promise<Positions> {
  const rows = await wh.all<{ stream: string; position: string }>(
    'SELECT stream, position FROM source_positions WHERE source = $1',
    [source],
  );
  return Object.fromEntries(rows.map((r) => [r.stream, r.position]));
}

const REASONS_SQL = `(VALUES ${Object.entries(REJECT_REASONS)
  .map(([code, msg]) => `(${sqlString(code)}, ${sqlString(msg)})`)
  .join(', ')}) AS reasons(code, message)`;

/** Rejected records and set-aside files, with their reasons, as NDJSON named after the batch. */
async function writeDeadLetters(
  wh: Warehouse,
  batchId: number,
  rejected: number,
  setAside: readonly SetAside[],
  sources: readonly string[],
  staged: readonly Staged[],
): Promise<void> {
  if (rejected === 0 && setAside.length === 0) return;
  mkdirSync(wh.deadLetterDir, { recursive: true });
  const files = setAside.map(
    (s) =>
      `SELECT ${batchId} AS batch_id, ${sqlString(s.key)} AS source, NULL::BIGINT AS line, NULL::VARCHAR AS text,
        'file.unreadable' AS code, 'file' AS field, ${sqlString(`file set aside: ${s.reason}`)} AS message`,
  );
  const located = await locateRejected(wh, staged);
  const records = `SELECT ${batchId} AS batch_id, coalesce(loc.source, ${sourceOf(sources, 'r.file_seq')}) AS source,
      coalesce(loc.line, r.line) AS line, text, split_part(reject, '@', 1) AS code,
      split_part(reject, '@', 2) AS field, split_part(reject, '@', 2) || ': ' || coalesce(detail, reasons.message) AS message
    FROM rejected r LEFT JOIN ${REASONS_SQL} ON reasons.code = split_part(reject, '@', 1)
    LEFT JOIN ${jsonRows('located', { file_seq: 'INTEGER', at: 'BIGINT', source: 'VARCHAR', line: 'BIGINT' })} loc
      ON loc.file_seq = r.file_seq AND loc.at = r.line`;
  // Records their source rejected before they became lines (a feed's undecryptable tokens), as
  // one JSON parameter: a page of many bad tokens is no longer a long statement.
  const early = staged.flatMap((s) =>
    (s.input.rejected ?? []).map((r) => ({ ...r, source: r.source ?? s.input.key })),
  );
  const earlyRows = `SELECT ${batchId} AS batch_id, source, line, NULL::VARCHAR AS text, code, field, message
    FROM ${jsonRows('early', { source: 'VARCHAR', line: 'BIGINT', code: 'VARCHAR', field: 'VARCHAR', message: 'VARCHAR' })}`;
  const target = deadLetterFile(wh, batchId);
  await wh.run(
    `COPY (${[records, ...files, earlyRows].join(' UNION ALL ')} ORDER BY source, line) TO ${sqlString(target)} (FORMAT json)`,
    { early: JSON.stringify(early), located },
  );
}

/**
 * (file_seq, at, source, line) for the rejected lines of units that locate their lines (stream
 * ranges: each line's own message), as JSON; rejections are few, so asking each in JS is cheap.
 */
async function locateRejected(wh: Warehouse, staged: readonly Staged[]): Promise<string> {
  const locating = new Map(staged.filter((s) => s.input.locate).map((s) => [s.seq, s.input]));
  const rows: Array<{ file_seq: number; at: number; source: string; line: number }> = [];
  if (locating.size > 0) {
    const lines = await wh.all<{ seq: number; line: string }>(
      `SELECT file_seq AS seq, line::VARCHAR AS line FROM rejected WHERE file_seq IN (${[...locating.keys()].join(', ')})`,
    );
    for (const { seq, line } of lines) {
      const at = Number(line);
      rows.push({ file_seq: seq, at, ...locating.get(seq)!.locate!(at) });
    }
  }
  return JSON.stringify(rows);
}
