import type { Command } from 'commander';
import { type IngestSummary, ingestFiles } from '../../pipeline/ingest.js';
import { loadMetadata } from '../../pipeline/metadata.js';
import { notify } from '../../pipeline/notify.js';
import { syncAfterCommit } from '../../sinks/sync.js';
import { discoverInputs } from '../../sources/files/discover.js';
import { contextOf, intOption } from '../context.js';
import { progressBar } from '../progress.js';
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
    .action(
      async (
        paths: string[],
        opts: { metadata?: string; batchFiles?: number; reprocess: boolean },
        cmd: Command,
      ) => {
        const { config, dataDir } = contextOf(cmd);
        try {
          await withWriter(dataDir, async (wh) => {
            const metadata = opts.metadata ?? config.metadata;
            if (metadata) await loadMetadata(wh, metadata, { tz: config.tz });
            const inputs = await discoverInputs(paths);
            const bar = progressBar('files', inputs.length);
            const summary = await ingestFiles(wh, inputs, {
              batchFiles: opts.batchFiles ?? config.ingest.batch_files,
              reprocess: opts.reprocess,
              // Sinks catch up after each committed group; one that is down never stops the ingest.
              onCommitted: syncAfterCommit(wh, config),
              onProgress: (done) => bar?.update(done),
            });
            bar?.stop();
            const line = summaryLine(summary);
            console.log(line);
            for (const s of summary.setAside) console.log(`  set aside: ${s.key}: ${s.reason}`);
            await notify(config, { ok: true, text: `adpipe ingest: ${line}`, summary });
            if (summary.setAside.length > 0) process.exitCode = 3;
          });
        } catch (err) {
          await notify(config, { ok: false, text: `adpipe ingest failed: ${(err as Error).message}` });
          throw err;
        }
      },
    );
}

export function summaryLine(s: IngestSummary): string {
  return (
    `files read ${s.filesRead} / skipped ${s.filesSkipped} / set aside ${s.setAside.length}; ` +
    `events accepted ${s.accepted} / duplicates ${s.duplicates} / rejected ${s.rejected}; ` +
    `${s.seconds.toFixed(2)} s, ${s.eventsPerSecond} events/s`
  );
}
