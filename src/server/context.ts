import type { Config } from '../config.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { Readiness } from './readiness.js';

/** What every server plugin gets: config, data dir and the warehouse (its own connection per use). */
export interface ServerContext {
  config: Config;
  dataDir: string;
  warehouse: Warehouse;
  /** Loads the sources (the collector's HTTP intake among them) and tells the subscribers. */
  runtime: Runtime;
  /** Work to finish before the process exits (flush spools, stop timers), run on shutdown in order. */
  onShutdown(fn: () => Promise<void>): void;
  /** Conditions that make /readyz fail while they last. */
  readiness: Readiness;
}

/** What a caller of buildServer provides; the server makes the rest. */
export type ServerOptions = Omit<ServerContext, 'readiness'>;
