import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from './context.js';

type PluginModule = { default: FastifyPluginAsync<{ ctx: ServerContext }> };

/** Route groups, one module each; each is a fastify plugin receiving the server context. */
export const pluginModules: Array<() => Promise<PluginModule>> = [
  // First: it records the schema of every route registered after it.
  () => import('./api/openapi.js'),
  () => import('./health.js'),
  () => import('./ops.js'),
  () => import('./collector/index.js'),
  () => import('./api/index.js'),
  () => import('./dashboard.js'),
];
