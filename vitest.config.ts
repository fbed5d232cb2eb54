import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Scratch space of tests and engineers; never part of the suite.
    exclude: ['test/tmp/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The JSON report lets .ci/run print a plain 'N passed, N failed' closing line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test/tmp/vitest-report.json' },
    // DuckDB files and service databases are shared per suite; keep files isolated but avoid
    // oversubscribing the 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
