// The sink subscriber's scheduling, with a sink of our own (the Sink interface is adpipe's, so this
// is an implementation of it, not a stand-in for a database): commits never wait, a burst of them
// makes few syncs, a failing sink is retried with backoff and shown failing, close syncs what is left.

import { describe, expect, it } from 'vitest';
import type { PartSync, Sink, SinkStatus } from '../../src/sinks/sink.js';
import { SinkSubscriber } from '../../src/sinks/subscriber.js';

/** A sink in memory whose watermark moves on sync, and which fails while `down` is set. */
class MemorySink implements Sink {
  readonly type = 'memory';
  watermark = 0;
  syncs: number[] = [];
  down = false;
  closed = false;
  constructor(
    readonly name: string,
    private readonly syncMs = 30,
  ) {}

  async status(): Promise<SinkStatus> {
    return { watermark: this.watermark, parts: [] };
  }

  async sync(upTo: number): Promise<PartSync[]> {
    this.syncs.push(upTo);
    await new Promise((r) => setTimeout(r, this.syncMs));
    if (this.down) throw new Error('connect ECONNREFUSED');
    const after = this.watermark;
    this.watermark = Math.max(this.watermark, upTo);
    return [{ sink: this.name, table: 't', after, upTo, rows: 0, seconds: 0 }];
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const batch = (batchId: number) => ({
  batchId,
  kind: 'test',
  units: 1,
  accepted: 1,
  duplicates: 0,
  rejected: 0,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const opts = { debounceMs: 20, retryBaseMs: 50, retryMaxMs: 200, closeTimeoutMs: 2000 };

async function until(check: () => boolean, limitMs = 5000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > limitMs) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('SinkSubscriber', () => {
  it('folds a burst of commits into few syncs up to the latest batch, without waiting for any', async () => {
    const sink = new MemorySink('burst');
    const sub = new SinkSubscriber(sink, opts);
    sub.start(0);
    const started = performance.now();
    for (let b = 1; b <= 50; b++) sub.committed(batch(b));
    expect(performance.now() - started).toBeLessThan(20);
    expect(sub.status().state).toBe('behind');
    await until(() => sub.status().state === 'ok');
    expect(sink.watermark).toBe(50);
    expect(sink.syncs.at(-1)).toBe(50);
    expect(sink.syncs.length).toBeLessThanOrEqual(3);
    expect(sub.status()).toMatchObject({ handledBatch: 50, latestBatch: 50, failures: 0 });
    await sub.close();
  });

  it('retries a failing sink with growing waits, shows it failing, and catches up when it is back', async () => {
    const sink = new MemorySink('down', 1);
    sink.down = true;
    const sub = new SinkSubscriber(sink, opts);
    sub.start(3);
    await until(() => sink.syncs.length >= 4);
    const status = sub.status();
    expect(status.state).toBe('failing');
    expect(status.failures).toBeGreaterThanOrEqual(3);
    expect(status.detail).toMatch(/ECONNREFUSED/);
    expect(Date.parse(status.retryAt!)).toBeGreaterThan(Date.now() - 1000);
    // Commits do not hurry a failing sink: no sync right after them.
    const before = sink.syncs.length;
    for (let b = 4; b <= 10; b++) sub.committed(batch(b));
    await sleep(15);
    expect(sink.syncs.length).toBeLessThanOrEqual(before + 1);
    sink.down = false;
    await until(() => sub.status().state === 'ok');
    expect(sink.watermark).toBe(10);
    await sub.close();
  });

  it('syncs what is pending on close, then closes the sink', async () => {
    const sink = new MemorySink('closing');
    const sub = new SinkSubscriber(sink, { ...opts, debounceMs: 10_000 });
    sub.start(0);
    await until(() => sub.status().state === 'ok');
    sub.committed(batch(7));
    await sub.close();
    expect(sink.watermark).toBe(7);
    expect(sink.closed).toBe(true);
  });
});
