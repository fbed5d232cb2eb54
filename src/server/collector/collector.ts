// The collector's side of accepting: HTTP bodies and groups of browser hits validated against the
// contract (in a worker when there is a pool), then handed to the intake, which answers once they
// are durable in its spool or acknowledged by its broker.

import { AdpipeError } from '../../errors.js';
import type { TooManyEvents, ValidatedBatch } from '../../sources/spool/batch.js';
import { validateNdjson, validateObjects } from '../../sources/spool/batch.js';
import type { AcceptResult, EventIntake } from '../../sources/spool/intake.js';
import { type HitGroup, validateHits } from './hits.js';
import type { ValidatorPool } from './validator-pool.js';

export class Collector {
  constructor(
    readonly intake: EventIntake,
    /** Validates NDJSON batches and hit groups off the event loop; inline without one. */
    private readonly pool?: ValidatorPool,
  ) {}

  /**
   * An NDJSON body, each line parsed and validated like a line of a file (in a worker when there is
   * a pool). Over `maxEvents` lines it is refused whole (413).
   */
  async acceptNdjson(body: Buffer, maxEvents: number, source: string): Promise<AcceptResult> {
    const at = new Date().toISOString();
    const batch: ValidatedBatch | TooManyEvents = this.pool
      ? await this.pool.validate(body, maxEvents, source, at)
      : validateNdjson(body, maxEvents, source, at);
    if ('tooMany' in batch)
      throw new AdpipeError('ADP_ERR_COLLECTOR_BATCH_TOO_LARGE', [batch.tooMany, maxEvents]);
    return this.intake.keep(batch, source, true);
  }

  /** Parsed records (JSON array elements, mapped Segment calls at `positions` in the request). */
  acceptObjects(
    records: readonly unknown[],
    source: string,
    positions?: readonly number[],
  ): Promise<AcceptResult> {
    const at = new Date().toISOString();
    return this.intake.keep(validateObjects(records, source, at, undefined, positions), source, true);
  }

  /**
   * A group of browser hits (see hits.ts), answered once written, before the fsync: browsers never
   * retry, so waiting would keep nothing more and only add latency.
   * Resolves to each hit's rejection code, undefined where it was kept or was a duplicate.
   */
  async acceptHits(group: HitGroup, count: number): Promise<Array<string | undefined>> {
    const batch = this.pool ? await this.pool.validateHits(group) : validateHits(group);
    const { errors } = await this.intake.keep(batch, group.source, false);
    const rejected = new Array<string | undefined>(count);
    for (const e of errors) rejected[e.index] = e.code;
    return rejected;
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}
