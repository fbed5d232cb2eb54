// `npm run bench -- collector [--seconds N] [--duration N] [--connections N] [--pixel-connections N]
// [--pixel-pipelining N] [--latency-windows N]`: the HTTP collector under autocannon on loopback,
// beside a bare node:http server that reads and discards the body (the baseline, measured in the same
// run). Every phase also reports the server's CPU time per event (all its threads, and the event
// loop's part), steadier than rates on a shared machine.
//
//   batches   POST /v1/events, 500-event NDJSON, unique ids per request, answered after fsync; then
//             the time the drain needs to land what the spool absorbed, and the sustained rate
//             (acknowledged events over load plus catch-up). Every later phase starts drained.
//   pixels    GET /i?… impression pixels
//   latency   p99 of each at half its measured maximum rate, and of the bare server at those rates
//             (the load generator's own share of the latency); batches also from a fetch client,
//             whose own latency is far lower than autocannon's for 36 KB bodies, at half the
//             acknowledged rate and at half the sustained one (drain included), over
//             --latency-windows windows of --duration (default 3): the median window's p99 counts
//   soak      batches at half the sustained rate for --seconds (default 120): the server's RSS must
//             stay flat
//
// Both servers run as child processes so the load generator does not share their event loop.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import {
  numberArg as arg,
  benchDir,
  nearestRank,
  type Server,
  saveResults,
  serveArgs,
  startServer,
  statCpuSeconds,
} from './util.js';

const BATCH = 500;

/** A 500-event NDJSON body whose ids carry a placeholder replaced per request. */
function batchTemplate(): string {
  const types = ['request', 'response', 'impression', 'click'];
  const lines: string[] = [];
  for (let i = 0; i < BATCH; i++) {
    lines.push(
      JSON.stringify({
        event_id: `@@-${i}`,
        type: types[i % types.length],
        ts: '2025-06-01T12:00:00.000Z',
        org_id: 'org-1',
        media_id: `m-${i % 7}`,
        inventory_id: `inv-${i % 31}`,
        demand_id: 'dsp-2',
        device: i % 3 ? 'MOBILE' : 'PC',
        country: 'KR',
        user_id: `u-${i % 97}`,
        revenue: i % 4 === 2 ? '0.002150' : '0',
      }),
    );
  }
  return lines.join('\n');
}

// No money: a keyless pixel may not carry any (docs/collector.md, pixel policy); one that did would
// measure the dead-letter path.
const PIXEL = '/i?media_id=m-1&inventory_id=inv-3&org_id=org-1&device=MOBILE&country=KR';

const BARE = `
const http = require('node:http');
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('{"ok":true}')); });
s.listen(0, '127.0.0.1', () => console.log('serving on http://127.0.0.1:' + s.address().port));
`;

/** The V8 flags bin/adpipe.js starts node with (its shebang: `#!/usr/bin/env -S node <flags>`). */
function launcherFlags(): string[] {
  const shebang = readFileSync(path.join(benchDir, '..', 'bin', 'adpipe.js'), 'utf8').split('\n')[0]!;
  return shebang.split(' ').filter((word) => word.startsWith('--'));
}

async function startAdpipe(dataDir: string): Promise<Server> {
  const config = path.join(dataDir, 'adpipe.yaml');
  // Limits high enough that the benchmark measures the collector, not its guards.
  writeFileSync(
    config,
    'server:\n  rate_limit_per_key: 1000000000\n  rate_limit_per_address: 1000000000\n  spool_high_water: 100000000\n  drain_interval_ms: 2000\n',
  );
  const main = pathToFileURL(path.join(benchDir, '..', 'src', 'cli', 'main.ts')).href;
  const argv = JSON.stringify(['node', 'adpipe', ...serveArgs(config, dataDir)]);
  return startServer([
    ...launcherFlags(),
    '--import',
    'tsx',
    '-e',
    `import(${JSON.stringify(main)}).then((m) => m.main(${argv}))`,
  ]);
}

async function stop(s: Server): Promise<void> {
  const done = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await done;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
}

/**
 * CPU seconds (user + system, every thread: event loop, libuv pool, DuckDB) a process has used: per
 * event it is steadier than wall-clock rates on a shared machine.
 */
const cpuSeconds = (pid: number): number => statCpuSeconds(`/proc/${pid}/stat`);

/** The main thread's share (the event loop): the one thread that cannot spread over both cores. */
const eventLoopCpuSeconds = (pid: number): number => statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);

/**
 * Runs `fn` and adds the server's CPU time per event to its summary: all its threads, and the event
 * loop's part of it.
 */
async function measured<T extends { requests_per_s: number; events_per_s: number }>(
  pid: number,
  seconds: number,
  fn: () => Promise<T>,
): Promise<T & { server_cpu_s: number; cpu_us_per_event: number; event_loop_cpu_us_per_event: number }> {
  const before = cpuSeconds(pid);
  const loopBefore = eventLoopCpuSeconds(pid);
  const r = await fn();
  const cpu = cpuSeconds(pid) - before;
  const loop = eventLoopCpuSeconds(pid) - loopBefore;
  const events = r.events_per_s * seconds;
  const perEvent = (s: number) => (events > 0 ? +((s * 1e6) / events).toFixed(2) : Number.NaN);
  return {
    ...r,
    server_cpu_s: +cpu.toFixed(2),
    cpu_us_per_event: perEvent(cpu),
    event_loop_cpu_us_per_event: perEvent(loop),
  };
}

/** One unlabelled sample from a Prometheus text page (NaN when absent). */
function metricValue(page: string, name: string): number {
  return Number(new RegExp(`^${name} (\\S+)`, 'm').exec(page)?.[1] ?? Number.NaN);
}

/** Undrained events, from the server's own metrics. */
async function spoolEvents(url: string): Promise<number> {
  return metricValue(await (await fetch(`${url}/metrics`)).text(), 'adpipe_spool_events');
}

/**
 * Waits until the drain has landed everything acknowledged, so the next phase does not pay for
 * this one's backlog; resolves to the seconds that took.
 */
async function drained(url: string): Promise<number> {
  const t0 = performance.now();
  while ((await spoolEvents(url)) > 0) await new Promise((r) => setTimeout(r, 200));
  return +((performance.now() - t0) / 1000).toFixed(2);
}

interface Load {
  url: string;
  seconds: number;
  connections: number;
  kind: 'batch' | 'pixel';
  /** Requests per second over all connections; unlimited when absent. */
  rate?: number;
  /** Requests in flight per connection. */
  pipelining?: number;
}

let counter = 0;

function load(o: Load): Promise<Result> {
  const template = batchTemplate();
  const request: autocannon.Request =
    o.kind === 'batch'
      ? {
          method: 'POST' as const,
          path: '/v1/events',
          headers: { 'content-type': 'application/x-ndjson' },
          setupRequest: (req: autocannon.Request) => ({
            ...req,
            body: template.replaceAll('@@', `r${++counter}`),
          }),
        }
      : { method: 'GET' as const, path: PIXEL };
  return autocannon({
    url: o.url,
    duration: o.seconds,
    connections: o.connections,
    overallRate: o.rate,
    pipelining: o.pipelining ?? 1,
    requests: [request],
  });
}

function summary(r: Result, perRequest: number) {
  return {
    requests_per_s: Math.round(r.requests.average),
    events_per_s: Math.round(r.requests.average * perRequest),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    non_2xx: r.non2xx,
    errors: r.errors,
  };
}

/** Latencies' percentiles in ms, one decimal. */
function percentiles(latencies: number[]) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => +nearestRank(sorted, q).toFixed(1);
  return { p50_ms: at(0.5), p90_ms: at(0.9), p99_ms: at(0.99) };
}

/**
 * Batch latency from a second client: `connections` loops of fetch (undici), each sending a batch
 * and pausing so that together they send `rate` requests per second. autocannon's own latency with
 * 36 KB bodies is tens of ms even against the bare server; this client's is a few ms.
 *
 * The load runs for `windows` back-to-back windows of `seconds` each. A window's p99 is decided by
 * its slowest ~1 %, a dozen requests, so one pause of the machine moves it by tens of ms: the
 * headline p99 is the median of the windows' p99s, each of which is listed too.
 */
async function pacedBatches(
  url: string,
  rate: number,
  seconds: number,
  connections: number,
  windows: number,
) {
  const template = batchTemplate();
  const period = (connections / rate) * 1000;
  const start = Date.now();
  const byWindow: number[][] = Array.from({ length: windows }, () => []);
  const end = start + windows * seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async (_, k) => {
      await new Promise((r) => setTimeout(r, (k * period) / connections));
      while (Date.now() < end) {
        const body = template.replaceAll('@@', `f${++counter}`);
        const started = performance.now();
        const res = await fetch(`${url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body,
        });
        await res.text();
        const w = Math.min(windows - 1, Math.floor((Date.now() - start) / (seconds * 1000)));
        byWindow[w]!.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, period));
      }
    }),
  );
  const all = byWindow.flat();
  const p99s = byWindow.map((l) => percentiles(l).p99_ms);
  return {
    requests: all.length,
    events_per_s: Math.round((all.length * BATCH) / (windows * seconds)),
    ...percentiles(all),
    p99_ms_median_window: [...p99s].sort((a, b) => a - b)[Math.floor(windows / 2)]!,
    p99_ms_by_window: p99s,
  };
}

export async function run(args: string[]): Promise<void> {
  const seconds = arg(args, 'seconds', 120);
  const duration = arg(args, 'duration', 10);
  const connections = arg(args, 'connections', 32);
  // Pixels come from many browsers at once: more connections, each with small requests. Pipelining
  // keeps the single-threaded load generator from being the limit (the same for both servers).
  const pixelConnections = arg(args, 'pixel-connections', 256);
  const pixelPipelining = arg(args, 'pixel-pipelining', 4);
  const latencyWindows = Math.max(1, arg(args, 'latency-windows', 3));
  const dataDir = path.join(benchDir, 'data', 'collector');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const pixelLoad = { connections: pixelConnections, kind: 'pixel' as const, pipelining: pixelPipelining };

  const bare = await startServer(['-e', BARE]);
  const bareCpu = (fn: () => Promise<ReturnType<typeof summary>>) => measured(bare.child.pid!, duration, fn);
  const base = {
    batches: await bareCpu(async () =>
      summary(await load({ url: bare.url, seconds: duration, connections, kind: 'batch' }), BATCH),
    ),
    pixels: await bareCpu(async () =>
      summary(await load({ url: bare.url, seconds: duration, ...pixelLoad }), 1),
    ),
  };
  await stop(bare);

  const adpipe = await startAdpipe(dataDir);
  const pid = adpipe.child.pid!;
  const cpu = (s: number, fn: () => Promise<ReturnType<typeof summary>>) => measured(pid, s, fn);
  const cpuBeforeBatches = cpuSeconds(pid);
  const batches = await cpu(duration, async () =>
    summary(await load({ url: adpipe.url, seconds: duration, connections, kind: 'batch' }), BATCH),
  );
  // The spool absorbs what the drain cannot land during the load; landing it is part of the cost.
  const batchCatchUp = await drained(adpipe.url);
  const sustained = Math.round((batches.events_per_s * duration) / (duration + batchCatchUp));
  const batchCpuWithDrain = cpuSeconds(pid) - cpuBeforeBatches;
  const pixels = await cpu(duration, async () =>
    summary(await load({ url: adpipe.url, seconds: duration, ...pixelLoad }), 1),
  );
  await drained(adpipe.url);
  const atHalf = (url: string, kind: 'batch' | 'pixel') =>
    load(
      kind === 'batch'
        ? { url, seconds: duration, connections, kind, rate: batches.requests_per_s / 2 }
        : { url, seconds: duration, ...pixelLoad, rate: pixels.requests_per_s / 2 },
    );
  const halfBatch = await cpu(duration, async () => summary(await atHalf(adpipe.url, 'batch'), BATCH));
  await drained(adpipe.url);
  const halfPixel = await cpu(duration, async () => summary(await atHalf(adpipe.url, 'pixel'), 1));
  await drained(adpipe.url);
  const pacedHalf = (url: string) =>
    pacedBatches(url, batches.requests_per_s / 2, duration, connections, latencyWindows);
  const fetchHalf = await pacedHalf(adpipe.url);
  await drained(adpipe.url);
  // Half of what the server sustains, drain included: the acknowledged rate above is a burst the
  // spool absorbs, and half of it is close to the whole of the steady capacity.
  const pacedHalfSustained = (url: string) =>
    pacedBatches(url, sustained / BATCH / 2, duration, connections, latencyWindows);
  const fetchHalfSustained = await pacedHalfSustained(adpipe.url);
  await drained(adpipe.url);

  // Soak: half the sustained rate, a load the server carries indefinitely (at half the acknowledged
  // rate the drain, sharing the cores with the load, falls behind and the spool grows by design);
  // RSS sampled every 5 s.
  const rss: number[] = [rssMiB(pid)];
  const sampler = setInterval(() => rss.push(rssMiB(pid)), 5000);
  const soakRate = sustained / BATCH / 2;
  const soak = await cpu(seconds, async () =>
    summary(await load({ url: adpipe.url, seconds, connections, kind: 'batch', rate: soakRate }), BATCH),
  );
  clearInterval(sampler);
  rss.push(rssMiB(pid));
  const metrics = await (await fetch(`${adpipe.url}/metrics`)).text();
  const undrained = metricValue(metrics, 'adpipe_spool_events');
  const fsyncSum = metricValue(metrics, 'adpipe_spool_fsync_seconds_sum');
  const fsyncCount = metricValue(metrics, 'adpipe_spool_fsync_seconds_count');
  await stop(adpipe);

  // The load generator's own latency at those rates: the bare server answering the same requests.
  const bareAgain = await startServer(['-e', BARE]);
  const bareHalf = {
    batches: summary(await atHalf(bareAgain.url, 'batch'), BATCH),
    pixels: summary(await atHalf(bareAgain.url, 'pixel'), 1),
  };
  const bareFetchHalf = await pacedHalf(bareAgain.url);
  const bareFetchHalfSustained = await pacedHalfSustained(bareAgain.url);
  await stop(bareAgain);

  // RSS over the last quarter against the second (the first is warm-up), as means: each drain moves
  // RSS by tens of MB, so single samples compare one drain's peak with another's trough.
  const quarter = Math.floor(rss.length / 4);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const warm = mean(rss.slice(quarter, 2 * quarter));
  const late = mean(rss.slice(-quarter));
  saveResults('collector', {
    duration_s: duration,
    connections,
    pixel_connections: pixelConnections,
    pixel_pipelining: pixelPipelining,
    latency_windows: latencyWindows,
    load_avg_at_end: loadavg().map((l) => +l.toFixed(2)),
    batch_events: BATCH,
    baseline: base,
    batches: {
      ...batches,
      ratio_to_baseline_requests: +(batches.requests_per_s / base.batches.requests_per_s).toFixed(3),
      drain_catch_up_s: batchCatchUp,
      sustained_events_per_s: sustained,
      cpu_us_per_event_with_drain: +((batchCpuWithDrain * 1e6) / (batches.events_per_s * duration)).toFixed(
        2,
      ),
    },
    pixels: {
      ...pixels,
      ratio_to_baseline_requests: +(pixels.requests_per_s / base.pixels.requests_per_s).toFixed(3),
    },
    half_rate: {
      batches: halfBatch,
      pixels: halfPixel,
      bare_at_same_rates: bareHalf,
      batches_fetch_client: { adpipe: fetchHalf, bare: bareFetchHalf },
    },
    half_sustained_rate: {
      batches_fetch_client: { adpipe: fetchHalfSustained, bare: bareFetchHalfSustained },
    },
    soak: {
      seconds,
      ...soak,
      rss_mib: {
        start: rss[0],
        second_quarter_mean: Math.round(warm),
        last_quarter_mean: Math.round(late),
        end: rss.at(-1),
        max: Math.max(...rss),
      },
      rss_series_mib_every_5s: rss,
      fsync_mean_ms: +((fsyncSum / fsyncCount) * 1000).toFixed(2),
      rss_growth_after_warmup_ratio: +(late / warm).toFixed(3),
      undrained_events_at_end: undrained,
    },
    targets: {
      batch_events_per_s: 200_000,
      pixel_ratio_to_baseline: 0.6,
      p99_ms_at_half_rate: 50,
    },
  });
}
