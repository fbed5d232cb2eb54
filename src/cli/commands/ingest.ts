import type { Command } from 'commander';
import type { LoadSummary } from '../../loader/loader.js';
import { rejectionCounts } from '../../pipeline/deadletter.js';
import { loadMetadata } from '../../pipeline/metadata.js';
import { notify } from '../../pipeline/notify.js';
import { Runtime } from '../../runtime/runtime.js';
import { startSinkSubscribers } from '../../sinks/subscriber.js';
import { FilesSource } from '../../sources/files/source.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import { contextOf, intOption } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { ingestProgressBar } from '../progress.js';
import { withWriter } from '../writer.js';

export function register(program: Command): void {
  program
    .command('ingest')
    .description(
      'Ingest event files (local paths or s3://bucket/prefix) into the lake and reports, exactly once',
    )
    .argument(
      '<paths...>',
      'files or folders (recursed): .jsonl .ndjson .json .csv (optionally .gz), .parquet',
    )
    .option('-m, --metadata <dir>', 'folder of metadata CSVs (orgs, media, inventory, demand, campaigns)')
    .option('--batch-files <n>', 'files per atomic group', intOption('--batch-files'))
    .option('--reprocess', 'ingest files again whose content changed since they were ingested', false)
    .option('--mapping <file>', "a mapping file (YAML) turning the files' records into contract events")
    .addHelpText(
      'after',
      `\nExit status: ${EXIT.setAside} when a file was set aside, ${EXIT.nothingAccepted} when records were read but none accepted.`,
    )
    .action(
      async (
        paths: string[],
        opts: { metadata?: string; batchFiles?: number; reprocess: boolean; mapping?: string },
        cmd: Command,
      ) => {
        const { config, dataDir } = contextOf(cmd);
        try {
          await withWriter(dataDir, async (wh) => {
            const metadata = opts.metadata ?? config.metadata;
            if (metadata) await loadMetadata(wh, metadata, { tz: config.tz });
            const source = await FilesSource.create({
              type: 'files',
              name: 'files',
              paths,
              batch_files: opts.batchFiles ?? config.ingest.batch_files,
              reprocess: opts.reprocess,
              mapping: opts.mapping,
            });
            // Sinks catch up after each commit, beside the load; one that is down never stops it. The
            // last sync may be long (a first ingest): closing waits for it, up to an hour.
            const sinks = await startSinkSubscribers(config, wh, { closeTimeoutMs: 3_600_000 });
            const runtime = await Runtime.open(wh, sinks);
            const bar = ingestProgressBar(source.totalBytes);
            let summary: LoadSummary;
            try {
              summary = await runtime.run(source, { onProgress: (p) => bar?.update(p) });
            } finally {
              bar?.stop();
              await runtime.close(); // waits for the sinks' last sync
            }
            const line = summaryLine(summary);
            console.log(line);
            for (const s of summary.setAside) console.log(`  set aside: ${s.key}: ${s.reason}`);
            for (const l of await rejectionLines(wh, summary)) console.log(l);
            await notify(config, { ok: true, text: `adpipe ingest: ${line}`, summary });
            if (summary.setAside.length > 0) process.exitCode = EXIT.setAside;
            if (nothingAccepted(summary)) {
              console.error('adpipe: no event was accepted from this input; see the reasons above');
              process.exitCode = EXIT.nothingAccepted;
            }
          });
        } catch (err) {
          await notify(config, { ok: false, text: `adpipe ingest failed: ${(err as Error).message}` });
          throw err;
        }
      },
    );
}

export function summaryLine(s: LoadSummary): string {
  return (
    `files read ${s.filesRead} / skipped ${s.filesSkipped} / set aside ${s.setAside.length}; ` +
    `events accepted ${s.accepted} / duplicates ${s.duplicates} / rejected ${s.rejected}; ` +
    `${s.seconds.toFixed(2)} s, ${s.eventsPerSecond} events/s`
  );
}

/** Records (or whole files) came in and none of them made it: a wrong format, a wrong clock, … */
function nothingAccepted(s: LoadSummary): boolean {
  return s.accepted === 0 && s.duplicates === 0 && (s.rejected > 0 || s.setAside.length > 0);
}

const TOP_REASONS = 5;

/** The run's rejections by reason (top 5) and where their dead letters are. */
export async function rejectionLines(wh: Warehouse, s: LoadSummary): Promise<string[]> {
  if (s.rejected === 0) return [];
  const batches = s.batches.filter((b) => b.rejected > 0).map((b) => b.batchId);
  const counts = await rejectionCounts(wh, { batches });
  const top = counts.slice(0, TOP_REASONS);
  const width = Math.max(...top.map((c) => String(c.count).length));
  const codeWidth = Math.max(...top.map((c) => c.code.length));
  const lines = top.map(
    (c) => `    ${String(c.count).padStart(width)}  ${c.code.padEnd(codeWidth)}  (e.g. ${c.example})`,
  );
  const more = counts.length - top.length;
  const batchArg = batches.length === 1 ? ` --batch ${batches[0]}` : '';
  return [
    `  rejected by reason:`,
    ...lines,
    ...(more > 0 ? [`    … and ${more} more ${more === 1 ? 'reason' : 'reasons'}`] : []),
    `  dead letters: ${wh.deadLetterDir} (adpipe deadletter list${batchArg})`,
  ];
}
