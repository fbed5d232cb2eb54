// Starts a real `adpipe serve` from source in a child process (one a test can SIGKILL), through the
// benches' own starter: one place waits for a child's "serving on" line.
import path from 'node:path';
import { type Server, serveArgs, startServer } from '../../bench/util.js';

const CLI = path.resolve('test/collector/cli.ts');

/** Resolves once the server announces its address. `args` follow `serve --port 0`. */
export function serve(
  dataDir: string,
  config: string,
  { args = [] }: { args?: string[] } = {},
): Promise<Server> {
  return startServer(['--import', 'tsx', CLI, ...serveArgs(config, dataDir), ...args]);
}
