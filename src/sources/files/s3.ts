// S3 (and S3-compatible) inputs through the AWS SDK v3. Region, endpoint and credentials come from
// the usual AWS environment variables and config files; AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL
// points at MinIO/R2/etc., with path-style addressing.

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { AdpipeError } from '../../errors.js';
import type { Unit } from '../source.js';
import { formatOf } from './formats.js';

export function isS3Url(p: string): boolean {
  return p.startsWith('s3://');
}

let client: S3Client | undefined;
function s3(): S3Client {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  client ??= new S3Client({ ...(endpoint ? { endpoint, forcePathStyle: true } : {}) });
  return client;
}

function parseUrl(url: string): { bucket: string; prefix: string } {
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  return slash < 0
    ? { bucket: rest, prefix: '' }
    : { bucket: rest.slice(0, slash), prefix: rest.slice(slash + 1) };
}

export async function listS3(url: string): Promise<Unit[]> {
  const { bucket, prefix } = parseUrl(url);
  const files: Unit[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await s3().send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const obj of page.Contents ?? []) {
        const info = obj.Key ? formatOf(obj.Key) : undefined;
        if (!obj.Key || !info) continue;
        const key = obj.Key;
        files.push({
          key: `s3://${bucket}/${key}`,
          size: obj.Size ?? 0,
          info,
          fetch: () => download(bucket, key),
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (err) {
    throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [url, (err as Error).message], { cause: err });
  }
  return files;
}

/** Streams an object to a temp file, hashing on the way. */
async function download(bucket: string, key: string) {
  const dir = await mkdtemp(path.join(tmpdir(), 'adpipe-s3-'));
  const localPath = path.join(dir, path.basename(key));
  const res = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  const body = res.Body as Readable;
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(body, createWriteStream(localPath));
  return { localPath, hash: hash.digest('hex'), release: () => rm(dir, { recursive: true, force: true }) };
}
