// A small warehouse for API and browser tests: four days of hand-made traffic (two are the
// "previous period" of the other two), metadata with names and media shares, and two bad records,
// ingested through the real pipeline.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Config, parseConfig } from '../../src/config.js';
import { loadUnits } from '../../src/loader/loader.js';
import { loadMetadata } from '../../src/pipeline/metadata.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { buildServer } from '../../src/server/app.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';

export const DAYS = ['2024-04-29', '2024-04-30', '2024-05-01', '2024-05-02'];
const MEDIA = [
  { media: 'm1', org: 'o1', device: 'PC', app: 'WEB', country: 'KR', demand: 'd1', campaign: 'c1' },
  { media: 'm2', org: 'o2', device: 'MOBILE', app: 'IOS', country: 'US', demand: 'd2', campaign: 'c2' },
  { media: 'm3', org: 'o2', device: 'MOBILE', app: 'AOS', country: 'JP', demand: 'd2', campaign: 'c2' },
];

function events(): string[] {
  const lines: string[] = [];
  let n = 0;
  DAYS.forEach((day, d) => {
    for (let i = 0; i < 24 + d * 4; i++) {
      const m = MEDIA[i % MEDIA.length]!;
      const hour = String(i % 24).padStart(2, '0');
      const base = {
        ts: `${day}T${hour}:${String((i * 7) % 60).padStart(2, '0')}:00Z`,
        org_id: m.org,
        media_id: m.media,
        inventory_id: `${m.media}-inv`,
        ad_id: `ad${i % 4}`,
        demand_id: m.demand,
        campaign_id: m.campaign,
        device: m.device,
        app_type: m.app,
        country: m.country,
        ad_format: i % 2 ? 'banner' : 'video',
      };
      const ev = (type: string, extra: object = {}) =>
        lines.push(JSON.stringify({ event_id: `e${++n}`, type, ...base, ...extra }));
      // The publisher's ad request (no partner), then the SSP's call to its one partner.
      ev('request', { demand_id: undefined });
      ev('request');
      if (i % 4 === 3) {
        ev('passback');
        continue;
      }
      ev('response');
      ev('impression', { revenue: `0.00${(i % 9) + 1}${d}37` });
      if (i % 5 === 0) ev('click', { cost: `0.1${i % 10}0001` });
    }
  });
  lines.push(
    JSON.stringify({ event_id: 'bad1', type: 'impression', ts: '2024-05-01T01:00:00Z', revenue: '-1' }),
  );
  lines.push(JSON.stringify({ event_id: 'bad2', type: 'nonsense', ts: '2024-05-01T01:00:00Z' }));
  return lines;
}

const METADATA: Record<string, string> = {
  'orgs.csv': 'org_id,name\no1,Daily News\no2,Game Studio\n',
  'media.csv':
    'media_id,name,org_id,media_share\nm1,News Web,o1,0.7\nm2,Puzzle iOS,o2,0.5\nm3,Racer Android,o2,0.65\n',
  'demand.csv': 'demand_id,name\nd1,Alpha Exchange\nd2,Beta Network\n',
  'campaigns.csv': 'campaign_id,name,advertiser\nc1,Spring Sale,Shop\nc2,Launch,Games Inc\n',
};

/** A data dir with the fixture ingested; returns it closed (callers open what they need). */
export async function buildFixture(prefix = 'api'): Promise<string> {
  const dataDir = makeTempDir(prefix);
  const input = path.join(dataDir, 'input');
  mkdirSync(path.join(input, 'metadata'), { recursive: true });
  for (const [f, text] of Object.entries(METADATA)) writeFileSync(path.join(input, 'metadata', f), text);
  writeFileSync(path.join(input, 'events.jsonl'), `${events().join('\n')}\n`);
  const wh = await Warehouse.open(dataDir);
  try {
    await loadMetadata(wh, path.join(input, 'metadata'));
    await loadUnits(wh, await discoverInputs([path.join(input, 'events.jsonl')]));
  } finally {
    wh.close();
  }
  return dataDir;
}

export interface TestServer {
  app: FastifyInstance;
  warehouse: Warehouse;
  config: Config;
  close(): Promise<void>;
}

export async function startServer(dataDir: string, config: object = {}): Promise<TestServer> {
  const cfg = parseConfig(config);
  const warehouse = await Warehouse.open(dataDir);
  const hooks: Array<() => Promise<void>> = [];
  const runtime = await Runtime.open(warehouse);
  const app = await buildServer({
    runtime,
    config: cfg,
    dataDir,
    warehouse,
    onShutdown: (fn) => hooks.push(fn),
  });
  await app.ready();
  return {
    app,
    warehouse,
    config: cfg,
    /** Closes the server and runs its shutdown hooks, so no connection keeps the warehouse open. */
    async close() {
      await app.close();
      for (const fn of hooks) await fn();
      await runtime.close();
      warehouse.close();
    },
  };
}
