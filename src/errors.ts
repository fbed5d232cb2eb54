// Every error adpipe reports on purpose, with a stable code, an HTTP status and a message template.
// The CLI prints `code: message` and exits non-zero; the API answers `{ error: { code, message } }`.
// Codes are never reused; docs/errors.md lists them.

export const ERRORS = {
  ADP_ERR_CONFIG: { status: 500, message: 'invalid configuration: %s' },
  ADP_ERR_USAGE: { status: 400, message: '%s' },
  ADP_ERR_LOCKED: { status: 409, message: 'another adpipe run holds the lock on %s (pid %s)' },
  ADP_ERR_FILE_CHANGED: {
    status: 409,
    message: 'file %s was already ingested with different content; pass --reprocess to ingest it again',
  },
  ADP_ERR_INPUT: { status: 400, message: 'cannot read input %s: %s' },
  ADP_ERR_UNKNOWN_REPORT: { status: 404, message: 'unknown report %s' },
  ADP_ERR_BAD_PARAM: { status: 400, message: 'invalid parameter %s: %s' },
  ADP_ERR_QUERY: { status: 400, message: 'query failed: %s' },
  ADP_ERR_READ_ONLY: { status: 403, message: 'only read-only statements are allowed' },
  ADP_ERR_SINK: { status: 502, message: 'sink %s failed: %s' },
  ADP_ERR_UNAUTHORIZED: { status: 401, message: 'missing or invalid key' },
  ADP_ERR_FORBIDDEN: { status: 403, message: 'this key may not %s' },
  ADP_ERR_TOO_LARGE: { status: 413, message: 'body larger than %s bytes' },
  ADP_ERR_RATE_LIMITED: { status: 429, message: 'rate limit exceeded, retry after %s s' },
  ADP_ERR_OVERLOADED: { status: 503, message: 'spool behind high-water mark, retry after %s s' },
  ADP_ERR_INTERNAL: { status: 500, message: 'internal error: %s' },
  ADP_ERR_BATCH_TOO_LARGE: { status: 413, message: 'batch has %s events, more than the limit of %s' },
  ADP_ERR_BAD_SIGNATURE: { status: 403, message: 'click URL signature is missing or invalid' },
  ADP_ERR_SQL_OFF: { status: 404, message: 'SQL queries are off; set server.query_sql: true to allow them' },
  ADP_ERR_READ_ONLY_TABLES: {
    status: 403,
    message: 'queries may read only the lake view, rollups, metadata and pipeline tables, not %s',
  },
  ADP_ERR_QUERY_TIMEOUT: { status: 400, message: 'query stopped after the time limit of %s ms' },
  ADP_ERR_KEY_IN_URL: {
    status: 400,
    message:
      'keys go in the Authorization or X-API-Key header, not in the URL (only /v1/live and pixels take ?key=)',
  },
  ADP_ERR_UNKNOWN_ANALYSIS: { status: 404, message: 'unknown analysis %s' },
  ADP_ERR_UNKNOWN_EXPERIMENT: {
    status: 404,
    message: 'unknown experiment %s (declare it under experiments: in adpipe.yaml)',
  },
  ADP_ERR_VALIDATION_FAILED: { status: 500, message: 'validating this request failed: %s' },
  ADP_ERR_DISK_FULL: { status: 503, message: 'no space left on the data disk, retry after %s s' },
  ADP_ERR_QUERY_MEMORY: {
    status: 400,
    message: 'query stopped: it needed more than the memory limit of %s MB',
  },
  ADP_ERR_REPORT_TOO_LARGE: {
    status: 400,
    message:
      'the report would have %s periods at grain %s, more than the limit of %s (server.report_max_periods); use a coarser grain or a shorter range',
  },
  /** Never seen by the client, which has gone: the status logged and counted for the request. */
  ADP_ERR_CANCELLED: { status: 499, message: 'the client closed the connection before the answer was ready' },
  ADP_ERR_SINK_MODEL: {
    status: 409,
    message:
      'sink %s: table %s was built by another report model (its columns or what they count changed); rebuild it from the rollups with: adpipe sink rebuild %s',
  },
  ADP_ERR_ROLLUP_MODEL: {
    status: 409,
    message:
      'rollups of %s were built by another report model; any writing command rebuilds them from the lake, e.g.: adpipe compact',
  },
  ADP_ERR_PORT_IN_USE: {
    status: 500,
    message: 'port %s on %s is in use: use --port or stop the other process',
  },
  ADP_ERR_NO_DATA: { status: 404, message: 'no data in %s yet: run adpipe ingest first' },
  ADP_ERR_NO_MODEL: { status: 404, message: 'no %s model trained yet: run adpipe model %s train' },
  ADP_ERR_NOTHING_TO_TRAIN: { status: 400, message: 'nothing to train the %s model on: %s' },
  ADP_ERR_MAPPING_INVALID: { status: 500, message: 'invalid mapping %s: %s' },
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
