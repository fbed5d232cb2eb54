// Fernet (https://github.com/fernet/spec) with node:crypto only. A token is
//   0x80 | timestamp (u64 BE seconds) | IV (16) | AES-128-CBC ciphertext (PKCS7) | HMAC-SHA256 (32)
// base64url-encoded; the 32-byte key is the signing key (first 16 bytes) then the encryption key.

import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AdpipeError } from '../../errors.js';

const VERSION = 0x80;
const HEADER = 1 + 8 + 16;
const MAC = 32;
const BLOCK = 16;
/** The spec lets a token be at most 60 s in the future (clock skew), checked when a TTL is given. */
const MAX_CLOCK_SKEW_S = 60;

/** Why a token was refused: dead letters carry it as their reason. */
export type FernetReason =
  | 'malformed' // not base64url, too short, or a ciphertext that is not whole blocks
  | 'bad_version'
  | 'expired'
  | 'future' // timestamp beyond the allowed clock skew
  | 'bad_mac'
  | 'bad_padding';

export class FernetError extends AdpipeError {
  readonly reason: FernetReason;
  constructor(reason: FernetReason) {
    super('ADP_ERR_SOURCE_FEED_TOKEN', [reason]);
    this.reason = reason;
  }
}

export interface FernetKey {
  readonly signing: Buffer;
  readonly encryption: Buffer;
}

// Strict alphabet: the spec's invalid vectors have '+', '/', '%' and data after the padding.
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function decodeBase64Url(text: string): Buffer | undefined {
  if (!B64URL.test(text)) return undefined;
  const padded = text.includes('=');
  if (padded ? text.length % 4 !== 0 : text.length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64url');
}

/** Parses a base64url 32-byte key (with or without padding). Throws ADP_ERR_SOURCE_FEED_KEY otherwise. */
export function parseFernetKey(text: string): FernetKey {
  const raw = decodeBase64Url(text.trim());
  if (raw === undefined || raw.length !== 32) {
    // The key itself is never part of the message.
    throw new AdpipeError('ADP_ERR_SOURCE_FEED_KEY', ['not 32 bytes of base64url']);
  }
  return { signing: raw.subarray(0, 16), encryption: raw.subarray(16) };
}

/** A new random key in the spec's text form. */
export function generateFernetKey(): string {
  return randomBytes(32).toString('base64url');
}

const sign = (key: FernetKey, data: Buffer): Buffer =>
  createHmac('sha256', key.signing).update(data).digest();
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export interface EncryptOptions {
  /** Seconds since the epoch; default now. */
  readonly now?: number;
  /** 16 bytes; default random (fixed only for the spec's vectors). */
  readonly iv?: Buffer;
}

/** Encrypts and signs `plaintext` into a padded base64url token. */
export function fernetEncrypt(
  plaintext: Buffer | string,
  key: FernetKey,
  options: EncryptOptions = {},
): string {
  const iv = options.iv ?? randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const header = Buffer.alloc(9);
  header[0] = VERSION;
  header.writeBigUInt64BE(BigInt(options.now ?? nowSeconds()), 1);
  const body = Buffer.concat([header, iv, ciphertext]);
  const text = Buffer.concat([body, sign(key, body)]).toString('base64url');
  return text.padEnd(Math.ceil(text.length / 4) * 4, '=');
}

export interface DecryptOptions {
  /** Maximum age in seconds; absent = tokens never expire (and no clock-skew check, as in the spec). */
  readonly ttl?: number;
  /** Seconds since the epoch; default now. */
  readonly now?: number;
}

/** Verifies (HMAC in constant time) and decrypts a token. Throws FernetError with the reason. */
export function fernetDecrypt(token: string, key: FernetKey, options: DecryptOptions = {}): Buffer {
  const raw = decodeBase64Url(token);
  if (raw === undefined || raw.length < HEADER + BLOCK + MAC) throw new FernetError('malformed');
  if ((raw.length - HEADER - MAC) % BLOCK !== 0) throw new FernetError('malformed');
  if (raw[0] !== VERSION) throw new FernetError('bad_version');
  if (options.ttl !== undefined) {
    const issued = Number(raw.readBigUInt64BE(1));
    const now = options.now ?? nowSeconds();
    if (issued + options.ttl < now) throw new FernetError('expired');
    if (issued > now + MAX_CLOCK_SKEW_S) throw new FernetError('future');
  }
  const body = raw.subarray(0, raw.length - MAC);
  if (!timingSafeEqual(sign(key, body), raw.subarray(raw.length - MAC))) throw new FernetError('bad_mac');
  const decipher = createDecipheriv('aes-128-cbc', key.encryption, raw.subarray(9, HEADER));
  try {
    return Buffer.concat([decipher.update(raw.subarray(HEADER, raw.length - MAC)), decipher.final()]);
  } catch {
    throw new FernetError('bad_padding');
  }
}
