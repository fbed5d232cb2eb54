// What an API client is told about an error: its code, a message in the request's own terms and
// the request id its log line carries. Paths, SQL and driver messages stay in the log.

import { AdpipeError, ERRORS, type ErrorCode } from '../errors.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; request_id: string };
}

/** An absolute path of two or more segments, e.g. a DuckDB message naming a Parquet file. */
const ABSOLUTE_PATH = /(?<![\w.:/])\/(?:[\w.@*=-]+\/)+[\w.@*=-]*/g;

/** Messages a client may read as they are: what they name came from the request or the config. */
export function withoutPaths(message: string): string {
  return message.replace(ABSOLUTE_PATH, '<path>');
}

/**
 * The status and body for any error a route throws. An AdpipeError keeps its code and status; a
 * server-side failure (status 500 or 502: config, sink, engine) says only that it failed and
 * under which request id, as does any other error of status 500 and up. Other errors (fastify's
 * validation, a malformed body) are 400s with their own message.
 */
export function errorReply(
  err: unknown,
  requestId: string,
): { status: number; body: ErrorBody; retryAfterSeconds?: number } {
  const internal = (code: ErrorCode, status: number) => ({
    status,
    body: {
      error: {
        code,
        message: `internal error; the server log has the details under request id ${requestId}`,
        request_id: requestId,
      },
    },
  });
  if (err instanceof AdpipeError) {
    if (err.status === 500 || err.status === 502) return internal(err.code, err.status);
    return {
      status: err.status,
      body: { error: { code: err.code, message: withoutPaths(err.message), request_id: requestId } },
      retryAfterSeconds: err.retryAfterSeconds,
    };
  }
  const e = err as { statusCode?: number; message?: string };
  const status = e.statusCode ?? 500;
  if (status >= 500) return internal('ADP_ERR_INTERNAL', status);
  const code: ErrorCode = status === 413 ? 'ADP_ERR_HTTP_TOO_LARGE' : 'ADP_ERR_BAD_PARAM';
  return {
    status,
    body: {
      error: { code, message: withoutPaths(e.message ?? ERRORS[code].message), request_id: requestId },
    },
  };
}
