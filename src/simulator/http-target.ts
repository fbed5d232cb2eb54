// `adpipe generate --to http://host:port`: the simulator's events sent to a running collector as
// NDJSON batches (POST /v1/events), optionally paced to a rate. A batch is retried until answered
// 200 (after 429/503 it waits for Retry-After), so every event is sent and acknowledged; a retry of
// a batch that did land only counts duplicates, which the collector drops by event_id.

import { AdpipeError } from '../errors.js';
import { eventStream, type SimOptions } from './index.js';
import { paceTo } from './pace.js';

export interface HttpTargetOptions extends SimOptions {
  /** Collector base URL, e.g. http://127.0.0.1:8080. */
  to: string;
  /** Events per second overall; unpaced when absent. */
  rate?: number;
  /** Events per request. */
  batch?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** A write key, sent as a Bearer token. */
  key?: string;
}

export interface HttpTargetResult {
  sent: number;
  requests: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  seconds: number;
}

const MAX_ATTEMPTS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function sendToCollector(options: HttpTargetOptions): Promise<HttpTargetResult> {
  const url = `${options.to.replace(/\/+$/, '')}/v1/events`;
  const size = options.batch ?? 500;
  const concurrency = options.concurrency ?? 4;
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  const result: HttpTargetResult = {
    sent: 0,
    requests: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    seconds: 0,
  };
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();

  const post = async (body: string) => {
    for (let attempt = 1; ; attempt++) {
      let res: Response | undefined;
      try {
        res = await fetch(url, { method: 'POST', body, headers });
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS)
          throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [url, (err as Error).message]);
      }
      if (res?.ok) {
        const out = (await res.json()) as { accepted: number; duplicates: number; rejected: number };
        result.requests++;
        result.accepted += out.accepted;
        result.duplicates += out.duplicates;
        result.rejected += out.rejected;
        return;
      }
      if (res && res.status !== 429 && res.status !== 503 && res.status < 500)
        throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [url, `HTTP ${res.status}: ${await res.text()}`]);
      if (attempt >= MAX_ATTEMPTS)
        throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [url, `HTTP ${res?.status}`]);
      const retryAfter = Number(res?.headers.get('retry-after'));
      await sleep(retryAfter > 0 ? retryAfter * 1000 : Math.min(100 * 2 ** attempt, 5000));
    }
  };

  const send = async (lines: string[]) => {
    result.sent += lines.length;
    await paceTo(started, result.sent, options.rate);
    const p = post(lines.join('\n')).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  };

  let lines: string[] = [];
  for await (const rec of eventStream(options)) {
    // Malformed records of a dirty run are strings, sent as they are: the collector rejects them.
    lines.push(typeof rec === 'string' ? rec : JSON.stringify(rec));
    if (lines.length >= size) {
      await send(lines);
      lines = [];
    }
  }
  if (lines.length > 0) await send(lines);
  await Promise.all(inFlight);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
