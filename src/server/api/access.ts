// Who may read: one preHandler for every read route of the API. Keys come from src/server/auth.ts;
// a key that is only a write key gets 403 rather than 401, so a misconfigured client learns why.
// Keys go in headers: a URL ends up in logs, browser history and Referer headers. Only a route
// whose config says `keyInUrl` (the live stream: EventSource cannot send headers) takes `?key=`.

import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AdpipeError } from '../../errors.js';
import { keyRing, presentedKey, requireKey } from '../auth.js';
import type { ServerContext } from '../context.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes a read key in `?key=` as well as in the headers. */
    keyInUrl?: boolean;
  }
}

const urlKey = (req: FastifyRequest): unknown => (req.query as { key?: unknown } | undefined)?.key;

/** `?key=` where the route takes it, else undefined. */
const queryKey = (req: FastifyRequest): string | undefined => {
  const key = urlKey(req);
  return req.routeOptions.config.keyInUrl && typeof key === 'string' && key !== '' ? key : undefined;
};

export function requireRead(ctx: ServerContext): preHandlerAsyncHookHandler {
  const check = requireKey('read', ctx, queryKey);
  const writers = keyRing(ctx, 'write');
  return async function readAccess(this: unknown, req, reply) {
    if (urlKey(req) !== undefined && !req.routeOptions.config.keyInUrl)
      throw new AdpipeError('ADP_ERR_KEY_IN_URL');
    try {
      await check.call(this as never, req, reply);
    } catch (err) {
      // Only a 401: a client over its failed checks (429) learns nothing more about its key.
      const unknown = err instanceof AdpipeError && err.code === 'ADP_ERR_UNAUTHORIZED';
      const key = presentedKey(req) ?? queryKey(req);
      if (unknown && key !== undefined && !writers.open && writers.has(key))
        throw new AdpipeError('ADP_ERR_FORBIDDEN', ['read reports (it is a write key)']);
      throw err;
    }
  };
}
