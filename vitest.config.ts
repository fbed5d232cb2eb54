import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // DuckDB files and service databases are shared per suite; keep files isolated but avoid
    // oversubscribing the 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
