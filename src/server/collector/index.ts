// The HTTP collector plugin: POST /v1/events, Segment's /v1/{track,page,screen,identify,group,alias,batch},
// the pixel GET /i and the signed click GET /c. Everything goes to the intake (intakes.ts): the HTTP
// intake, a source of the runtime (src/sources/spool), acknowledged once fsynced in its spool and
// loaded into the lake by the runtime; or, with `serve --publish`, a broker, acknowledged once it has
// the events. This plugin keeps only HTTP: routes, limits, auth and the Segment/pixel/click framing.
// See docs/collector.md.

import type { IncomingMessage } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AdpipeError } from '../../errors.js';
import { RECORD_MAX_DEPTH } from '../../events/contract.js';
import { deeperThan } from '../../events/json-depth.js';
import { compileMappingJs, loadMapping } from '../../events/mapping/index.js';
import { rejection } from '../../events/reasons.js';
import { Refused } from '../../sources/spool/batch.js';
import { checkKey, keyRing, presentedKey, requireKey } from '../auth.js';
import { clientAddress } from '../client-address.js';
import type { CollectorContext } from '../context.js';
import { parseBatch, parseJson, readBody } from './body.js';
import { Collector } from './collector.js';
import { openIntake } from './intakes.js';
import { mappedRecords } from './mapped.js';
import { metricsFor } from './metrics.js';
import { HitQueue, pixelFastPath, registerPixels } from './pixels.js';
import { addressBucket, RateLimiter } from './rate-limit.js';
import { type SegmentCall, SegmentMapper } from './segment.js';
import { ValidatorPool } from './validator-pool.js';

const SEGMENT_CALLS: readonly SegmentCall[] = ['track', 'page', 'screen', 'identify', 'group', 'alias'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** A key given as a value: a non-empty string, else none. */
const keyText = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Segment also accepts the write key inside the body. */
const bodyWriteKey = (req: FastifyRequest): string | undefined =>
  keyText(isObj(req.body) ? req.body.writeKey : undefined);

/** Browsers cannot set headers on an <img>, so pixels may carry `?key=` when they need a key. */
const queryKey = (req: FastifyRequest): string | undefined => keyText((req.query as Obj | undefined)?.key);

/** Requests a minute per client address, and per write key (verified: no store of made-up keys). */
const MINUTE_MS = 60_000;

const collector: FastifyPluginAsync<{ ctx: CollectorContext }> = async (app, { ctx }) => {
  const cfg = ctx.config.server;
  const metrics = metricsFor(ctx);
  const { intake, stop } = await openIntake(ctx, metrics);
  const accept = new Collector(
    intake,
    cfg.validator_threads > 0 ? new ValidatorPool(cfg.validator_threads) : undefined,
  );
  const segment = new SegmentMapper(cfg.segment_events);
  /**
   * A Segment call as a record to validate, or undefined for a call that carries no event. A call of
   * no known type is refused, and so is one too deep to map (mapping may stringify it).
   */
  const segmentRecord = (call: unknown, message: unknown, context: Obj = {}): Obj | Refused | undefined => {
    if (!isObj(message) || !SEGMENT_CALLS.includes(call as SegmentCall))
      return new Refused(message, rejection('segment.unknown_call', 'type'));
    if (deeperThan(message, RECORD_MAX_DEPTH))
      return new Refused(message, rejection('record.too_deep', 'record'));
    return segment.map(call as SegmentCall, message, context);
  };
  if (!cfg.secret) app.log.warn('server.secret is not set: every click on /c is refused');

  ctx.onShutdown(async () => {
    // Requests are finished (the server closed first).
    await stop();
    await accept.close();
  });

  const perAddress = new RateLimiter(cfg.rate_limit_per_address, MINUTE_MS);
  const perKey = new RateLimiter(cfg.rate_limit_per_key, MINUTE_MS);
  const writers = keyRing(ctx, 'write');

  // Bodies are read here, not by fastify's JSON parser: gzip, NDJSON and limits after decompression.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', async (req: FastifyRequest, payload: IncomingMessage) =>
    readBody(req, payload, cfg.body_limit),
  );

  // Per client address first (whatever key it presents, if any: a fresh key per request must not
  // buy a fresh budget), then, before the body is read, the spool's capacity: an overloaded server
  // should not even buffer it. A callback hook, so no promise per request on the path every pixel
  // takes. Keys are counted once checked (limitKey).
  app.addHook('onRequest', (req, reply, done) => {
    const wait = perAddress.take(addressBucket(req.ip));
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      done(new AdpipeError('ADP_ERR_HTTP_RATE_LIMITED', [wait]));
      return;
    }
    try {
      intake.checkCapacity();
    } catch (err) {
      reply.header('retry-after', String(intake.retryAfterSeconds));
      done(err as Error);
      return;
    }
    done();
  });

  /** Counts a request against its write key, which the guard before checked. */
  const limitKey = (reply: FastifyReply, key: string | undefined): void => {
    // With no write keys configured every key passes: then only addresses count.
    const wait = writers.open || key === undefined ? 0 : perKey.take(key);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      throw new AdpipeError('ADP_ERR_HTTP_RATE_LIMITED', [wait]);
    }
  };
  const writer = requireKey('write', ctx, bodyWriteKey);
  const guards = [
    writer,
    async (req: FastifyRequest, reply: FastifyReply) =>
      limitKey(reply, presentedKey(req) ?? bodyWriteKey(req)),
  ];

  const bodyOf = (req: FastifyRequest): Buffer => {
    if (!Buffer.isBuffer(req.body))
      throw new AdpipeError('ADP_ERR_BAD_PARAM', ['body', 'a request body is required']);
    return req.body;
  };
  const checkCount = (n: number) => {
    if (n > cfg.max_batch_events)
      throw new AdpipeError('ADP_ERR_COLLECTOR_BATCH_TOO_LARGE', [n, cfg.max_batch_events]);
  };

  // Mapping hook (#18): bodies in a source's shape are mapped, then validated as records.
  const mapping = cfg.mapping ? compileMappingJs(loadMapping(cfg.mapping)) : undefined;
  app.post('/v1/events', { preHandler: guards }, async (req) => {
    const batch = parseBatch(req.headers['content-type'], bodyOf(req));
    if (mapping) {
      const records = mappedRecords(mapping, batch);
      checkCount(records.length);
      return accept.acceptObjects(records, 'events');
    }
    if ('ndjson' in batch) return accept.acceptNdjson(batch.ndjson, cfg.max_batch_events, 'events');
    checkCount(batch.records.length);
    return accept.acceptObjects(batch.records, 'events');
  });

  // Segment parses its JSON body before auth, so the body's writeKey can authenticate.
  const segmentBody = async (req: FastifyRequest) => {
    const parsed = parseJson(bodyOf(req));
    if (!isObj(parsed)) throw new AdpipeError('ADP_ERR_BAD_PARAM', ['body', 'must be a JSON object']);
    req.body = parsed;
  };
  /** Segment's answer plus adpipe's counts; error indexes are positions in the request's calls. */
  const segmentAnswer = async (records: Array<Obj | Refused>, positions: number[]) => {
    return { success: true, ...(await accept.acceptObjects(records, 'segment', positions)) };
  };

  for (const call of SEGMENT_CALLS) {
    app.post(`/v1/${call}`, { preValidation: segmentBody, preHandler: guards }, async (req) => {
      const rec = segmentRecord(call, req.body);
      return rec ? segmentAnswer([rec], [0]) : segmentAnswer([], []);
    });
  }
  app.post('/v1/batch', { preValidation: segmentBody, preHandler: guards }, async (req) => {
    const body = req.body as Obj;
    if (!Array.isArray(body.batch)) throw new AdpipeError('ADP_ERR_BAD_PARAM', ['batch', 'must be an array']);
    checkCount(body.batch.length);
    const context = isObj(body.context) ? body.context : {};
    const records: Array<Obj | Refused> = [];
    const positions: number[] = [];
    body.batch.forEach((m: unknown, i: number) => {
      const rec = segmentRecord(isObj(m) ? m.type : undefined, m, context);
      if (rec) {
        records.push(rec);
        positions.push(i);
      }
    });
    return segmentAnswer(records, positions);
  });

  // Pixels and clicks: a key in a header is always checked (it opens every field, as on
  // /v1/events); `?key=` only when pixels need a key, and it opens nothing more than the pixel
  // policy, since a key in a page's <img> URL is public.
  const pixelKey = async (req: FastifyRequest, reply: FastifyReply) => {
    const key = presentedKey(req) ?? (cfg.pixels_without_key ? undefined : queryKey(req));
    if (key === undefined && cfg.pixels_without_key) return;
    checkKey(ctx, 'write', req, reply, key);
    limitKey(reply, key);
  };
  const policy = { types: cfg.pixel_types, fields: cfg.pixel_fields, secret: cfg.secret };
  const pixels = new HitQueue(accept, 'impression', 'pixel', policy);
  const queues = {
    pixels,
    keyedPixels: new HitQueue(accept, 'impression', 'pixel'),
    clicks: new HitQueue(accept, 'click', 'click'),
  };
  const keyed = (req: FastifyRequest) => !writers.open && presentedKey(req) !== undefined;
  registerPixels(app, queues, metrics, cfg.secret, [pixelKey], keyed);
  // Keyless pixels skip fastify's per-request work; a request the onRequest hook above would
  // refuse is counted against its address here and left to fastify, which answers it as usual.
  if (cfg.pixels_without_key)
    pixelFastPath(
      app,
      pixels,
      metrics,
      clientAddress(cfg.trust_proxy),
      (address) => !intake.overloaded() && perAddress.take(addressBucket(address ?? '')) === 0,
    );
};

export default collector;
