import type { Command } from 'commander';
import { AdpipeError } from '../../errors.js';
import { configuredSinks, openSinks } from '../../sinks/configured.js';
import { sinkLag } from '../../sinks/lag.js';
import { sqlSinkDdl } from '../../sinks/sql/component.js';
import { latestBatch, rebuildSink, syncWithRetry } from '../../sinks/sync.js';
import { contextOf } from '../context.js';
import { withWriter } from '../writer.js';

/** `adpipe sink init|sync|status|verify`: report tables in MySQL/MariaDB, PostgreSQL and ClickHouse. */
export function register(program: Command): void {
  const sink = program
    .command('sink')
    .description('Push reports to SQL databases (adpipe.yaml `sinks`), exactly once');

  sink
    .command('init')
    .description('Print the DDL a SQL sink runs to create its tables, views and watermark table')
    .argument('[name]', 'sink name (default: all)')
    .action(async (name: string | undefined, _opts: unknown, cmd: Command) => {
      const { config } = contextOf(cmd);
      for (const s of configuredSinks(config, name)) {
        console.log(`-- sink ${s.name} (${s.config.type})`);
        for (const sql of (await sqlSinkDdl(s.config)) ?? []) console.log(`${sql};\n`);
      }
    });

  sink
    .command('sync')
    .description('Create absent tables and apply every batch not yet in each sink (with retries)')
    .argument('[name]', 'sink name (default: all)')
    .option('--attempts <n>', 'attempts per sink before giving up', (v) => Number(v), 4)
    .action(async (name: string | undefined, opts: { attempts: number }, cmd: Command) => {
      const { config, dataDir } = contextOf(cmd);
      await withWriter(dataDir, async (wh) => {
        const latest = await latestBatch(wh);
        for (const s of await openSinks(config, wh, name)) {
          try {
            const synced = await syncWithRetry(s, latest, { attempts: opts.attempts });
            if (synced.length === 0) console.log(`${s.name}: up to date`);
            for (const t of synced)
              console.log(
                `${s.name}: ${t.table}: batches ${t.after + 1}..${t.upTo}, ${t.rows} rows in ${t.seconds.toFixed(2)} s`,
              );
          } catch (err) {
            console.error(`${s.name}: ${(err as Error).message}`);
            process.exitCode = 1;
          }
        }
      });
    });

  sink
    .command('rebuild')
    .description('Drop a sink’s tables and refill them from the rollups (after a report model change)')
    .argument('[name]', 'sink name (default: all)')
    .action(async (name: string | undefined, _opts: unknown, cmd: Command) => {
      const { config, dataDir } = contextOf(cmd);
      await withWriter(dataDir, async (wh) => {
        const latest = await latestBatch(wh);
        for (const s of await openSinks(config, wh, name)) {
          const synced = await rebuildSink(s, latest);
          console.log(`${s.name}: rebuilt ${synced.length} tables up to batch ${synced[0]?.upTo ?? 0}`);
        }
      });
    });

  sink
    .command('status')
    .description("Show each sink table's watermark, lag behind the latest batch and its age")
    .argument('[name]', 'sink name (default: all)')
    .action(async (name: string | undefined, _opts: unknown, cmd: Command) => {
      const { config, dataDir } = contextOf(cmd);
      await withWriter(dataDir, async (wh) => {
        for (const s of await openSinks(config, wh, name)) {
          try {
            for (const t of await sinkLag(wh, s))
              console.log(
                `${s.name}\t${t.table}\tbatch ${t.watermark}/${t.latest}\tlag ${t.lag}\tage ${t.ageSeconds} s` +
                  (t.updatedAt ? `\tupdated ${t.updatedAt}` : ''),
              );
          } catch (err) {
            console.log(`${s.name}\tunreachable: ${(err as Error).message}`);
            process.exitCode = 1;
          }
        }
      });
    });

  sink
    .command('verify')
    .description('Compare a sink with the embedded reports (same zone, all dates); exit 1 on any difference')
    .argument('<name>', 'sink name')
    .option('--max <n>', 'differences to print', (v) => Number(v), 50)
    .action(async (name: string, opts: { max: number }, cmd: Command) => {
      const { config, dataDir } = contextOf(cmd);
      await withWriter(dataDir, async (wh) => {
        const [s] = await openSinks(config, wh, name);
        if (!s!.verify)
          throw new AdpipeError('ADP_ERR_USAGE', [`sink ${name} (${s!.type}) cannot be verified`]);
        const diffs = await s!.verify();
        for (const d of diffs.slice(0, opts.max))
          console.log(
            `${d.table}\t${d.key.join(' | ')}\t${d.column}\tembedded ${d.embedded ?? '-'}\tsink ${d.sink ?? '-'}`,
          );
        console.log(`${s!.name}: ${diffs.length} difference(s)`);
        if (diffs.length > 0) process.exitCode = 1;
      });
    });
}
