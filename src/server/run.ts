// Runs the server until SIGTERM/SIGINT: used by `adpipe serve` and `adpipe demo`. The full server
// holds the run lock: its runtime loads its HTTP intake (started by the collector plugin) and the
// configured sources, and tells the caller's subscribers after each commit. A publishing collector
// (`serve --publish`) has no warehouse and no runtime: it serves the collector, health and metrics,
// and publishes what it accepts to a broker.

import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { AdpipeError } from '../errors.js';
import { Runtime } from '../runtime/runtime.js';
import type { Subscriber } from '../runtime/subscriber.js';
import { createSource } from '../sources/registry.js';
import type { StreamPublisher, StreamUrl } from '../sources/stream/broker.js';
import { announceAddress } from '../util/run-lock.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { buildServer } from './app.js';

interface ListenOptions {
  config: Config;
  port: number;
  host: string;
  /** Called once listening, with the address. */
  onListening(address: string): void;
}

export interface RunOptions extends ListenOptions {
  dataDir: string;
  warehouse: Warehouse;
  /** Told after each commit (sinks, …); closed after the last load. */
  subscribers?: Subscriber[];
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
  await serveUntilStopped(
    app,
    async () => {
      for (const fn of hooks) await fn();
      await runtime.close();
    },
    {
      ...opts,
      onListening: (address) => {
        announceAddress(opts.dataDir, address);
        opts.onListening(address);
      },
    },
  );
}

export interface PublishRunOptions extends ListenOptions {
  publisher: StreamPublisher;
  broker: StreamUrl;
  deadLetterDir: string;
}

/**
 * A publishing collector until SIGTERM/SIGINT: stop accepting, finish in-flight requests (each
 * waits for its broker's acknowledgement), wait for every publish, close the publisher.
 */
export async function runPublishServer(opts: PublishRunOptions): Promise<void> {
  const hooks: Array<() => Promise<void>> = [];
  const app = await buildServer({
    config: opts.config,
    publisher: opts.publisher,
    broker: opts.broker,
    deadLetterDir: opts.deadLetterDir,
    onShutdown: (fn) => hooks.push(fn),
  });
  await serveUntilStopped(
    app,
    async () => {
      for (const fn of hooks) await fn();
    },
    opts,
  );
}

/** Listens, then resolves once a signal has closed the app and `shutdown` has run. */
async function serveUntilStopped(
  app: FastifyInstance,
  shutdown: () => Promise<void>,
  opts: ListenOptions,
): Promise<void> {
  // Handlers first: a supervisor may send SIGTERM as soon as it reads the listening line, and a
  // signal that finds no handler kills the process before anything is flushed.
  const stopped = new Promise<void>((resolve) => {
    const stop = async () => {
      const closing = app.close();
      // A keep-alive connection whose request finishes after the close began would hold the
      // server open until its idle timeout: close each as soon as it is idle.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      await closing;
      clearInterval(sweep);
      await shutdown();
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
    await shutdown();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new AdpipeError('ADP_ERR_HTTP_PORT_IN_USE', [opts.port, opts.host], { cause: err });
    throw err;
  }
  opts.onListening(address);
  await stopped;
}
