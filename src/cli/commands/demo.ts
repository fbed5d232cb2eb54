import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadMetadata } from '../../pipeline/metadata.js';
import { verifyWarehouse } from '../../pipeline/verify-warehouse.js';
import { formatReport } from '../../reports/format.js';
import { runReport } from '../../reports/query.js';
import { Runtime } from '../../runtime/runtime.js';
import { runServer } from '../../server/run.js';
import { generate, startEndingNow } from '../../simulator/index.js';
import { FilesSource } from '../../sources/files/source.js';
import { contextOf, intOption } from '../context.js';
import { withWriter } from '../writer.js';
import { rejectionLines, summaryLine } from './ingest.js';

interface DemoOptions {
  events: number;
  days: number;
  dirty: number;
  tz: string;
  port: number;
  serve: boolean;
  dir: string;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'Simulate the last two weeks of ad traffic, ingest it, print reports, verify, and serve the dashboard',
    )
    .option('--events <n>', 'events to simulate', intOption('--events'), 300_000)
    .option('--days <n>', 'days of traffic, ending at the start of the current hour', intOption('--days'), 14)
    .option('--dirty <rate>', 'share of duplicates, late and malformed records', Number, 0.01)
    .option('--tz <zone>', 'time zone of the printed reports', 'Asia/Seoul')
    .option('--port <port>', 'dashboard port', intOption('--port'), 8080)
    .option('--no-serve', 'exit after the reports instead of serving the dashboard')
    .option('--dir <dir>', 'where the demo keeps its input and data (recreated)', 'demo-data')
    .action(async (opts: DemoOptions, cmd: Command) => {
      const { config } = contextOf(cmd);
      const root = path.resolve(opts.dir);
      const input = path.join(root, 'input');
      const dataDir = path.join(root, 'data');
      rmSync(root, { recursive: true, force: true });

      const hours = opts.days * 24;
      const start = startEndingNow(hours);
      step(
        `1/4 simulating ${opts.events.toLocaleString('en-US')} events (${opts.days} days from ${start}, seed 1) into ${input}`,
      );
      // Two files a day arriving in order, as hourly exports batched by a scheduler would.
      const manifest = await generate({
        out: input,
        events: opts.events,
        seed: 1,
        start,
        hours,
        files: opts.days * 2,
        dirty: opts.dirty,
      });
      console.log(
        `    ${manifest.files.length} files, ${Object.keys(manifest.dirt).length} kinds of dirt injected`,
      );

      await withWriter(dataDir, async (wh) => {
        step('2/4 ingesting: validate → dedup → enrich → Parquet lake + rollups, exactly once per file');
        await loadMetadata(wh, path.join(input, 'metadata'), { tz: config.tz });
        const source = await FilesSource.create({
          type: 'files',
          name: 'files',
          paths: [path.join(input, 'events')],
          batch_files: opts.days * 2,
          reprocess: false,
        });
        const runtime = await Runtime.open(wh);
        const summary = await runtime.run(source).finally(() => runtime.close());
        console.log(`    ${summaryLine(summary)}`);
        for (const line of await rejectionLines(wh, summary)) console.log(`  ${line}`);

        step(`3/4 reports (dates in ${opts.tz})`);
        for (const [report, by] of [
          ['ad_request', ['org_id']],
          ['media', ['org_id', 'media_id']],
          ['demand', ['demand_id']],
        ] as const) {
          const result = await runReport(wh, {
            report,
            tz: opts.tz,
            grain: 'total',
            by,
            metrics: true,
            order: report === 'ad_request' ? '-requests' : '-impressions',
            limit: 8,
          });
          console.log(`\n  ${report}:`);
          process.stdout.write(indent(formatReport(result, 'table')));
        }

        step('4/4 verify: every rollup recomputed from the lake');
        const verify = await verifyWarehouse(wh);
        console.log(
          `    ${verify.ok ? 'no differences' : 'DIFFERENCES FOUND'} (${verify.checks.length} checks)`,
        );
        if (!verify.ok) process.exitCode = 1;

        if (!opts.serve) return;
        await runServer({
          config,
          dataDir,
          warehouse: wh,
          port: opts.port,
          host: config.server.host,
          onListening: (address) =>
            console.log(`\nDashboard: ${address}/  (Ctrl-C to stop; data dir ${dataDir})`),
        });
      });
    });
}

function step(text: string): void {
  console.log(`\n▶ ${text}`);
}

function indent(text: string): string {
  return text.replace(/^/gm, '    ');
}
