// Operational endpoints: GET /readyz (the spool takes durable writes, the warehouse and lake answer
// — or, on a publishing collector, the broker accepts connections — and no component reports a
// problem through ctx.readiness)
// and GET /metrics (Prometheus). Registered without encapsulation so its request counter sees every
// route of the server, not only its own.

import { randomBytes } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { brokerReachable } from './broker-probe.js';
import { metricsFor } from './collector/metrics.js';
import { type CollectorContext, type PublishContext, publishing, type ServerContext } from './context.js';
import { subscriberGauges } from './subscriber-metrics.js';

async function check(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

/** The spool takes a durable write; the warehouse and the lake answer. */
async function warehouseChecks(ctx: ServerContext): Promise<Record<string, string>> {
  const spoolDir = path.join(ctx.dataDir, 'spool');
  const spool = await check(async () => {
    await mkdir(spoolDir, { recursive: true });
    const probe = path.join(spoolDir, `.ready-${randomBytes(6).toString('hex')}`);
    const fh = await open(probe, 'w');
    try {
      await fh.write('ok\n');
      await fh.datasync();
    } finally {
      await fh.close();
      await rm(probe, { force: true });
    }
  });
  const lake = await check(async () => {
    await mkdir(path.join(ctx.dataDir, 'lake'), { recursive: true });
    const wh = await ctx.warehouse.fork();
    try {
      await wh.one('SELECT count(*) AS n FROM lake_files');
    } finally {
      wh.close();
    }
  });
  return { spool, lake };
}

/** The broker takes connections (the publisher's connection itself is reported through ctx.readiness). */
async function brokerCheck(ctx: PublishContext): Promise<Record<string, string>> {
  const ok = await brokerReachable(ctx.broker);
  return { broker: ok ? 'ok' : `no host of ${ctx.broker.shown} takes connections` };
}

const ops: FastifyPluginAsync<{ ctx: CollectorContext }> = async (app, { ctx }) => {
  const metrics = metricsFor(ctx);
  if (!publishing(ctx)) subscriberGauges(metrics.registry, () => ctx.runtime.subscriberStatus());
  // Counted per request into a plain map (a callback hook: no promise per request) and added to the
  // Prometheus counter when it is scraped, instead of hashing its labels on every request.
  app.addHook('onResponse', (req, reply, done) => {
    metrics.countRequest(req.routeOptions.url ?? 'unmatched', reply.statusCode);
    done();
  });

  app.get('/readyz', async (_req, reply) => {
    const own = publishing(ctx) ? await brokerCheck(ctx) : await warehouseChecks(ctx);
    const checks = { ...own, ...ctx.readiness.problemsNow() };
    const ready = Object.values(checks).every((v) => v === 'ok');
    return reply.status(ready ? 200 : 503).send({ ready, checks });
  });

  app.get('/metrics', async (_req, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
};

// Like fastify-plugin: the hook above applies to the whole server.
(ops as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export default ops;
