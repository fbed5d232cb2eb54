// `npm run bench -- generate [--events N] [--workers W]`: the simulator writing jsonl.gz, against a
// baseline measured in the same run on the same bytes: gzip level 1 alone on one core. A ratio near
// or above 1 means generation costs little next to the compression every jsonl.gz writer pays.
// The machine may be shared, so CPU time (all threads) per event is the figure to compare; the
// events/s an idle machine would reach is projected from it (cores / CPU per event).

import { createReadStream, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
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

  const load = loadavg()[0]!;
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
  const gzipCpuBefore = process.cpuUsage();
  gzipSync(raw, { level: 1, memLevel: 9 });
  const gzipCpu = process.cpuUsage(gzipCpuBefore);
  const gzipSeconds = (performance.now() - t0) / 1000;
  const gzipCpuUs = (gzipCpu.user + gzipCpu.system) / lines;
  const cpuUs = (cpuSeconds * 1e6) / events;
  const cores = availableParallelism();
  const gzipEventsPerSec = lines / gzipSeconds;
  const eventsPerSec = events / seconds;

  saveResults('generate', {
    events,
    files: manifest.files.length,
    cores,
    load_average_at_start: round(load),
    seconds: round(seconds),
    events_per_sec: Math.round(eventsPerSec),
    cpu_seconds: round(cpuSeconds),
    cpu_us_per_event: round(cpuUs, 3),
    events_per_cpu_sec: Math.round(events / cpuSeconds),
    projected_events_per_sec_idle: Math.round((cores * 1e6) / cpuUs),
    mb_written: round(gzBytes / 1e6),
    raw_bytes_per_event: round(raw.length / lines),
    peak_rss_mib: peakRss,
    baseline_gzip1_one_core_events_per_sec: Math.round(gzipEventsPerSec),
    baseline_gzip1_one_core_mb_per_sec: round(raw.length / 1e6 / gzipSeconds),
    baseline_gzip1_cpu_us_per_event: round(gzipCpuUs, 3),
    generation_cpu_us_per_event: round(cpuUs - gzipCpuUs, 3),
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

function round(n: number, digits = 2): number {
  return Math.round(n * 10 ** digits) / 10 ** digits;
}
