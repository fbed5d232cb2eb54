import cliProgress from 'cli-progress';

/** A progress bar on stderr when it is a terminal; undefined otherwise (logs, CI, pipes). */
export function progressBar(unit: string, total: number): cliProgress.SingleBar | undefined {
  if (!process.stderr.isTTY || total < 2) return undefined;
  const bar = new cliProgress.SingleBar(
    {
      format: `{bar} {value}/{total} ${unit} | {eta_formatted} left`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return bar;
}
