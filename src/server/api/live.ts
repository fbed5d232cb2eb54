// GET /v1/live: Server-Sent Events from the process's live counters. A `snapshot` of the last
// `seconds` on connect, then a `tick` per second with the second that just ended.

import type { FastifyInstance } from 'fastify';
import { formatMicros } from '../../money.js';
import { LIVE_WINDOW_SECONDS, type LiveSecond, liveCounters } from '../../stream/live-counters.js';

const wire = (s: LiveSecond) => ({
  t: s.t,
  events: s.events,
  impressions: s.impressions,
  clicks: s.clicks,
  revenue: formatMicros(s.revenueMicros),
});

export async function liveRoutes(app: FastifyInstance) {
  const open = new Set<() => void>();
  // SSE responses never end by themselves; end them so the server can close.
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });

  app.get<{ Querystring: { seconds?: number; key?: string } }>(
    '/v1/live',
    {
      config: { keyInUrl: true },
      schema: {
        summary: 'Live traffic as Server-Sent Events: snapshot, then one tick per second',
        tags: ['live'],
        querystring: {
          type: 'object',
          properties: {
            seconds: { type: 'integer', minimum: 1, maximum: LIVE_WINDOW_SECONDS, default: 900 },
            key: { type: 'string', description: 'A read key (EventSource cannot send headers)' },
          },
        },
      },
    },
    (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const send = (event: string, data: unknown) =>
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      // The current second is still filling: report seconds once they have ended.
      const ended = () => Date.now() - 1000;
      send('snapshot', liveCounters.window(req.query.seconds ?? 900, ended()).map(wire));
      const timer = setInterval(() => send('tick', wire(liveCounters.window(1, ended())[0]!)), 1000);
      const end = () => {
        clearInterval(timer);
        open.delete(end);
        res.end();
      };
      open.add(end);
      req.raw.on('close', end);
    },
  );
}
