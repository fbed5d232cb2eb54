import cliProgress from 'cli-progress';
import type { LoadProgress } from '../loader/loader.js';

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/**
 * An ingest progress bar on stderr in bytes of input, moving as each stage of a group ends, when
 * stderr is a terminal; undefined otherwise (logs, CI, pipes).
 */
export function ingestProgressBar(
  totalBytes: number,
): { update(p: LoadProgress): void; stop(): void } | undefined {
  if (!process.stderr.isTTY || totalBytes === 0) return undefined;
  const bar = new cliProgress.SingleBar(
    {
      format: `{bar} {percentage}% | {done} of ${mb(totalBytes)} MB | {stage} | {eta_formatted} left`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalBytes, 0, { done: mb(0), stage: 'read' });
  return {
    update: (p) => bar.update(p.bytes, { done: mb(p.bytes), stage: p.stage }),
    stop: () => bar.stop(),
  };
}
