// Runs the server until SIGTERM/SIGINT with the run lock held: used by `adpipe serve` and `adpipe demo`.
// The server's runtime loads its HTTP intake (started by the collector plugin) and the configured
// sources, and tells the caller's subscribers after each commit.

import type { Config } from '../config.js';
import { AdpipeError } from '../errors.js';
import { Runtime } from '../runtime/runtime.js';
import type { Subscriber } from '../runtime/subscriber.js';
import { createSource } from '../sources/registry.js';
import { announceAddress } from '../util/run-lock.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { buildServer } from './app.js';

export interface RunOptions {
  config: Config;
  dataDir: string;
  warehouse: Warehouse;
  port: number;
  host: string;
  /** Told after each commit (sinks, …); closed after the last load. */
  subscribers?: Subscriber[];
  /** Called once listening, with the address. */
  onListening(address: string): void;
}

/** Resolves after a graceful shutdown: stop accepting, finish in-flight requests, run shutdown hooks. */
export async function runServer(opts: RunOptions): Promise<void> {
  const hooks: Array<() => Promise<void>> = [];
  const runtime = await Runtime.open(opts.warehouse, opts.subscribers);
  const app = await buildServer({
    config: opts.config,
    dataDir: opts.dataDir,
    warehouse: opts.warehouse,
    runtime,
    onShutdown: (fn) => hooks.push(fn),
  });
  for (const config of opts.config.sources)
    await runtime.start(await createSource(config, { dataDir: opts.dataDir }));
  // Handlers first: a supervisor may send SIGTERM as soon as it reads the listening line, and a
  // signal that finds no handler kills the process before anything is flushed.
  const stopped = new Promise<void>((resolve) => {
    const stop = async () => {
      await app.close();
      for (const fn of hooks) await fn();
      await runtime.close();
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  let address: string;
  try {
    address = await app.listen({ port: opts.port, host: opts.host });
  } catch (err) {
    await app.close();
    for (const fn of hooks) await fn();
    await runtime.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new AdpipeError('ADP_ERR_HTTP_PORT_IN_USE', [opts.port, opts.host], { cause: err });
    throw err;
  }
  announceAddress(opts.dataDir, address);
  opts.onListening(address);
  await stopped;
}
