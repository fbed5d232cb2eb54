// Signed click URLs: /c?<params>&sig=<HMAC-SHA256>. The signature covers every parameter except
// `sig`, in a canonical form (sorted by name, percent-encoded), so the destination `url` cannot be
// swapped: an unsigned or altered link is refused instead of becoming an open redirect.

import { createHmac, timingSafeEqual } from 'node:crypto';

export type ClickParams = Readonly<Record<string, string>>;

export function canonicalQuery(params: ClickParams): string {
  return Object.keys(params)
    .filter((k) => k !== 'sig')
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k]!)}`)
    .join('&');
}

export function signClick(params: ClickParams, secret: string): string {
  return createHmac('sha256', secret).update(canonicalQuery(params)).digest('base64url');
}

export function verifyClick(params: ClickParams, secret: string | undefined): boolean {
  const sig = params.sig;
  if (!secret || typeof sig !== 'string') return false;
  const expected = Buffer.from(signClick(params, secret));
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The full click URL for `base` (e.g. https://collect.example.com), parameters signed. */
export function signedClickUrl(base: string, params: ClickParams, secret: string): string {
  return `${base.replace(/\/+$/, '')}/c?${canonicalQuery(params)}&sig=${signClick(params, secret)}`;
}
