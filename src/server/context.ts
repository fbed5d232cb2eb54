import type { Config } from '../config.js';
import type { Runtime } from '../runtime/runtime.js';
import type { StreamPublisher, StreamUrl } from '../sources/stream/broker.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { Readiness } from './readiness.js';

/** What every server plugin gets. */
interface BaseContext {
  config: Config;
  /** Work to finish before the process exits (flush spools, stop timers), run on shutdown in order. */
  onShutdown(fn: () => Promise<void>): void;
  /** Conditions that make /readyz fail while they last. */
  readiness: Readiness;
}

/** The full server's: config, data dir and the warehouse (its own connection per use). */
export interface ServerContext extends BaseContext {
  dataDir: string;
  warehouse: Warehouse;
  /** Loads the sources (the collector's HTTP intake among them) and tells the subscribers. */
  runtime: Runtime;
}

/**
 * A publishing collector's (`serve --publish`): no warehouse, runtime or data-dir lock, so several
 * run side by side; it serves only the collector, health and metrics.
 */
export interface PublishContext extends BaseContext {
  publisher: StreamPublisher;
  /** The broker's URL, parsed: its hosts are what /readyz probes. */
  broker: StreamUrl;
  /** Where rejected records' dead letters go. */
  deadLetterDir: string;
}

/** What the collector, health and metrics plugins get: either server. */
export type CollectorContext = ServerContext | PublishContext;

export const publishing = (ctx: CollectorContext): ctx is PublishContext => 'publisher' in ctx;

/** What a caller of buildServer provides; the server makes the rest. */
export type ServerOptions = Omit<ServerContext, 'readiness'> | Omit<PublishContext, 'readiness'>;
