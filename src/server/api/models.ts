// The trained models' answers: POST /v1/predict/ctr (the CTR model's click probability for one
// impression) and GET /v1/recommend (a user's top ads by the recommend model). Each request checks
// the model file in the data dir, so a new training takes effect at once.

import type { FastifyInstance } from 'fastify';
import { parseParams } from '../../analyses/analysis.js';
import { AdpipeError } from '../../errors.js';
import { validateEvent } from '../../events/validate.js';
import { type CtrModel, predictCtr } from '../../models/ctr.js';
import { type RecommendModel, recommendationParams, recommendFor } from '../../models/recommend.js';
import { loadModel } from '../../models/store.js';
import type { ServerContext } from '../context.js';
import type { ReaderPool } from './readers.js';
import { errorSchema } from './schemas.js';

export async function modelRoutes(app: FastifyInstance, ctx: ServerContext, readers: ReaderPool) {
  // The body is an event as the collector takes it (event_id, type and ts may be left out: an
  // impression now), normalised by the same validator, so it hashes as the lake's events did.
  app.post<{ Body: Record<string, unknown> }>(
    '/v1/predict/ctr',
    {
      schema: {
        summary: 'Click probability of an impression by the model of `adpipe model ctr train`',
        tags: ['models'],
        body: { type: 'object', additionalProperties: true },
        response: {
          200: { type: 'object', properties: { ctr: { type: 'number' } }, required: ['ctr'] },
          400: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (req) => {
      const model = await loadModel<CtrModel>(ctx.dataDir, 'ctr');
      const checked = validateEvent({
        event_id: 'predict',
        type: 'impression',
        ts: new Date().toISOString(),
        ...req.body,
      });
      if (!checked.ok)
        throw new AdpipeError('ADP_ERR_BAD_PARAM', [checked.rejection.field, checked.rejection.message]);
      return { ctr: await readers.use((wh) => predictCtr(wh, model, checked.event), { lane: 'cheap' }) };
    },
  );

  app.get<{ Querystring: Record<string, string | undefined> }>(
    '/v1/recommend',
    {
      schema: {
        summary: "A user's top ads by the model of `adpipe model recommend train`",
        tags: ['models'],
        querystring: {
          type: 'object',
          properties: {
            user: { type: 'string', description: 'user_id' },
            top: { type: 'string', description: 'how many ads (default 10)' },
          },
        },
        response: {
          200: { type: 'object', additionalProperties: true },
          400: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (req) => {
      const { user, top } = parseParams('recommend', recommendationParams, req.query);
      return recommendFor(await loadModel<RecommendModel>(ctx.dataDir, 'recommend'), user, top);
    },
  );
}
