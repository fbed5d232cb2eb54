// GET /v1/reports (the report model) and GET /v1/reports/:name (slice and dice over a report's
// rollups, with totals and a comparison to the previous period). All SQL comes from
// src/reports/query.ts, where every user value is a bound parameter.

import type { FastifyInstance, FastifyReply } from 'fastify';
import { AdpipeError } from '../../errors.js';
import { formatReport } from '../../reports/format.js';
import { derivedMetrics, isMoneyMeasure, REPORTS, rollupDimensions } from '../../reports/model.js';
import {
  GRAINS,
  nameColumn,
  previousRange,
  runReport,
  runReportTotals,
  runReportWithTotals,
} from '../../reports/query.js';
import type { ServerContext } from '../context.js';
import type { ReaderPool } from './readers.js';
import {
  checkKnownParams,
  checkReportSize,
  FIRST_DATE,
  type ReportQuery,
  readLane,
  reportQuerySchema,
  toReportRequest,
} from './report-params.js';
import { jsonOrCsvResponses } from './schemas.js';

type Values = Record<string, string | number | null>;

/** The report model as the API and the dashboard see it. */
export function describeReports() {
  return REPORTS.map((r) => ({
    name: r.name,
    title: r.title,
    dimensions: rollupDimensions(r).map((d) => ({
      name: d.name,
      label: d.label,
      extra: !r.dimensions.includes(d),
      all: r.allDimensions.includes(d.name),
      nameColumn: d.names ? nameColumn(d.name) : undefined,
    })),
    measures: r.measures.map((m) => ({
      name: m.name,
      label: m.label,
      kind: m.kind,
      money: isMoneyMeasure(r, m.name),
    })),
    metrics: derivedMetrics(r).map((m) => ({ name: m.name, label: m.label, format: m.format })),
  }));
}

/** Change in percent per value, null where the previous value is zero or missing. */
function changes(current: Values, previous: Values): Record<string, number | null> {
  return Object.fromEntries(
    Object.keys(current).map((k) => {
      const now = Number(current[k]);
      const before = Number(previous[k]);
      const valid = current[k] !== null && previous[k] !== null && before !== 0;
      return [k, valid ? Math.round(((now - before) / before) * 10_000) / 100 : null];
    }),
  );
}

/** Aborted when the client closes the connection before its answer is sent. */
function clientGone(reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  return gone.signal;
}

export async function reportRoutes(app: FastifyInstance, ctx: ServerContext, readers: ReaderPool) {
  app.get(
    '/v1/reports',
    {
      schema: {
        summary: 'List reports with their dimensions, measures and derived metrics',
        tags: ['reports'],
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => ({ grains: GRAINS, reports: describeReports() }),
  );

  const known = Object.keys(reportQuerySchema.properties);
  app.get<{ Params: { name: string }; Querystring: ReportQuery }>(
    '/v1/reports/:name',
    {
      schema: {
        summary: 'Slice and dice a report: time series, breakdowns, totals, comparison',
        tags: ['reports'],
        params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        querystring: reportQuerySchema,
        response: jsonOrCsvResponses,
      },
      preValidation: async (req) => checkKnownParams(req.query as object, known),
    },
    async (req, reply) => {
      const q = req.query;
      const request = toReportRequest(req.params.name, q, ctx.config.tz);
      if (q.compare && (!q.from || !q.to))
        throw new AdpipeError('ADP_ERR_BAD_PARAM', ['compare', 'needs from and to']);
      if (q.compare && q.from && q.to && previousRange(q.from, q.to).from < FIRST_DATE)
        throw new AdpipeError('ADP_ERR_BAD_PARAM', [
          'compare',
          `the previous period would start before ${FIRST_DATE}`,
        ]);
      checkReportSize(request, ctx.config.server.report_max_periods);
      const lane = readLane(request, ctx.config.server.report_cheap_days);
      return readers.use(
        async (wh) => {
          const wantTotals = q.format !== 'csv' && (q.totals !== false || !!q.compare);
          const { result, totals } = wantTotals
            ? await runReportWithTotals(wh, request)
            : { result: await runReport(wh, request), totals: undefined };
          if (q.format === 'csv') {
            const file = `${request.report}_${q.from ?? 'all'}_${q.to ?? 'all'}.csv`;
            return reply
              .type('text/csv; charset=utf-8')
              .header('content-disposition', `attachment; filename="${file}"`)
              .send(formatReport(result, 'csv'));
          }
          const body: Record<string, unknown> = { ...result, from: q.from ?? null, to: q.to ?? null };
          if (totals) body.totals = totals;
          if (q.compare && q.from && q.to) {
            const newest = await wh.one<{ ms: string | null }>(
              'SELECT epoch_ms(max(max_ts))::VARCHAR AS ms FROM batches',
            );
            const range = previousRange(
              q.from,
              q.to,
              request.tz,
              Date.now(),
              Number(newest?.ms ?? Date.now()),
            );
            const totals = await runReportTotals(wh, { ...request, ...range });
            body.compare = { ...range, totals, change: changes(body.totals as Values, totals) };
          }
          return reply.type('application/json').send(JSON.stringify(body));
        },
        { lane, signal: clientGone(reply) },
      );
    },
  );
}
