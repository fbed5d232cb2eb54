// Parquet copies of the warehouse tables an API query names, for the query sandbox
// (src/query/query-sandbox.ts), whose child process cannot open the warehouse the server holds.

import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { lakeRelation } from '../../lake/lake.js';
import { sqlIdent, sqlString } from '../../warehouse/quote.js';
import type { ReaderPool } from './readers.js';

/**
 * Parquet copies of the readable tables a query names, taken when first needed since the warehouse
 * last changed: the database file and its WAL change with every commit, so their sizes and times
 * say when a copy is stale. The lake needs no copy, only the list of its committed files.
 */
export class QuerySnapshots {
  private current?: { key: string; dir: string; relations: Map<string, string> };
  private seq = 0;

  constructor(
    private readonly dataDir: string,
    private readonly readers: ReaderPool,
  ) {}

  get root(): string {
    return path.join(this.dataDir, 'query-snapshot');
  }

  /** Relations (name → SQL) for the readable `tables`, copying those not copied in this state. */
  async viewsFor(tables: ReadonlySet<string>): Promise<Record<string, string>> {
    const key = this.warehouseState();
    if (this.current?.key !== key) {
      // The sandbox runs one query at a time and this runs before it: older copies are unused.
      rmSync(this.root, { recursive: true, force: true });
      const dir = path.join(this.root, String(++this.seq));
      mkdirSync(dir, { recursive: true });
      this.current = { key, dir, relations: new Map() };
    }
    const { dir, relations } = this.current;
    const missing = [...tables].filter((t) => !relations.has(t));
    if (missing.length > 0)
      await this.readers.use((wh) =>
        wh.transaction(async () => {
          for (const table of missing) {
            if (table === 'lake') {
              relations.set(table, await lakeRelation(wh));
              continue;
            }
            const file = path.join(dir, `${table}.parquet`);
            await wh.run(`COPY ${sqlIdent(table)} TO ${sqlString(file)} (FORMAT parquet)`);
            relations.set(table, `read_parquet(${sqlString(file)})`);
          }
        }),
      );
    return Object.fromEntries([...tables].map((t) => [t, relations.get(t)!]));
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  private warehouseState(): string {
    const file = path.join(this.dataDir, 'warehouse.duckdb');
    return [file, `${file}.wal`]
      .map((f) => {
        try {
          const s = statSync(f);
          return `${s.size}@${s.mtimeMs}`;
        } catch {
          return '-';
        }
      })
      .join(',');
  }
}
