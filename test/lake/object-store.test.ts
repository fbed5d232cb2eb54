// The S3 primitives the lake uses, against the real S3-compatible server scripts/services.sh runs
// (OpenStack Swift + s3api): no fake, real HTTP, Signature V4.

import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { expect, it } from 'vitest';
import { parseS3Url, uploadFile } from '../../src/lake/object-store.js';
import { listKeys } from '../../src/lake/push.js';
import { startFlakyProxy, testS3Client, useTestBucket } from '../helpers/s3.js';
import { describeWith } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

(await describeWith('s3'))('S3 object store (Swift + s3api)', () => {
  const s3 = useTestBucket('os');

  it('puts, heads, gets and deletes an object', async () => {
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'a/b.txt', Body: 'hello' }));
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'a/b.txt' }));
    expect(head.ContentLength).toBe(5);
    const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'a/b.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello');
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: 'a/b.txt' }));
    await expect(
      s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'a/b.txt' })),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('lists many partitions with prefix, delimiter and continuation tokens', async () => {
    const keys: string[] = [];
    for (let d = 1; d <= 3; d++) {
      for (let h = 0; h < 24; h++) {
        keys.push(`lake/dt=2026-03-0${d}/hour=${String(h).padStart(2, '0')}/b1_x.parquet`);
      }
    }
    await Promise.all(
      keys.map((Key) => s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: Key }))),
    );
    // Days as common prefixes, one page.
    const days = await s3.client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'lake/', Delimiter: '/' }),
    );
    expect(days.CommonPrefixes?.map((p) => p.Prefix)).toEqual([
      'lake/dt=2026-03-01/',
      'lake/dt=2026-03-02/',
      'lake/dt=2026-03-03/',
    ]);
    // Hours of one day, 5 per page: 24 prefixes over 5 pages, each token used once.
    const hours: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.client.send(
        new ListObjectsV2Command({
          Bucket: s3.bucket,
          Prefix: 'lake/dt=2026-03-02/',
          Delimiter: '/',
          MaxKeys: 5,
          ContinuationToken: token,
        }),
      );
      pages++;
      hours.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    expect(pages).toBe(5);
    expect(hours).toHaveLength(24);
    expect(new Set(hours).size).toBe(24);
    // Every key, through the lake's own lister.
    const all = await listKeys(s3.client, s3.bucket, 'lake/');
    expect([...all.keys()].sort()).toEqual([...keys].sort());
  });

  it('uploads a large file multipart, part by part, and reads back the same bytes', async () => {
    const file = path.join(makeTempDir('s3-mp'), 'big.bin');
    const data = randomBytes(11 * 1024 * 1024 + 123);
    writeFileSync(file, data);
    const MiB = 1024 * 1024;
    const parts = await uploadFile(s3.client, file, s3.bucket, 'big/big.bin', {
      multipartThreshold: 5 * MiB,
      partSize: 5 * MiB,
    });
    expect(parts).toBe(3);
    const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'big/big.bin' }));
    expect(sha(Buffer.from(await (got.Body?.transformToByteArray() ?? new Uint8Array())))).toBe(sha(data));
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: 'big/big.bin' }));
  });

  it('retries after a dropped connection (a TCP proxy resets the first one), and fails without retries', async () => {
    const file = path.join(makeTempDir('s3-retry'), 'f.txt');
    writeFileSync(file, 'retry me');
    const proxy = await startFlakyProxy(1);
    const viaProxy = testS3Client(proxy.url);
    try {
      await uploadFile(viaProxy, file, s3.bucket, 'retry/f.txt', { retry: { attempts: 3, baseDelayMs: 10 } });
      expect(proxy.dropped()).toBe(1);
      const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'retry/f.txt' }));
      expect(await got.Body?.transformToString()).toBe('retry me');
    } finally {
      viaProxy.destroy();
      await proxy.close();
    }
    const failing = await startFlakyProxy(1);
    const once = testS3Client(failing.url);
    try {
      await expect(
        uploadFile(once, file, s3.bucket, 'retry/g.txt', { retry: { attempts: 1, baseDelayMs: 10 } }),
      ).rejects.toMatchObject({ code: 'ADP_ERR_SINK_OBJECT_STORE' });
    } finally {
      once.destroy();
      await failing.close();
    }
  });

  it('parses s3:// URLs into bucket and a prefix ending in /', () => {
    expect(parseS3Url('s3://b/x/y')).toEqual({ bucket: 'b', prefix: 'x/y/' });
    expect(parseS3Url('s3://b')).toEqual({ bucket: 'b', prefix: '' });
    expect(() => parseS3Url('http://b')).toThrow(/not an s3:\/\/bucket\/prefix URL/);
  });
});
