import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { AdpipeError } from '../errors.js';
import { logDestination, logger } from '../logger.js';
import { commandModules } from './commands/index.js';
import { EXIT } from './exit-codes.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export async function main(argv: string[]): Promise<void> {
  const program = new Command('adpipe')
    .description('Ad-event pipeline: collect, validate, land in a Parquet lake, roll up into exact reports.')
    .version(version, '-V, --version', 'print the version')
    .option('-c, --config <file>', 'config file (default ./adpipe.yaml or $ADPIPE_CONFIG)')
    .option('-d, --data-dir <dir>', 'data directory (default ./adpipe-data or $ADPIPE_DATA_DIR)')
    .showHelpAfterError()
    .exitOverride();
  for (const load of commandModules) (await load()).register(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
  }
  // A log write that never ends (a pipe nobody reads) would keep the process alive: exit anyway.
  if (!(await logDestination.flush(LOG_FLUSH_MS))) process.exit();
}

/** How long the last log lines may take to be written once a command is done. */
const LOG_FLUSH_MS = 2000;

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.error;
  if (err instanceof AdpipeError) {
    console.error(`adpipe: ${err.code}: ${err.message}`);
    return err.code === 'ADP_ERR_WAREHOUSE_LOCKED' ? EXIT.locked : EXIT.error;
  }
  logger.error({ err }, 'unexpected failure');
  console.error(`adpipe: ${(err as Error)?.message ?? String(err)}`);
  return EXIT.unexpected;
}
