// A worker thread of the ValidatorPool: validates NDJSON bodies off the event loop, and hands the
// packed spool bytes back without a copy.

import { parentPort } from 'node:worker_threads';
import { validateNdjson } from './batch.js';

export interface ValidateJob {
  id: number;
  body: Uint8Array;
  maxEvents: number;
  source: string;
  receivedAt: string;
}

parentPort!.on('message', (job: ValidateJob) => {
  const batch = validateNdjson(job.body, job.maxEvents, job.source, job.receivedAt);
  parentPort!.postMessage({ id: job.id, batch }, 'spool' in batch ? [batch.spool.buffer as ArrayBuffer] : []);
});
