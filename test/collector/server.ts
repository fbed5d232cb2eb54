// Starts the real adpipe server in-process on an ephemeral port for collector tests.

import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../src/config.js';
import { lakeRelation } from '../../src/lake/lake.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { buildServer } from '../../src/server/app.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';

export interface TestServer {
  url: string;
  dataDir: string;
  app: FastifyInstance;
  warehouse: Warehouse;
  /** Closes the server, runs the shutdown hooks (final drain) and closes the warehouse. */
  stop(): Promise<void>;
}

export async function startServer(
  server: Record<string, unknown> = {},
  dataDir?: string,
): Promise<TestServer> {
  const dir = dataDir ?? makeTempDir('collector');
  const config = parseConfig({ server: { drain_interval_ms: 200, ...server } });
  const warehouse = await Warehouse.open(dir);
  const hooks: Array<() => Promise<void>> = [];
  const runtime = await Runtime.open(warehouse);
  const app = await buildServer({
    runtime,
    config,
    dataDir: dir,
    warehouse,
    onShutdown: (fn) => hooks.push(fn),
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    dataDir: dir,
    app,
    warehouse,
    async stop() {
      await app.close();
      for (const fn of hooks) await fn();
      await runtime.close();
      warehouse.close();
    },
  };
}

/** Count of lake events per type, read through the manifest. */
export async function lakeCounts(wh: Warehouse): Promise<Record<string, number>> {
  const rows = await wh.all<{ type: string; n: string }>(
    `SELECT type, count(*)::VARCHAR AS n FROM ${await lakeRelation(wh)} GROUP BY type`,
  );
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}
