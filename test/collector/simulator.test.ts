import { describe, expect, it } from 'vitest';
import { sendToCollector } from '../../src/simulator/http-target.js';
import { eventStream } from '../../src/simulator/index.js';
import { lakeCounts, startServer } from './server.js';

describe('adpipe generate --to', () => {
  it('sends the simulated events to the collector, all acknowledged and landed once', async () => {
    const sim = { events: 3000, seed: 7, files: 2 };
    const expected: Record<string, number> = {};
    for await (const rec of eventStream(sim)) {
      const type = (rec as { type: string }).type;
      expected[type] = (expected[type] ?? 0) + 1;
    }
    const total = Object.values(expected).reduce((a, b) => a + b, 0);
    const s = await startServer({ write_keys: ['sim-key-000001'] });
    try {
      const r = await sendToCollector({ ...sim, to: s.url, batch: 400, key: 'sim-key-000001' });
      expect(r).toMatchObject({
        sent: total,
        requests: Math.ceil(total / 400),
        accepted: total,
        duplicates: 0,
        rejected: 0,
      });
      // Sending again only finds duplicates.
      const again = await sendToCollector({ ...sim, to: s.url, batch: 1000, key: 'sim-key-000001' });
      expect(again).toMatchObject({ accepted: 0, duplicates: total });
    } finally {
      await s.stop();
    }
    const after = await startServer({}, s.dataDir);
    try {
      expect(await lakeCounts(after.warehouse)).toEqual(expected);
    } finally {
      await after.stop();
    }
  });
});
