// The query API: report model and reports, analyses, the trained models' answers, SQL, live traffic,
// pipeline health, and /v1/admin for CLI commands run beside the server. Every route needs a read
// key when read keys are configured; /v1/admin an admin key (access.ts).

import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';
import { requireRead } from './access.js';
import { adminRoutes } from './admin.js';
import { analysisRoutes } from './analyses.js';
import { liveRoutes } from './live.js';
import { modelRoutes } from './models.js';
import { pipelineRoutes } from './pipeline.js';
import { ReaderPool } from './readers.js';
import { reportRoutes } from './reports.js';
import { sqlRoutes } from './sql.js';

const api: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const readers = new ReaderPool(ctx.warehouse, ctx.config.server.report_readers);
  app.addHook('preHandler', requireRead(ctx));
  app.addHook('onClose', async () => readers.close());
  await reportRoutes(app, ctx, readers);
  await analysisRoutes(app, ctx, readers);
  await modelRoutes(app, ctx, readers);
  await sqlRoutes(app, ctx, readers);
  await liveRoutes(app);
  await pipelineRoutes(app, ctx, readers);
  await adminRoutes(app, ctx);
};

export default api;
