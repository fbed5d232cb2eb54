import type { Command } from 'commander';
import { removeOrphans } from '../../lake/lake.js';
import { buildServer } from '../../server/app.js';
import { acquireRunLock } from '../../util/run-lock.js';
import { Warehouse } from '../../warehouse/warehouse.js';
import { contextOf, intOption } from '../context.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('Serve the collector, the query API and the dashboard on one port')
    .option('-p, --port <port>', 'port (default: config server.port, 8080)', intOption('--port'))
    .option('--host <host>', 'address to listen on (default: config server.host)')
    .action(async (opts: { port?: number; host?: string }, cmd: Command) => {
      const { config, dataDir } = contextOf(cmd);
      const lock = acquireRunLock(dataDir);
      const warehouse = await Warehouse.open(dataDir);
      await removeOrphans(warehouse);
      const hooks: Array<() => Promise<void>> = [];
      const app = await buildServer({ config, dataDir, warehouse, onShutdown: (fn) => hooks.push(fn) });
      const address = await app.listen({
        port: opts.port ?? config.server.port,
        host: opts.host ?? config.server.host,
      });
      console.log(`adpipe serving on ${address} (data dir ${dataDir})`);
      await new Promise<void>((resolve) => {
        const stop = async () => {
          // Stop accepting, let in-flight requests finish, then flush whatever components hold.
          await app.close();
          for (const fn of hooks) await fn();
          warehouse.close();
          lock.release();
          resolve();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
