import type { Command } from 'commander';

/** Each command lives in its own module and registers itself; the order here is the order in --help. */
export const commandModules: Array<() => Promise<{ register(program: Command): void }>> = [
  () => import('./demo.js'),
  () => import('./ingest.js'),
  () => import('./deadletter.js'),
  () => import('./report.js'),
  () => import('./analyze.js'),
  () => import('./ab.js'),
  () => import('./model.js'),
  () => import('./recommend.js'),
  () => import('./query.js'),
  () => import('./maintenance.js'),
  () => import('./feed.js'),
  () => import('./stream.js'),
  () => import('./lake.js'),
  () => import('./sink.js'),
  () => import('./serve.js'),
  () => import('./sign-click.js'),
  () => import('./generate.js'),
];
