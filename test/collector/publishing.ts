// What the tests of publishing collectors (`adpipe serve --publish URL`) share, whatever the broker:
// collectors in child processes, the events and requests they are sent, their dead letters, and a
// TCP proxy to the broker that a test cuts to make the broker unreachable.

import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { expect } from 'vitest';
import { signedClickUrl } from '../../src/server/collector/click-signature.js';
import { makeTempDir } from '../helpers/tmp.js';
import { serve } from './serve.js';

export const SECRET = 'click-secret-0123456789abcdef';
export const WRITE_KEY = 'write-key-0123456789';

export interface Collector {
  child: ChildProcess;
  url: string;
}

/** `adpipe serve --publish URL` in a child process; resolves once it announces its address. */
export function servePublishing(
  publish: string,
  server: Record<string, unknown> = {},
  dir = makeTempDir('publish'),
): Promise<Collector> {
  const config = path.join(dir, `adpipe-${randomUUID()}.yaml`);
  writeFileSync(
    config,
    JSON.stringify({
      server: { secret: SECRET, write_keys: [WRITE_KEY], publish_timeout_ms: 4000, ...server },
    }),
  );
  return serve(dir, config, { args: ['--publish', publish] });
}

/** Two collectors side by side on one data dir (no lock: nothing but dead letters goes there). */
export function servePair(publish: string, dir: string): Promise<[Collector, Collector]> {
  return Promise.all([servePublishing(publish, {}, dir), servePublishing(publish, {}, dir)]);
}

export function stopped(c: Collector): Promise<number | null> {
  if (c.child.exitCode !== null) return Promise.resolve(c.child.exitCode);
  return new Promise((resolve) => c.child.once('exit', (code) => resolve(code)));
}

export const ev = (id: string, type = 'impression', extra: Record<string, unknown> = {}) => ({
  event_id: id,
  type,
  ts: '2026-03-01T10:00:00.000Z',
  media_id: 'm1',
  revenue: '0.001',
  ...extra,
});
export const ndjson = (recs: unknown[]) => `${recs.map((r) => JSON.stringify(r)).join('\n')}\n`;

export const post = (c: Collector, body: string) =>
  fetch(`${c.url}/v1/events`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${WRITE_KEY}`, 'content-type': 'application/x-ndjson' },
  });

/**
 * A pixel of a fresh media_id to `a` and a signed click of the same to `b`, both taken, and a
 * pixel `a` refuses; the media_id and the click's event_id, to find them published.
 */
export async function sendPixelAndClick(
  a: Collector,
  b: Collector,
): Promise<{ tag: string; clickId: string }> {
  const tag = `px-${randomUUID()}`;
  const pixel = await fetch(`${a.url}/i?media_id=${tag}`);
  expect(pixel.status).toBe(200);
  expect(pixel.headers.get('x-adpipe-rejected')).toBeNull();
  const clickId = `clk-${randomUUID()}`;
  const click = await fetch(
    signedClickUrl(b.url, { event_id: clickId, media_id: tag, url: 'https://example.com/land' }, SECRET),
    { redirect: 'manual' },
  );
  expect(click.status).toBe(302);
  const refused = await fetch(`${a.url}/i?media_id=${tag}&device=TABLET`);
  expect(refused.headers.get('x-adpipe-rejected')).not.toBeNull();
  return { tag, clickId };
}

/**
 * With its broker unreachable the collector is not ready, naming the broker, and refuses a batch of
 * 10 events with 503 and a Retry-After; the batch's event ids, for the retry.
 */
export async function expectBrokerDown(c: Collector): Promise<string[]> {
  const ready = await fetch(`${c.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(((await ready.json()) as { checks: Record<string, string> }).checks.broker).toMatch(
    /takes connections/,
  );
  const ids = Array.from({ length: 10 }, (_, i) => `down-${i}-${randomUUID()}`);
  const down = await post(c, ndjson(ids.map((id) => ev(id))));
  expect(down.status).toBe(503);
  expect(down.headers.get('retry-after')).toBe('5');
  expect(((await down.json()) as { error: { code: string } }).error.code).toBe(
    'ADP_ERR_COLLECTOR_BROKER_UNAVAILABLE',
  );
  return ids;
}

/** The event ids of the dead letters the collectors of a data dir wrote, sorted. */
export function deadLetterIds(dataDir: string): string[] {
  const deadDir = path.join(dataDir, 'deadletter');
  return readdirSync(deadDir)
    .flatMap((f) =>
      readFileSync(path.join(deadDir, f), 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse((JSON.parse(l) as { text: string }).text) as { event_id: string }).event_id),
    )
    .sort();
}

/** A TCP proxy to a broker on a port of its own, which the test opens and closes. */
export class BrokerProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** A proxy to the target on a free port, closed until opened. */
  static async to(target: { host: string; port: number }): Promise<BrokerProxy> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    return new BrokerProxy(port, target);
  }

  /**
   * Forwards to the broker, each byte for the broker `delayMs` late (a slow link: an answer that
   * waits for the broker's replies takes at least that long); or (`silent`) takes connections and
   * never answers: a broker that hangs.
   */
  async open({ silent = false, delayMs = 0 } = {}): Promise<void> {
    this.server = createServer((client) => {
      this.track(client);
      if (silent) return;
      const upstream = this.track(connect(this.target));
      upstream.pipe(client);
      if (delayMs === 0) client.pipe(upstream);
      // Timers of one delay fire in the order they were set: the bytes stay in order.
      else client.on('data', (chunk: Buffer) => setTimeout(() => upstream.write(chunk), delayMs));
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }

  private track(s: Socket): Socket {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    return s;
  }

  /**
   * Drops every connection and takes new ones without answering: the broker's address still takes
   * connections (a load balancer in front of a broker that is down, a hung broker), no client gets through.
   */
  async hang(): Promise<void> {
    await this.close();
    await this.open({ silent: true });
  }

  /** Stops listening and drops every connection through it. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }
}
