import type { FastifyPluginAsync } from 'fastify';
import type { CollectorContext, ServerContext } from './context.js';

type PluginModule = { default: FastifyPluginAsync<{ ctx: ServerContext }> };
type CollectorPluginModule = { default: FastifyPluginAsync<{ ctx: CollectorContext }> };

/** What a publishing collector serves (`serve --publish`): no query API, no dashboard. */
export const collectorPluginModules: Array<() => Promise<CollectorPluginModule>> = [
  () => import('./health.js'),
  () => import('./ops.js'),
  () => import('./collector/index.js'),
];

/** Route groups, one module each; each is a fastify plugin receiving the server context. */
export const pluginModules: Array<() => Promise<PluginModule>> = [
  // First: it records the schema of every route registered after it.
  () => import('./api/openapi.js'),
  ...collectorPluginModules,
  () => import('./api/index.js'),
  () => import('./dashboard.js'),
];
