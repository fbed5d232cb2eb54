// Who may read: one preHandler for every read route of the API. Keys come from src/server/auth.ts;
// a key that is only a write key gets 403 rather than 401, so a misconfigured client learns why.

import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AdpipeError } from '../../errors.js';
import { keyRing, presentedKey, requireKey } from '../auth.js';
import type { ServerContext } from '../context.js';

/** EventSource cannot send headers, so the live stream also takes `?key=`. */
const queryKey = (req: FastifyRequest): string | undefined => {
  const key = (req.query as { key?: unknown } | undefined)?.key;
  return typeof key === 'string' && key !== '' ? key : undefined;
};

export function requireRead(ctx: ServerContext): preHandlerAsyncHookHandler {
  const check = requireKey('read', ctx, queryKey);
  const writers = keyRing(ctx, 'write');
  return async function readAccess(this: unknown, req, reply) {
    try {
      await check.call(this as never, req, reply);
    } catch (err) {
      const key = presentedKey(req) ?? queryKey(req);
      if (key !== undefined && !writers.open && writers.has(key))
        throw new AdpipeError('ADP_ERR_FORBIDDEN', ['read reports (it is a write key)']);
      throw err;
    }
  };
}
