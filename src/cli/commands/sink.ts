import type { Command } from 'commander';
import {
  type Difference,
  type PerSink,
  sinkStatuses,
  syncSinks,
  type TableStatus,
  type TableSync,
  verifySinkNamed,
} from '../../admin/operations.js';
import { configuredSinks, openSinks } from '../../sinks/configured.js';
import { sqlSinkDdl } from '../../sinks/sql/component.js';
import { rebuildSink } from '../../sinks/sync.js';
import { latestBatch } from '../../warehouse/batches.js';
import { contextOf } from '../context.js';
import { ask, onServerOr } from '../remote.js';
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
      const ctx = contextOf(cmd);
      const results = await onServerOr(
        ctx,
        (server) =>
          ask<Array<PerSink<TableSync[]>>>(
            server,
            'POST',
            `/v1/admin/sinks/sync${query({ name, attempts: opts.attempts })}`,
          ),
        () => withWriter(ctx.dataDir, (wh) => syncSinks(wh, ctx.config, name, opts.attempts)),
      );
      for (const r of results) {
        if ('error' in r) {
          console.error(`${r.sink}: ${r.error}`);
          process.exitCode = 1;
          continue;
        }
        if (r.result.length === 0) console.log(`${r.sink}: up to date`);
        for (const t of r.result)
          console.log(
            `${r.sink}: ${t.table}: batches ${t.after + 1}..${t.upTo}, ${t.rows} rows in ${t.seconds.toFixed(2)} s`,
          );
      }
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
          try {
            const synced = await rebuildSink(s, latest);
            console.log(`${s.name}: rebuilt ${synced.length} tables up to batch ${synced[0]?.upTo ?? 0}`);
          } finally {
            await s.close();
          }
        }
      });
    });

  sink
    .command('status')
    .description(
      "Show each sink table's watermark (this loader's, in a shared ClickHouse), lag behind the latest batch and its age",
    )
    .argument('[name]', 'sink name (default: all)')
    .action(async (name: string | undefined, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const results = await onServerOr(
        ctx,
        (server) => ask<Array<PerSink<TableStatus[]>>>(server, 'GET', `/v1/admin/sinks${query({ name })}`),
        () => withWriter(ctx.dataDir, (wh) => sinkStatuses(wh, ctx.config, name)),
      );
      for (const r of results) {
        if ('error' in r) {
          console.log(`${r.sink}\tunreachable: ${r.error}`);
          process.exitCode = 1;
          continue;
        }
        for (const t of r.result)
          console.log(
            `${r.sink}\t${t.table}${t.loader ? `\tloader ${t.loader}` : ''}\tbatch ${t.watermark}/${t.latest}\tlag ${t.lag}\tage ${t.ageSeconds} s` +
              (t.updatedAt ? `\tupdated ${t.updatedAt}` : ''),
          );
      }
    });

  sink
    .command('verify')
    .description('Compare a sink with the embedded reports (same zone, all dates); exit 1 on any difference')
    .argument('<name>', 'sink name')
    .option('--max <n>', 'differences to print', (v) => Number(v), 50)
    .action(async (name: string, opts: { max: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const diffs = await onServerOr(
        ctx,
        (server) => ask<Difference[]>(server, 'POST', `/v1/admin/sinks/verify${query({ name })}`),
        () => withWriter(ctx.dataDir, (wh) => verifySinkNamed(wh, ctx.config, name)),
      );
      for (const d of diffs.slice(0, opts.max))
        console.log(
          `${d.table}\t${d.key.join(' | ')}\t${d.column}\tembedded ${d.embedded ?? '-'}\tsink ${d.sink ?? '-'}`,
        );
      console.log(`${name}: ${diffs.length} difference(s)`);
      if (diffs.length > 0) process.exitCode = 1;
    });
}

/** A query string of the given parameters, those undefined left out. */
function query(params: Record<string, string | number | undefined>): string {
  const given = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined);
  return given.length === 0
    ? ''
    : `?${new URLSearchParams(given.map(([k, v]): [string, string] => [k, String(v)]))}`;
}
