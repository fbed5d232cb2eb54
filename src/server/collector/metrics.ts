// The collector's Prometheus metrics, one registry per server context (tests run several servers in
// one process), rendered by GET /metrics (src/server/ops.ts).

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { logDestination } from '../../logger.js';
import type { CollectorContext } from '../context.js';

export interface SpoolDepth {
  events: number;
  bytes: number;
  oldestMs: number | undefined;
}

export class CollectorMetrics {
  readonly registry = new Registry();
  /** Set by the collector once its spool is open. */
  spoolDepth: () => SpoolDepth = () => ({ events: 0, bytes: 0, oldestMs: undefined });
  /** Set by a publishing collector (`serve --publish`): events handed to the broker, not yet settled. */
  publishInFlight: () => number = () => 0;

  /** Requests counted since the last scrape, by route and then status. */
  private readonly pendingRequests = new Map<string, Map<number, number>>();
  readonly requests: Counter<'route' | 'status'>;

  /** Counts one answered request (flushed into `requests` when the registry is read). */
  countRequest(route: string, status: number): void {
    let byStatus = this.pendingRequests.get(route);
    if (!byStatus) {
      byStatus = new Map();
      this.pendingRequests.set(route, byStatus);
    }
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }
  readonly events = new Counter({
    name: 'adpipe_collector_events_total',
    help: 'Events received, by source and outcome (accepted, rejected, duplicate)',
    labelNames: ['source', 'outcome'],
    registers: [this.registry],
  });
  readonly forgedClicks = new Counter({
    name: 'adpipe_collector_forged_clicks_total',
    help: 'Click requests refused for a missing or invalid signature (nothing recorded)',
    registers: [this.registry],
  });
  readonly fsync = new Histogram({
    name: 'adpipe_spool_fsync_seconds',
    help: 'Latency of one spool fdatasync (one group commit)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly ingestLag = new Histogram({
    name: 'adpipe_ingest_lag_seconds',
    help: 'From the oldest event of a drained segment reaching the spool to its batch committing to the lake',
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
    registers: [this.registry],
  });
  readonly publishes = new Histogram({
    name: 'adpipe_publish_seconds',
    help: "serve --publish: from handing a request's events to the broker to its answer, by result (ok, error)",
    labelNames: ['result'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });
  readonly drains = new Counter({
    name: 'adpipe_drain_batches_total',
    help: 'Drain attempts by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly drainFailures = new Gauge({
    name: 'adpipe_drain_consecutive_failures',
    help: 'Drains failed in a row (0 once one succeeds); above 0, /readyz fails',
    registers: [this.registry],
  });

  constructor() {
    const pending = this.pendingRequests;
    this.requests = new Counter({
      name: 'adpipe_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'],
      registers: [this.registry],
      collect() {
        for (const [route, byStatus] of pending)
          for (const [status, n] of byStatus) this.inc({ route, status }, n);
        pending.clear();
      },
    });
    const depth = () => this.spoolDepth();
    new Gauge({
      name: 'adpipe_spool_events',
      help: 'Events acknowledged but not yet drained into the lake',
      registers: [this.registry],
      collect() {
        this.set(depth().events);
      },
    });
    new Gauge({
      name: 'adpipe_spool_bytes',
      help: 'Bytes of spool segments not yet drained',
      registers: [this.registry],
      collect() {
        this.set(depth().bytes);
      },
    });
    new Gauge({
      name: 'adpipe_spool_lag_seconds',
      help: 'Age of the oldest undrained event in the spool (0 when empty)',
      registers: [this.registry],
      collect() {
        const oldest = depth().oldestMs;
        this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
      },
    });
    const inFlight = () => this.publishInFlight();
    new Gauge({
      name: 'adpipe_publish_in_flight_events',
      help: 'serve --publish: events handed to the broker and not yet acknowledged or failed',
      registers: [this.registry],
      collect() {
        this.set(inFlight());
      },
    });
    let droppedSeen = 0;
    new Counter({
      name: 'adpipe_log_lines_dropped_total',
      help: 'Log lines dropped because the log could not take them (writes failing, or over 1 MiB queued)',
      registers: [this.registry],
      collect() {
        const dropped = logDestination.dropped;
        this.inc(dropped - droppedSeen);
        droppedSeen = dropped;
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }
}

const byContext = new WeakMap<CollectorContext, CollectorMetrics>();

export function metricsFor(ctx: CollectorContext): CollectorMetrics {
  let m = byContext.get(ctx);
  if (!m) {
    m = new CollectorMetrics();
    byContext.set(ctx, m);
  }
  return m;
}
