// Events sent to a running `adpipe serve` reach its SQL sinks after each drain commit, while it
// runs (#17: the drain used to sync nothing until an `adpipe sink sync`).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { configuredSinks } from '../../src/sinks/sink.js';
import { describeWith, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { serve } from './serve.js';

(await describeWith('postgres'))('sinks of a running server', () => {
  it('syncs each drain commit into the sink while the server runs', async () => {
    const dataDir = makeTempDir('serve-sink');
    const prefix = `adp_t_serve_${process.pid}_${Math.random().toString(36).slice(2, 8)}_`;
    const sink = { type: 'postgres', url: testServices.pgUrl, reports: ['ad'], table_prefix: prefix };
    const table = configuredSinks(parseConfig({ sinks: [sink] }))[0]!.tables[0]!.name;
    const config = path.join(dataDir, 'adpipe.yaml');
    writeFileSync(config, JSON.stringify({ server: { drain_interval_ms: 150 }, sinks: [sink] }));
    const { child, url } = await serve(dataDir, config);
    const db = new pg.Client({ connectionString: testServices.pgUrl });
    await db.connect();
    try {
      const body = Array.from({ length: 40 }, (_, i) =>
        JSON.stringify({
          event_id: `s-${i}`,
          type: 'impression',
          ts: '2025-05-05T05:05:05Z',
          media_id: 'm1',
        }),
      ).join('\n');
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      expect(((await res.json()) as { accepted: number }).accepted).toBe(40);
      // Polled while the server runs: nothing here asks for a sync.
      let impressions = 0;
      for (const until = Date.now() + 30_000; impressions < 40 && Date.now() < until; ) {
        await new Promise((r) => setTimeout(r, 200));
        // The table appears with the first sync.
        const found = await db
          .query<{ n: string | null }>(`SELECT sum(impressions)::TEXT AS n FROM "${table}"`)
          .catch(() => ({ rows: [{ n: '0' }] }));
        impressions = Number(found.rows[0]?.n ?? 0);
      }
      expect(impressions).toBe(40);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      const tables = await db.query<{ n: string }>(
        'SELECT tablename AS n FROM pg_tables WHERE tablename LIKE $1',
        [`${prefix.replace(/_/g, '\\_')}%`],
      );
      for (const t of tables.rows) await db.query(`DROP TABLE IF EXISTS "${t.n}" CASCADE`);
      await db.end();
    }
  }, 60_000);
});
