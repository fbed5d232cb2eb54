import type { Command } from 'commander';
import { runServer } from '../../server/run.js';
import { contextOf, intOption } from '../context.js';
import { sinkSyncSubscriber } from '../sink-subscriber.js';
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
        // Sinks sync after each commit of the intake, in the background: intake never waits on them.
        const sinks = await sinkSyncSubscriber(warehouse, config);
        await runServer({
          config,
          dataDir,
          warehouse,
          subscribers: sinks ? [sinks] : [],
          port: opts.port ?? config.server.port,
          host: opts.host ?? config.server.host,
          onListening: (address) => console.log(`adpipe serving on ${address} (data dir ${dataDir})`),
        });
      });
    });
}
