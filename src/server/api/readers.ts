// A few forked connections for API reads, reused between requests: reads never share the serving
// connection (which ingests in transactions), and a request never pays for opening a connection.
// One connection is kept for cheap reads, so expensive reports cannot make a trivial one wait for
// them; a read whose client has gone is interrupted, or never started.

import { AdpipeError } from '../../errors.js';
import type { Warehouse } from '../../warehouse/warehouse.js';

/** `cheap` reads may use every connection; `heavy` ones all but the reserved one. */
export type ReadLane = 'cheap' | 'heavy';

export interface ReadOptions {
  lane?: ReadLane;
  /** Aborted when the client is gone: the read stops waiting, or its statements are interrupted. */
  signal?: AbortSignal;
}

interface Waiter {
  lane: ReadLane;
  give(wh: Warehouse): void;
}

/** How often an abandoned read is interrupted again: a report runs several statements in a row. */
const INTERRUPT_EVERY_MS = 50;

export class ReaderPool {
  private readonly idle: Warehouse[] = [];
  private readonly waiting: Waiter[] = [];
  private opened = 0;
  private heavyBusy = 0;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly size = 4,
    private readonly reservedForCheap = 1,
  ) {}

  async use<T>(fn: (wh: Warehouse) => Promise<T>, { lane = 'heavy', signal }: ReadOptions = {}): Promise<T> {
    const wh = await this.acquire(lane, signal);
    let interrupter: NodeJS.Timeout | undefined;
    const interrupt = () => {
      wh.conn.interrupt();
      interrupter ??= setInterval(() => wh.conn.interrupt(), INTERRUPT_EVERY_MS);
    };
    signal?.addEventListener('abort', interrupt, { once: true });
    try {
      if (signal?.aborted) throw cancelled();
      return await fn(wh);
    } catch (err) {
      throw signal?.aborted ? cancelled(err) : err;
    } finally {
      signal?.removeEventListener('abort', interrupt);
      clearInterval(interrupter);
      this.release(wh, lane);
    }
  }

  private mayTake(lane: ReadLane): boolean {
    return lane === 'cheap' || this.heavyBusy < this.size - this.reservedForCheap;
  }

  private async acquire(lane: ReadLane, signal: AbortSignal | undefined): Promise<Warehouse> {
    if (this.mayTake(lane)) {
      const idle = this.idle.pop();
      if (idle || this.opened < this.size) {
        if (lane === 'heavy') this.heavyBusy++;
        if (idle) return idle;
        this.opened++;
        return this.warehouse.fork();
      }
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { lane, give: resolve };
      this.waiting.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const at = this.waiting.indexOf(waiter);
          if (at < 0) return;
          this.waiting.splice(at, 1);
          reject(cancelled());
        },
        { once: true },
      );
    });
  }

  /** Hands the connection to the first waiter allowed to take it, in arrival order, else idles it. */
  private release(wh: Warehouse, lane: ReadLane): void {
    if (lane === 'heavy') this.heavyBusy--;
    const at = this.waiting.findIndex((w) => this.mayTake(w.lane));
    if (at < 0) {
      this.idle.push(wh);
      return;
    }
    const [next] = this.waiting.splice(at, 1);
    if (next!.lane === 'heavy') this.heavyBusy++;
    next!.give(wh);
  }

  close(): void {
    for (const wh of this.idle.splice(0)) wh.close();
  }
}

function cancelled(cause?: unknown): AdpipeError {
  return new AdpipeError('ADP_ERR_HTTP_CANCELLED', [], { cause });
}
