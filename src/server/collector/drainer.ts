// The drainer moves sealed spool segments into the lake through the same code path as
// `adpipe ingest` (loadUnits, kind 'http'): each drain is one atomic batch, the ledger records
// every segment by path and hash, and only then are the segments deleted. A crash between commit
// and delete leaves segments the ledger already knows; the next drain skips and deletes them.
// A drain that fails anyway (ingest dead-letters bad data itself, so this is the disk, DuckDB, a
// lock) is retried with exponential backoff and jitter, and /readyz fails with the reason until one
// succeeds: the segments stay durable in the spool meanwhile.

import { renameSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { componentLogger } from '../../logger.js';
import { loadUnits } from '../../loader/loader.js';
import { hashFile, type InputFile } from '../../sources/files/discover.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import type { Readiness } from '../readiness.js';
import type { CollectorMetrics } from './metrics.js';
import type { Segment, Spool } from './spool.js';

const log = componentLogger('drainer');

/**
 * Events per ingest batch (at least one segment): bounds one transaction's size, and so the
 * drain's memory, when a backlog is drained. A million is past where larger groups stop paying.
 */
const BATCH_EVENTS = 1_000_000;

function inputOf(seg: Segment): InputFile {
  return {
    key: seg.file,
    size: seg.bytes,
    info: { format: 'jsonl', gzip: false },
    accepted: true,
    fetch: async () => ({
      localPath: seg.file,
      hash: await hashFile(seg.file),
      release: async () => undefined,
    }),
  };
}

export class Drainer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** The clock's latest seal, which kicks a drain when it ends. */
  private sealing: Promise<void> | undefined;
  /** Set by stop(): no drain may start after the final one, the connection is about to close. */
  private stopped = false;
  /** Drains failed in a row; while above 0, only the retry timer starts the next one. */
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly spool: Spool,
    private readonly wh: Warehouse,
    private readonly metrics: CollectorMetrics,
    private readonly readiness: Readiness,
    private readonly intervalMs: number,
    /** Longest wait between retries of a failing drain. */
    private readonly retryMaxMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      // The clock seals the open segment, so no event waits longer than about one interval.
      this.sealing = this.spool.seal().then(() => this.kick());
    }, this.intervalMs);
    this.timer.unref();
    this.kick();
  }

  /** Starts a drain now, or once more after the one running; waits for the retry timer after failures. */
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
        while (await this.drainOnce());
      } catch (err) {
        this.failed(err);
        return;
      }
    } while (this.again);
    if (this.failures > 0) {
      this.failures = 0;
      this.metrics.drainFailures.set(0);
      this.readiness.clear('drain');
      log.info('drain recovered');
    }
  }

  /** Counts a failed drain, fails readiness with its reason and schedules the retry. */
  private failed(err: unknown): void {
    this.failures++;
    this.metrics.drains.inc({ result: 'error' });
    this.metrics.drainFailures.set(this.failures);
    const delay = retryDelay(this.intervalMs, this.retryMaxMs, this.failures);
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
    this.readiness.fail(
      'drain',
      `drain failed ${this.failures} time(s) in a row, retrying in ${Math.ceil(delay / 1000)} s: ${reason}`,
    );
    log.error({ err, failures: this.failures, retryMs: delay }, 'drain failed; segments stay in the spool');
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.kick();
    }, delay);
    this.retry.unref();
  }

  /** Ingests the oldest sealed segments, up to about BATCH_EVENTS; false when there was nothing to do. */
  async drainOnce(): Promise<boolean> {
    const segments: Segment[] = [];
    let events = 0;
    for (const seg of this.spool.drainable()) {
      if (segments.length > 0 && events + seg.events > BATCH_EVENTS) break;
      segments.push(seg);
      events += seg.events;
    }
    if (segments.length === 0) return false;
    const summary = await loadUnits(this.wh, segments.map(inputOf), {
      kind: 'http',
      batchFiles: segments.length,
    });
    const now = Date.now();
    for (const seg of segments) this.metrics.ingestLag.observe(Math.max(0, (now - seg.createdMs) / 1000));
    // A segment DuckDB could not read at all is moved beside the dead letters, never dropped.
    for (const s of summary.setAside) await this.setAside(s.key);
    await this.spool.remove(segments);
    this.metrics.drains.inc({ result: 'ok' });
    return true;
  }

  private async setAside(file: string): Promise<void> {
    const dir = path.join(path.dirname(this.spool.dir), 'deadletter');
    await mkdir(dir, { recursive: true });
    renameSync(file, path.join(dir, `spool-${path.basename(file)}`));
    log.error({ file }, 'spool segment set aside into the dead-letter store');
  }

  /**
   * Stops the clock, seals the spool and drains everything durable. A seal the clock started just
   * before could otherwise kick a drain after this one, on a connection the caller then closes.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.retry);
    this.stopped = true;
    await this.sealing;
    await this.running;
    await this.spool.close();
    await this.loop();
  }
}

/**
 * The wait before retry number `failures` (1, 2, …): the drain interval doubled per failure up to
 * maxMs, then between half and all of it at random, so servers sharing a failed disk or database do
 * not retry in step.
 */
export function retryDelay(intervalMs: number, maxMs: number, failures: number): number {
  const ceiling = Math.min(maxMs, intervalMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
