// API keys: write keys collect events, read keys query, admin keys also run /v1/admin (verify,
// sinks, SQL for the CLI beside a server) and read; with no admin keys, read keys run /v1/admin. A key may come as `Authorization: Bearer`,
// as Basic auth's user name (what Segment SDKs send) or as `X-API-Key`. Keys are compared as SHA-256
// digests with timingSafeEqual against every configured key, so timing reveals neither the key nor
// which one matched. A kind with no keys configured is open. Failed checks are counted per client
// address (server.auth_failures_per_address a minute); past that, the address gets 429 until its
// minute ends, right key or not, so keys cannot be guessed at request rate.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AdpipeError } from '../errors.js';
import { addressBucket, RateLimiter } from './collector/rate-limit.js';
import type { CollectorContext } from './context.js';

export type KeyKind = 'write' | 'read' | 'admin';

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

interface Keys {
  write: KeyRing;
  read: KeyRing;
  admin: KeyRing;
  /** Failed key checks per client address. */
  failures: RateLimiter;
}

const servers = new WeakMap<CollectorContext, Keys>();

function keysOf(ctx: CollectorContext): Keys {
  let k = servers.get(ctx);
  if (!k) {
    const cfg = ctx.config.server;
    // An admin key reads too; reads stay open while no read keys are configured.
    const read = new KeyRing(cfg.read_keys.length > 0 ? [...cfg.read_keys, ...cfg.admin_keys] : []);
    k = {
      write: new KeyRing(cfg.write_keys),
      read,
      admin: cfg.admin_keys.length > 0 ? new KeyRing(cfg.admin_keys) : read,
      failures: new RateLimiter(cfg.auth_failures_per_address, 60_000),
    };
    servers.set(ctx, k);
  }
  return k;
}

export function keyRing(ctx: CollectorContext, kind: KeyKind): KeyRing {
  return keysOf(ctx)[kind];
}

/**
 * Throws unless `key` is one of this kind (or the kind is open): 429 with Retry-After while the
 * client's address is over its failed checks, else 401, counted as a failure.
 */
export function checkKey(
  ctx: CollectorContext,
  kind: KeyKind,
  req: FastifyRequest,
  reply: FastifyReply,
  key: string | undefined,
): void {
  const keys = keysOf(ctx);
  const ring = keys[kind];
  if (ring.open) return;
  const address = addressBucket(req.ip);
  const wait = keys.failures.wait(address);
  if (wait > 0) {
    reply.header('retry-after', String(wait));
    throw new AdpipeError('ADP_ERR_HTTP_RATE_LIMITED', [wait]);
  }
  if (ring.has(key)) return;
  keys.failures.take(address);
  throw new AdpipeError('ADP_ERR_HTTP_UNAUTHORIZED');
}

/**
 * A preHandler that answers 401 unless the request carries a key of this kind (429 while its
 * address is over its failed checks, see checkKey). `fallback` reads a key from elsewhere (the
 * Segment body's `writeKey`) when no header carries one.
 */
export function requireKey(
  kind: KeyKind,
  ctx: CollectorContext,
  fallback?: (req: FastifyRequest) => string | undefined,
): preHandlerAsyncHookHandler {
  const ring = keyRing(ctx, kind);
  return async (req, reply) => {
    if (!ring.open) checkKey(ctx, kind, req, reply, presentedKey(req) ?? fallback?.(req));
  };
}
