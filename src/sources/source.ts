// The one contract every input implements (files, S3, the HTTP intake's spool; Kafka, Redis
// Streams, NATS, feeds next). A source yields batches of units; the runtime loads each batch in one
// warehouse transaction and only then acknowledges it. What a source has consumed is known from the
// warehouse alone: a file-like unit's key and hash in the ledger, a stream's position in
// source_positions, both written by the commit that holds the unit's events. See docs/sources.md.

import type { Mapping } from '../events/mapping/index.js';
import type { FormatInfo } from './files/formats.js';

/** One input unit: a file, an S3 object, a spool segment, a range of stream offsets written to a file. */
export interface Unit {
  /** Stable across restarts: the ledger key (an absolute path, an s3:// URL, `kafka:topic/0@100-199`). */
  key: string;
  size: number;
  info: FormatInfo;
  /**
   * Every line already accepted by the collector's JS validator (spool segments): plain lines are
   * then normalised without testing the rules again (acceptedLinesSql).
   */
  accepted?: boolean;
  /**
   * Records the source itself could not turn into lines (a feed token with a bad MAC): the loader
   * writes them to the batch's dead letters, with the unit's key as their source, and counts them
   * as rejected. The unit's file holds only the other records.
   */
  rejected?: readonly PreRejected[];
  /**
   * Where a line of the unit came from, for dead letters, when the unit's key alone does not say it:
   * a stream range names each rejected record by its message (`kafka:ads/2@1034`, line 1 of that
   * message) instead of by its line in the range. Called for rejected lines only.
   */
  locate?(line: number): { source: string; line: number };
  /** Where DuckDB reads it, and its content hash; S3 objects are fetched to a local temp file first. */
  fetch(): Promise<{ localPath: string; hash: string; release(): Promise<void> }>;
}

/** A record rejected by its source, at its position in the unit (1-based), with a `<kind>.<reason>` code. */
export interface PreRejected {
  line: number;
  /** The record's own address when it is not the unit's key (a stream message: `kafka:ads/2@1034`). */
  source?: string;
  code: string;
  field: string;
  message: string;
}

/** A stream's committed position: the next offset, id or cursor to read from, as text. */
export type Positions = Record<string, string>;

/** What one commit takes from a source. */
export interface SourceBatch {
  units: readonly Unit[];
  /**
   * Per stream (a partition, a stream key, a consumer), where to resume once this batch is
   * committed. Written to source_positions in the batch's transaction; file-like sources leave it out.
   */
  positions?: Positions;
}

/** What the loader made of a batch, for the source's acknowledgement. */
export interface BatchOutcome {
  /** The committed batch, or undefined when every unit was in the ledger already (nothing to commit). */
  batchId: number | undefined;
  /** Units that could not be read at all, with the reason; their events are in no batch. */
  setAside: ReadonlyArray<{ key: string; reason: string }>;
}

export interface SourceContext {
  /** The positions committed for this source, as of the last commit (empty on a first run). */
  positions: Positions;
  /** The data dir, for temp units (`<data-dir>/tmp`). */
  dataDir: string;
  /** A continuous source calls this when units are ready; the runtime then polls. */
  wake(): void;
}

export interface Source<B extends SourceBatch = SourceBatch> {
  /** Unique in a runtime: the key of its positions (`http`, `files`, `kafka:orders`). */
  readonly name: string;
  /** What produced the batches, recorded on each (files, http, kafka, …). */
  readonly kind: string;
  /** A finite source ends when poll returns undefined; a continuous one waits for wake(). */
  readonly finite: boolean;
  /** Re-read file-like units whose content changed since they were loaded (else ADP_ERR_SOURCE_CHANGED). */
  readonly reprocess?: boolean;
  /** Turns the source's records into contract events before validation (docs/events.md, "Mapping your data"). */
  readonly mapping?: Mapping;
  /** Input bytes this source will yield in all, when known up front (for a progress bar). */
  readonly totalBytes?: number;
  /** Retries of a failing load: the wait doubles from baseMs up to maxMs. */
  readonly retry?: { baseMs: number; maxMs: number };
  open(ctx: SourceContext): Promise<void>;
  /** The next batch, or undefined when none is ready. Yields the same units again until they are acked. */
  poll(): Promise<B | undefined>;
  /**
   * Called once the batch is committed (or found committed before): only now may the source drop its
   * units (delete a segment, commit an offset, XACK). A crash before this replays the batch, which the
   * ledger or the positions make a no-op.
   */
  ack(batch: B, outcome: BatchOutcome): Promise<void>;
  /** Stops taking new input; poll then yields what is left, and the runtime loads it before close. */
  stop(): Promise<void>;
  /** Releases everything (after the last ack). */
  close(): Promise<void>;
}
