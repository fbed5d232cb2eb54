// GET /v1/analysis (the list), GET /v1/analysis/:name (the same rows as `adpipe analyze`),
// GET /v1/experiments (the config's A/B tests) and GET /v1/ab/assign (a user's variant). Parameters are the CLI's in snake_case; each analysis's zod
// schema checks them, so a parameter of another analysis is a 400.

import type { FastifyInstance } from 'fastify';
import { assignVariant, findExperiment } from '../../analyses/assign.js';
import { ANALYSES, findAnalysis } from '../../analyses/registry.js';
import { toCsv } from '../../reports/format.js';
import type { ServerContext } from '../context.js';
import type { ReaderPool } from './readers.js';
import { checkKnownParams } from './report-params.js';
import { errorSchema, jsonOrCsvResponses } from './schemas.js';

const text = (description: string) => ({ type: 'string', description });

const analysisQuerySchema = {
  type: 'object',
  properties: {
    from: { type: 'string', format: 'date', description: 'First local date, inclusive (YYYY-MM-DD)' },
    to: { type: 'string', format: 'date', description: 'Last local date, inclusive (YYYY-MM-DD)' },
    tz: text('IANA time zone of the dates (default: config tz)'),
    format: { type: 'string', enum: ['json', 'csv'] },
    by: text('active-users: media_id, app_type or country'),
    gap: text('sessions, segments: inactivity ending a session, e.g. 30m'),
    summary: text('segments: true for users and revenue per segment'),
    model: text('attribution: first, last, linear, time-decay or position'),
    lookback: text('attribution: e.g. 24h'),
    half_life: text('attribution time-decay: e.g. 7d'),
    experiment: text('ab: experiment name'),
    k: text('audiences: number of clusters (default 5)'),
    seed: text('audiences: k-means++ seed (default 42)'),
  },
} as const;

export async function analysisRoutes(app: FastifyInstance, ctx: ServerContext, readers: ReaderPool) {
  app.get(
    '/v1/analysis',
    {
      schema: {
        summary: 'List the analyses and their parameters',
        tags: ['analyses'],
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => ({
      analyses: ANALYSES.map((a) => ({
        name: a.name,
        title: a.title,
        params: ['from', 'to', 'tz', ...a.options],
      })),
    }),
  );

  const known = Object.keys(analysisQuerySchema.properties);
  app.get<{ Params: { name: string }; Querystring: Record<string, string | undefined> }>(
    '/v1/analysis/:name',
    {
      schema: {
        summary:
          'Run an analysis: active users, retention, sessions, segments, attribution, A/B test, audiences',
        tags: ['analyses'],
        params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        querystring: analysisQuerySchema,
        response: jsonOrCsvResponses,
      },
      preValidation: async (req) => checkKnownParams(req.query as object, known),
    },
    async (req, reply) => {
      const { format, ...params } = req.query;
      const analysis = findAnalysis(req.params.name);
      const result = await readers.use((wh) => analysis.run(wh, ctx.config, params));
      if (format === 'csv') {
        const file = `${analysis.name}_${result.meta.from}_${result.meta.to}.csv`;
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${file}"`)
          .send(toCsv(result));
      }
      return reply.type('application/json').send(JSON.stringify(result));
    },
  );

  app.get(
    '/v1/experiments',
    {
      schema: {
        summary: 'The experiments declared in the config: variants with weights in assignment order, control',
        tags: ['analyses'],
        response: {
          200: {
            type: 'object',
            properties: {
              experiments: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    name: { type: 'string' },
                    control: { type: 'string' },
                    variants: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: { name: { type: 'string' }, weight: { type: 'integer' } },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => ({
      experiments: ctx.config.experiments.map((e) => ({
        name: e.name,
        control: e.control,
        variants: Object.entries(e.variants).map(([name, weight]) => ({ name, weight })),
      })),
    }),
  );

  app.get<{ Querystring: { experiment: string; user: string } }>(
    '/v1/ab/assign',
    {
      schema: {
        summary: "A user's variant in an experiment declared in the config (see docs/analyses.md)",
        tags: ['analyses'],
        querystring: {
          type: 'object',
          properties: {
            experiment: { type: 'string', minLength: 1 },
            user: { type: 'string', minLength: 1 },
            key: { type: 'string' },
          },
          required: ['experiment', 'user'],
        },
        response: {
          200: {
            type: 'object',
            properties: {
              experiment: { type: 'string' },
              user: { type: 'string' },
              variant: { type: 'string' },
            },
          },
          400: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (req) => {
      const { experiment, user } = req.query;
      return {
        experiment,
        user,
        variant: assignVariant(findExperiment(ctx.config.experiments, experiment), user),
      };
    },
  );
}
