// Browser endpoints: GET /i (impression pixel, a 1×1 GIF) and GET /c (signed click redirect). Query
// parameters are contract fields; the server fills event_id (UUID v7), ts (now), ip and user agent
// when they are missing (hits.ts). A pixel without a write key in a header is held to the pixel
// policy (pixel-policy.ts). A click is recorded and redirected only with a valid signature.
// A HEAD on either (link prefetchers, uptime monitors, mail scanners) gets the GET's status and
// headers but records nothing: fastify answers HEAD with the GET route's handler.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AdpipeError } from '../../errors.js';
import { errorReply } from '../error-body.js';
import { controlCharacterParam, verifyClick } from './click-signature.js';
import type { Collector } from './collector.js';
import { HIT_SEPARATOR, type HitGroup, type HitType } from './hits.js';
import type { CollectorMetrics } from './metrics.js';
import type { PixelPolicy } from './pixel-policy.js';

/** The smallest transparent GIF. */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * Hits in a group at most. A group's validation waits for the whole group, and meanwhile its
 * clients send nothing more: groups of a few hundred keep the worker busy on one while the event
 * loop reads the next (a bigger cap left both cores idle ~18 % of the time under the pixel bench).
 */
const GROUP_MAX = 256;

/** Called with a hit's rejection code (undefined when kept or a duplicate), or with the error. */
type HitAnswer = (err: unknown, rejected: string | undefined) => void;

/**
 * The hits of one event-loop turn (up to GROUP_MAX), accepted together: one trip to a validator
 * worker and one spool append per group instead of per hit, and nothing per hit on the event loop
 * but noting it down.
 */
export class HitQueue {
  private values: Array<string | number> = [];
  private answers: HitAnswer[] = [];

  constructor(
    private readonly collector: Collector,
    private readonly type: HitType,
    private readonly source: string,
    /** What the hits may record (keyless pixels); none: whatever the contract allows. */
    private readonly policy?: PixelPolicy,
  ) {}

  /** Queues a hit: its raw query string (after `?`), client address and user agent. */
  add(query: string, ip: string | undefined, userAgent: string | undefined, answer: HitAnswer): void {
    this.values.push(query, ip ?? '', userAgent ?? '', Date.now());
    // Wait one turn so the hits parsed in this one join the group.
    const n = this.answers.push(answer);
    if (n === 1) setImmediate(this.flush);
    else if (n >= GROUP_MAX) this.flush();
  }

  accept(query: string, ip: string | undefined, userAgent: string | undefined): Promise<string | undefined> {
    return new Promise((resolve, reject) =>
      this.add(query, ip, userAgent, (err, rejected) => (err ? reject(err) : resolve(rejected))),
    );
  }

  private readonly flush = (): void => {
    const { values, answers, type, source, policy } = this;
    if (answers.length === 0) return;
    this.values = [];
    this.answers = [];
    const group: HitGroup = {
      rows: values.join(HIT_SEPARATOR),
      type,
      source,
      receivedAt: new Date().toISOString(),
    };
    if (policy) group.policy = policy;
    this.collector.acceptHits(group, answers.length).then(
      (rejected) => {
        for (let i = 0; i < answers.length; i++) answers[i]!(undefined, rejected[i]);
      },
      (err: unknown) => {
        for (const answer of answers) answer(err, undefined);
      },
    );
  };
}

const KEYED = Symbol('keyed');

/**
 * A pixel's user agent off the request's raw header list (req.headers would first build an object
 * of every header, which costs a pixel more than this), or KEYED when it presents a key in
 * Authorization or X-API-Key: that key needs checking, which fastify's route does.
 * The first of a repeated header counts.
 */
function pixelUserAgent(raw: string[]): string | undefined | typeof KEYED {
  let userAgent: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && name.toLowerCase() === 'user-agent') userAgent ??= raw[i + 1];
    else if (
      (name.length === 13 && name.toLowerCase() === 'authorization') ||
      (name.length === 9 && name.toLowerCase() === 'x-api-key')
    )
      return KEYED;
  }
  return userAgent;
}

/** The raw query string of a request (what follows `?`). */
const rawQuery = (url: string): string => {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
};

/** Set on every pixel and click answer (one object, not a header call each). */
const NO_CACHE = {
  'cache-control': 'no-store, no-cache, must-revalidate, max-age=0',
  pragma: 'no-cache',
  expires: '0',
};
const GIF_HEADERS = { ...NO_CACHE, 'content-type': 'image/gif' };

/** The queues hits go to: keyless pixels (held to the pixel policy), keyed pixels, clicks. */
export interface HitQueues {
  pixels: HitQueue;
  keyedPixels: HitQueue;
  clicks: HitQueue;
}

export function registerPixels(
  app: FastifyInstance,
  queues: HitQueues,
  metrics: CollectorMetrics,
  secret: string | undefined,
  guards: preHandlerAsyncHookHandler[],
  /** Whether a request that passed the guards holds a write key in a header (see index.ts). */
  keyed: (req: FastifyRequest) => boolean,
): void {
  const options = { preHandler: guards };
  /** Records a hit unless it is a HEAD, and names its rejection, if any, in a header. */
  const record = async (queue: HitQueue, req: FastifyRequest, reply: FastifyReply) => {
    if (req.method === 'HEAD') return;
    const rejected = await queue.accept(rawQuery(req.url), req.ip, req.headers['user-agent']);
    // The browser only wants an image or a redirect; a rejected record is in the dead letters.
    if (rejected) reply.header('x-adpipe-rejected', rejected);
  };
  app.get('/i', options, async (req, reply) => {
    await record(keyed(req) ? queues.keyedPixels : queues.pixels, req, reply);
    return reply.headers(GIF_HEADERS).send(GIF);
  });

  app.get('/c', options, async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    const flat = Object.values(query).every((v) => typeof v === 'string');
    const url = query.url;
    // Before the signature: a CR/LF in a URL signed before signers refused it must not reach Location.
    const control = flat ? controlCharacterParam(query as Record<string, string>) : undefined;
    if (control !== undefined)
      throw new AdpipeError('ADP_ERR_BAD_PARAM', [control, 'must not hold a control character']);
    if (!flat || typeof url !== 'string' || !verifyClick(query as Record<string, string>, secret)) {
      metrics.forgedClicks.inc();
      throw new AdpipeError('ADP_ERR_COLLECTOR_BAD_SIGNATURE');
    }
    if (!/^https?:\/\//i.test(url))
      throw new AdpipeError('ADP_ERR_BAD_PARAM', ['url', 'must be an http or https URL']);
    await record(queues.clicks, req, reply);
    return reply.headers(NO_CACHE).redirect(url, 302);
  });
}

const GIF_RAW_HEADERS = { ...GIF_HEADERS, 'content-length': String(GIF.length) };
/**
 * The GIF as a latin1 string (one char per byte): Node sends a string body in the same write as the
 * headers, a Buffer in a second chunk (a writev per answer).
 */
const GIF_TEXT = GIF.toString('latin1');

/**
 * GET /i without fastify's per-request machinery: routing, hooks, the reply object. It takes the
 * server's `request` event before fastify and answers a keyless pixel the way the route above does
 * (same record and policy, overload check, rate limit, request metrics); everything else (a HEAD
 * among them), a pixel presenting a key (to be checked) and any pixel it would not answer 200
 * (overloaded, rate-limited) go on to fastify unchanged. Used only when pixels need no key.
 * `address` gives the client's address as fastify's request.ip would (server.trust_proxy);
 * `admit` is the onRequest hook's check of it: false sends the request on to fastify.
 */
export function pixelFastPath(
  app: FastifyInstance,
  pixels: HitQueue,
  metrics: CollectorMetrics,
  address: (req: IncomingMessage) => string | undefined,
  admit: (address: string | undefined) => boolean,
): void {
  const server = app.server;
  const handlers = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  if (handlers.length !== 1) return;
  const fastify = handlers[0]!;
  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if (req.method !== 'GET' || url.charCodeAt(1) !== 105 || (url.length > 2 && url.charCodeAt(2) !== 63))
      return fastify.call(server, req, res);
    const userAgent = pixelUserAgent(req.rawHeaders);
    if (userAgent === KEYED) return fastify.call(server, req, res);
    const ip = address(req);
    if (!admit(ip)) return fastify.call(server, req, res);
    req.resume();
    pixels.add(url.slice(3), ip, userAgent, (err, rejected) => {
      if (err) {
        const reqId = `pixel-${randomUUID()}`;
        const { status, body, retryAfterSeconds } = errorReply(err, reqId);
        if (status >= 500) app.log.error({ err, reqId }, 'request failed');
        const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
        if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
        res.writeHead(status, headers).end(JSON.stringify(body));
        metrics.countRequest('/i', status);
        return;
      }
      if (rejected) res.setHeader('x-adpipe-rejected', rejected);
      res.writeHead(200, GIF_RAW_HEADERS).end(GIF_TEXT, 'latin1');
      metrics.countRequest('/i', 200);
    });
  });
}
