// Files and S3 objects as a source: the units found under its paths, in name order, in batches of
// `batch_files`. Their position is the ledger (key + hash, written by each batch's commit), so the
// ack has nothing to commit: a unit loaded before is skipped by the loader. With `watch_ms` the
// paths are listed again on that clock and new units loaded as they appear (`adpipe serve`);
// without, the source ends once everything found at the start is loaded (`adpipe ingest`).

import { z } from 'zod';
import { loadMapping, type Mapping } from '../../events/mapping/index.js';
import type { Source, SourceBatch, SourceContext, Unit } from '../source.js';
import { discoverInputs } from './discover.js';

export const filesSourceSchema = z
  .object({
    type: z.literal('files'),
    /** Unique among the sources; also what its batches are told apart by in logs. */
    name: z.string().min(1).default('files'),
    /** Local files or folders (recursed) and s3://bucket/prefix URLs. */
    paths: z.array(z.string().min(1)).min(1),
    /** Units per atomic batch. */
    batch_files: z.number().int().positive().default(10),
    /** Load again a unit whose content changed since it was loaded. */
    reprocess: z.boolean().default(false),
    /** List the paths again this often and load new units; unset: load what is there once. */
    watch_ms: z.number().int().positive().optional(),
    /** A mapping file (YAML) turning the files' records into contract events. */
    mapping: z.string().min(1).optional(),
  })
  .strict();

export type FilesSourceConfig = z.infer<typeof filesSourceSchema>;

export class FilesSource implements Source {
  readonly kind = 'files';
  readonly finite: boolean;
  readonly reprocess: boolean;
  readonly totalBytes: number;
  readonly mapping: Mapping | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Every key found so far, so a watch yields each unit once per process. */
  private readonly found: Set<string>;

  private constructor(
    private readonly config: FilesSourceConfig,
    /** Units found and not yet acknowledged, in name order. */
    private readonly pending: Unit[],
  ) {
    this.finite = config.watch_ms === undefined;
    this.reprocess = config.reprocess;
    this.mapping = config.mapping === undefined ? undefined : loadMapping(config.mapping);
    this.totalBytes = pending.reduce((n, u) => n + u.size, 0);
    this.found = new Set(pending.map((u) => u.key));
  }

  get name(): string {
    return this.config.name;
  }

  /** Lists the paths now: a missing path fails here, before anything is loaded. */
  static async create(config: FilesSourceConfig): Promise<FilesSource> {
    return new FilesSource(config, await discoverInputs(config.paths));
  }

  async open(ctx: SourceContext): Promise<void> {
    if (this.finite) return;
    this.timer = setInterval(() => {
      void this.discover().then(
        (added) => added && ctx.wake(),
        () => undefined, // a path that is gone for now is listed again on the next tick
      );
    }, this.config.watch_ms);
    this.timer.unref();
  }

  private async discover(): Promise<boolean> {
    const fresh = (await discoverInputs(this.config.paths)).filter((u) => !this.found.has(u.key));
    for (const u of fresh) this.found.add(u.key);
    this.pending.push(...fresh);
    return fresh.length > 0;
  }

  async poll(): Promise<SourceBatch | undefined> {
    if (this.pending.length === 0) return undefined;
    return { units: this.pending.slice(0, this.config.batch_files) };
  }

  async ack(batch: SourceBatch): Promise<void> {
    this.pending.splice(0, batch.units.length);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  async close(): Promise<void> {}
}
