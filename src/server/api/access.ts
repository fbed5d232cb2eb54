// Who may read, and who may run /v1/admin: one preHandler each. Keys come from src/server/auth.ts;
// a key of another kind (a write key reading, a read key running admin commands) gets 403 rather
// than 401, so a misconfigured client learns why.
// Keys go in headers: a URL ends up in logs, browser history and Referer headers. Only a route
// whose config says `keyInUrl` (the live stream: EventSource cannot send headers) takes `?key=`.

import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AdpipeError } from '../../errors.js';
import { type KeyRing, keyRing, presentedKey, requireKey } from '../auth.js';
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

/**
 * A 401 of `err` as a 403 when the key is one of `other` (a kind that may not do `what`). Only a
 * 401: a client over its failed checks (429) learns nothing more about its key.
 */
function forbiddenIfOtherKind(err: unknown, key: string | undefined, other: KeyRing, what: string): unknown {
  const unknown = err instanceof AdpipeError && err.code === 'ADP_ERR_HTTP_UNAUTHORIZED';
  if (unknown && key !== undefined && !other.open && other.has(key))
    return new AdpipeError('ADP_ERR_HTTP_FORBIDDEN', [what]);
  return err;
}

export function requireRead(ctx: ServerContext): preHandlerAsyncHookHandler {
  const check = requireKey('read', ctx, queryKey);
  const writers = keyRing(ctx, 'write');
  return async function readAccess(this: unknown, req, reply) {
    if (urlKey(req) !== undefined && !req.routeOptions.config.keyInUrl)
      throw new AdpipeError('ADP_ERR_HTTP_KEY_IN_URL');
    try {
      await check.call(this as never, req, reply);
    } catch (err) {
      const key = presentedKey(req) ?? queryKey(req);
      throw forbiddenIfOtherKind(err, key, writers, 'read reports (it is a write key)');
    }
  };
}

/** For /v1/admin routes, after requireRead: an admin key, or a read key while none is configured. */
export function requireAdmin(ctx: ServerContext): preHandlerAsyncHookHandler {
  const check = requireKey('admin', ctx);
  const readers = keyRing(ctx, 'read');
  return async function adminAccess(this: unknown, req, reply) {
    try {
      await check.call(this as never, req, reply);
    } catch (err) {
      throw forbiddenIfOtherKind(err, presentedKey(req), readers, 'run admin commands (it is a read key)');
    }
  };
}
