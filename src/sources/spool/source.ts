// The HTTP intake as a source: the collector's requests land in the write-ahead spool (intake.ts,
// acknowledged once fsynced); sealed segments are its units. A batch is the oldest sealed segments
// up to about BATCH_EVENTS; the ledger records each by path and hash in the batch's commit, and only
// the acknowledgement after that commit deletes them. A crash between commit and delete leaves
// segments the ledger already knows: the next load skips them and the ack deletes them.

import { renameSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { componentLogger } from '../../logger.js';
import { hashFile } from '../files/discover.js';
import type { BatchOutcome, Source, SourceBatch, SourceContext, Unit } from '../source.js';
import { type EventCounter, type Health, Intake } from './intake.js';
import { type Segment, Spool } from './spool.js';

const log = componentLogger('spool');

/**
 * Events per batch (at least one segment): bounds one transaction's size, and so the load's
 * memory, when a backlog is loaded. A million is past where larger groups stop paying.
 */
const BATCH_EVENTS = 1_000_000;

export interface SpoolSourceOptions {
  /** `<data-dir>/spool`; set-aside segments go to `<data-dir>/deadletter`. */
  dir: string;
  /** Seal the open segment once it holds this many events. */
  segmentEvents: number;
  /** The clock that seals the open segment, so no event waits much longer; also the first retry wait. */
  intervalMs: number;
  /** Longest wait between retries of a failing load. */
  retryMaxMs: number;
  /** Undrained events over which requests are refused (503). */
  highWater: number;
  events: EventCounter;
  health: Health;
  onFsync?: (seconds: number) => void;
}

export interface SpoolBatch extends SourceBatch {
  segments: readonly Segment[];
}

export class SpoolSource implements Source<SpoolBatch> {
  readonly name = 'http';
  readonly kind = 'http';
  readonly finite = false;
  readonly retry: { baseMs: number; maxMs: number };
  /** Where the collector hands its validated batches. */
  readonly intake: Intake;
  private wake: () => void = () => undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The clock's latest seal, which wakes the runtime when it ends. */
  private sealing: Promise<void> | undefined;

  private constructor(
    readonly spool: Spool,
    private readonly options: SpoolSourceOptions,
  ) {
    this.retry = { baseMs: options.intervalMs, maxMs: options.retryMaxMs };
    this.intake = new Intake(spool, this.deadLetterDir, options.events, options.highWater, options.health);
  }

  /** Opens the spool, sealing whatever a previous run left, so it is loaded first. */
  static async create(options: SpoolSourceOptions): Promise<SpoolSource> {
    let source: SpoolSource | undefined;
    const spool = await Spool.open(options.dir, {
      segmentEvents: options.segmentEvents,
      onFsync: options.onFsync,
      // A segment sealed by size or count is loaded at once.
      onSealed: () => source?.wake(),
    });
    source = new SpoolSource(spool, options);
    return source;
  }

  private get deadLetterDir(): string {
    return path.join(path.dirname(this.options.dir), 'deadletter');
  }

  async open(ctx: SourceContext): Promise<void> {
    this.wake = ctx.wake;
    this.timer = setInterval(() => {
      this.sealing = this.spool.seal().then(() => this.wake());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async poll(): Promise<SpoolBatch | undefined> {
    const segments: Segment[] = [];
    let events = 0;
    for (const seg of this.spool.drainable()) {
      if (segments.length > 0 && events + seg.events > BATCH_EVENTS) break;
      segments.push(seg);
      events += seg.events;
    }
    return segments.length === 0 ? undefined : { units: segments.map(unitOf), segments };
  }

  async ack(batch: SpoolBatch, outcome: BatchOutcome): Promise<void> {
    // A segment DuckDB could not read at all is moved beside the dead letters, never dropped.
    for (const s of outcome.setAside) await this.setAside(s.key);
    await this.spool.remove(batch.segments);
  }

  private async setAside(file: string): Promise<void> {
    await mkdir(this.deadLetterDir, { recursive: true });
    renameSync(file, path.join(this.deadLetterDir, `spool-${path.basename(file)}`));
    log.error({ file }, 'spool segment set aside into the dead-letter store');
  }

  /**
   * Stops the clock and seals the spool: every acknowledged event is then in a sealed segment for
   * the runtime's last load. A seal the clock started just before is waited for.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sealing;
    await this.spool.close();
  }

  async close(): Promise<void> {
    await this.intake.close();
  }
}

function unitOf(seg: Segment): Unit {
  return {
    key: seg.file,
    size: seg.bytes,
    info: { format: 'jsonl', gzip: false },
    accepted: true,
    fetch: async () => ({
      localPath: seg.file,
      hash: await hashFile(seg.file),
      release: async () => undefined,
    }),
  };
}
