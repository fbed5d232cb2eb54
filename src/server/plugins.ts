import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from './context.js';

type PluginModule = { default: FastifyPluginAsync<{ ctx: ServerContext }> };

/** Route groups, one module each; each is a fastify plugin receiving the server context. */
export const pluginModules: Array<() => Promise<PluginModule>> = [
  () => import('./health.js'),
  () => import('./ops.js'),
  () => import('./collector/index.js'),
];
