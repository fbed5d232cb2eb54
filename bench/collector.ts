// `npm run bench -- collector [--seconds N] [--duration N] [--connections N] [--pixel-connections N]`: the HTTP collector under
// autocannon on loopback, beside a bare node:http server that reads and discards the body (the
// baseline, measured in the same run).
//
//   batches   POST /v1/events, 500-event NDJSON, unique ids per request, answered after fsync
//   pixels    GET /i?… impression pixels
//   latency   p99 of each at half its measured maximum rate
//   soak      batches at half rate for --seconds (default 120): the server's RSS must stay flat
//
// Both servers run as child processes so the load generator does not share their event loop.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import { benchDir, saveResults } from './util.js';

const BATCH = 500;

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

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

const PIXEL = '/i?media_id=m-1&inventory_id=inv-3&org_id=org-1&revenue=0.0012&device=MOBILE&country=KR';

const BARE = `
const http = require('node:http');
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('{"ok":true}')); });
s.listen(0, '127.0.0.1', () => console.log('serving on http://127.0.0.1:' + s.address().port));
`;

interface Server {
  child: ChildProcess;
  url: string;
}

function start(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

async function startAdpipe(dataDir: string): Promise<Server> {
  const config = path.join(dataDir, 'adpipe.yaml');
  // Limits high enough that the benchmark measures the collector, not its guards.
  writeFileSync(
    config,
    'server:\n  rate_limit_per_key: 1000000000\n  spool_high_water: 100000000\n  drain_interval_ms: 2000\n',
  );
  const main = pathToFileURL(path.join(benchDir, '..', 'src', 'cli', 'main.ts')).href;
  const argv = JSON.stringify([
    'node',
    'adpipe',
    '--config',
    config,
    '--data-dir',
    dataDir,
    'serve',
    '--port',
    '0',
  ]);
  return start(['--import', 'tsx', '-e', `import(${JSON.stringify(main)}).then((m) => m.main(${argv}))`]);
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

interface Load {
  url: string;
  seconds: number;
  connections: number;
  kind: 'batch' | 'pixel';
  /** Requests per second over all connections; unlimited when absent. */
  rate?: number;
}

let counter = 0;

function load(o: Load): Promise<Result> {
  const template = batchTemplate();
  const request =
    o.kind === 'batch'
      ? {
          method: 'POST' as const,
          path: '/v1/events',
          headers: { 'content-type': 'application/x-ndjson' },
          setupRequest: (req: { body?: string }) => ({
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

export async function run(args: string[]): Promise<void> {
  const seconds = arg(args, 'seconds', 120);
  const duration = arg(args, 'duration', 10);
  const connections = arg(args, 'connections', 32);
  // Pixels come from many browsers at once: more connections, each with one small request.
  const pixelConnections = arg(args, 'pixel-connections', 256);
  const dataDir = path.join(benchDir, 'data', 'collector');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });

  const bare = await start(['-e', BARE]);
  const base = {
    batches: summary(await load({ url: bare.url, seconds: duration, connections, kind: 'batch' }), BATCH),
    pixels: summary(
      await load({ url: bare.url, seconds: duration, connections: pixelConnections, kind: 'pixel' }),
      1,
    ),
  };
  await stop(bare);

  const adpipe = await startAdpipe(dataDir);
  const batches = summary(
    await load({ url: adpipe.url, seconds: duration, connections, kind: 'batch' }),
    BATCH,
  );
  const pixels = summary(
    await load({ url: adpipe.url, seconds: duration, connections: pixelConnections, kind: 'pixel' }),
    1,
  );
  const halfBatch = summary(
    await load({
      url: adpipe.url,
      seconds: duration,
      connections,
      kind: 'batch',
      rate: batches.requests_per_s / 2,
    }),
    BATCH,
  );
  const halfPixel = summary(
    await load({
      url: adpipe.url,
      seconds: duration,
      connections: pixelConnections,
      kind: 'pixel',
      rate: pixels.requests_per_s / 2,
    }),
    1,
  );

  // Soak: half the batch rate, RSS sampled every 5 s.
  const rss: number[] = [rssMiB(adpipe.child.pid!)];
  const sampler = setInterval(() => rss.push(rssMiB(adpipe.child.pid!)), 5000);
  const soak = summary(
    await load({ url: adpipe.url, seconds, connections, kind: 'batch', rate: batches.requests_per_s / 2 }),
    BATCH,
  );
  clearInterval(sampler);
  rss.push(rssMiB(adpipe.child.pid!));
  const metrics = await (await fetch(`${adpipe.url}/metrics`)).text();
  const spoolEvents = Number(/^adpipe_spool_events (\d+)/m.exec(metrics)?.[1] ?? Number.NaN);
  await stop(adpipe);

  // RSS after warm-up (the first quarter) against the end: flat means no growth with traffic.
  const warm = rss[Math.floor(rss.length / 4)]!;
  saveResults('collector', {
    duration_s: duration,
    connections,
    pixel_connections: pixelConnections,
    batch_events: BATCH,
    baseline: base,
    batches: {
      ...batches,
      ratio_to_baseline_requests: +(batches.requests_per_s / base.batches.requests_per_s).toFixed(3),
    },
    pixels: {
      ...pixels,
      ratio_to_baseline_requests: +(pixels.requests_per_s / base.pixels.requests_per_s).toFixed(3),
    },
    half_rate: { batches: halfBatch, pixels: halfPixel },
    soak: {
      seconds,
      ...soak,
      rss_mib: { start: rss[0], after_warmup: warm, end: rss.at(-1), max: Math.max(...rss) },
      rss_growth_after_warmup_ratio: +(rss.at(-1)! / warm).toFixed(3),
      undrained_events_at_end: spoolEvents,
    },
    targets: {
      batch_events_per_s: 200_000,
      pixel_ratio_to_baseline: 0.6,
      p99_ms_at_half_rate: 50,
    },
  });
}
