// Library API of the simulator: `generate` writes files, a manifest and metadata; `eventStream`
// yields the same records as plain objects for other targets.

import { mkdir, readdir, rm, writeFile as writeText } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { CONTRACT_VERSION, type EventType } from '../events/contract.js';
import { startWorker } from '../util/worker.js';
import { fileBatches, isAltered } from './arrival.js';
import { buildCatalogue, metadataFiles } from './catalogue.js';
import { type GenerateOptions, type Resolved, resolveOptions, type SimOptions } from './options.js';
import { jsonLine, type SimRecord, toRecord } from './record.js';
import { type FileResult, simulation, writeFile } from './simulation.js';
import { Totals, type TotalsJson, type TypeTotals } from './totals.js';
import type { WorkerJob } from './worker.js';
import { fileName, fileTarget } from './writers.js';

export { AD_FORMATS, COUNTRIES, EXPERIMENT, FORMAT_CTR, FORMAT_FILL, RENDER_RATE } from './catalogue.js';
export { ALT_FORMS, MALFORMED } from './dirty.js';
export {
  DEFAULTS,
  type GenerateOptions,
  OUTPUT_FORMATS,
  type OutputFormat,
  type SimOptions,
  startEndingNow,
} from './options.js';
export type { SimRecord } from './record.js';
export type { FileSink, Target } from './writers.js';

/** Below this many events a run is faster without the cost of starting workers. */
const WORKER_MIN_EVENTS = 1_000_000;

export interface Manifest {
  generator: 'adpipe generate';
  contract_version: number;
  seed: number;
  options: Omit<Resolved, 'seed' | 'startMs'>;
  /** Event files in arrival order, with the number of records (clean, duplicate, malformed) in each. */
  files: Array<{ name: string; records: number }>;
  metadata: string[];
  /** Distinct clean events, each counted once whatever form or file it arrived in. */
  events: number;
  by_type: Record<EventType, TypeTotals>;
  by_hour: TotalsJson['by_hour'];
  /** Dirty records by kind: duplicate, late, alternative.<form> (valid), malformed.<kind> (rejected). */
  dirt: Record<string, number>;
}

export async function generate(options: GenerateOptions): Promise<Manifest> {
  const o = resolveOptions(options);
  const eventsDir = path.join(options.out, 'events');
  const metaDir = path.join(options.out, 'metadata');
  await mkdir(eventsDir, { recursive: true });
  await mkdir(metaDir, { recursive: true });
  // Files of an earlier run with more files would otherwise mix into this one.
  for (const f of await readdir(eventsDir)) if (f.startsWith('events-')) await rm(path.join(eventsDir, f));
  const metadata = metadataFiles(buildCatalogue(o.seed));
  for (const [name, text] of Object.entries(metadata)) await writeText(path.join(metaDir, name), text);

  const workers = options.workers ?? (o.events >= WORKER_MIN_EVENTS ? availableParallelism() : 0);
  const results =
    Math.min(workers, o.files) > 1
      ? await inWorkers(o, eventsDir, Math.min(workers, o.files))
      : await inProcess(o, eventsDir);

  const totals = new Totals(o.startMs, o.hours);
  for (const r of results) totals.merge(r.totals);
  const { events, by_type, by_hour, dirt } = totals.toJSON();
  const { seed, startMs: _, ...rest } = o;
  const manifest: Manifest = {
    generator: 'adpipe generate',
    contract_version: CONTRACT_VERSION,
    seed,
    options: rest,
    files: results.map((r) => ({ name: fileName(r.file, o.format), records: r.records })),
    metadata: Object.keys(metadata),
    events,
    by_type,
    by_hour,
    dirt,
  };
  await writeText(path.join(options.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

async function inProcess(o: Resolved, dir: string): Promise<FileResult[]> {
  const sim = simulation(o);
  const target = fileTarget(dir, o.format, sim.world);
  const results: FileResult[] = [];
  for (let f = 0; f < o.files; f++) results.push(await writeFile(sim, f, target));
  return results;
}

/** Files go round-robin to workers, so all of them work through the time range together. */
async function inWorkers(o: Resolved, dir: string, count: number): Promise<FileResult[]> {
  const results: FileResult[] = [];
  await Promise.all(
    Array.from({ length: count }, (_, w) => {
      const job: WorkerJob = { options: o, dir, files: [] };
      for (let f = w; f < o.files; f += count) job.files.push(f);
      const worker = startWorker(import.meta.url, 'worker', { workerData: job });
      worker.on('message', (r: FileResult) => results.push(r));
      return new Promise<void>((resolve, reject) => {
        worker.once('error', reject);
        worker.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`generate worker exited with ${code}`)),
        );
      });
    }),
  );
  return results.sort((a, b) => a.file - b.file);
}

/**
 * The records `generate` would write, file after file, as plain objects. With `dirty`, a malformed
 * line that is not JSON at all comes through as a string.
 */
export async function* eventStream(options: SimOptions = {}): AsyncGenerator<SimRecord | string> {
  const o = resolveOptions(options);
  const sim = simulation(o);
  for (let f = 0; f < o.files; f++) {
    for (const batch of fileBatches(sim.world, sim.dirt, f)) {
      for (const item of batch) yield isAltered(item) ? item.altered : toRecord(item, sim.world);
    }
  }
}

/** Where a clean line's event_id starts: the encoder begins every line with `{"event_id":"`. */
const ID_AT = '{"event_id":"'.length;

/**
 * eventStream's records as the JSON lines `generate` writes (a clean one ends in a newline), each
 * with its event_id when it has one: for a broker, without a parse and a re-serialisation each.
 */
export async function* eventLines(
  options: SimOptions = {},
): AsyncGenerator<{ line: string; id: string | undefined }> {
  const o = resolveOptions(options);
  const sim = simulation(o);
  for (let f = 0; f < o.files; f++) {
    for (const batch of fileBatches(sim.world, sim.dirt, f)) {
      for (const item of batch) {
        if (!isAltered(item)) {
          const line = jsonLine(item, sim.world);
          yield { line, id: line.slice(ID_AT, line.indexOf('"', ID_AT)) };
        } else if (typeof item.altered === 'string') yield { line: item.altered, id: undefined };
        else {
          const id = item.altered.event_id;
          yield { line: JSON.stringify(item.altered), id: id === undefined ? undefined : String(id) };
        }
      }
    }
  }
}
