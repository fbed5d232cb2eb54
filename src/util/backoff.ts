// Waits between retries of something that keeps failing (a drain, a sink sync).

/**
 * The wait before retry number `failures` (1, 2, …): baseMs doubled per failure up to maxMs, then
 * between half and all of it at random, so servers sharing a failed disk or database do not retry
 * in step.
 */
export function retryDelay(baseMs: number, maxMs: number, failures: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
