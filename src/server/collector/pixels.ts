// Browser endpoints: GET /i (impression pixel, a 1×1 GIF) and GET /c (signed click redirect). Query
// parameters are contract fields; the server fills event_id (UUID v7), ts (now), ip and user agent
// when they are missing. A click is recorded and redirected only with a valid signature.

import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AdpipeError } from '../../errors.js';
import { verifyClick } from './click-signature.js';
import type { Collector } from './collector.js';
import { uuidv7 } from './event-id.js';
import type { CollectorMetrics } from './metrics.js';

/** The smallest transparent GIF. */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

function pixelRecord(req: FastifyRequest, type: string): Record<string, unknown> {
  const rec: Record<string, unknown> = { type };
  const query = req.query as Record<string, unknown>;
  // `sig` and `key` steer the endpoint rather than describe the event.
  for (const k in query) if (k !== 'sig' && k !== 'key') rec[k] = query[k];
  rec.event_id ??= uuidv7();
  rec.ts ??= new Date().toISOString();
  rec.ip ??= req.ip;
  rec.user_agent ??= req.headers['user-agent'];
  return rec;
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
    const rejected = await collector.acceptOne(pixelRecord(req, 'impression'), 'pixel');
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
    const rejected = await collector.acceptOne(pixelRecord(req, 'click'), 'click');
    if (rejected) reply.header('x-adpipe-rejected', rejected);
    return reply.headers(NO_CACHE).redirect(url, 302);
  });
}
