import type { Command } from 'commander';
import { usage } from '../../errors.js';
import { duckdbMemoryLimit, QuerySandbox } from '../../query/query-sandbox.js';
import type { SqlResult } from '../../query/read-only-sql.js';
import { formatReport, type OutputFormat } from '../../reports/format.js';
import { contextOf, intOption } from '../context.js';
import { ask, onServerOr } from '../remote.js';

export function register(program: Command): void {
  program
    .command('query')
    .description(
      'Run one read-only SELECT over the lake (view `lake`), rollups (rollup_<report>) and metadata',
    )
    .argument('<sql>', 'a single SELECT or WITH … SELECT statement')
    .option('--format <fmt>', 'table|csv|json', 'table')
    .option('--max-rows <n>', 'stop after this many rows', intOption('--max-rows'), 10_000)
    .option(
      '--timeout <ms>',
      'interrupt the query after this many milliseconds',
      intOption('--timeout'),
      60_000,
    )
    .action(
      async (sql: string, opts: { format: OutputFormat; maxRows: number; timeout: number }, cmd: Command) => {
        const { dataDir, config } = contextOf(cmd);
        if (!['table', 'csv', 'json'].includes(opts.format))
          throw usage('--format must be table, csv or json');
        const result = await onServerOr(
          { config, dataDir },
          // Beside a server, its sandbox: the tables the API's SQL may read, with this command's limits.
          (server) =>
            ask<SqlResult>(server, 'POST', '/v1/admin/query', {
              sql,
              max_rows: opts.maxRows,
              timeout_ms: opts.timeout,
            }),
          async () => {
            // The CLI's user may read their own files (and see their paths in errors), but a runaway
            // query is stopped as in the API.
            const { query_memory_mb: memoryMb, query_threads: threads } = config.server;
            const sandbox = new QuerySandbox(
              { mode: 'cli', dataDir, memoryLimit: duckdbMemoryLimit(memoryMb), threads },
              { timeoutMs: opts.timeout, memoryMb },
            );
            try {
              return await sandbox.run(sql, opts.maxRows);
            } finally {
              await sandbox.close();
            }
          },
        );
        if (opts.format === 'json') {
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        // Reuse the report printer: every column is shown as-is, numbers aligned right.
        const rows = result.rows.map((r) =>
          Object.fromEntries(
            Object.entries(r).map(([k, v]) => [
              k,
              v === null || typeof v !== 'object' ? (v as string) : JSON.stringify(v),
            ]),
          ),
        );
        const numeric = (name: string) =>
          rows.length > 0 && rows.every((r) => r[name] === null || !Number.isNaN(Number(r[name])));
        const columns = result.columns.map((name) => ({
          name,
          kind: numeric(name) ? ('measure' as const) : ('dimension' as const),
        }));
        process.stdout.write(
          formatReport({ report: 'query', tz: 'UTC', grain: 'total', columns, rows }, opts.format),
        );
        if (result.truncated)
          console.error(`(stopped after ${opts.maxRows} rows; raise --max-rows for more)`);
      },
    );
}
