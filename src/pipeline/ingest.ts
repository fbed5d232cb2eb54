// Ingest: input units (files, spool segments) → validate → dedup → enrich → lake + rollups, in groups.
// Each group commits atomically: the Parquet files it wrote, its rollup rows, the dedup ids and the
// ledger entries become visible in one warehouse transaction, or not at all (files of a group that
// died before its commit are orphans that removeOrphans deletes on the next run).

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { AdpipeError } from '../errors.js';
import { REJECT_REASONS } from '../events/reasons.js';
import { validatedEventsSql } from '../events/validate-sql.js';
import { recordFiles, writePartitions } from '../lake/lake.js';
import { componentLogger } from '../logger.js';
import { REPORTS } from '../reports/model.js';
import { rollupInsertSql } from '../reports/rollup.js';
import type { InputFile } from '../sources/files/discover.js';
import { rawRecordsSql } from '../sources/files/formats.js';
import { sqlString, type Warehouse } from '../warehouse/warehouse.js';

const log = componentLogger('ingest');

export interface IngestOptions {
  /** Input units per atomic group (seed 000 took 10 files at a time). */
  batchFiles?: number;
  /** Re-read files whose content changed since they were ingested. */
  reprocess?: boolean;
  /** What produced the inputs, recorded on the batch (files, http, …). */
  kind?: string;
  /** Called after each group commits, e.g. to push deltas to sinks. */
  onCommitted?: (batch: BatchResult) => Promise<void>;
  onProgress?: (done: number, total: number) => void;
}

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

export interface IngestSummary {
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

interface Staged {
  input: InputFile;
  hash: string;
  seq: number;
}

export async function ingestFiles(
  wh: Warehouse,
  inputs: readonly InputFile[],
  options: IngestOptions = {},
): Promise<IngestSummary> {
  const started = process.hrtime.bigint();
  const groupSize = options.batchFiles ?? 10;
  const summary: IngestSummary = {
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
  for (let i = 0; i < inputs.length; i += groupSize) {
    const group = inputs.slice(i, i + groupSize);
    const result = await ingestGroup(wh, group, options, summary);
    if (result) {
      summary.batches.push(result);
      summary.accepted += result.accepted;
      summary.duplicates += result.duplicates;
      summary.rejected += result.rejected;
      await options.onCommitted?.(result);
    }
    options.onProgress?.(Math.min(i + groupSize, inputs.length), inputs.length);
  }
  summary.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const events = summary.accepted + summary.duplicates + summary.rejected;
  summary.eventsPerSecond = summary.seconds > 0 ? Math.round(events / summary.seconds) : 0;
  return summary;
}

async function ingestGroup(
  wh: Warehouse,
  group: readonly InputFile[],
  options: IngestOptions,
  summary: IngestSummary,
): Promise<BatchResult | undefined> {
  const batchId = await nextBatchId(wh);
  const startedAt = new Date().toISOString();
  const staged: Staged[] = [];
  const setAside: SetAside[] = [];
  const releases: Array<() => Promise<void>> = [];
  await wh.run(`CREATE OR REPLACE TEMP TABLE staged AS ${validatedEventsSql(EMPTY_RAW)} LIMIT 0`);
  try {
    for (const input of group) {
      const fetched = await input.fetch();
      releases.push(fetched.release);
      const previous = await wh.one<{ hash: string }>('SELECT hash FROM ledger WHERE path = $1', [input.key]);
      if (previous?.hash === fetched.hash) {
        summary.filesSkipped++;
        continue;
      }
      if (previous && !options.reprocess) throw new AdpipeError('ADP_ERR_FILE_CHANGED', [input.key]);
      const seq = staged.length + setAside.length + 1;
      try {
        await wh.run(
          `INSERT INTO staged ${validatedEventsSql(rawRecordsSql(fetched.localPath, input.info, seq, input.key))}`,
        );
        staged.push({ input, hash: fetched.hash, seq });
      } catch (err) {
        // Corrupt or truncated as a whole: none of its events count; the rest of the group goes on.
        const reason = (err as Error).message.split('\n')[0]!;
        log.warn({ file: input.key, reason }, 'file set aside');
        setAside.push({ key: input.key, reason });
      }
    }
    summary.setAside.push(...setAside);
    summary.filesRead += staged.length;
    if (staged.length === 0 && setAside.length === 0) return undefined;
    return await commitGroup(wh, batchId, startedAt, staged, setAside, options.kind ?? 'files');
  } finally {
    await wh.run('DROP TABLE IF EXISTS staged; DROP TABLE IF EXISTS accepted');
    for (const release of releases) await release();
  }
}

const EMPTY_RAW =
  '(SELECT 0 AS file_seq, NULL::VARCHAR AS source, 0::BIGINT AS line, NULL::VARCHAR AS text WHERE false)';

async function nextBatchId(wh: Warehouse): Promise<number> {
  const row = await wh.one<{ id: string }>(
    'SELECT (coalesce(max(batch_id), 0) + 1)::VARCHAR AS id FROM batches',
  );
  return Number(row!.id);
}

/** Dedup against the group and all history (first one wins), then fill missing keys from metadata. */
function acceptedSql(batchId: number): string {
  return `CREATE OR REPLACE TEMP TABLE accepted AS
WITH firsts AS (
  SELECT * FROM staged WHERE reject IS NULL
  QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY file_seq, line) = 1
), fresh AS (
  SELECT * FROM firsts f WHERE NOT EXISTS (SELECT 1 FROM seen_ids s WHERE s.event_id = f.event_id)
)
SELECT fresh.* REPLACE (
    coalesce(fresh.media_id, inv.media_id) AS media_id,
    coalesce(fresh.device, CASE WHEN upper(inv.device) IN ('PC', 'MOBILE') THEN upper(inv.device) END) AS device,
    coalesce(fresh.org_id, m.org_id) AS org_id
  ), ${batchId}::BIGINT AS batch_id
FROM fresh
LEFT JOIN dim_inventory inv ON inv.inventory_id = fresh.inventory_id
LEFT JOIN dim_media m ON m.media_id = coalesce(fresh.media_id, inv.media_id)`;
}

async function commitGroup(
  wh: Warehouse,
  batchId: number,
  startedAt: string,
  staged: readonly Staged[],
  setAside: readonly SetAside[],
  kind: string,
): Promise<BatchResult> {
  await wh.run(acceptedSql(batchId));
  const perFile = await wh.all<{ seq: number; records: string; rejected: string; accepted: string }>(
    `SELECT s.file_seq AS seq, count(*)::VARCHAR AS records, count(*) FILTER (WHERE reject IS NOT NULL)::VARCHAR AS rejected,
       coalesce(any_value(a.n), 0)::VARCHAR AS accepted
     FROM staged s LEFT JOIN (SELECT file_seq, count(*) AS n FROM accepted GROUP BY ALL) a USING (file_seq)
     GROUP BY s.file_seq`,
  );
  const stats = new Map(perFile.map((r) => [Number(r.seq), r]));
  let accepted = 0;
  let rejected = 0;
  let records = 0;
  for (const r of perFile) {
    accepted += Number(r.accepted);
    rejected += Number(r.rejected);
    records += Number(r.records);
  }
  const duplicates = records - accepted - rejected;

  await writeDeadLetters(wh, batchId, rejected, setAside);
  const files = await writePartitions(wh, 'accepted', `b${batchId}`);

  await wh.transaction(async () => {
    await wh.run('INSERT INTO seen_ids SELECT event_id FROM accepted');
    for (const report of REPORTS) await wh.run(rollupInsertSql(report, 'accepted', batchId));
    await recordFiles(wh, batchId, files);
    for (const s of staged) {
      const st = stats.get(s.seq);
      const rec = Number(st?.records ?? 0);
      const acc = Number(st?.accepted ?? 0);
      const rej = Number(st?.rejected ?? 0);
      await wh.run('INSERT OR REPLACE INTO ledger VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())', [
        s.input.key,
        s.input.size,
        s.hash,
        batchId,
        rec,
        acc,
        rec - acc - rej,
        rej,
      ]);
    }
    await wh.run(
      `INSERT INTO batches SELECT $1, $2, $3::TIMESTAMPTZ, now(), $4, $5, $6, $7, min(ts), max(ts) FROM accepted`,
      [batchId, kind, startedAt, staged.length, accepted, duplicates, rejected],
    );
  });
  log.info({ batchId, files: staged.length, accepted, duplicates, rejected }, 'batch committed');
  return { batchId, files: staged.length, accepted, duplicates, rejected };
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
): Promise<void> {
  if (rejected === 0 && setAside.length === 0) return;
  mkdirSync(wh.deadLetterDir, { recursive: true });
  const files = setAside.map(
    (s) =>
      `SELECT ${batchId} AS batch_id, ${sqlString(s.key)} AS source, NULL::BIGINT AS line, NULL::VARCHAR AS text,
        'file.unreadable' AS code, 'file' AS field, ${sqlString(`file set aside: ${s.reason}`)} AS message`,
  );
  const records = `SELECT ${batchId} AS batch_id, source, line, text, split_part(reject, '@', 1) AS code,
      split_part(reject, '@', 2) AS field, split_part(reject, '@', 2) || ': ' || reasons.message AS message
    FROM staged JOIN ${REASONS_SQL} ON reasons.code = split_part(reject, '@', 1)
    WHERE reject IS NOT NULL`;
  const target = path.join(wh.deadLetterDir, `b${batchId}.ndjson`);
  await wh.run(
    `COPY (${[records, ...files].join(' UNION ALL ')} ORDER BY source, line) TO ${sqlString(target)} (FORMAT json)`,
  );
}
