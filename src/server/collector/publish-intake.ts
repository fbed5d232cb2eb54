// The publishing collector's write side (`adpipe serve --publish URL`): each kept event's spool line
// (the normalised text the spool would hold) is one message keyed by its event_id, so repeats of an
// id always meet in one partition, where a loader's dedup finds them. A request is acknowledged only
// once the broker has its messages (the publisher resolves after acks=all / a PubAck / XADD's reply).
// Rejected records go to the local dead-letter dir as on the spool collector.

import { AdpipeError } from '../../errors.js';
import { componentLogger } from '../../logger.js';
import type { ValidatedBatch } from '../../sources/spool/batch.js';
import { type EventCounter, type Health, KeepingIntake } from '../../sources/spool/intake.js';
import type { PublishRecord, StreamPublisher } from '../../sources/stream/broker.js';
import { GroupPublisher } from './group-publisher.js';

const log = componentLogger('publish');

/** Seconds a client is asked to wait when the broker did not take its events. */
const BROKER_RETRY_SECONDS = 5;

export interface PublishIntakeOptions {
  publisher: StreamPublisher;
  /** The broker URL without credentials, for the log. */
  shown: string;
  deadLetterDir: string;
  events: EventCounter;
  health: Health;
  /** Events being published at most; over it requests are refused (503) before their body is read. */
  maxInFlight: number;
  /** A publish the broker has not acknowledged by then is answered 503 (it may still land: a retry is then a duplicate). */
  timeoutMs: number;
  /** Told each publish's outcome and seconds. */
  onPublish?: (ok: boolean, seconds: number) => void;
}

export class PublishIntake extends KeepingIntake {
  /** Events handed to the publisher and not yet settled (acknowledged or failed). */
  private inFlightEvents = 0;
  private readonly pending = new Set<Promise<void>>();
  /** Clears the readiness problem a failed publish raised, unless another fails meanwhile. */
  private recovery: NodeJS.Timeout | undefined;

  private readonly groups: GroupPublisher;

  constructor(private readonly options: PublishIntakeOptions) {
    super(options.deadLetterDir, options.events, options.health);
    this.groups = new GroupPublisher(options.publisher);
    // Not ready while the client says its connection is down, with no request needed to find out.
    options.publisher.link?.watch((down) => {
      if (down === undefined) this.readiness.clear('broker_connection');
      else this.readiness.fail('broker_connection', `the connection to ${options.shown} is down: ${down}`);
    });
  }

  get inFlight(): number {
    return this.inFlightEvents;
  }

  overloaded(): boolean {
    return this.inFlightEvents >= this.options.maxInFlight;
  }

  protected async write(batch: ValidatedBatch, known: readonly number[]): Promise<void> {
    const records = keptRecords(batch, known);
    const started = performance.now();
    this.inFlightEvents += records.length;
    // Counted until the broker answers, not until the client's deadline: memory stays bounded.
    const publish = this.groups.publish(records).finally(() => {
      this.inFlightEvents -= records.length;
      this.pending.delete(settled);
    });
    const settled = publish.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no acknowledgement within ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
    });
    try {
      await Promise.race([publish, deadline]);
      this.options.onPublish?.(true, (performance.now() - started) / 1000);
      this.published(undefined);
    } catch (err) {
      this.options.onPublish?.(false, (performance.now() - started) / 1000);
      log.warn({ err, broker: this.options.shown, events: records.length }, 'publishing failed');
      this.published(err);
      throw new AdpipeError('ADP_ERR_COLLECTOR_BROKER_UNAVAILABLE', [BROKER_RETRY_SECONDS], {
        cause: err,
        retryAfterSeconds: BROKER_RETRY_SECONDS,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A failed publish makes the collector not ready for as long as its clients are asked to wait
   * (with no traffic, nothing else would tell it the broker is back); a publish that succeeds ends that.
   */
  private published(err: unknown): void {
    clearTimeout(this.recovery);
    if (err === undefined) {
      this.readiness.clear('publish');
      return;
    }
    this.readiness.fail(
      'publish',
      `the last publish to ${this.options.shown} failed: ${(err as Error).message}`,
    );
    this.recovery = setTimeout(() => this.readiness.clear('publish'), BROKER_RETRY_SECONDS * 1000).unref();
  }

  /**
   * Waits for every publish to settle (at most the publish timeout: their clients have been answered
   * by then), then closes the publisher and the dead-letter file.
   */
  override async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.timeoutMs);
    });
    await Promise.race([Promise.all(this.pending), waited]);
    clearTimeout(timer);
    clearTimeout(this.recovery);
    if (this.pending.size > 0) log.warn({ publishes: this.pending.size }, 'closing with publishes unsettled');
    await this.options.publisher.close();
    await super.close();
  }
}

/** One message per kept record but those at `skip` (ascending indexes): key event_id, value its spool line. */
function keptRecords(batch: ValidatedBatch, skip: readonly number[]): PublishRecord[] {
  const { spool, ends, ids, idEnds } = batch;
  const bytes = Buffer.from(spool.buffer, spool.byteOffset, spool.byteLength);
  const out: PublishRecord[] = [];
  for (let i = 0, k = 0; i < ends.length; i++) {
    if (i === skip[k]) {
      k++;
      continue;
    }
    out.push({
      key: ids.slice(i === 0 ? 0 : idEnds[i - 1], idEnds[i]),
      // Without its newline: a message is one event.
      value: bytes.subarray(i === 0 ? 0 : ends[i - 1], ends[i]! - 1),
    });
  }
  return out;
}
