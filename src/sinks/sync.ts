// Bringing sinks up to date, whatever they are: one sync per sink at a time in a process, and bounded
// retries for the commands (after commits, subscriber.ts keeps sinks in sync). A sink that is down only
// falls behind: the warehouse keeps every batch, and the next sync catches up.

import { AdpipeError } from '../errors.js';
import { componentLogger } from '../logger.js';
import type { PartSync, Sink } from './sink.js';

const log = componentLogger('sink');

export interface RetryOptions {
  /** Attempts in all (at least 1). */
  attempts?: number;
  /** First wait between attempts; doubles each time. */
  backoffMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `adpipe sink rebuild`: drops the sink's tables and watermarks and refills them from the rollups,
 * which keep every batch: the way out of ADP_ERR_SINK_MODEL after a report model change.
 */
export async function rebuildSink(sink: Sink, upTo: number): Promise<PartSync[]> {
  const rebuild = sink.rebuild?.bind(sink);
  if (!rebuild)
    throw new AdpipeError('ADP_ERR_USAGE', [`sink ${sink.name} (${sink.type}) cannot be rebuilt`]);
  await oneAtATime(sink.name, rebuild);
  log.warn({ sink: sink.name }, 'sink tables dropped, refilling');
  return syncWithRetry(sink, upTo);
}

/** The sync or rebuild running per sink in this process, which the next one waits for. */
const running = new Map<string, Promise<unknown>>();

/**
 * Runs fn once nothing else syncs or rebuilds the same sink in this process: the run lock keeps
 * other processes out, this keeps a sync asked for over the API from racing the one after a commit.
 */
export function oneAtATime<T>(sink: string, fn: () => Promise<T>): Promise<T> {
  const before = running.get(sink) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(fn);
  const tail = mine.catch(() => undefined);
  running.set(sink, tail);
  void tail.then(() => {
    if (running.get(sink) === tail) running.delete(sink);
  });
  return mine;
}

/** Errors that need `adpipe sink rebuild`, not another attempt. */
const NEEDS_REBUILD: ReadonlySet<string> = new Set(['ADP_ERR_SINK_MODEL', 'ADP_ERR_SINK_AHEAD']);

export const isRetryable = (err: unknown) => !NEEDS_REBUILD.has((err as AdpipeError).code);

/** sink.sync(upTo) with bounded retries and exponential backoff; throws the last error. */
export async function syncWithRetry(
  sink: Sink,
  upTo: number,
  { attempts = 4, backoffMs = 500 }: RetryOptions = {},
): Promise<PartSync[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await oneAtATime(sink.name, () => sink.sync(upTo));
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err)) throw err;
      const wait = backoffMs * 2 ** (attempt - 1);
      log.warn({ sink: sink.name, attempt, wait, err: (err as Error).message }, 'sink sync failed, retrying');
      await sleep(wait);
    }
  }
}
