import type { Command } from 'commander';
import { runServer } from '../../server/run.js';
import { startSinkSubscribers } from '../../sinks/subscriber.js';
import { contextOf, intOption } from '../context.js';
import { withWriter } from '../writer.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('Serve the collector, the query API and the dashboard on one port')
    .option('-p, --port <port>', 'port (default: config server.port, 8080)', intOption('--port'))
    .option('--host <host>', 'address to listen on (default: config server.host)')
    .action(async (opts: { port?: number; host?: string }, cmd: Command) => {
      const { config, dataDir } = contextOf(cmd);
      await withWriter(dataDir, async (warehouse) => {
        await runServer({
          config,
          dataDir,
          warehouse,
          // Each sink syncs after the commits, in the background: intake never waits on a sink.
          subscribers: await startSinkSubscribers(config, warehouse),
          port: opts.port ?? config.server.port,
          host: opts.host ?? config.server.host,
          onListening: (address) => console.log(`adpipe serving on ${address} (data dir ${dataDir})`),
        });
      });
    });
}
