// A worker thread of the ValidatorPool: validates NDJSON bodies and groups of browser hits off the
// event loop, and hands the packed spool bytes back without a copy.

import { parentPort } from 'node:worker_threads';
import { type TooManyEvents, type ValidatedBatch, validateNdjson } from '../../sources/spool/batch.js';
import { type HitGroup, validateHits } from './hits.js';

export interface NdjsonJob {
  body: Uint8Array;
  maxEvents: number;
  source: string;
  receivedAt: string;
}

export type ValidateJob = { id: number } & ({ ndjson: NdjsonJob } | { hits: HitGroup });

function run(job: ValidateJob): ValidatedBatch | TooManyEvents {
  if ('hits' in job) return validateHits(job.hits);
  const { body, maxEvents, source, receivedAt } = job.ndjson;
  return validateNdjson(body, maxEvents, source, receivedAt);
}

/** The answer to a job: its batch, or why validating it threw (that job fails alone). */
export type ValidateAnswer = { id: number } & ({ batch: ValidatedBatch | TooManyEvents } | { error: string });

parentPort!.on('message', (job: ValidateJob) => {
  let batch: ValidatedBatch | TooManyEvents;
  try {
    batch = run(job);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message } satisfies ValidateAnswer);
    return;
  }
  parentPort!.postMessage(
    { id: job.id, batch } satisfies ValidateAnswer,
    'spool' in batch ? [batch.spool.buffer as ArrayBuffer] : [],
  );
});
