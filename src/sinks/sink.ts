// What a sink is to the rest of adpipe: a place kept equal to the warehouse's reports, batch by
// batch. Nothing here assumes SQL: a sink knows how far it has got (its own watermark), brings itself
// up to a batch exactly once, and may compare itself with the embedded reports. The SQL report
// tables (src/sinks/sql) are one implementation; the registry (registry.ts) makes them from config.

import { z } from 'zod';
import { AdpipeError } from '../errors.js';
import type { Warehouse } from '../warehouse/warehouse.js';

/** Keys every sink's config has, whatever its type. */
export const sinkBaseShape = {
  /** Defaults to the type, or `type-N` when several sinks share one. */
  name: z.string().min(1).optional(),
  /** Longest wait between retries of a failing sync while serving (the wait doubles from 1 s). */
  retry_max_ms: z.number().int().min(1000).default(60_000),
};

/** A sink's config schema: the common keys, its `type` and its own keys, unknown keys refused. */
export function sinkConfigSchema<const Type extends string, Shape extends z.ZodRawShape>(
  type: Type,
  shape: Shape,
) {
  return z.object({ type: z.literal(type), ...sinkBaseShape, ...shape }).strict();
}

export type SinkBaseConfig = { type: string } & z.output<z.ZodObject<typeof sinkBaseShape>>;

/** What a sink is made with besides its config. */
export interface SinkContext {
  /** The sink's resolved name (see configuredSinks). */
  name: string;
  /** adpipe.yaml's zone, for sinks that keep days and have none of their own. */
  tz: string;
  /** Where batches come from; the sink reads it, never writes it. */
  warehouse: Warehouse;
  /** This data dir's loader id (src/warehouse/loader-id.ts), for sinks several loaders share. */
  loaderId: string;
}

/** One part of a sink with its own watermark (a SQL sink's table). */
export interface SinkPart {
  name: string;
  /** Every batch up to this one is in the part. */
  watermark: number;
  /** When it last moved, ISO 8601, when the sink records it. */
  updatedAt?: string;
}

export interface SinkStatus {
  /** Every batch up to this one is in the sink: the lowest watermark of its parts. */
  watermark: number;
  parts: SinkPart[];
  /** For a sink several loaders share: the loader whose watermarks these are. */
  loader?: string;
}

/** What one sync did to one part. */
export interface PartSync {
  sink: string;
  table: string;
  after: number;
  upTo: number;
  rows: number;
  seconds: number;
}

/** A value the sink and the embedded report disagree on. */
export interface Difference {
  table: string;
  /** date, then the dimensions, as in the sink. */
  key: string[];
  column: string;
  embedded: string | null;
  sink: string | null;
}

export interface Sink {
  readonly name: string;
  readonly type: string;
  /** Asks the sink how far it has got. */
  status(): Promise<SinkStatus>;
  /**
   * Brings every part up to batch upTo, each exactly once: a part already there is left alone,
   * a failure leaves it where it was (or where the delta landed whole), so calling again is safe.
   */
  sync(upTo: number): Promise<PartSync[]>;
  /** Compares the sink with the embedded reports; empty when equal. */
  verify?(): Promise<Difference[]>;
  /** Drops what the sink holds and forgets its watermarks, so the next sync refills it. */
  rebuild?(): Promise<void>;
  /** Releases what the sink holds open. */
  close(): Promise<void>;
}

/** Wraps an error as ADP_ERR_SINK_FAILED naming the sink, unless it already is a sink error. */
export function sinkError(sink: string, err: unknown): AdpipeError {
  if (err instanceof AdpipeError && err.code.startsWith('ADP_ERR_SINK_')) return err;
  return new AdpipeError('ADP_ERR_SINK_FAILED', [sink, (err as Error).message ?? String(err)], {
    cause: err,
  });
}
