// Where the collector's accepted events go: the data dir's spool, a source the server's runtime
// loads (the full server), or a broker (`serve --publish`, a stateless collector). Either way the
// collector sees an EventIntake; `stop` runs on shutdown, once requests are finished.

import path from 'node:path';
import type { EventIntake } from '../../sources/spool/intake.js';
import { SpoolSource } from '../../sources/spool/source.js';
import { type CollectorContext, type PublishContext, publishing, type ServerContext } from '../context.js';
import type { CollectorMetrics } from './metrics.js';
import { PublishIntake } from './publish-intake.js';

export interface IntakeSide {
  intake: EventIntake;
  stop(): Promise<void>;
}

export function openIntake(ctx: CollectorContext, metrics: CollectorMetrics): Promise<IntakeSide> {
  return publishing(ctx) ? Promise.resolve(publishIntake(ctx, metrics)) : spoolIntake(ctx, metrics);
}

/** Publishes each request's events, acknowledged once the broker has them. */
function publishIntake(ctx: PublishContext, metrics: CollectorMetrics): IntakeSide {
  const cfg = ctx.config.server;
  const intake = new PublishIntake({
    publisher: ctx.publisher,
    shown: ctx.broker.shown,
    deadLetterDir: ctx.deadLetterDir,
    events: metrics.events,
    health: ctx.readiness,
    maxInFlight: cfg.publish_max_in_flight,
    timeoutMs: cfg.publish_timeout_ms,
    onPublish: (ok, seconds) => metrics.publishes.observe({ result: ok ? 'ok' : 'error' }, seconds),
  });
  metrics.publishInFlight = () => intake.inFlight;
  // Waits for the publishes in flight, then closes the publisher.
  return { intake, stop: () => intake.close() };
}

/** The spool, loaded by the runtime from the start (whatever a previous run left first). */
async function spoolIntake(ctx: ServerContext, metrics: CollectorMetrics): Promise<IntakeSide> {
  const cfg = ctx.config.server;
  const source = await SpoolSource.create({
    dir: path.join(ctx.dataDir, 'spool'),
    segmentEvents: cfg.drain_events,
    intervalMs: cfg.drain_interval_ms,
    retryMaxMs: cfg.drain_retry_max_ms,
    highWater: cfg.spool_high_water,
    events: metrics.events,
    health: ctx.readiness,
    onFsync: (s) => metrics.fsync.observe(s),
  });
  metrics.spoolDepth = () => source.spool.depth();
  await ctx.runtime.start(source, {
    loaded: (batch) => {
      metrics.drains.inc({ result: 'ok' });
      const now = Date.now();
      for (const seg of batch.segments) metrics.ingestLag.observe(Math.max(0, (now - seg.createdMs) / 1000));
    },
    failed: (err, failures, retryMs) => {
      metrics.drains.inc({ result: 'error' });
      metrics.drainFailures.set(failures);
      const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
      ctx.readiness.fail(
        'drain',
        `drain failed ${failures} time(s) in a row, retrying in ${Math.ceil(retryMs / 1000)} s: ${reason}`,
      );
    },
    recovered: () => {
      metrics.drainFailures.set(0);
      ctx.readiness.clear('drain');
    },
  });
  // The runtime loads everything durable.
  return { intake: source.intake, stop: () => ctx.runtime.stop(source) };
}
