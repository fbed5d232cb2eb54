// Request bodies for the collector: read as bytes under the body limit, gunzipped under the same
// limit (a gzip bomb stops at the limit, not in memory), then split into records by content type.

import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { FastifyRequest } from 'fastify';
import { AdpipeError } from '../../errors.js';

const gunzipAsync = promisify(gunzip);

export async function readBody(
  req: FastifyRequest,
  payload: IncomingMessage,
  limit: number,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new AdpipeError('ADP_ERR_HTTP_TOO_LARGE', [limit]);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AdpipeError('ADP_ERR_HTTP_TOO_LARGE', [limit]);
    chunks.push(chunk as Buffer);
  }
  const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  if (encoding === 'identity' || encoding === '') return raw;
  if (encoding !== 'gzip' && encoding !== 'x-gzip')
    throw new AdpipeError('ADP_ERR_BAD_PARAM', [
      'Content-Encoding',
      `${encoding} is not supported (use gzip)`,
    ]);
  try {
    return await gunzipAsync(raw, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new AdpipeError('ADP_ERR_HTTP_TOO_LARGE', [`${limit} (after decompression)`]);
    throw new AdpipeError('ADP_ERR_BAD_PARAM', ['body', `not valid gzip: ${(err as Error).message}`]);
  }
}

/** Parses a whole body as JSON, or answers 400 naming why. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new AdpipeError('ADP_ERR_BAD_PARAM', ['body', `not valid JSON: ${(err as Error).message}`]);
  }
}

export type BatchBody = { ndjson: Buffer } | { records: unknown[] };

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/**
 * A batch for POST /v1/events: `application/json` is an array, `{"events": [...]}` or one event;
 * anything else (application/x-ndjson, text/plain, none) is NDJSON, one event per non-blank line.
 */
export function parseBatch(contentType: string | undefined, body: Buffer): BatchBody {
  if (contentType && JSON_TYPE.test(contentType)) {
    const parsed = parseJson(body);
    if (Array.isArray(parsed)) return { records: parsed };
    const events = (parsed as { events?: unknown } | null)?.events;
    if (Array.isArray(events)) return { records: events };
    return { records: [parsed] };
  }
  return { ndjson: body };
}
