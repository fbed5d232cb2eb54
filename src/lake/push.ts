// `lake push`: mirrors committed lake partitions to S3 as dt=YYYY-MM-DD/hour=HH/*.parquet (Hive
// layout: Athena/Glue, Spark, DuckDB and ClickHouse read it as is). Only partitions with files
// newer than the watermark are touched; each touched partition is made equal to the manifest
// (missing files uploaded, files compacted away deleted), so a compaction never leaves the same
// events twice in the bucket. The watermark (the newest batch pushed) lives in the bucket itself,
// written after the partitions: a push that dies midway is redone whole by the next one, and
// re-uploading a file is harmless (same key, same bytes).

import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { componentLogger } from '../logger.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import {
  DEFAULT_RETRY,
  deleteObject,
  parseS3Url,
  type S3Location,
  type UploadOptions,
  uploadFile,
  withRetry,
} from './object-store.js';

const log = componentLogger('lake-push');

/** The watermark object, beside the partitions: Hive readers skip names starting with '_', and
 * adpipe ingest skips a name without an event format's extension. */
export const WATERMARK_KEY = '_adpipe/push.watermark';

export interface PushResult {
  /** Batch ids: the watermark found and the one written. */
  readonly from: number;
  readonly to: number;
  readonly partitions: number;
  readonly uploaded: number;
  readonly deleted: number;
  readonly bytes: number;
}

export interface PushOptions extends UploadOptions {
  /** Push up to this batch (a sink's sync); default the newest committed. */
  readonly upTo?: number;
}

export async function pushLake(
  wh: Warehouse,
  url: string,
  client: S3Client,
  options: PushOptions = {},
): Promise<PushResult> {
  const at = parseS3Url(url);
  const retry = options.retry ?? DEFAULT_RETRY;
  const from = await readWatermark(client, at, options);
  // A sink's upTo may be a batch that wrote no lake file (all duplicates): the watermark moves past it.
  const newest = await wh.one<{ b: string | null }>('SELECT max(batch_id)::VARCHAR AS b FROM lake_files');
  const to = options.upTo ?? Number(newest?.b ?? 0);
  const result = { from, to: Math.max(from, to), partitions: 0, uploaded: 0, deleted: 0, bytes: 0 };
  if (to <= from) return result;
  const touched = await wh.all<{ dt: string; hour: string }>(
    'SELECT DISTINCT dt, hour FROM lake_files WHERE batch_id > $from AND batch_id <= $to ORDER BY dt, hour',
    { from, to },
  );
  for (const { dt, hour } of touched) {
    const partition = `dt=${dt}/hour=${hour}/`;
    const files = await wh.all<{ path: string; bytes: string }>(
      'SELECT path, bytes::VARCHAR AS bytes FROM lake_files WHERE dt = $dt AND hour = $hour',
      { dt, hour },
    );
    const remote = await listKeys(client, at.bucket, at.prefix + partition, options);
    const wanted = new Map(files.map((f) => [at.prefix + partition + path.basename(f.path), f]));
    for (const [key, file] of wanted) {
      // Same name, same size: uploaded by an earlier, interrupted push (names are unique per write).
      if (remote.get(key) === Number(file.bytes)) continue;
      await uploadFile(client, path.join(wh.lakeDir, file.path), at.bucket, key, options);
      result.uploaded++;
      result.bytes += Number(file.bytes);
    }
    for (const key of remote.keys()) {
      if (wanted.has(key)) continue;
      await deleteObject(client, at.bucket, key, retry);
      result.deleted++;
    }
    result.partitions++;
  }
  const body = JSON.stringify({ batch_id: to, pushed_at: new Date().toISOString() });
  await withRetry(
    'PUT watermark',
    () =>
      client.send(new PutObjectCommand({ Bucket: at.bucket, Key: at.prefix + WATERMARK_KEY, Body: body })),
    retry,
  );
  log.info({ url, ...result }, 'lake pushed');
  return result;
}

/** The newest batch pushed to `url`, read from the bucket (0 before the first push). */
export async function readWatermark(
  client: S3Client,
  at: S3Location,
  options: UploadOptions,
): Promise<number> {
  try {
    const res = await withRetry(
      'GET watermark',
      () => client.send(new GetObjectCommand({ Bucket: at.bucket, Key: at.prefix + WATERMARK_KEY })),
      options.retry,
    );
    const doc = JSON.parse((await res.Body?.transformToString()) ?? '{}') as { batch_id?: number };
    return doc.batch_id ?? 0;
  } catch (err) {
    if ((err as { cause?: { name?: string } }).cause?.name === 'NoSuchKey') return 0;
    throw err;
  }
}

/** Every key under a prefix with its size, page by page (continuation tokens). */
export async function listKeys(
  client: S3Client,
  bucket: string,
  prefix: string,
  options: UploadOptions = {},
): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await withRetry(
      `list ${prefix}`,
      () =>
        client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })),
      options.retry,
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.set(o.Key, o.Size ?? 0);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}
