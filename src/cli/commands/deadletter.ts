import type { Command } from 'commander';
import { usage } from '../../errors.js';
import { type DeadLetterFilter, deadLetters, rejectionCounts } from '../../pipeline/deadletter.js';
import { Warehouse } from '../../warehouse/warehouse.js';
import { contextOf, intOption } from '../context.js';

interface Options {
  code?: string;
  batch?: number;
  format: string;
}

/** `adpipe deadletter list|show`: the rejected records ingest set aside, by reason or one by one. */
export function register(program: Command): void {
  const dl = program
    .command('deadletter')
    .description('Rejected records from the dead-letter store: counts by reason, or the records themselves');
  const filters = (cmd: Command) =>
    cmd
      .option('--code <code>', 'only this rejection code, e.g. money.negative (docs/events.md)')
      .option('--batch <n>', 'only this ingest batch', intOption('--batch'))
      .option('--format <fmt>', 'table|json', 'table');

  filters(
    dl.command('list').description('Rejections by reason, most frequent first, with an example'),
  ).action((opts: Options, cmd: Command) =>
    withStore(cmd, opts, async (wh, filter) => {
      const counts = await rejectionCounts(wh, filter);
      if (opts.format === 'json') return print(counts);
      if (counts.length === 0) return console.log(`no rejected records in ${wh.deadLetterDir}`);
      const width = Math.max(5, ...counts.map((c) => String(c.count).length));
      const code = Math.max(4, ...counts.map((c) => c.code.length));
      console.log(`${'count'.padStart(width)}  ${'code'.padEnd(code)}  example`);
      for (const c of counts)
        console.log(`${String(c.count).padStart(width)}  ${c.code.padEnd(code)}  ${c.example}`);
      console.log(
        `(dead letters in ${wh.deadLetterDir}; adpipe deadletter show --code CODE for the records)`,
      );
    }),
  );

  filters(dl.command('show').description('Rejected records with their reason, source line and original text'))
    .option('--limit <n>', 'at most n records', intOption('--limit'), 20)
    .action((opts: Options & { limit: number }, cmd: Command) =>
      withStore(cmd, opts, async (wh, filter) => {
        const records = await deadLetters(wh, { ...filter, limit: opts.limit });
        if (opts.format === 'json') return print(records);
        if (records.length === 0) return console.log(`no rejected records in ${wh.deadLetterDir}`);
        for (const r of records) {
          const where = r.line === null ? r.source : `${r.source}:${r.line}`;
          console.log(`batch ${r.batch_id}  ${where}  ${r.code}  ${r.message}`);
          if (r.text !== null) console.log(`  ${r.text}`);
        }
      }),
    );
}

async function withStore(
  cmd: Command,
  opts: Options,
  fn: (wh: Warehouse, filter: DeadLetterFilter) => Promise<void>,
): Promise<void> {
  if (!['table', 'json'].includes(opts.format)) throw usage('--format must be table or json');
  const wh = await Warehouse.detached(contextOf(cmd).dataDir);
  try {
    await fn(wh, { code: opts.code, batches: opts.batch ? [opts.batch] : undefined });
  } finally {
    wh.close();
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
