// Every error adpipe reports on purpose, with a stable code, an HTTP status and a message template.
// The CLI prints `code: message` and exits non-zero; the API answers `{ error: { code, message } }`.
// Codes are grouped by stage (ADP_ERR_<STAGE>_…), never reused; docs/errors.md lists them under the
// same headings (test/unit/errors.test.ts keeps the two in step).

export const ERRORS = {
  // General: configuration, command line, parameters, bugs.
  ADP_ERR_CONFIG: { status: 500, message: 'invalid configuration: %s' },
  ADP_ERR_USAGE: { status: 400, message: '%s' },
  ADP_ERR_BAD_PARAM: { status: 400, message: 'invalid parameter %s: %s' },
  ADP_ERR_INTERNAL: { status: 500, message: 'internal error: %s' },

  // Sources: reading input files, folders, S3 prefixes and metadata.
  ADP_ERR_SOURCE_UNREADABLE: { status: 400, message: 'cannot read input %s: %s' },
  ADP_ERR_SOURCE_CHANGED: {
    status: 409,
    message: 'file %s was already ingested with different content; pass --reprocess to ingest it again',
  },
  ADP_ERR_SOURCE_MAPPING_INVALID: { status: 500, message: 'invalid mapping %s: %s' },
  ADP_ERR_SOURCE_FEED_TOKEN: { status: 400, message: 'feed token rejected: %s' },
  ADP_ERR_SOURCE_FEED_KEY: { status: 500, message: 'feed key unusable: %s' },
  ADP_ERR_SOURCE_FEED_PAYLOAD: {
    status: 400,
    message: 'feed payload is neither JSON nor a Python literal: %s',
  },
  ADP_ERR_SOURCE_FEED_FETCH: { status: 502, message: 'feed %s answered %s' },

  // Collector: events over HTTP.
  ADP_ERR_COLLECTOR_BATCH_TOO_LARGE: {
    status: 413,
    message: 'batch has %s events, more than the limit of %s',
  },
  ADP_ERR_COLLECTOR_OVERLOADED: {
    status: 503,
    message: 'collector over its high-water mark (spool or publishes in flight), retry after %s s',
  },
  ADP_ERR_COLLECTOR_DISK_FULL: { status: 503, message: 'no space left on the data disk, retry after %s s' },
  ADP_ERR_COLLECTOR_BAD_SIGNATURE: { status: 403, message: 'click URL signature is missing or invalid' },
  ADP_ERR_COLLECTOR_VALIDATION_FAILED: { status: 500, message: 'validating this request failed: %s' },
  ADP_ERR_COLLECTOR_BROKER_UNAVAILABLE: {
    status: 503,
    message: 'the broker did not acknowledge the events, retry after %s s',
  },

  // Warehouse: the data dir, its lock, its database and rollups.
  ADP_ERR_WAREHOUSE_LOCKED: {
    status: 409,
    message: 'the data dir %s is held by another adpipe process (pid %s): %s',
  },
  ADP_ERR_WAREHOUSE_UNREADABLE: { status: 500, message: 'cannot open the warehouse %s: %s' },
  ADP_ERR_WAREHOUSE_NO_DATA: { status: 404, message: 'no data in %s yet: run adpipe ingest first' },
  ADP_ERR_WAREHOUSE_ROLLUP_MODEL: {
    status: 409,
    message:
      'rollups of %s were built by another report model; any writing command rebuilds them from the lake, e.g.: adpipe compact',
  },

  // Reports and SQL queries.
  ADP_ERR_REPORT_UNKNOWN: { status: 404, message: 'unknown report %s' },
  ADP_ERR_REPORT_TOO_LARGE: {
    status: 400,
    message:
      'the report would have %s periods at grain %s, more than the limit of %s (server.report_max_periods); use a coarser grain or a shorter range',
  },
  ADP_ERR_QUERY_FAILED: { status: 400, message: 'query failed: %s' },
  ADP_ERR_QUERY_READ_ONLY: { status: 403, message: 'only read-only statements are allowed' },
  ADP_ERR_QUERY_READ_ONLY_TABLES: {
    status: 403,
    message: 'queries may read only the lake view, rollups, metadata and pipeline tables, not %s',
  },
  ADP_ERR_QUERY_SQL_OFF: {
    status: 404,
    message: 'SQL queries are off; set server.query_sql: true to allow them',
  },
  ADP_ERR_QUERY_TIMEOUT: { status: 400, message: 'query stopped after the time limit of %s ms' },
  ADP_ERR_QUERY_MEMORY: {
    status: 400,
    message: 'query stopped: it needed more than the memory limit of %s MB',
  },
  ADP_ERR_QUERY_BUSY: {
    status: 503,
    message: '%s queries are waiting already (server.query_max_queued), retry after %s s',
  },

  // Sinks: report tables in SQL databases, the lake pushed to object storage.
  ADP_ERR_SINK_FAILED: { status: 502, message: 'sink %s failed: %s' },
  ADP_ERR_SINK_MODEL: {
    status: 409,
    message:
      'sink %s: table %s was built by another report model (its columns or what they count changed); rebuild it from the rollups with: adpipe sink rebuild %s',
  },
  ADP_ERR_SINK_AHEAD: {
    status: 409,
    message:
      "sink %s: table %s holds batches up to %s of loader %s, but this data dir has committed only up to %s: another data dir synced under this loader id (a replaced data dir?); make the share this data dir's with: adpipe sink rebuild %s",
  },
  ADP_ERR_SINK_OBJECT_STORE: { status: 502, message: 'object storage %s failed: %s' },

  // Analyses and trained models.
  ADP_ERR_ANALYSIS_UNKNOWN: { status: 404, message: 'unknown analysis %s' },
  ADP_ERR_ANALYSIS_UNKNOWN_EXPERIMENT: {
    status: 404,
    message: 'unknown experiment %s (declare it under experiments: in adpipe.yaml)',
  },
  ADP_ERR_MODEL_NOT_TRAINED: { status: 404, message: 'no %s model trained yet: run adpipe model %s train' },
  ADP_ERR_MODEL_NOTHING_TO_TRAIN: { status: 400, message: 'nothing to train the %s model on: %s' },

  // Server: HTTP, keys and limits of any route.
  ADP_ERR_HTTP_UNAUTHORIZED: { status: 401, message: 'missing or invalid key' },
  ADP_ERR_HTTP_FORBIDDEN: { status: 403, message: 'this key may not %s' },
  ADP_ERR_HTTP_KEY_IN_URL: {
    status: 400,
    message:
      'keys go in the Authorization or X-API-Key header, not in the URL (only /v1/live and pixels take ?key=)',
  },
  ADP_ERR_HTTP_RATE_LIMITED: { status: 429, message: 'rate limit exceeded, retry after %s s' },
  ADP_ERR_HTTP_TOO_LARGE: { status: 413, message: 'body larger than %s bytes' },
  /** Never seen by the client, which has gone: the status logged and counted for the request. */
  ADP_ERR_HTTP_CANCELLED: {
    status: 499,
    message: 'the client closed the connection before the answer was ready',
  },
  ADP_ERR_HTTP_NOT_FOUND: { status: 404, message: 'no route %s %s' },
  ADP_ERR_HTTP_PORT_IN_USE: {
    status: 500,
    message: 'port %s on %s is in use: use --port or stop the other process',
  },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class AdpipeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds a client should wait before retrying, sent as Retry-After. */
  readonly retryAfterSeconds?: number;

  constructor(
    code: ErrorCode,
    args: ReadonlyArray<string | number> = [],
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    let i = 0;
    super(
      ERRORS[code].message.replace(/%s/g, () => String(args[i++] ?? '')),
      options,
    );
    this.name = 'AdpipeError';
    this.code = code;
    this.status = ERRORS[code].status;
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function usage(message: string): AdpipeError {
  return new AdpipeError('ADP_ERR_USAGE', [message]);
}
