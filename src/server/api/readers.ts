// A few forked connections for API reads, reused between requests: reads never share the serving
// connection (which ingests in transactions), and a request never pays for opening a connection.

import type { Warehouse } from '../../warehouse/warehouse.js';

export class ReaderPool {
  private readonly idle: Warehouse[] = [];
  private readonly waiting: Array<(wh: Warehouse) => void> = [];
  private opened = 0;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly size = 4,
  ) {}

  async use<T>(fn: (wh: Warehouse) => Promise<T>): Promise<T> {
    const wh = await this.acquire();
    try {
      return await fn(wh);
    } finally {
      const next = this.waiting.shift();
      if (next) next(wh);
      else this.idle.push(wh);
    }
  }

  private async acquire(): Promise<Warehouse> {
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.opened < this.size) {
      this.opened++;
      return this.warehouse.fork();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  close(): void {
    for (const wh of this.idle.splice(0)) wh.close();
  }
}
