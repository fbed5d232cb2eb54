// What the runtime tells after each warehouse commit. Subscribers (sinks, live counters, the
// run-summary webhook) are told, never awaited by intake: a slow or failing subscriber falls behind
// on its own and catches up from the warehouse, which keeps every batch.

export interface CommittedBatch {
  batchId: number;
  /** What produced the batch's units: files, http, kafka, … */
  kind: string;
  /** Units (files, segments, offset ranges) committed. */
  units: number;
  accepted: number;
  duplicates: number;
  rejected: number;
}

export interface SubscriberStatus {
  name: string;
  /** ok, or what is wrong, for /v1/pipeline and /metrics. */
  state: 'ok' | 'behind' | 'failing';
  /** The last batch this subscriber has fully handled. */
  handledBatch?: number;
  /** The last batch it was told of, where it keeps a watermark. */
  latestBatch?: number;
  /** Attempts failed in a row (0 while ok). */
  failures?: number;
  /** When the next attempt runs after a failure, ISO 8601. */
  retryAt?: string;
  detail?: string;
}

export interface Subscriber {
  readonly name: string;
  /** Called after each commit; must return at once (do the work in the background). */
  committed(batch: CommittedBatch): void;
  status(): SubscriberStatus;
  /** Finishes what is pending (bounded), then releases connections. */
  close(): Promise<void>;
}
