// The S3 side of the lake: a client from the standard AWS variables (AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL for MinIO, R2, Swift's s3api…, path-style), s3:// URLs, retries with
// exponential backoff, and uploads that go multipart above a threshold, retrying part by part.

import { open, stat } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { AdpipeError } from '../errors.js';
import { componentLogger } from '../logger.js';

const log = componentLogger('s3');

/**
 * A client for the AWS variables. The SDK's own retries are off (maxAttempts 1): `withRetry`
 * is the one policy, so a multipart upload retries the part that failed, not the whole file.
 */
export function s3ClientFromEnv(): S3Client {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  return new S3Client({ maxAttempts: 1, ...(endpoint ? { endpoint, forcePathStyle: true } : {}) });
}

export interface S3Location {
  readonly bucket: string;
  /** '' or ending in '/'. */
  readonly prefix: string;
}

export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (m === null) throw new AdpipeError('ADP_ERR_USAGE', [`${url} is not an s3://bucket/prefix URL`]);
  const prefix = m[2] ?? '';
  return { bucket: m[1] as string, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** The first wait; each next one doubles, with up to 50 % jitter. */
  readonly baseDelayMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200 };

/** A failure worth another try: no answer at all, a throttle or a server error. Not a 4xx. */
function retryable(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status === 429 || status >= 500;
}

/** Runs `call` until it succeeds, a non-retryable error, or the attempts run out (ADP_ERR_SINK_OBJECT_STORE). */
export async function withRetry<T>(what: string, call: () => Promise<T>, policy = DEFAULT_RETRY): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!retryable(err) || attempt >= policy.attempts) {
        throw new AdpipeError(
          'ADP_ERR_SINK_OBJECT_STORE',
          [what, (err as Error).message || (err as Error).name],
          {
            cause: err,
          },
        );
      }
      const delay = policy.baseDelayMs * 2 ** (attempt - 1) * (1 + Math.random() / 2);
      log.warn(
        { what, attempt, delayMs: Math.round(delay), err: (err as Error).message },
        'S3 call failed, retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * Deletes one object, with retries. One DELETE per key: Swift's s3api wants Content-MD5 on a
 * multi-object delete, which the SDK no longer sends (it sends a CRC32).
 */
export async function deleteObject(
  client: S3Client,
  bucket: string,
  key: string,
  retry = DEFAULT_RETRY,
): Promise<void> {
  await withRetry(
    `DELETE ${key}`,
    () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })),
    retry,
  );
}

export interface UploadOptions {
  /** Files larger than this go multipart (default 16 MiB). */
  readonly multipartThreshold?: number;
  /** Bytes per part, at least S3's 5 MiB (default 8 MiB). */
  readonly partSize?: number;
  readonly retry?: RetryPolicy;
}

const MiB = 1024 * 1024;

/** Uploads a local file to bucket/key; returns the number of parts (1 for a single PUT). */
export async function uploadFile(
  client: S3Client,
  file: string,
  bucket: string,
  key: string,
  options: UploadOptions = {},
): Promise<number> {
  const { size } = await stat(file);
  const threshold = options.multipartThreshold ?? 16 * MiB;
  const partSize = options.partSize ?? 8 * MiB;
  const retry = options.retry ?? DEFAULT_RETRY;
  const handle = await open(file, 'r');
  const read = async (offset: number, length: number): Promise<Buffer> => {
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, offset);
    return buf;
  };
  try {
    if (size <= threshold) {
      const body = await read(0, size);
      await withRetry(
        `PUT ${key}`,
        () => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })),
        retry,
      );
      return 1;
    }
    const { UploadId } = await withRetry(
      `create multipart ${key}`,
      () => client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key })),
      retry,
    );
    try {
      const parts: Array<{ ETag?: string; PartNumber: number }> = [];
      for (let offset = 0, n = 1; offset < size; offset += partSize, n++) {
        const body = await read(offset, Math.min(partSize, size - offset));
        const { ETag } = await withRetry(
          `part ${n} of ${key}`,
          () =>
            client.send(
              new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: body }),
            ),
          retry,
        );
        parts.push({ ETag, PartNumber: n });
      }
      await withRetry(
        `complete multipart ${key}`,
        () =>
          client.send(
            new CompleteMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              UploadId,
              MultipartUpload: { Parts: parts },
            }),
          ),
        retry,
      );
      return parts.length;
    } catch (err) {
      // Parts of an abandoned upload cost storage until aborted.
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }))
        .catch(() => undefined);
      throw err;
    }
  } finally {
    await handle.close();
  }
}
