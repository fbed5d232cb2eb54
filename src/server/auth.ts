// API keys: write keys collect events, read keys query. A key may come as `Authorization: Bearer`,
// as Basic auth's user name (what Segment SDKs send) or as `X-API-Key`. Keys are compared as SHA-256
// digests with timingSafeEqual against every configured key, so timing reveals neither the key nor
// which one matched. A kind with no keys configured is open.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AdpipeError } from '../errors.js';
import type { ServerContext } from './context.js';

export type KeyKind = 'write' | 'read';

const digest = (key: string): Buffer => createHash('sha256').update(key).digest();

/** The key a request presents, or undefined. */
export function presentedKey(req: FastifyRequest): string | undefined {
  const apiKey = req.headers['x-api-key'];
  return keyOf(req.headers.authorization, typeof apiKey === 'string' ? apiKey : undefined);
}

/** The key presented by an Authorization header and an X-API-Key header, or undefined. */
export function keyOf(auth: string | undefined, apiKey: string | undefined): string | undefined {
  if (auth) {
    const space = auth.indexOf(' ');
    const scheme = auth.slice(0, space).toLowerCase();
    const value = auth.slice(space + 1).trim();
    if (scheme === 'bearer') return value || undefined;
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return (colon < 0 ? decoded : decoded.slice(0, colon)) || undefined;
    }
  }
  return apiKey || undefined;
}

export class KeyRing {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get open(): boolean {
    return this.digests.length === 0;
  }

  has(key: string | undefined): boolean {
    if (this.open) return true;
    const d = digest(key ?? '');
    let found = false;
    for (const k of this.digests) found = timingSafeEqual(k, d) || found;
    return found && key !== undefined;
  }
}

const rings = new WeakMap<ServerContext, Record<KeyKind, KeyRing>>();

export function keyRing(ctx: ServerContext, kind: KeyKind): KeyRing {
  let r = rings.get(ctx);
  if (!r) {
    r = { write: new KeyRing(ctx.config.server.write_keys), read: new KeyRing(ctx.config.server.read_keys) };
    rings.set(ctx, r);
  }
  return r[kind];
}

/**
 * A preHandler that answers 401 unless the request carries a key of this kind. `fallback` reads a
 * key from elsewhere (the Segment body's `writeKey`) when no header carries one.
 */
export function requireKey(
  kind: KeyKind,
  ctx: ServerContext,
  fallback?: (req: FastifyRequest) => string | undefined,
): preHandlerAsyncHookHandler {
  const ring = keyRing(ctx, kind);
  return async (req) => {
    if (ring.open) return;
    if (!ring.has(presentedKey(req) ?? fallback?.(req))) throw new AdpipeError('ADP_ERR_UNAUTHORIZED');
  };
}
