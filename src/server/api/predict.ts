// POST /v1/predict/ctr: the trained CTR model's click probability for one impression. The body is
// an event as the collector takes it (event_id, type and ts may be left out: an impression now),
// normalised by the same validator, so it hashes to the buckets the lake's events did.

import type { FastifyInstance } from 'fastify';
import { AdpipeError } from '../../errors.js';
import { validateEvent } from '../../events/validate.js';
import { type CtrModel, predictCtr } from '../../models/ctr.js';
import { loadModel } from '../../models/store.js';
import type { ServerContext } from '../context.js';
import type { ReaderPool } from './readers.js';
import { errorSchema } from './schemas.js';

export async function predictRoutes(app: FastifyInstance, ctx: ServerContext, readers: ReaderPool) {
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
}
