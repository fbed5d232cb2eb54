// `npm run bench -- <area> [args]`: runs bench/<area>.ts, which prints its figures and writes
// bench/results/<area>.json. With no area, lists them.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const areas = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'util.ts'].includes(f))
  .map((f) => f.slice(0, -3));
const [area, ...rest] = process.argv.slice(2);
if (!area || !areas.includes(area)) {
  console.log(`usage: npm run bench -- <${areas.join('|')}> [options]`);
  process.exit(area ? 2 : 0);
}
const mod = (await import(`./${area}.ts`)) as { run(args: string[]): Promise<void> };
await mod.run(rest);
