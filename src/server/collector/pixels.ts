// Browser endpoints: GET /i (impression pixel, a 1×1 GIF) and GET /c (signed click redirect). Query
// parameters are contract fields; the server fills event_id (UUID v7), ts (now), ip and user agent
// when they are missing. A click is recorded and redirected only with a valid signature.

import type { IncomingMessage, ServerResponse } from 'node:http';
import querystring from 'node:querystring';
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AdpipeError } from '../../errors.js';
import { verifyClick } from './click-signature.js';
import type { Collector } from './collector.js';
import { uuidv7 } from './event-id.js';
import type { CollectorMetrics } from './metrics.js';

/** The smallest transparent GIF. */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** A pixel's or click's record, and whether the server made its event_id (then it is new for sure). */
interface BrowserRecord {
  record: Record<string, unknown>;
  madeId: boolean;
}

function pixelRecord(req: FastifyRequest, type: string): BrowserRecord {
  return recordOf(req.query as Record<string, unknown>, type, req.ip, req.headers['user-agent']);
}

function recordOf(
  query: Record<string, unknown>,
  type: string,
  ip: string | undefined,
  userAgent: string | undefined,
): BrowserRecord {
  const record: Record<string, unknown> = { type };
  // `sig` and `key` steer the endpoint rather than describe the event.
  for (const k in query) if (k !== 'sig' && k !== 'key') record[k] = query[k];
  const madeId = record.event_id === undefined;
  if (madeId) record.event_id = uuidv7();
  record.ts ??= new Date().toISOString();
  record.ip ??= ip;
  record.user_agent ??= userAgent;
  return { record, madeId };
}

/** Set on every pixel and click answer (one object, not a header call each). */
const NO_CACHE = {
  'cache-control': 'no-store, no-cache, must-revalidate, max-age=0',
  pragma: 'no-cache',
  expires: '0',
};
const GIF_HEADERS = { ...NO_CACHE, 'content-type': 'image/gif' };

export function registerPixels(
  app: FastifyInstance,
  collector: Collector,
  metrics: CollectorMetrics,
  secret: string | undefined,
  guards: preHandlerAsyncHookHandler[],
): void {
  // No preHandler array at all when there are no guards: fastify then skips the hook runner.
  const options = guards.length > 0 ? { preHandler: guards } : {};
  app.get('/i', options, async (req, reply) => {
    const { record, madeId } = pixelRecord(req, 'impression');
    const rejected = await collector.acceptOne(record, 'pixel', madeId);
    // The browser only wants an image; a rejected record is in the dead letters and named here.
    if (rejected) reply.header('x-adpipe-rejected', rejected);
    return reply.headers(GIF_HEADERS).send(GIF);
  });

  app.get('/c', options, async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    const flat = Object.values(query).every((v) => typeof v === 'string');
    const url = query.url;
    if (!flat || typeof url !== 'string' || !verifyClick(query as Record<string, string>, secret)) {
      metrics.forgedClicks.inc();
      throw new AdpipeError('ADP_ERR_BAD_SIGNATURE');
    }
    if (!/^https?:\/\//i.test(url))
      throw new AdpipeError('ADP_ERR_BAD_PARAM', ['url', 'must be an http or https URL']);
    const { record, madeId } = pixelRecord(req, 'click');
    const rejected = await collector.acceptOne(record, 'click', madeId);
    if (rejected) reply.header('x-adpipe-rejected', rejected);
    return reply.headers(NO_CACHE).redirect(url, 302);
  });
}

const GIF_RAW_HEADERS = { ...GIF_HEADERS, 'content-length': String(GIF.length) };
/**
 * The GIF as a latin1 string (one char per byte): Node sends a string body in the same write as the
 * headers, a Buffer in a second chunk (a writev per answer).
 */
const GIF_TEXT = GIF.toString('latin1');

/**
 * GET /i without fastify's per-request machinery: routing, hooks, the reply object. It takes the
 * server's `request` event before fastify and answers a pixel the way the route above does (same
 * record, overload check, rate limit, request metrics); everything else, and any pixel it would not
 * answer 200 (overloaded, rate-limited), goes on to fastify unchanged. Used only when pixels need
 * no key. `admit` is the onRequest hook's check: false sends the request on to fastify.
 */
export function pixelFastPath(
  app: FastifyInstance,
  collector: Collector,
  metrics: CollectorMetrics,
  admit: (req: IncomingMessage, query: Record<string, unknown>) => boolean,
): void {
  const server = app.server;
  const handlers = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  if (handlers.length !== 1) return;
  const fastify = handlers[0]!;
  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if (req.method !== 'GET' || url.charCodeAt(1) !== 105 || (url.length > 2 && url.charCodeAt(2) !== 63))
      return fastify.call(server, req, res);
    const query = querystring.parse(url.slice(3)) as Record<string, unknown>;
    if (!admit(req, query)) return fastify.call(server, req, res);
    req.resume();
    const { record, madeId } = recordOf(
      query,
      'impression',
      req.socket.remoteAddress,
      req.headers['user-agent'],
    );
    collector.acceptOne(record, 'pixel', madeId).then(
      (rejected) => {
        if (rejected) res.setHeader('x-adpipe-rejected', rejected);
        res.writeHead(200, GIF_RAW_HEADERS).end(GIF_TEXT, 'latin1');
        metrics.countRequest('/i', 200);
      },
      (err: unknown) => {
        app.log.error({ err }, 'request failed');
        const body = JSON.stringify(new AdpipeError('ADP_ERR_INTERNAL', [(err as Error).message]).toJSON());
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(body);
        metrics.countRequest('/i', 500);
      },
    );
  });
}
