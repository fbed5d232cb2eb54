import type { Command } from 'commander';
import { compactLake } from '../../lake/compact.js';
import { verifyWarehouse } from '../../pipeline/verify-warehouse.js';
import { contextOf } from '../context.js';
import { withWriter } from '../writer.js';

export function register(program: Command): void {
  program
    .command('verify')
    .description(
      'Recompute every report from the lake and compare with the rollups; exit 1 on any difference',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const result = await withWriter(contextOf(cmd).dataDir, (wh) => verifyWarehouse(wh));
      for (const c of result.checks) console.log(`${c.ok ? 'ok  ' : 'DIFF'} ${c.name}: ${c.detail}`);
      console.log(result.ok ? 'verify: no differences' : 'verify: DIFFERENCES FOUND');
      if (!result.ok) process.exitCode = 1;
    });
  program
    .command('compact')
    .description('Merge the files of each lake hour partition into one')
    .option('--min-files <n>', 'compact partitions with at least this many files', (v) => Number(v), 2)
    .action(async (opts: { minFiles: number }, cmd: Command) => {
      const r = await withWriter(contextOf(cmd).dataDir, (wh) => compactLake(wh, opts.minFiles));
      console.log(`compacted ${r.partitions} partitions: ${r.filesBefore} files → ${r.filesAfter}`);
    });
}
