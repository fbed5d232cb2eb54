// Signed URLs: /c?<params>&sig=<HMAC-SHA256> for clicks, /i?<params>&sig=… for pixels that carry
// money. The signature covers every parameter except `sig`, in a canonical form (sorted by name,
// percent-encoded), so neither the destination `url` nor an amount or an id can be changed: an
// unsigned or altered click is refused instead of becoming an open redirect. No parameter may hold
// a control character: a CR/LF in a signed `url` would end up in the redirect's Location header.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { AdpipeError } from '../../errors.js';

export type ClickParams = Readonly<Record<string, string>>;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The first parameter whose name or value holds a control character, or undefined. */
export function controlCharacterParam(params: ClickParams): string | undefined {
  for (const k in params) if (CONTROL.test(k) || CONTROL.test(params[k]!)) return k;
  return undefined;
}

export function canonicalQuery(params: ClickParams): string {
  return Object.keys(params)
    .filter((k) => k !== 'sig')
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k]!)}`)
    .join('&');
}

/** Throws ADP_ERR_BAD_PARAM for a parameter with a control character: such a URL is never signed. */
export function signClick(params: ClickParams, secret: string): string {
  const bad = controlCharacterParam(params);
  if (bad !== undefined)
    throw new AdpipeError('ADP_ERR_BAD_PARAM', [bad, 'must not hold a control character']);
  return hmac(params, secret);
}

export function verifyClick(params: ClickParams, secret: string | undefined): boolean {
  const sig = params.sig;
  if (!secret || typeof sig !== 'string' || controlCharacterParam(params) !== undefined) return false;
  const expected = Buffer.from(hmac(params, secret));
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const hmac = (params: ClickParams, secret: string): string =>
  createHmac('sha256', secret).update(canonicalQuery(params)).digest('base64url');

/** The full click URL for `base` (e.g. https://collect.example.com), parameters signed. */
export function signedClickUrl(base: string, params: ClickParams, secret: string): string {
  return signedUrl(base, '/c', params, secret);
}

/** The full pixel URL for `base`, parameters signed (it may then carry money; see pixel-policy.ts). */
export function signedPixelUrl(base: string, params: ClickParams, secret: string): string {
  return signedUrl(base, '/i', params, secret);
}

function signedUrl(base: string, route: string, params: ClickParams, secret: string): string {
  const sig = signClick(params, secret);
  return `${base.replace(/\/+$/, '')}${route}?${canonicalQuery(params)}&sig=${sig}`;
}
