// Finding 6 (the log): a real `adpipe serve` whose stderr cannot take its log. Log lines are written
// off the event loop and dropped when they fail, so /healthz answers, events are acknowledged,
// /readyz names the failing log, and SIGTERM stops the process promptly. Needs `npx tsc -p .`.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/tmp.js';

const BIN = path.resolve('bin/adpipe.js');

let child: ChildProcess | undefined;
afterEach(() => {
  if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** Starts `adpipe serve` logging every request (info) to `stderr`; resolves with its URL. */
async function serve(stderr: 'pipe' | number): Promise<string> {
  const dataDir = makeTempDir('failing-log');
  child = spawn(
    process.execPath,
    [BIN, '--data-dir', dataDir, 'serve', '--port', '0', '--host', '127.0.0.1'],
    {
      cwd: dataDir,
      env: { ...process.env, ADPIPE_CONFIG: '', VITEST: '', ADPIPE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', stderr],
    },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    child!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child!.once('exit', (code) => reject(new Error(`adpipe serve exited with ${code}: ${out}`)));
  });
}

const event = (i: number) => `{"event_id":"e${i}","type":"click","ts":"2026-01-01T00:00:00.000Z"}`;

/** Sends requests that each log a line or two, then checks the server still does its work. */
async function stillServes(url: string): Promise<void> {
  for (let i = 0; i < 40; i++)
    await Promise.all(
      Array.from({ length: 25 }, (_, j) =>
        fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) })
          .then((r) => r.text())
          .then(() => j),
      ),
    );
  const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
  expect(health.status).toBe(200);
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    body: `${event(1)}\n${event(2)}\n`,
    signal: AbortSignal.timeout(5000),
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ accepted: 2 });
}

/** SIGTERM, and the time until the process is gone. */
async function stopMs(): Promise<number> {
  const started = Date.now();
  const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
  child!.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  return child!.exitCode === null && child!.signalCode === null
    ? Number.POSITIVE_INFINITY
    : Date.now() - started;
}

describe('a log that cannot be written', () => {
  it('on a full disk (/dev/full): the server answers, reports the log on /readyz and stops on SIGTERM', async () => {
    const full = openSync('/dev/full', 'w');
    try {
      const url = await serve(full);
      await stillServes(url);
      const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
      expect(ready.status).toBe(503);
      expect((await ready.json()).checks.log).toMatch(/ENOSPC/);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(Number(/^adpipe_log_lines_dropped_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(100);
      expect(await stopMs()).toBeLessThan(5000);
      expect(child!.exitCode).toBe(0);
    } finally {
      closeSync(full);
    }
  });

  it('on a pipe nobody reads: the server answers and stops on SIGTERM', async () => {
    const url = await serve('pipe');
    // Nothing reads child.stderr: once the pipe's buffer is full, every log write blocks.
    child!.stderr!.pause();
    await stillServes(url);
    expect(await stopMs()).toBeLessThan(5000);
  });
});
