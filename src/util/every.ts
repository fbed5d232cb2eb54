// Runs a task again and again: every `everyMs` ±10 % (jitter, so many pullers do not align), and
// after failures twice as long per failure in a row, at most 8× — until the signal aborts.

export interface EveryOptions {
  readonly signal: AbortSignal;
  /** Told about each failure; the loop goes on. */
  readonly onError?: (err: unknown, failures: number) => void;
  /** For tests: a number in [0, 1), default Math.random. */
  readonly random?: () => number;
}

/** The wait after a run with `failures` failures in a row. */
export function nextWait(everyMs: number, failures: number, random: () => number = Math.random): number {
  return everyMs * Math.min(2 ** failures, 8) * (0.9 + random() * 0.2);
}

export async function runEvery(
  everyMs: number,
  task: () => Promise<void>,
  options: EveryOptions,
): Promise<void> {
  const { signal } = options;
  let failures = 0;
  while (!signal.aborted) {
    try {
      await task();
      failures = 0;
    } catch (err) {
      failures++;
      options.onError?.(err, failures);
    }
    if (signal.aborted) return; // an abort during the task: no listener would fire for it
    const wait = nextWait(everyMs, failures, options.random);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, wait);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }
}

const INTERVAL_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The interval syntax of `every:` / `--every` / `--older-than`: a whole number and s, m, h or d. */
export const INTERVAL_PATTERN = /^(\d+)([smhd])$/;

/** `30s`, `5m`, `1h`, `90d` → milliseconds. */
export function parseInterval(value: string): number {
  const m = INTERVAL_PATTERN.exec(value);
  if (m === null) throw new Error(`expected a number and s, m, h or d (e.g. 5m), got ${value}`);
  return Number(m[1]) * (INTERVAL_UNITS[m[2] as string] as number);
}
