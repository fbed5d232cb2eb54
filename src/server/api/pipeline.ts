// GET /v1/pipeline (ingest health: batches, ledger counts, rejections by reason, lag, the state of
// each sink and other after-commit subscriber) and
// GET /v1/deadletter (a sample of rejected records from the dead-letter store).

import type { FastifyInstance } from 'fastify';
import { deadLetters, rejectionCounts } from '../../pipeline/deadletter.js';
import type { ServerContext } from '../context.js';
import type { ReaderPool } from './readers.js';

export async function pipelineRoutes(app: FastifyInstance, ctx: ServerContext, readers: ReaderPool) {
  app.get<{ Querystring: { batches?: number } }>(
    '/v1/pipeline',
    {
      schema: {
        summary: 'Ingest health: recent batches, files, rejections by reason, lag, subscribers (sinks)',
        tags: ['pipeline'],
        querystring: {
          type: 'object',
          properties: { batches: { type: 'integer', minimum: 1, maximum: 1000, default: 20 } },
        },
      },
    },
    async (req) =>
      readers.use(async (wh) => {
        const files = await wh.one(
          `SELECT count(*)::BIGINT AS files, coalesce(sum(records), 0)::BIGINT AS records,
             coalesce(sum(accepted), 0)::BIGINT AS accepted, coalesce(sum(duplicates), 0)::BIGINT AS duplicates,
             coalesce(sum(rejected), 0)::BIGINT AS rejected FROM ledger`,
        );
        const batches = await wh.all(
          `SELECT batch_id, kind, strftime(started_at, '%Y-%m-%dT%H:%M:%SZ') AS started_at,
             strftime(committed_at, '%Y-%m-%dT%H:%M:%SZ') AS committed_at, files, accepted, duplicates, rejected,
             strftime(min_ts, '%Y-%m-%dT%H:%M:%SZ') AS min_ts, strftime(max_ts, '%Y-%m-%dT%H:%M:%SZ') AS max_ts
           FROM batches ORDER BY batch_id DESC LIMIT $n`,
          { n: req.query.batches ?? 20 },
        );
        // Lag: how long since the last commit, and how old the newest event in the warehouse is.
        const lag = await wh.one(
          `SELECT strftime(max(committed_at), '%Y-%m-%dT%H:%M:%SZ') AS last_commit,
             epoch(now() - max(committed_at))::BIGINT AS since_last_commit_s,
             strftime(max(max_ts), '%Y-%m-%dT%H:%M:%SZ') AS newest_event,
             epoch(now() - max(max_ts))::BIGINT AS newest_event_age_s,
             epoch(arg_max(committed_at - max_ts, batch_id))::BIGINT AS last_batch_lag_s
           FROM batches`,
        );
        const rejections = await rejectionCounts(wh);
        return {
          files: numbers(files!),
          batches: batches.map(numbers),
          rejections,
          lag: numbers(lag!),
          // Sinks and other after-commit subscribers: how far each has got, and why not further.
          subscribers: ctx.runtime.subscriberStatus(),
        };
      }),
  );

  app.get<{ Querystring: { code?: string; batch?: number; limit?: number } }>(
    '/v1/deadletter',
    {
      schema: {
        summary: 'A sample of rejected records with their reasons',
        tags: ['pipeline'],
        querystring: {
          type: 'object',
          properties: {
            code: { type: 'string', description: 'Only this rejection code, e.g. money.invalid' },
            batch: { type: 'integer', minimum: 1 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
          },
        },
      },
    },
    async (req) =>
      readers.use(async (wh) => {
        const { code, batch, limit = 50 } = req.query;
        return { records: await deadLetters(wh, { code, batches: batch ? [batch] : undefined, limit }) };
      }),
  );
}

/** BIGINT columns arrive as strings; counts fit a double, so send them as numbers. */
function numbers(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [
      k,
      typeof v === 'string' && /^-?\d+$/.test(v) && k !== 'text' ? Number(v) : v,
    ]),
  );
}
