// The collector's write side (EventIntake): takes validated batches (src/sources/spool/batch.ts),
// drops ids acknowledged recently, keeps the rest and writes the rejects to the dead-letter file, and
// resolves only once both are durable: the collector acknowledges a request on that. Two kinds keep
// events: Intake appends them to the data dir's spool (the HTTP intake the runtime loads), and the
// publishing collector's (src/server/collector/publish-intake.ts) hands them to a broker. Duplicates
// counted here are a courtesy; the loader's SQL dedup against all history is the authority (an id
// first seen before the recent window is caught there).

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AdpipeError } from '../../errors.js';
import { componentLogger } from '../../logger.js';
import { liveCounters } from '../../stream/live-counters.js';
import { type BatchError, KIND_CLICK, KIND_IMPRESSION, type ValidatedBatch } from './batch.js';
import { GroupCommitFile } from './group-commit.js';
import { RecentIds } from './recent-ids.js';
import type { Spool } from './spool.js';

export interface AcceptResult {
  accepted: number;
  duplicates: number;
  rejected: number;
  errors: BatchError[];
}

/** Ids remembered for ack-time duplicate counts. */
const RECENT_IDS = 1 << 20;
/** Seconds a client is asked to wait when the intake is over its high-water mark. */
const OVERLOAD_RETRY_SECONDS = 5;
/** Seconds a client is asked to wait when the data disk is full. */
const DISK_FULL_RETRY_SECONDS = 30;

const log = componentLogger('intake');

/** Conditions that fail readiness while they last (the server's /readyz). */
export interface Health {
  fail(check: string, reason: string): void;
  clear(check: string): void;
}

/** Events taken, by the route family that sent them and outcome (accepted, duplicate, rejected). */
export interface EventCounter {
  inc(labels: { source: string; outcome: string }, n: number): void;
}

/** Where the collector hands its validated batches. */
export interface EventIntake {
  /** Throws 503 with Retry-After when over the high-water mark, before any work is done. */
  checkCapacity(): void;
  /** checkCapacity without the throw. */
  overloaded(): boolean;
  readonly retryAfterSeconds: number;
  /**
   * Drops recently acknowledged ids, then keeps the rest and writes the dead letters; `durable:
   * false` may answer before they are durable (browser hits, which are never retried).
   */
  keep(batch: ValidatedBatch, source: string, durable: boolean): Promise<AcceptResult>;
  /** Waits for what is being kept, then releases the files (and the broker connection). */
  close(): Promise<void>;
}

/**
 * What both kinds of intake share: recent ids, dead letters, counts. A subclass says how it keeps the
 * records that are not at `known` (ascending indexes) and when it is over its high-water mark.
 */
export abstract class KeepingIntake implements EventIntake {
  private readonly recent = new RecentIds(RECENT_IDS);
  private deadLetters: Promise<GroupCommitFile> | undefined;
  /** A write failed for want of space, and none has succeeded since. */
  private diskFull = false;

  constructor(
    private readonly deadLetterDir: string,
    private readonly events: EventCounter,
    protected readonly readiness: Health,
  ) {}

  abstract overloaded(): boolean;

  protected abstract write(batch: ValidatedBatch, known: readonly number[], durable: boolean): Promise<void>;

  checkCapacity(): void {
    if (this.overloaded()) throw new AdpipeError('ADP_ERR_COLLECTOR_OVERLOADED', [OVERLOAD_RETRY_SECONDS]);
  }

  get retryAfterSeconds(): number {
    return OVERLOAD_RETRY_SECONDS;
  }

  async keep(batch: ValidatedBatch, source: string, durable: boolean): Promise<AcceptResult> {
    const { ids, idEnds, hashes, fresh } = batch;
    const n = idEnds.length;
    // Indexes of the records acknowledged before (a client's retry), usually none.
    const known: number[] = [];
    for (let i = 0, start = 0; i < n; start = idEnds[i++]!)
      if (!fresh?.[i] && this.recent.has(ids, start, idEnds[i]!, hashes[i]!)) known.push(i);
    const kept = n - known.length;
    const deadLetters =
      batch.dead === ''
        ? undefined
        : this.deadLetterFile()
            .then((f) => f.append(Buffer.from(batch.dead)))
            .catch((err: unknown) => {
              throw this.writeFailed(err);
            });
    try {
      await Promise.all([kept > 0 ? this.write(batch, known, durable) : undefined, deadLetters]);
    } finally {
      // Both settled, whichever failed first: nothing of this request is left running.
      await deadLetters?.catch(() => undefined);
    }
    if (this.diskFull) {
      this.diskFull = false;
      this.readiness.clear('spool');
    }
    // Only now kept: ids remembered before this would turn a retry after a failed write into a
    // "duplicate" of an event that was never kept.
    let k = 0;
    for (let i = 0, start = 0; i < n; start = idEnds[i++]!) {
      if (i === known[k]) k++;
      else if (!fresh?.[i]) this.recent.add(ids, start, idEnds[i]!, hashes[i]!);
    }
    if (kept > 0) liveCounters.add(liveTotals(batch, known));
    const { errors } = batch;
    const duplicates = batch.repeats + known.length;
    this.events.inc({ source, outcome: 'accepted' }, kept);
    if (duplicates > 0) this.events.inc({ source, outcome: 'duplicate' }, duplicates);
    if (errors.length > 0) this.events.inc({ source, outcome: 'rejected' }, errors.length);
    return { accepted: kept, duplicates, rejected: errors.length, errors };
  }

  /**
   * The client's answer to a failed spool or dead-letter write: 503 with Retry-After for a full disk
   * (which fails readiness until a write succeeds), else 500; neither names a path.
   */
  protected writeFailed(err: unknown): AdpipeError {
    if (err instanceof AdpipeError) return err;
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    log.error({ err }, 'a spool or dead-letter write failed');
    if (code !== 'ENOSPC' && code !== 'EDQUOT')
      return new AdpipeError('ADP_ERR_INTERNAL', [`could not write the spool (${code})`], { cause: err });
    this.diskFull = true;
    this.readiness.fail('spool', `disk full: no space left for the spool and dead letters (${code})`);
    return new AdpipeError('ADP_ERR_COLLECTOR_DISK_FULL', [DISK_FULL_RETRY_SECONDS], {
      cause: err,
      retryAfterSeconds: DISK_FULL_RETRY_SECONDS,
    });
  }

  /** The dead-letter file; one whose write failed (a full disk) takes no more, so it is opened again. */
  private deadLetterFile(): Promise<GroupCommitFile> {
    const current = this.deadLetters;
    this.deadLetters = current
      ? current.then(
          (f) => (f.broken ? this.openDeadLetters(f) : f),
          () => this.openDeadLetters(),
        )
      : this.openDeadLetters();
    return this.deadLetters;
  }

  private async openDeadLetters(broken?: GroupCommitFile): Promise<GroupCommitFile> {
    await broken?.close().catch(() => undefined);
    await mkdir(this.deadLetterDir, { recursive: true });
    return GroupCommitFile.open(path.join(this.deadLetterDir, `http-${Date.now()}-${process.pid}.ndjson`));
  }

  async close(): Promise<void> {
    await (await this.deadLetters?.catch(() => undefined))?.close();
  }
}

/** The data dir's intake: kept records are appended to the spool, which the runtime loads. */
export class Intake extends KeepingIntake {
  constructor(
    private readonly spool: Spool,
    deadLetterDir: string,
    events: EventCounter,
    private readonly highWater: number,
    readiness: Health,
  ) {
    super(deadLetterDir, events, readiness);
  }

  /** Undrained events are over the high-water mark. */
  overloaded(): boolean {
    return this.spool.pendingEvents >= this.highWater;
  }

  protected async write(batch: ValidatedBatch, known: readonly number[], durable: boolean): Promise<void> {
    try {
      await this.spool.append(keptLines(batch, known), batch.idEnds.length - known.length, durable);
    } catch (err) {
      throw this.writeFailed(err);
    }
  }
}

/** The spool bytes of a batch's records but those at `skip` (ascending indexes). */
export function keptLines(batch: ValidatedBatch, skip: readonly number[]): Buffer {
  const { spool, ends } = batch;
  const all = Buffer.from(spool.buffer, spool.byteOffset, spool.byteLength);
  if (skip.length === 0) return all;
  const parts: Buffer[] = [];
  let from = 0;
  for (const i of skip) {
    const start = i === 0 ? 0 : ends[i - 1]!;
    if (start > from) parts.push(all.subarray(from, start));
    from = ends[i]!;
  }
  if (from < all.length) parts.push(all.subarray(from));
  return Buffer.concat(parts);
}

/** The live view's counts of a batch's records but those at `skip`. */
function liveTotals(batch: ValidatedBatch, skip: readonly number[]) {
  const t = { ...batch.live };
  for (const i of skip) {
    t.events--;
    if (batch.kinds[i] === KIND_IMPRESSION) t.impressions--;
    else if (batch.kinds[i] === KIND_CLICK) t.clicks--;
    t.revenueMicros -= batch.revenueMicros[i]!;
  }
  return t;
}
