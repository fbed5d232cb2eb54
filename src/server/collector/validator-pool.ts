// Worker threads that validate NDJSON bodies and groups of browser hits, so the event loop only
// reads requests, checks ids and writes the spool: a 500-event batch costs it well under a
// millisecond instead of several, and other requests (pixels, acks waiting for their fsync) are not
// held up behind it. Jobs go to the worker with the fewest in flight.
//
// A job that throws fails alone (500). A worker that dies is replaced, and the jobs it held (other
// clients' requests among them) are run again one at a time, each alone on a fresh worker: a job
// that kills that one too is the cause and fails alone; the others are answered as usual.

import type { Worker } from 'node:worker_threads';
import { AdpipeError } from '../../errors.js';
import { componentLogger } from '../../logger.js';
import type { TooManyEvents, ValidatedBatch } from '../../sources/spool/batch.js';
import { startWorker } from '../../util/worker.js';
import type { HitGroup } from './hits.js';
import type { ValidateAnswer, ValidateJob } from './validate-worker.js';

const log = componentLogger('validator-pool');

interface Job {
  message: ValidateJob;
  resolve(batch: ValidatedBatch | TooManyEvents): void;
  reject(err: unknown): void;
}

class PoolWorker {
  readonly pending = new Map<number, Job>();
  readonly worker: Worker;

  /** `onExit` gets the worker once it has stopped, with its jobs still pending. */
  constructor(onExit: (w: PoolWorker, why: Error) => void) {
    this.worker = startWorker(import.meta.url, 'validate-worker');
    this.worker.on('message', (m: ValidateAnswer) => {
      const job = this.pending.get(m.id);
      this.pending.delete(m.id);
      if ('error' in m) job?.reject(new AdpipeError('ADP_ERR_COLLECTOR_VALIDATION_FAILED', [m.error]));
      else job?.resolve(m.batch);
    });
    let why: Error | undefined;
    // An uncaught error is followed by the exit.
    this.worker.once('error', (err) => {
      why = err;
    });
    this.worker.once('exit', (code) =>
      onExit(this, why ?? new Error(`validator worker exited with ${code}`)),
    );
    // Idle workers do not keep the process alive; jobs in flight are awaited by their requests.
    this.worker.unref();
  }

  send(job: Job): void {
    this.pending.set(job.message.id, job);
    // Copied, not moved: the job must outlive a worker that dies with it, to be run again.
    this.worker.postMessage(job.message);
  }
}

export class ValidatorPool {
  private workers: PoolWorker[] = [];
  private nextId = 0;
  private closed = false;
  /** Jobs of dead workers, to run again one at a time. */
  private readonly suspects: Job[] = [];
  /** The fresh worker running a suspect alone, if any. */
  private isolation: PoolWorker | undefined;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.workers.push(this.spawn());
  }

  private spawn(): PoolWorker {
    return new PoolWorker((dead, why) => {
      if (this.closed) return failAll(dead, why);
      log.error({ err: why }, 'a validator worker died; starting another and retrying its jobs one by one');
      this.workers = this.workers.map((w) => (w === dead ? this.spawn() : w));
      this.suspects.push(...dead.pending.values());
      this.isolateNext();
    });
  }

  /** Runs the next suspect alone on a fresh worker, then stops that worker. */
  private isolateNext(): void {
    if (this.isolation || this.closed) return;
    const job = this.suspects.shift();
    if (!job) return;
    const w = new PoolWorker((_, why) => {
      this.isolation = undefined;
      if (this.closed) return failAll(w, why);
      // Still pending: it stopped this worker as well.
      if (w.pending.size > 0) {
        log.error({ err: why }, 'a request stopped a validator worker twice; failing it alone');
        job.reject(
          new AdpipeError('ADP_ERR_COLLECTOR_VALIDATION_FAILED', [
            `it stopped the validator (${why.message})`,
          ]),
        );
      }
      this.isolateNext();
    });
    this.isolation = w;
    const done = () => void w.worker.terminate();
    w.send({
      message: job.message,
      resolve: (batch) => {
        job.resolve(batch);
        done();
      },
      reject: (err) => {
        job.reject(err);
        done();
      },
    });
  }

  /** validateNdjson in a worker (on a copy of the body). */
  validate(
    body: Uint8Array,
    maxEvents: number,
    source: string,
    receivedAt: string,
  ): Promise<ValidatedBatch | TooManyEvents> {
    return this.run({ id: this.nextId++, ndjson: { body, maxEvents, source, receivedAt } });
  }

  /** validateHits in a worker. */
  validateHits(hits: HitGroup): Promise<ValidatedBatch> {
    return this.run({ id: this.nextId++, hits }) as Promise<ValidatedBatch>;
  }

  /** Sends a job to the worker with the fewest in flight. */
  private run(message: ValidateJob): Promise<ValidatedBatch | TooManyEvents> {
    const w = this.workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    return new Promise<ValidatedBatch | TooManyEvents>((resolve, reject) =>
      w.send({ message, resolve, reject }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.suspects.splice(0)) job.reject(new Error('the validator pool is closed'));
    await Promise.all(
      [...this.workers, ...(this.isolation ? [this.isolation] : [])].map((w) => w.worker.terminate()),
    );
  }
}

function failAll(w: PoolWorker, why: Error): void {
  for (const job of w.pending.values()) job.reject(why);
  w.pending.clear();
}
