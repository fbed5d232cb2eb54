// The after-commit subscribers (sinks, …) on /metrics, read from their statuses at each scrape.

import { Gauge, type Registry } from 'prom-client';
import type { SubscriberStatus } from '../runtime/subscriber.js';

export function subscriberGauges(registry: Registry, statuses: () => SubscriberStatus[]): void {
  const gauge = (name: string, help: string, value: (s: SubscriberStatus) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['subscriber'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of statuses()) {
          const v = value(s);
          if (v !== undefined) this.set({ subscriber: s.name }, v);
        }
      },
    });
  gauge(
    'adpipe_subscriber_lag_batches',
    'Batches committed that a subscriber (a sink) has not handled yet',
    (s) => (s.latestBatch === undefined ? undefined : s.latestBatch - (s.handledBatch ?? 0)),
  );
  gauge(
    'adpipe_subscriber_consecutive_failures',
    'Attempts of a subscriber (a sink sync) failed in a row; 0 once one succeeds',
    (s) => s.failures,
  );
  gauge('adpipe_subscriber_up', '1 unless the subscriber is failing', (s) => (s.state === 'failing' ? 0 : 1));
}
