// Keeps each configured sink in sync while serving: a subscriber per sink, told of every commit.
// A commit only marks the sink behind; one sync at a time brings it up to the latest batch it was
// told of, a short debounce after the commit so a burst of commits makes one sync. A sync that
// fails is retried with exponential backoff and jitter up to the sink's retry_max_ms; intake never
// waits for any of it, and the warehouse keeps every batch for the catch-up.

import type { Config } from '../config.js';
import { componentLogger } from '../logger.js';
import type { CommittedBatch, Subscriber, SubscriberStatus } from '../runtime/subscriber.js';
import { retryDelay } from '../util/backoff.js';
import { latestBatch } from '../warehouse/batches.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { configuredSinks, openSink } from './configured.js';
import type { Sink } from './sink.js';
import { isRetryable, oneAtATime } from './sync.js';

const log = componentLogger('sink');

export interface SinkSubscriberOptions {
  /** Wait after a commit before syncing. */
  debounceMs: number;
  /** First wait after a failure; doubles per failure. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Longest close() waits for the last sync. */
  closeTimeoutMs: number;
}

const DEFAULTS = { debounceMs: 200, retryBaseMs: 1000, closeTimeoutMs: 10_000 };

export class SinkSubscriber implements Subscriber {
  /** The latest batch it was told of: what the next sync brings the sink up to. */
  private latest = 0;
  /** Where the sink is known to be; undefined until the first sync ends. */
  private handled: number | undefined;
  private failures = 0;
  private lastError: string | undefined;
  private retryAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly sink: Sink,
    private readonly opts: SinkSubscriberOptions,
    /** Releases what the sink was made on (its warehouse connection), after the sink is closed. */
    private readonly release: () => void = () => undefined,
  ) {}

  get name(): string {
    return this.sink.name;
  }

  /** Catches up with what was committed before the server started (or while it was away). */
  start(latest: number): void {
    this.latest = Math.max(this.latest, latest);
    this.schedule(0);
  }

  committed(batch: CommittedBatch): void {
    this.latest = Math.max(this.latest, batch.batchId);
    // After a failure the retry timer decides; a commit does not hurry a sink that is down.
    if (this.retryAt === undefined) this.schedule(this.opts.debounceMs);
  }

  status(): SubscriberStatus {
    const behind = this.handled === undefined || this.handled < this.latest;
    return {
      name: this.name,
      state: this.failures > 0 ? 'failing' : behind ? 'behind' : 'ok',
      handledBatch: this.handled,
      latestBatch: this.latest,
      failures: this.failures,
      retryAt: this.retryAt === undefined ? undefined : new Date(this.retryAt).toISOString(),
      detail: this.lastError,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    // The last commits' sync, unless the sink is down: then it stays behind until the next start.
    // After the one in flight, which may have started before the last commit.
    const inFlight = this.inFlight;
    const last = (async () => {
      await inFlight;
      if (this.failures === 0 && this.handled !== this.latest) await this.run();
    })();
    let bound: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      bound = setTimeout(() => resolve(true), this.opts.closeTimeoutMs);
    });
    if (await Promise.race([last.then(() => false), timedOut]))
      log.warn({ sink: this.name, waitedMs: this.opts.closeTimeoutMs }, 'sink sync still running at close');
    clearTimeout(bound);
    await this.sink.close();
    this.release();
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.timer || this.inFlight) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.run().finally(() => {
        this.inFlight = undefined;
        this.next();
      });
    }, delayMs);
    this.timer.unref();
  }

  /** After a sync: the retry when it failed, another sync when commits came meanwhile. */
  private next(): void {
    if (this.retryAt !== undefined) this.schedule(Math.max(0, this.retryAt - Date.now()));
    else if (this.handled !== undefined && this.handled < this.latest) this.schedule(this.opts.debounceMs);
  }

  private async run(): Promise<void> {
    const upTo = this.latest;
    try {
      await oneAtATime(this.name, () => this.sink.sync(upTo));
      if (this.failures > 0) log.info({ sink: this.name, upTo, failures: this.failures }, 'sink caught up');
      this.handled = upTo;
      this.failures = 0;
      this.lastError = undefined;
      this.retryAt = undefined;
    } catch (err) {
      this.failures++;
      this.lastError = (err as Error).message;
      // A sink built by another report model (or ahead of this data dir) needs `adpipe sink rebuild`:
      // only look now and then.
      const delay = isRetryable(err)
        ? retryDelay(this.opts.retryBaseMs, this.opts.retryMaxMs, this.failures)
        : this.opts.retryMaxMs;
      this.retryAt = Date.now() + delay;
      log.warn(
        { sink: this.name, upTo, failures: this.failures, retryMs: delay, err: this.lastError },
        'sink sync failed; intake goes on, the sink catches up later',
      );
    }
  }
}

/**
 * A subscriber per configured sink for the runtime, each reading the warehouse on a connection of
 * its own (closed with it) so sinks sync side by side, all catching up with the latest batch at once.
 */
export async function startSinkSubscribers(
  config: Config,
  warehouse: Warehouse,
  options: Partial<Omit<SinkSubscriberOptions, 'retryMaxMs'>> = {},
): Promise<SinkSubscriber[]> {
  const subscribers: SinkSubscriber[] = [];
  for (const c of configuredSinks(config)) {
    const wh = await warehouse.fork();
    const sink = await openSink(c, config, wh);
    const opts = { ...DEFAULTS, ...options, retryMaxMs: c.config.retry_max_ms };
    subscribers.push(new SinkSubscriber(sink, opts, () => wh.close()));
  }
  if (subscribers.length > 0) {
    const latest = await latestBatch(warehouse);
    for (const s of subscribers) s.start(latest);
  }
  return subscribers;
}
