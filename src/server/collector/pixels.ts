// Browser endpoints: GET /i (impression pixel, a 1×1 GIF) and GET /c (signed click redirect). Query
// parameters are contract fields; the server fills event_id (UUID v7), ts (now), ip and user agent
// when they are missing. A click is recorded and redirected only with a valid signature.

import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AdpipeError } from '../../errors.js';
import { verifyClick } from './click-signature.js';
import type { Collector } from './collector.js';
import { uuidv7 } from './event-id.js';
import type { CollectorMetrics } from './metrics.js';

/** The smallest transparent GIF. */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Parameters that steer the endpoint rather than describe the event. */
const CONTROL = new Set(['sig', 'key']);

function pixelRecord(req: FastifyRequest, type: string): Record<string, unknown> {
  const rec: Record<string, unknown> = { type };
  for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) if (!CONTROL.has(k)) rec[k] = v;
  rec.event_id ??= uuidv7();
  rec.ts ??= new Date().toISOString();
  rec.ip ??= req.ip;
  rec.user_agent ??= req.headers['user-agent'];
  return rec;
}

function noCache(reply: FastifyReply): FastifyReply {
  return reply
    .header('cache-control', 'no-store, no-cache, must-revalidate, max-age=0')
    .header('pragma', 'no-cache')
    .header('expires', '0');
}

export function registerPixels(
  app: FastifyInstance,
  collector: Collector,
  metrics: CollectorMetrics,
  secret: string | undefined,
  guards: preHandlerAsyncHookHandler[],
): void {
  app.get('/i', { preHandler: guards }, async (req, reply) => {
    const rec = pixelRecord(req, 'impression');
    const result = await collector.acceptObjects([rec], 'pixel', false);
    // The browser only wants an image; a rejected record is in the dead letters and named here.
    if (result.errors[0]) reply.header('x-adpipe-rejected', result.errors[0].code);
    return noCache(reply).type('image/gif').send(GIF);
  });

  app.get('/c', { preHandler: guards }, async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    const flat = Object.values(query).every((v) => typeof v === 'string');
    const url = query.url;
    if (!flat || typeof url !== 'string' || !verifyClick(query as Record<string, string>, secret)) {
      metrics.forgedClicks.inc();
      throw new AdpipeError('ADP_ERR_BAD_SIGNATURE');
    }
    if (!/^https?:\/\//i.test(url))
      throw new AdpipeError('ADP_ERR_BAD_PARAM', ['url', 'must be an http or https URL']);
    const result = await collector.acceptObjects([pixelRecord(req, 'click')], 'click', false);
    if (result.errors[0]) reply.header('x-adpipe-rejected', result.errors[0].code);
    return noCache(reply).redirect(url, 302);
  });
}
