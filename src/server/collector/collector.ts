// Accepting a batch: validate every record with the JS contract validator, drop ids acknowledged
// recently, append the rest to the spool and the rejects to the dead-letter file, and answer only
// once both are fsynced. Duplicates counted here are a courtesy; the drain's SQL dedup against all
// history is the authority (an id first seen before the recent window is caught there).

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AdpipeError } from '../../errors.js';
import { type AdEvent, ID_FIELDS, MONEY_FIELDS, TEXT_FIELDS } from '../../events/contract.js';
import type { Rejection } from '../../events/reasons.js';
import { type Validation, validateEvent, validateEventText } from '../../events/validate.js';
import { liveCounters } from '../../stream/live-counters.js';
import { GroupCommitFile } from './group-commit.js';
import type { CollectorMetrics } from './metrics.js';
import { RecentIds } from './recent-ids.js';
import type { Spool } from './spool.js';

export interface BatchError {
  index: number;
  code: string;
  reason: string;
}

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

  /** NDJSON lines, each parsed and validated like a line of a file. */
  acceptLines(lines: readonly string[], source: string): Promise<AcceptResult> {
    return this.accept(
      lines.length,
      (i) => validateEventText(lines[i]!),
      (i) => lines[i]!,
      source,
      true,
    );
  }

  /**
   * Parsed records (JSON array elements, mapped Segment calls, pixel parameters). `durable: false`
   * answers once the records are written, before the fsync: for browsers, which never retry, waiting
   * would keep nothing more and only add latency.
   */
  acceptObjects(records: readonly unknown[], source: string, durable = true): Promise<AcceptResult> {
    return this.accept(
      records.length,
      (i) => validateEvent(records[i]),
      (i) => JSON.stringify(records[i]) ?? String(records[i]),
      source,
      durable,
    );
  }

  /**
   * One pixel or click record, answered once written (not fsynced; see acceptObjects). The same
   * steps as accept() without a batch's arrays and sets: this runs once per browser request.
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

  private async accept(
    n: number,
    validate: (i: number) => Validation,
    original: (i: number) => string,
    source: string,
    durable: boolean,
  ): Promise<AcceptResult> {
    const events: AdEvent[] = [];
    const lines: string[] = [];
    const batchIds = new Set<string>();
    const errors: BatchError[] = [];
    const dead: string[] = [];
    let duplicates = 0;
    const receivedAt = new Date().toISOString();
    for (let i = 0; i < n; i++) {
      const v = validate(i);
      if (!v.ok) {
        errors.push({ index: i, code: v.rejection.code, reason: v.rejection.message });
        dead.push(deadLetter(source, i, original(i), v.rejection, receivedAt));
        continue;
      }
      const id = v.event.event_id;
      if (batchIds.has(id) || this.recent.has(id)) {
        duplicates++;
        continue;
      }
      batchIds.add(id);
      events.push(v.event);
      lines.push(spoolLine(v.event));
    }
    const writes: Promise<void>[] = [];
    if (lines.length > 0)
      writes.push(this.spool.append(Buffer.from(`${lines.join('\n')}\n`), lines.length, durable));
    if (dead.length > 0) writes.push(this.deadLetterFile().then((f) => f.append(Buffer.from(dead.join('')))));
    await Promise.all(writes);
    // Only now kept: ids remembered before this would turn a retry after a failed write into a
    // "duplicate" of an event that was never kept.
    for (const id of batchIds) this.recent.add(id);
    if (events.length > 0) liveCounters.record(events);
    this.metrics.events.inc({ source, outcome: 'accepted' }, events.length);
    if (duplicates > 0) this.metrics.events.inc({ source, outcome: 'duplicate' }, duplicates);
    if (errors.length > 0) this.metrics.events.inc({ source, outcome: 'rejected' }, errors.length);
    return { accepted: events.length, duplicates, rejected: errors.length, errors };
  }

  private deadLetterFile(): Promise<GroupCommitFile> {
    this.deadLetters ??= mkdir(this.deadLetterDir, { recursive: true }).then(() =>
      GroupCommitFile.open(path.join(this.deadLetterDir, `http-${Date.now()}-${process.pid}.ndjson`)),
    );
    return this.deadLetters;
  }

  async close(): Promise<void> {
    if (this.deadLetters) await (await this.deadLetters).close();
  }
}

/** `,"field":` for every optional field, in AdEvent's order (after event_id, type, name, ts). */
const OPTIONAL_FIELDS = [...ID_FIELDS, 'device', 'app_type', ...TEXT_FIELDS] as const;
const OPTIONAL_KEYS = OPTIONAL_FIELDS.map((f) => `,"${f}":`);
const MONEY_KEYS = MONEY_FIELDS.map((f) => `,"${f}":"`);

/**
 * The spool line of an event: its normalised fields with the unknown ones (props) back at the top
 * level, so the drain's SQL validator reads exactly what the JS validator accepted. Missing fields
 * and zero money are left out (the validator reads them back as null and 0): lines a third the size
 * make the spool's fsyncs that much cheaper. Built by hand in AdEvent's field order (the same text
 * as JSON.stringify of those fields, without the intermediate object).
 */
export function spoolLine(ev: AdEvent): string {
  const e = ev as unknown as Record<string, string | null>;
  let text = `{"event_id":${JSON.stringify(ev.event_id)},"type":"${ev.type}"`;
  if (ev.name !== null) text += `,"name":${JSON.stringify(ev.name)}`;
  text += `,"ts":"${ev.ts}"`;
  for (let i = 0; i < OPTIONAL_FIELDS.length; i++) {
    const v = e[OPTIONAL_FIELDS[i]!];
    if (v !== null && v !== undefined) text += OPTIONAL_KEYS[i]! + JSON.stringify(v);
  }
  for (let i = 0; i < MONEY_FIELDS.length; i++) {
    const v = e[MONEY_FIELDS[i]!];
    if (v !== '0.000000') text += `${MONEY_KEYS[i]!}${v}"`;
  }
  return ev.props ? `${text},${ev.props.slice(1)}` : `${text}}`;
}

function deadLetter(source: string, index: number, text: string, r: Rejection, at: string): string {
  return `${JSON.stringify({ source, index, text, code: r.code, field: r.field, message: r.message, received_at: at })}\n`;
}
