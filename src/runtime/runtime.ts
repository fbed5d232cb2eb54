// The runtime owns a data dir's writing in one process: it runs sources, hands each batch they yield
// to the loader (one warehouse transaction, with the source's positions), acknowledges the batch to
// its source only after that commit, and then tells the subscribers. `adpipe ingest` runs a finite
// source to its end; `adpipe serve` keeps continuous ones (the HTTP intake) running. Loads run one
// at a time on the runtime's own connection: the loader's temp tables are per connection, and one
// DuckDB writer is the commit point anyway.

import {
  addToSummary,
  committedPositions,
  emptySummary,
  finishSummary,
  type LoadProgress,
  type LoadSummary,
  loadUnits,
} from '../loader/loader.js';
import { componentLogger } from '../logger.js';
import type { Source, SourceBatch } from '../sources/source.js';
import { retryDelay } from '../util/backoff.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { Subscriber, SubscriberStatus } from './subscriber.js';

const log = componentLogger('runtime');

/** What a caller may watch of a continuous source: its loads and failures (metrics, readiness). */
export interface SourceHooks<B extends SourceBatch = SourceBatch> {
  /** After a batch is committed (or was already) and acknowledged. */
  loaded?(batch: B, summary: LoadSummary): void;
  /** A load failed; the next try is in `retryMs`. */
  failed?(err: unknown, failures: number, retryMs: number): void;
  /** A load succeeded after failures. */
  recovered?(): void;
}

export interface RunOptions {
  /** Input bytes through the loader over the whole run (for a progress bar). */
  onProgress?(progress: LoadProgress): void;
}

/** Default retry of a failing continuous source: 1 s doubling up to a minute. */
const RETRY = { baseMs: 1000, maxMs: 60_000 };

export class Runtime {
  /** The load in progress: the next waits for it. */
  private loading: Promise<unknown> = Promise.resolve();
  private readonly continuous = new Map<Source, SourceLoop>();

  private constructor(
    private readonly wh: Warehouse,
    private readonly subscribers: readonly Subscriber[],
  ) {}

  /** A runtime loading on its own connection to `wh`, telling `subscribers` after each commit. */
  static async open(wh: Warehouse, subscribers: readonly Subscriber[] = []): Promise<Runtime> {
    return new Runtime(await wh.fork(), subscribers);
  }

  /** Runs a finite source to its end and returns what was loaded; a failed load throws. */
  async run(source: Source, options: RunOptions = {}): Promise<LoadSummary> {
    const started = process.hrtime.bigint();
    const total = emptySummary();
    await this.openSource(source, () => undefined);
    try {
      let bytesBefore = 0;
      for (let batch = await source.poll(); batch; batch = await source.poll()) {
        const before = bytesBefore;
        const progress = options.onProgress;
        const part = await this.load(source, batch, (p) =>
          progress?.({ ...p, bytes: before + p.bytes, totalBytes: source.totalBytes ?? p.totalBytes }),
        );
        bytesBefore += batch.units.reduce((n, u) => n + u.size, 0);
        addToSummary(total, part);
      }
    } finally {
      await source.stop();
      await source.close();
    }
    return finishSummary(total, started);
  }

  /**
   * Starts a continuous source: it is polled whenever it wakes the runtime, each batch loaded and
   * acknowledged; a failing load is retried with backoff while the source keeps its units.
   */
  async start<B extends SourceBatch>(source: Source<B>, hooks: SourceHooks<B> = {}): Promise<void> {
    const loop = new SourceLoop(source as Source, (batch) => this.load(source as Source, batch), hooks);
    this.continuous.set(source as Source, loop);
    await this.openSource(source as Source, () => loop.kick());
    loop.kick();
  }

  /** Stops a continuous source: it takes no new input, what it holds is loaded, then it is closed. */
  async stop(source: Source): Promise<void> {
    const loop = this.continuous.get(source);
    if (!loop) return;
    this.continuous.delete(source);
    await loop.stop();
  }

  subscriberStatus(): SubscriberStatus[] {
    return this.subscribers.map((s) => s.status());
  }

  /** Stops every continuous source, lets subscribers finish what is pending, closes the connection. */
  async close(): Promise<void> {
    for (const source of [...this.continuous.keys()]) await this.stop(source);
    await this.loading.catch(() => undefined);
    for (const s of this.subscribers)
      await s.close().catch((err) => log.warn({ err, subscriber: s.name }, 'close failed'));
    this.wh.close();
  }

  private async openSource(source: Source, wake: () => void): Promise<void> {
    const positions = await this.exclusive(() => committedPositions(this.wh, source.name));
    try {
      await source.open({ positions, dataDir: this.wh.dataDir, wake });
    } catch (err) {
      // What it connected before failing (a broker client's sockets) must not keep the process alive.
      await source.close().catch(() => undefined);
      throw err;
    }
  }

  /** One batch: load (one commit), then acknowledge, then tell the subscribers. */
  private async load(
    source: Source,
    batch: SourceBatch,
    onProgress?: (p: LoadProgress) => void,
  ): Promise<LoadSummary> {
    const summary = await this.exclusive(() =>
      loadUnits(this.wh, batch.units, {
        kind: source.kind,
        batchFiles: Math.max(1, batch.units.length),
        reprocess: source.reprocess,
        mapping: source.mapping,
        positions: batch.positions && { source: source.name, positions: batch.positions },
        onProgress,
      }),
    );
    const committed = summary.batches[0];
    await source.ack(batch, { batchId: committed?.batchId, setAside: summary.setAside });
    if (committed) {
      const told = { ...committed, kind: source.kind, units: committed.files };
      for (const s of this.subscribers) {
        try {
          s.committed(told);
        } catch (err) {
          log.warn({ err, subscriber: s.name }, 'subscriber failed to take a commit');
        }
      }
    }
    return summary;
  }

  /** Runs fn once the load before it is done: one writer transaction at a time. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const mine = this.loading.catch(() => undefined).then(fn);
    this.loading = mine;
    return mine;
  }
}

/**
 * A continuous source's loop: polls and loads while it has batches, once more when woken meanwhile;
 * after a failure only the retry timer starts the next round.
 */
class SourceLoop {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Loads failed in a row. */
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: Source,
    private readonly load: (batch: SourceBatch) => Promise<LoadSummary>,
    private readonly hooks: SourceHooks,
  ) {}

  kick(): void {
    if (this.stopped || this.retry) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        for (let batch = await this.source.poll(); batch; batch = await this.source.poll()) {
          // Not inside `loaded?.(…)`: an optional call skips its arguments when there is no hook.
          const summary = await this.load(batch);
          this.hooks.loaded?.(batch, summary);
        }
      } catch (err) {
        this.failed(err);
        return;
      }
    } while (this.again);
    if (this.failures > 0) {
      this.failures = 0;
      this.hooks.recovered?.();
      log.info({ source: this.source.name }, 'source recovered');
    }
  }

  private failed(err: unknown): void {
    this.failures++;
    const { baseMs, maxMs } = this.source.retry ?? RETRY;
    const delay = retryDelay(baseMs, maxMs, this.failures);
    this.hooks.failed?.(err, this.failures, delay);
    log.error(
      { err, source: this.source.name, failures: this.failures, retryMs: delay },
      'load failed; the source keeps its units',
    );
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.kick();
    }, delay);
    this.retry.unref();
  }

  /** No new round; the source stops taking input, what it holds is loaded once more, then closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.running;
    await this.source.stop();
    await this.loop();
    await this.source.close();
  }
}
