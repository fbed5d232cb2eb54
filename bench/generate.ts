// `npm run bench -- generate [--events N] [--workers W]`: the simulator writing jsonl.gz, against a
// baseline measured in the same run on the same bytes: gzip level 1 alone on one core. A ratio near
// or above 1 means generation costs little next to the compression every jsonl.gz writer pays.

import { createReadStream, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createGunzip, gzipSync } from 'node:zlib';
import { generate } from '../src/simulator/index.js';
import { benchDir, peakRssMiB, saveResults } from './util.js';

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { events: { type: 'string', default: '10000000' }, workers: { type: 'string' } },
  });
  const events = Number(values.events);
  const out = path.join(benchDir, 'data', 'generate');
  rmSync(out, { recursive: true, force: true });

  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const manifest = await generate({
    out,
    events,
    files: 8,
    seed: 1,
    format: 'jsonl.gz',
    workers: values.workers === undefined ? undefined : Number(values.workers),
  });
  const seconds = (performance.now() - started) / 1000;
  // CPU time of all threads (workers and zlib's pool): a figure that survives a busy shared machine.
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const peakRss = peakRssMiB();
  const dir = path.join(out, 'events');
  const gzBytes = readdirSync(dir).reduce((a, f) => a + statSync(path.join(dir, f)).size, 0);

  // Baseline: compress the first 64 MB of generated lines again with gzip level 1, in this thread.
  const raw = await rawPrefix(path.join(dir, manifest.files[0]!.name), 64e6);
  const lines = raw.reduce((n, byte) => n + (byte === 10 ? 1 : 0), 0);
  const t0 = performance.now();
  gzipSync(raw, { level: 1, memLevel: 9 });
  const gzipSeconds = (performance.now() - t0) / 1000;
  const gzipEventsPerSec = lines / gzipSeconds;
  const eventsPerSec = events / seconds;

  saveResults('generate', {
    events,
    files: manifest.files.length,
    seconds: round(seconds),
    events_per_sec: Math.round(eventsPerSec),
    cpu_seconds: round(cpuSeconds),
    events_per_cpu_sec: Math.round(events / cpuSeconds),
    mb_written: round(gzBytes / 1e6),
    raw_bytes_per_event: round(raw.length / lines),
    peak_rss_mib: peakRss,
    baseline_gzip1_one_core_events_per_sec: Math.round(gzipEventsPerSec),
    baseline_gzip1_one_core_mb_per_sec: round(raw.length / 1e6 / gzipSeconds),
    ratio_to_baseline: round(eventsPerSec / gzipEventsPerSec),
  });
  rmSync(out, { recursive: true, force: true });
}

async function rawPrefix(file: string, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of createReadStream(file).pipe(createGunzip())) {
    chunks.push(chunk as Buffer);
    n += (chunk as Buffer).length;
    if (n >= bytes) break;
  }
  const all = Buffer.concat(chunks);
  return all.subarray(0, all.lastIndexOf(10) + 1);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
