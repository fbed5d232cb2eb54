// Worker thread: writes its share of the files and reports each file's totals to the main thread.

import { parentPort, workerData } from 'node:worker_threads';
import type { Resolved } from './options.js';
import { simulation, writeFile } from './simulation.js';
import { fileTarget } from './writers.js';

export interface WorkerJob {
  options: Resolved;
  dir: string;
  files: number[];
}

const job = workerData as WorkerJob;
const sim = simulation(job.options);
const target = fileTarget(job.dir, job.options.format, sim.world);
for (const file of job.files) parentPort!.postMessage(await writeFile(sim, file, target));
