// Test helpers for the real S3 server (Swift + s3api, see docs/services.md): a client, a fresh
// bucket per test file, emptied and removed afterwards, and a TCP proxy that can drop connections.

import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Socket } from 'node:net';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { serviceEndpoint, testServices } from './services.js';

export function testS3Client(endpoint = testServices.s3Url, maxAttempts = 1): S3Client {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: testServices.s3Region,
    maxAttempts,
    credentials: { accessKeyId: testServices.s3AccessKey, secretAccessKey: testServices.s3SecretKey },
  });
}

export async function createTestBucket(client: S3Client, label: string): Promise<string> {
  const bucket = `adpipe-${label}-${randomBytes(4).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export async function removeTestBucket(client: S3Client, bucket: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? [])
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/** A client and a fresh bucket for the test file's suite: made before its tests, removed after them. */
export function useTestBucket(label: string): { client: S3Client; bucket: string } {
  const s3 = { client: undefined as unknown as S3Client, bucket: '' };
  beforeAll(async () => {
    s3.client = testS3Client();
    s3.bucket = await createTestBucket(s3.client, label);
  });
  afterAll(async () => {
    if (s3.bucket) await removeTestBucket(s3.client, s3.bucket);
    s3.client?.destroy();
  });
  return s3;
}

export interface FlakyProxy {
  readonly url: string;
  /** Connections cut before a byte was forwarded. */
  readonly dropped: () => number;
  close(): Promise<void>;
}

/** A TCP proxy to the S3 server that resets its first `drop` connections: a real network failure. */
export async function startFlakyProxy(drop: number): Promise<FlakyProxy> {
  const target = serviceEndpoint('s3');
  let dropped = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (dropped < drop) {
      dropped++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    dropped: () => dropped,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
