// A simulation set up from resolved options, and the loop that writes one file of it to a target.
// Both the main thread and the workers use this, so every path yields the same bytes.

import { fileBatches } from './arrival.js';
import { buildCatalogue } from './catalogue.js';
import { Dirt } from './dirty.js';
import { makeWorld, type World } from './funnel.js';
import type { Resolved } from './options.js';
import { Totals, type TotalsJson } from './totals.js';
import { makePlan } from './traffic.js';
import type { Target } from './writers.js';

export interface Simulation {
  world: World;
  dirt: Dirt | null;
}

export function simulation(o: Resolved): Simulation {
  const plan = makePlan(o.startMs, o.hours, o.events, o.files);
  const world = makeWorld(o.seed, buildCatalogue(o.seed), plan, o.fraud);
  // Parquet rows cannot hold a broken JSON line, so that kind of dirt is left out there.
  return { world, dirt: o.dirty > 0 ? new Dirt(o.seed, o.dirty, o.format !== 'parquet') : null };
}

export interface FileResult {
  file: number;
  records: number;
  totals: TotalsJson;
}

export async function writeFile(sim: Simulation, file: number, target: Target): Promise<FileResult> {
  const { plan } = sim.world;
  const totals = new Totals(plan.startMs, plan.hours);
  const sink = await target.open(file);
  let records = 0;
  for (const batch of fileBatches(sim.world, sim.dirt, file, totals)) {
    records += batch.length;
    await sink.write(batch);
  }
  await sink.close();
  return { file, records, totals: totals.toJSON() };
}
