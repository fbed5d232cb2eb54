import type { Config } from '../config.js';
import type { Warehouse } from '../warehouse/warehouse.js';

/** What every server plugin gets: config, data dir and the warehouse (its own connection per use). */
export interface ServerContext {
  config: Config;
  dataDir: string;
  warehouse: Warehouse;
  /** Work to finish before the process exits (flush spools, stop timers), run on shutdown in order. */
  onShutdown(fn: () => Promise<void>): void;
}
