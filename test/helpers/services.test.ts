/**
 * CI canary: every external service the suite needs is up and answers its own protocol.
 * In CI (`CI=true`) a missing service FAILS here with a message naming it and scripts/services.sh;
 * locally missing services are skipped.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { Admin } from '@platformatic/kafka';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import {
  isCI,
  kafkaBroker,
  MissingServiceError,
  requireService,
  SERVICE_NAMES,
  type ServiceName,
  serviceEndpoint,
  tcpReachable,
  testServices,
} from './services.js';
import { makeTempDir, TEST_TMP_ROOT } from './tmp.js';

/** First line the NATS server sends on connect (`INFO {...}`). */
function natsInfo(host: string, port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('timed out waiting for NATS INFO'));
    }, 5000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.destroy();
      const line = buffer.slice(0, end);
      if (!line.startsWith('INFO ')) {
        reject(new Error(`unexpected NATS greeting: ${line.slice(0, 80)}`));
        return;
      }
      resolve(JSON.parse(line.slice(5)) as Record<string, unknown>);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const answers: Record<ServiceName, () => Promise<void>> = {
  async mariadb() {
    const conn = await mysql.createConnection({ uri: testServices.mysqlUrl, connectTimeout: 5000 });
    try {
      const [rows] = await conn.query('SELECT 1 + 1 AS two, DATABASE() AS db');
      expect(rows).toEqual([{ two: 2, db: new URL(testServices.mysqlUrl).pathname.slice(1) }]);
    } finally {
      await conn.end();
    }
  },
  async postgres() {
    const client = new pg.Client({ connectionString: testServices.pgUrl, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      const res = await client.query<{ two: number }>('SELECT 1 + 1 AS two');
      expect(res.rows).toEqual([{ two: 2 }]);
    } finally {
      await client.end();
    }
  },
  async redis() {
    // One try, no reconnect: a canary reports a missing server at once.
    const redis = createClient({
      url: testServices.redisUrl,
      socket: { connectTimeout: 5000, reconnectStrategy: false },
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
    } finally {
      if (redis.isOpen) redis.destroy();
    }
  },
  async nats() {
    const { host, port } = serviceEndpoint('nats');
    const info = await natsInfo(host, port);
    expect(info.jetstream, 'NATS must run with JetStream (-js)').toBe(true);
  },
  async clickhouse() {
    const res = await fetch(
      `${testServices.clickhouseUrl}/?query=${encodeURIComponent('SELECT version()')}`,
      {
        signal: AbortSignal.timeout(5000),
      },
    );
    expect(res.status).toBe(200);
    expect((await res.text()).trim()).toMatch(/^\d+\.\d+/);
  },
  async kafka() {
    const admin = new Admin({ clientId: 'adpipe-canary', bootstrapBrokers: [kafkaBroker()], timeout: 5000 });
    try {
      const metadata = await admin.metadata({ topics: [] });
      expect(metadata.brokers.size, 'one broker in the KRaft test cluster').toBeGreaterThanOrEqual(1);
    } finally {
      await admin.close();
    }
  },
  async chromium() {
    const browser = await chromium.launch({
      executablePath: testServices.chromiumPath,
      args: ['--no-sandbox', '--disable-gpu'],
      timeout: 30_000,
    });
    try {
      const page = await browser.newPage();
      await page.setContent('<p id="x">adpipe</p>');
      expect(await page.textContent('#x')).toBe('adpipe');
    } finally {
      await browser.close();
    }
  },
  async s3() {
    const health = await fetch(`${testServices.s3Url}/healthcheck`, { signal: AbortSignal.timeout(5000) });
    expect(await health.text()).toBe('OK');
    const client = new S3Client({
      endpoint: testServices.s3Url,
      forcePathStyle: true,
      region: testServices.s3Region,
      credentials: { accessKeyId: testServices.s3AccessKey, secretAccessKey: testServices.s3SecretKey },
    });
    try {
      const list = await client.send(new ListBucketsCommand({}));
      expect(list.$metadata.httpStatusCode, 'a Signature V4 ListBuckets is authorised').toBe(200);
    } finally {
      client.destroy();
    }
  },
};

describe('test services', () => {
  for (const name of SERVICE_NAMES) {
    it(`${name} is available and answers`, async (ctx) => {
      if (!(await requireService(name))) {
        ctx.skip();
        return;
      }
      await answers[name]();
    });
  }
});

describe('service helpers', () => {
  it('fails (CI) or skips (locally) for a service that is not there', async () => {
    expect(await tcpReachable('127.0.0.1', 1, 2000)).toBe(false);
    const saved = process.env.CI;
    try {
      process.env.CI = 'true';
      expect(isCI()).toBe(true);
      const err = new MissingServiceError('clickhouse');
      expect(err.message).toContain('"clickhouse"');
      expect(err.message).toContain('scripts/services.sh');
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });

  it('makes temp dirs under test/tmp', () => {
    const dir = makeTempDir('helpers');
    expect(dir.startsWith(TEST_TMP_ROOT)).toBe(true);
    writeFileSync(join(dir, 'f.txt'), 'x');
    expect(existsSync(join(dir, 'f.txt'))).toBe(true);
  });
});
