/**
 * One place for tests to find the external services (see docs/services.md).
 *
 * Connection settings come from env overrides with local defaults, and `requireService(name)` /
 * `describeWith(name)` decide per test file whether the service is there:
 *
 *   import { describeWith, testServices } from './helpers/services.js';
 *   (await describeWith('postgres'))('postgres sink', () => { ... uses testServices.pgUrl ... });
 *
 * or, equivalently, `describe.skipIf(!(await requireService('postgres')))('postgres sink', ...)`.
 *
 * Locally a missing service skips the suite (with one warning line). In CI (`CI=true`) a missing
 * service throws, so the test file FAILS and names the service and `scripts/services.sh`.
 */
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { describe } from 'vitest';
import { tcpReachable as probeTcp } from '../../src/util/tcp.js';

export const SERVICE_NAMES = [
  'mariadb',
  'postgres',
  'redis',
  'nats',
  'clickhouse',
  'kafka',
  'chromium',
  's3',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

const env = (name: string, fallback: string): string => {
  const value = process.env[name];
  return value !== undefined && value !== '' ? value : fallback;
};

/** Connection settings, read once when the module loads. */
export const testServices = Object.freeze({
  /** MariaDB/MySQL: root without password, database `test`. */
  mysqlUrl: env('ADPIPE_TEST_MYSQL_URL', 'mysql://root@127.0.0.1:3306/test'),
  /** PostgreSQL: trust auth, user postgres, database `test`. */
  pgUrl: env('ADPIPE_TEST_PG_URL', 'postgres://postgres@127.0.0.1:5432/test'),
  redisUrl: env('ADPIPE_TEST_REDIS_URL', 'redis://127.0.0.1:6379'),
  /** NATS with JetStream enabled. */
  natsUrl: env('ADPIPE_TEST_NATS_URL', 'nats://127.0.0.1:4222'),
  /** ClickHouse HTTP interface (Debian's 18.16.1 here; see docs/services.md for what it lacks). */
  clickhouseUrl: env('ADPIPE_TEST_CLICKHOUSE_URL', 'http://127.0.0.1:8123'),
  /** Apache Kafka 4.x in KRaft mode (the broker scripts/services.sh resolves from Maven Central). */
  kafkaUrl: env('ADPIPE_TEST_KAFKA_URL', 'kafka://127.0.0.1:9092'),
  /** The same broker's SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256/512), its user in the URL. */
  kafkaSaslUrl: env('ADPIPE_TEST_KAFKA_SASL_URL', 'kafka://adpipe:adpipe-secret@127.0.0.1:9094'),
  /** Its SASL_SSL listener, whose certificate the test CA (kafkaTlsCa) signed. */
  kafkaTlsUrl: env('ADPIPE_TEST_KAFKA_TLS_URL', 'kafka://adpipe:adpipe-secret@127.0.0.1:9095'),
  kafkaTlsCa: env('ADPIPE_TEST_KAFKA_TLS_CA', '/var/lib/adpipe-kafka/tls/ca.pem'),
  /** Chromium binary for playwright-core `executablePath`. */
  chromiumPath: env('ADPIPE_TEST_CHROMIUM_PATH', '/usr/bin/chromium'),
  /** S3 API endpoint: OpenStack Swift + s3api + tempauth (path-style, Signature V4). */
  s3Url: env('ADPIPE_TEST_S3_URL', 'http://127.0.0.1:8089'),
  s3Region: env('ADPIPE_TEST_S3_REGION', 'us-east-1'),
  /** tempauth's S3 access key is `account:user`. */
  s3AccessKey: env('ADPIPE_TEST_S3_ACCESS_KEY', 'adpipe:tester'),
  s3SecretKey: env('ADPIPE_TEST_S3_SECRET_KEY', 'adpipe-s3-secret'),
});

/** The standard AWS variables that point an AWS SDK client (and adpipe's S3 code) at the test S3. */
export function s3TestEnv(): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: testServices.s3Url,
    AWS_REGION: testServices.s3Region,
    AWS_ACCESS_KEY_ID: testServices.s3AccessKey,
    AWS_SECRET_ACCESS_KEY: testServices.s3SecretKey,
  };
}

const DEFAULT_PORTS: Record<string, number> = {
  'mysql:': 3306,
  'mariadb:': 3306,
  'postgres:': 5432,
  'postgresql:': 5432,
  'redis:': 6379,
  'nats:': 4222,
  'kafka:': 9092,
  'http:': 80,
  'https:': 443,
};

const URL_OF: Record<Exclude<ServiceName, 'chromium'>, { url: string; envName: string }> = {
  mariadb: { url: testServices.mysqlUrl, envName: 'ADPIPE_TEST_MYSQL_URL' },
  postgres: { url: testServices.pgUrl, envName: 'ADPIPE_TEST_PG_URL' },
  redis: { url: testServices.redisUrl, envName: 'ADPIPE_TEST_REDIS_URL' },
  nats: { url: testServices.natsUrl, envName: 'ADPIPE_TEST_NATS_URL' },
  clickhouse: { url: testServices.clickhouseUrl, envName: 'ADPIPE_TEST_CLICKHOUSE_URL' },
  kafka: { url: testServices.kafkaUrl, envName: 'ADPIPE_TEST_KAFKA_URL' },
  s3: { url: testServices.s3Url, envName: 'ADPIPE_TEST_S3_URL' },
};

/** Host and port a service URL points at (default port by scheme). */
export function serviceEndpoint(name: Exclude<ServiceName, 'chromium'>): { host: string; port: number } {
  const { url, envName } = URL_OF[name];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${envName}=${url} is not a valid URL`);
  }
  const port = parsed.port !== '' ? Number(parsed.port) : DEFAULT_PORTS[parsed.protocol];
  if (port === undefined || !Number.isInteger(port)) {
    throw new Error(`${envName}=${url}: cannot tell the port`);
  }
  // URL keeps IPv6 literals bracketed.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return { host, port };
}

/** The bootstrap broker (`host:port`) for Kafka clients. */
export function kafkaBroker(): string {
  const { host, port } = serviceEndpoint('kafka');
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Where a service is expected, for messages. */
export function describeTarget(name: ServiceName): string {
  if (name === 'chromium') return `executable ${testServices.chromiumPath} (ADPIPE_TEST_CHROMIUM_PATH)`;
  const { host, port } = serviceEndpoint(name);
  return `${host}:${port} (${URL_OF[name].envName}=${URL_OF[name].url})`;
}

/** Raw TCP connect with a timeout; resolves true when the connection is accepted. */
export const tcpReachable = (host: string, port: number, timeoutMs = 2000): Promise<boolean> =>
  probeTcp(host, port, timeoutMs);

const probes = new Map<ServiceName, Promise<boolean>>();

/** Whether the service is there (TCP connect, or an executable file for chromium). Never throws. Cached. */
export function serviceAvailable(name: ServiceName): Promise<boolean> {
  let probe = probes.get(name);
  if (probe === undefined) {
    probe = (async () => {
      if (name === 'chromium') {
        try {
          await access(testServices.chromiumPath, fsConstants.X_OK);
          return true;
        } catch {
          return false;
        }
      }
      const { host, port } = serviceEndpoint(name);
      return tcpReachable(host, port);
    })();
    probes.set(name, probe);
  }
  return probe;
}

export const isCI = (): boolean => process.env.CI === 'true';

/** Error thrown in CI when a service is missing. */
export class MissingServiceError extends Error {
  readonly service: ServiceName;
  constructor(name: ServiceName) {
    super(
      `Required test service "${name}" is not available: expected ${describeTarget(name)}. ` +
        `In CI every service must be running; provision it with \`bash scripts/services.sh --only ${name}\` ` +
        '(see docs/services.md).',
    );
    this.name = 'MissingServiceError';
    this.service = name;
  }
}

const warned = new Set<ServiceName>();

/**
 * Resolves true when the service is available. When it is not: in CI (`CI=true`) throws
 * MissingServiceError (the test or test file fails); locally resolves false after printing one
 * warning, so the caller can skip.
 */
export async function requireService(name: ServiceName): Promise<boolean> {
  if (await serviceAvailable(name)) return true;
  if (isCI()) throw new MissingServiceError(name);
  if (!warned.has(name)) {
    warned.add(name);
    console.warn(
      `[adpipe tests] skipping: service "${name}" not available at ${describeTarget(name)}; ` +
        'run `bash scripts/services.sh` to provision it (in CI this is a failure).',
    );
  }
  return false;
}

/** Resolves true only when every listed service is available (same CI/local rules as requireService). */
export async function requireServices(...names: ServiceName[]): Promise<boolean> {
  const results = await Promise.all(names.map((name) => requireService(name)));
  return results.every(Boolean);
}

/**
 * `describe` when all services are available, `describe.skip` locally when one is missing; throws in CI.
 * Usage: `(await describeWith('postgres', 'redis'))('suite name', () => { ... })`.
 */
export async function describeWith(...names: ServiceName[]): Promise<ReturnType<typeof describe.skipIf>> {
  return describe.skipIf(!(await requireServices(...names)));
}
