// adpipe.yaml's `sinks:` as named sinks, made by the registry.

import type { Config } from '../config.js';
import { AdpipeError } from '../errors.js';
import { loaderId } from '../warehouse/loader-id.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { sinkRegistry } from './registry.js';
import type { Sink, SinkBaseConfig } from './sink.js';

export interface ConfiguredSink {
  name: string;
  /** Every registered schema is made with sinkConfigSchema, so the common keys are there. */
  config: SinkBaseConfig;
}

/** The configured sinks (or the one named), named `type` or `type-N` unless they have a name. */
export function configuredSinks(config: Config, name?: string): ConfiguredSink[] {
  const sinks = config.sinks as SinkBaseConfig[];
  const all = sinks.map((s, i) => ({
    name: s.name ?? (sinks.filter((o) => o.type === s.type).length > 1 ? `${s.type}-${i + 1}` : s.type),
    config: s,
  }));
  if (name === undefined) return all;
  const found = all.filter((s) => s.name === name);
  if (found.length === 0)
    throw new AdpipeError('ADP_ERR_USAGE', [
      `no sink named ${name} (configured: ${all.map((s) => s.name).join(', ') || 'none'})`,
    ]);
  return found;
}

export async function openSink(sink: ConfiguredSink, config: Config, warehouse: Warehouse): Promise<Sink> {
  const ctx = {
    name: sink.name,
    tz: config.tz,
    warehouse,
    loaderId: await loaderId(warehouse, config.loader_id),
  };
  return sinkRegistry.get(sink.config.type).create(sink.config, ctx);
}

/** The configured sinks (or the one named), made. */
export function openSinks(config: Config, warehouse: Warehouse, name?: string): Promise<Sink[]> {
  return Promise.all(configuredSinks(config, name).map((s) => openSink(s, config, warehouse)));
}
