// Worker threads that validate NDJSON bodies and groups of browser hits, so the event loop only
// reads requests, checks ids and writes the spool: a 500-event batch costs it well under a
// millisecond instead of several, and other requests (pixels, acks waiting for their fsync) are not
// held up behind it. Jobs go to the worker with the fewest in flight. A worker that dies fails its
// jobs (500, the client retries) and is replaced.

import type { Worker } from 'node:worker_threads';
import { componentLogger } from '../../logger.js';
import { startWorker } from '../../util/worker.js';
import type { TooManyEvents, ValidatedBatch } from './batch.js';
import type { HitGroup } from './hits.js';
import type { ValidateJob } from './validate-worker.js';

const log = componentLogger('validator-pool');

interface Pending {
  resolve(batch: ValidatedBatch | TooManyEvents): void;
  reject(err: unknown): void;
}

class PoolWorker {
  readonly pending = new Map<number, Pending>();
  readonly worker: Worker;

  constructor(onExit: (w: PoolWorker) => void) {
    this.worker = startWorker(import.meta.url, 'validate-worker');
    this.worker.on('message', (m: { id: number; batch: ValidatedBatch | TooManyEvents }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m.batch);
    });
    this.worker.once('error', (err) => this.fail(err));
    this.worker.once('exit', (code) => {
      this.fail(new Error(`validator worker exited with ${code}`));
      onExit(this);
    });
    // Idle workers do not keep the process alive; jobs in flight are awaited by their requests.
    this.worker.unref();
  }

  private fail(err: unknown): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

export class ValidatorPool {
  private workers: PoolWorker[] = [];
  private nextId = 0;
  private closed = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.workers.push(this.spawn());
  }

  private spawn(): PoolWorker {
    return new PoolWorker((dead) => {
      if (this.closed) return;
      log.error('a validator worker exited; starting another');
      this.workers = this.workers.map((w) => (w === dead ? this.spawn() : w));
    });
  }

  /**
   * validateNdjson in a worker. The worker takes the body's buffer when the body is all of it (as a
   * body read in several chunks is), else a copy: the body must not be used afterwards.
   */
  validate(
    body: Uint8Array,
    maxEvents: number,
    source: string,
    receivedAt: string,
  ): Promise<ValidatedBatch | TooManyEvents> {
    const whole = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    const own = whole && body.buffer instanceof ArrayBuffer ? body : new Uint8Array(body);
    return this.run({ id: this.nextId++, ndjson: { body: own, maxEvents, source, receivedAt } }, [
      own.buffer as ArrayBuffer,
    ]);
  }

  /** validateHits in a worker. */
  validateHits(hits: HitGroup): Promise<ValidatedBatch> {
    return this.run({ id: this.nextId++, hits }, []) as Promise<ValidatedBatch>;
  }

  /** Sends a job to the worker with the fewest in flight. */
  private run(job: ValidateJob, transfer: ArrayBuffer[]): Promise<ValidatedBatch | TooManyEvents> {
    const w = this.workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    return new Promise<ValidatedBatch | TooManyEvents>((resolve, reject) => {
      w.pending.set(job.id, { resolve, reject });
      w.worker.postMessage(job, transfer);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
