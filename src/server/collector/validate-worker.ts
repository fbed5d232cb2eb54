// A worker thread of the ValidatorPool: validates NDJSON batches off the event loop.

import { parentPort } from 'node:worker_threads';
import { validateLines } from './batch.js';

export interface ValidateJob {
  id: number;
  lines: string[];
  source: string;
  receivedAt: string;
}

parentPort!.on('message', (job: ValidateJob) => {
  parentPort!.postMessage({ id: job.id, batch: validateLines(job.lines, job.source, job.receivedAt) });
});
