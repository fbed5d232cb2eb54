// Accepting a batch: validate every record with the JS contract validator, drop ids acknowledged
// recently, append the rest to the spool and the rejects to the dead-letter file, and answer only
// once both are fsynced. Duplicates counted here are a courtesy; the drain's SQL dedup against all
// history is the authority (an id first seen before the recent window is caught there).

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AdpipeError } from '../../errors.js';
import type { EventType } from '../../events/contract.js';
import { validateEvent } from '../../events/validate.js';
import { liveCounters } from '../../stream/live-counters.js';
import {
  type BatchError,
  deadLetter,
  spoolLine,
  type ValidatedBatch,
  validateLines,
  validateRecords,
} from './batch.js';
import { GroupCommitFile } from './group-commit.js';
import type { CollectorMetrics } from './metrics.js';
import { RecentIds } from './recent-ids.js';
import type { Spool } from './spool.js';
import type { ValidatorPool } from './validator-pool.js';

export interface AcceptResult {
  accepted: number;
  duplicates: number;
  rejected: number;
  errors: BatchError[];
}

/** Ids remembered for ack-time duplicate counts. */
const RECENT_IDS = 1 << 20;
/** Seconds a client is asked to wait when the spool is over its high-water mark. */
const OVERLOAD_RETRY_SECONDS = 5;

export class Collector {
  private readonly recent = new RecentIds(RECENT_IDS);
  private deadLetters: Promise<GroupCommitFile> | undefined;

  constructor(
    private readonly spool: Spool,
    private readonly deadLetterDir: string,
    private readonly metrics: CollectorMetrics,
    private readonly highWater: number,
    /** Validates NDJSON batches off the event loop; inline without one. */
    private readonly pool?: ValidatorPool,
  ) {}

  /** Throws 503 when undrained events are over the high-water mark, before any work is done. */
  checkCapacity(): void {
    if (this.overloaded()) throw new AdpipeError('ADP_ERR_OVERLOADED', [OVERLOAD_RETRY_SECONDS]);
  }

  /** checkCapacity without the throw. */
  overloaded(): boolean {
    return this.spool.pendingEvents >= this.highWater;
  }

  get retryAfterSeconds(): number {
    return OVERLOAD_RETRY_SECONDS;
  }

  /** NDJSON lines, each parsed and validated like a line of a file (in a worker when there is a pool). */
  async acceptLines(lines: string[], source: string): Promise<AcceptResult> {
    const at = new Date().toISOString();
    const batch = this.pool ? await this.pool.validate(lines, source, at) : validateLines(lines, source, at);
    return this.keep(batch, source, true);
  }

  /**
   * Parsed records (JSON array elements, mapped Segment calls, pixel parameters). `durable: false`
   * answers once the records are written, before the fsync: for browsers, which never retry, waiting
   * would keep nothing more and only add latency.
   */
  acceptObjects(records: readonly unknown[], source: string, durable = true): Promise<AcceptResult> {
    const batch = validateRecords(
      records.length,
      (i) => validateEvent(records[i]),
      (i) => JSON.stringify(records[i]) ?? String(records[i]),
      source,
      new Date().toISOString(),
    );
    return this.keep(batch, source, durable);
  }

  /**
   * One pixel or click record, answered once written (not fsynced; see acceptObjects). The same
   * steps as validateRecords and keep() without a batch's arrays and sets: this runs once per
   * browser request.
   * Resolves to the rejection code, or undefined when the record was kept or was a duplicate.
   */
  async acceptOne(record: Record<string, unknown>, source: string): Promise<string | undefined> {
    const v = validateEvent(record);
    if (!v.ok) {
      const at = new Date().toISOString();
      const text = JSON.stringify(record);
      await (await this.deadLetterFile()).append(Buffer.from(deadLetter(source, 0, text, v.rejection, at)));
      this.metrics.events.inc({ source, outcome: 'rejected' }, 1);
      return v.rejection.code;
    }
    const id = v.event.event_id;
    if (this.recent.has(id)) {
      this.metrics.events.inc({ source, outcome: 'duplicate' }, 1);
      return undefined;
    }
    await this.spool.append(Buffer.from(`${spoolLine(v.event)}\n`), 1, false);
    this.recent.add(id);
    liveCounters.record([v.event]);
    this.metrics.events.inc({ source, outcome: 'accepted' }, 1);
    return undefined;
  }

  /** Drops repeated and recently acknowledged ids, then writes the rest and the dead letters. */
  private async keep(batch: ValidatedBatch, source: string, durable: boolean): Promise<AcceptResult> {
    const lines: string[] = [];
    const live: Array<{ type: EventType; revenue: string }> = [];
    const batchIds = new Set<string>();
    let duplicates = 0;
    for (let i = 0; i < batch.ids.length; i++) {
      const id = batch.ids[i]!;
      if (batchIds.has(id) || this.recent.has(id)) {
        duplicates++;
        continue;
      }
      batchIds.add(id);
      lines.push(batch.lines[i]!);
      live.push({ type: batch.types[i]!, revenue: batch.revenues[i]! });
    }
    const writes: Promise<void>[] = [];
    if (lines.length > 0)
      writes.push(this.spool.append(Buffer.from(`${lines.join('\n')}\n`), lines.length, durable));
    if (batch.dead.length > 0)
      writes.push(this.deadLetterFile().then((f) => f.append(Buffer.from(batch.dead.join('')))));
    await Promise.all(writes);
    // Only now kept: ids remembered before this would turn a retry after a failed write into a
    // "duplicate" of an event that was never kept.
    for (const id of batchIds) this.recent.add(id);
    if (live.length > 0) liveCounters.record(live);
    const { errors } = batch;
    this.metrics.events.inc({ source, outcome: 'accepted' }, lines.length);
    if (duplicates > 0) this.metrics.events.inc({ source, outcome: 'duplicate' }, duplicates);
    if (errors.length > 0) this.metrics.events.inc({ source, outcome: 'rejected' }, errors.length);
    return { accepted: lines.length, duplicates, rejected: errors.length, errors };
  }

  private deadLetterFile(): Promise<GroupCommitFile> {
    this.deadLetters ??= mkdir(this.deadLetterDir, { recursive: true }).then(() =>
      GroupCommitFile.open(path.join(this.deadLetterDir, `http-${Date.now()}-${process.pid}.ndjson`)),
    );
    return this.deadLetters;
  }

  async close(): Promise<void> {
    await this.pool?.close();
    if (this.deadLetters) await (await this.deadLetters).close();
  }
}
