// adpipe.yaml: optional, validated strictly (unknown keys are errors), every field defaulted.
// Values of the form `${ENV_NAME}` are read from the environment, so secrets stay out of the file.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AdpipeError } from './errors.js';
import { CANONICAL_FIELDS, EVENT_TYPES, MONEY_FIELDS } from './events/contract.js';
import { isProxyAddress } from './server/client-address.js';
import { sinkRegistry } from './sinks/registry.js';
import { sourceRegistry } from './sources/registry.js';
import { ianaZone } from './util/zone.js';
import { loaderIdSchema } from './warehouse/loader-id.js';

/** Types a keyless pixel may be let record (server.pixel_types): all but click, which needs a signed /c. */
export const PIXEL_TYPE_CHOICES: readonly string[] = EVENT_TYPES.filter((t) => t !== 'click');
/**
 * Contract fields a keyless pixel may be let set (server.pixel_fields): never event_id (the server
 * makes it, or a public id could take a real event's) nor money (only a signed pixel carries it).
 */
export const PIXEL_FIELD_CHOICES: readonly string[] = CANONICAL_FIELDS.filter(
  (f) => f !== 'event_id' && f !== 'type' && !(MONEY_FIELDS as readonly string[]).includes(f),
);
/** By default not the event time nor the client's address and agent either: the server knows them. */
const DEFAULT_PIXEL_FIELDS = PIXEL_FIELD_CHOICES.filter(
  (f) => f !== 'ts' && f !== 'ip' && f !== 'user_agent',
);

const oneOf = (choices: readonly string[]) =>
  z.string().refine((v) => choices.includes(v), { message: `must be one of ${choices.join(', ')}` });

export const serverSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /**
     * Peers whose X-Forwarded-For names the client (a load balancer in front): true for any, or
     * their addresses and CIDR ranges. Default: none, the client is the socket's peer.
     */
    trust_proxy: z
      .union(
        [
          z.boolean(),
          z
            .array(
              z.string().refine(isProxyAddress, {
                message: 'must be an IP address, a CIDR range, or loopback, linklocal or uniquelocal',
              }),
            )
            .min(1),
        ],
        {
          error:
            'must be true, false, or a list of proxy addresses and CIDR ranges (a hop count cannot tell a proxy from a client that claims to be one)',
        },
      )
      .default(false),
    write_keys: z.array(z.string().min(8)).default([]),
    read_keys: z.array(z.string().min(8)).default([]),
    /** Keys for /v1/admin (verify, sinks, SQL for the CLI); each also reads. None: read keys do. */
    admin_keys: z.array(z.string().min(8)).default([]),
    secret: z.string().min(16).optional(),
    pixels_without_key: z.boolean().default(true),
    pixel_types: z.array(oneOf(PIXEL_TYPE_CHOICES)).default(['impression']),
    pixel_fields: z.array(oneOf(PIXEL_FIELD_CHOICES)).default(() => [...DEFAULT_PIXEL_FIELDS]),
    body_limit: z
      .number()
      .int()
      .positive()
      .default(5 * 1024 * 1024),
    max_batch_events: z.number().int().positive().default(10_000),
    rate_limit_per_key: z.number().int().positive().default(1_000_000),
    rate_limit_per_address: z.number().int().positive().default(1_000_000),
    auth_failures_per_address: z.number().int().positive().default(100),
    spool_high_water: z.number().int().positive().default(2_000_000),
    drain_interval_ms: z.number().int().positive().default(2000),
    drain_events: z.number().int().positive().default(200_000),
    /** Longest wait between retries of a drain that keeps failing (the wait doubles from drain_interval_ms). */
    drain_retry_max_ms: z.number().int().positive().default(60_000),
    /** Worker threads validating NDJSON batches and groups of pixels and clicks; 0 validates on the event loop. */
    validator_threads: z.number().int().min(0).default(2),
    segment_events: z.record(z.string(), z.string()).default({}),
    /**
     * A broker URL (kafka://host:9092/topic, redis://…, nats://…): the server is then a stateless
     * collector publishing to it (`serve --publish`), with no warehouse, runtime or data-dir lock.
     */
    publish: z.string().min(1).optional(),
    /** `serve --publish`: events being published at most; over it requests get 503 with Retry-After. */
    publish_max_in_flight: z.number().int().positive().default(100_000),
    /** `serve --publish`: a publish the broker has not acknowledged by then is answered 503. */
    publish_timeout_ms: z.number().int().positive().default(10_000),
    /** A mapping file (YAML) for POST /v1/events bodies: records in a source's shape, mapped before validation. */
    mapping: z.string().min(1).optional(),
    query_sql: z.boolean().default(false),
    query_timeout_ms: z.number().int().positive().default(10_000),
    query_max_rows: z.number().int().positive().default(10_000),
    /** Resident memory of the process a query runs in; it is killed above this. */
    query_memory_mb: z.number().int().min(256).default(512),
    query_threads: z.number().int().min(1).max(64).default(2),
    /** Queries waiting for the one running (one at a time); beyond it a query is answered 503. */
    query_max_queued: z.number().int().min(0).default(16),
    /** A report's time series may have at most this many periods (span / grain). */
    report_max_periods: z.number().int().positive().default(100_000),
    /** Connections reading for the API; one of them only serves cheap reports. */
    report_readers: z.number().int().min(2).default(4),
    /** A report over at most this many days (both dates given) is cheap: it may use every reader. */
    report_cheap_days: z.number().int().min(0).default(31),
  })
  .strict();

/** Thresholds of the `segments` analysis, the seed's rules: a user takes the first rule they pass. */
export const segmentRulesSchema = z
  .object({
    high_value_conversions: z.number().int().min(0).default(5),
    high_value_revenue: z.number().min(0).default(100),
    converter_conversions: z.number().int().min(0).default(0),
    converter_clicks: z.number().int().min(0).default(10),
    clicker_clicks: z.number().int().min(0).default(20),
    viewer_impressions: z.number().int().min(0).default(50),
  })
  .strict();

export const analysesSchema = z
  .object({ segments: segmentRulesSchema.default(() => segmentRulesSchema.parse({})) })
  .strict();

/** An A/B test: variant → integer weight, in the order assignment walks them. */
export const experimentSchema = z
  .object({
    name: z.string().min(1),
    variants: z
      .record(z.string().min(1), z.number().int().positive())
      .refine((v) => Object.keys(v).length >= 2, { message: 'needs at least two variants' })
      // JavaScript lists integer-like keys first, which would change the order assignment walks.
      .refine((v) => !Object.keys(v).some((k) => /^(0|[1-9]\d*)$/.test(k)), {
        message: 'variant names must not be plain integers (their order would not be kept)',
      }),
    control: z.string().min(1),
  })
  .strict()
  .refine((e) => e.control in e.variants, {
    message: 'control must be one of the variants',
    path: ['control'],
  });

export const configSchema = z
  .object({
    data_dir: z.string().optional(),
    /**
     * This data dir's name in shared sinks (several loaders feeding one ClickHouse): default, an id
     * generated once and kept in the warehouse. Fixed once a sink has used it (see loaderId).
     */
    loader_id: loaderIdSchema.optional(),
    tz: ianaZone.default('UTC'),
    metadata: z.string().optional(),
    ingest: z
      .object({
        batch_files: z.number().int().positive().default(10),
      })
      .strict()
      .default({ batch_files: 10 }),
    notify: z
      .object({
        webhook: z.string().url(),
        on: z.array(z.enum(['success', 'failure'])).default(['success', 'failure']),
      })
      .strict()
      .optional(),
    /** Inputs the server loads beside its HTTP intake (configured by `server:`). */
    sources: z.array(sourceRegistry.configSchema()).default([]),
    sinks: z.array(sinkRegistry.configSchema()).default([]),
    server: serverSchema.default(() => serverSchema.parse({})),
    analyses: analysesSchema.default(() => analysesSchema.parse({})),
    experiments: z
      .array(experimentSchema)
      .default([])
      .refine((list) => new Set(list.map((e) => e.name)).size === list.length, {
        message: 'experiment names must be unique',
      }),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type SegmentRules = z.infer<typeof segmentRulesSchema>;
export type Experiment = z.infer<typeof experimentSchema>;

function expandEnv(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
      const v = process.env[name];
      if (v === undefined)
        throw new AdpipeError('ADP_ERR_CONFIG', [`environment variable ${name} is not set`]);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map(expandEnv);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v)]));
  }
  return value;
}

/** Parses and validates a config object; errors name the offending path. */
export function parseConfig(raw: unknown): Config {
  const result = configSchema.safeParse(expandEnv(raw ?? {}));
  if (!result.success) {
    const msg = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new AdpipeError('ADP_ERR_CONFIG', [msg]);
  }
  return result.data;
}

/** Loads `--config FILE`, else $ADPIPE_CONFIG, else ./adpipe.yaml when present, else defaults. */
export function loadConfig(file?: string): Config {
  const candidate =
    file ?? process.env.ADPIPE_CONFIG ?? (existsSync('adpipe.yaml') ? 'adpipe.yaml' : undefined);
  if (!candidate) return parseConfig({});
  let text: string;
  try {
    text = readFileSync(candidate, 'utf8');
  } catch (err) {
    throw new AdpipeError('ADP_ERR_CONFIG', [`cannot read ${candidate}: ${(err as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new AdpipeError('ADP_ERR_CONFIG', [`${candidate} is not valid YAML: ${(err as Error).message}`]);
  }
  return parseConfig(raw);
}

export function resolveDataDir(flag: string | undefined, config: Config): string {
  return path.resolve(flag ?? process.env.ADPIPE_DATA_DIR ?? config.data_dir ?? 'adpipe-data');
}
