// The Fernet spec's own vectors (test/fixtures/fernet/, see SOURCE.md) plus round trips.

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FernetError,
  type FernetReason,
  fernetDecrypt,
  fernetEncrypt,
  generateFernetKey,
  parseFernetKey,
} from '../../../src/sources/feed/fernet.js';

interface Vector {
  desc?: string;
  token: string;
  now: string;
  iv?: number[];
  src?: string;
  ttl_sec?: number;
  secret: string;
}
const vectors = (name: string): Vector[] =>
  JSON.parse(readFileSync(new URL(`../../fixtures/fernet/${name}`, import.meta.url), 'utf8'));
const seconds = (iso: string): number => Date.parse(iso) / 1000;

describe('fernet: the specification vectors', () => {
  it.each(vectors('generate.json'))('generate.json: $src at $now', (v) => {
    const token = fernetEncrypt(v.src ?? '', parseFernetKey(v.secret), {
      now: seconds(v.now),
      iv: Buffer.from(v.iv ?? []),
    });
    expect(token).toBe(v.token);
  });

  it.each(vectors('verify.json'))('verify.json: $token', (v) => {
    const plain = fernetDecrypt(v.token, parseFernetKey(v.secret), { ttl: v.ttl_sec, now: seconds(v.now) });
    expect(plain.toString('utf8')).toBe(v.src);
  });

  // The reason each invalid vector must be refused with (the spec names only the failure).
  const expected: Record<string, FernetReason> = {
    'incorrect mac': 'bad_mac',
    'too short': 'malformed',
    'invalid base64': 'malformed',
    'payload size not multiple of block size': 'malformed',
    'payload padding error': 'bad_padding',
    'far-future TS (unacceptable clock skew)': 'future',
    'expired TTL': 'expired',
    'incorrect IV (causes padding error)': 'bad_padding',
    'trailing characters after b64 padding': 'malformed',
    'invalid characters in b64': 'malformed',
    'invalid non-urlsafe characters in b64': 'malformed',
  };
  it.each(vectors('invalid.json'))('invalid.json: $desc', (v) => {
    const attempt = () =>
      fernetDecrypt(v.token, parseFernetKey(v.secret), { ttl: v.ttl_sec, now: seconds(v.now) });
    expect(attempt).toThrow(FernetError);
    try {
      attempt();
    } catch (err) {
      expect((err as FernetError).reason).toBe(expected[v.desc ?? '']);
      expect((err as FernetError).code).toBe('ADP_ERR_SOURCE_FEED_TOKEN');
    }
  });
});

describe('fernet: round trips and refusals', () => {
  const key = parseFernetKey(generateFernetKey());

  it('decrypts what it encrypts, for any bytes, with padded or unpadded tokens', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const token = fernetEncrypt(Buffer.from(bytes), key);
        expect(fernetDecrypt(token, key).equals(Buffer.from(bytes))).toBe(true);
        expect(fernetDecrypt(token.replace(/=+$/, ''), key).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a token made with another key (bad_mac), and any flipped bit', () => {
    const token = fernetEncrypt('{"a": 1}', key);
    expect(() => fernetDecrypt(token, parseFernetKey(generateFernetKey()))).toThrow(/bad_mac/);
    const raw = Buffer.from(token, 'base64url');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: raw.length * 8 - 1 }), (bit) => {
        const flipped = Buffer.from(raw);
        flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        expect(() => fernetDecrypt(flipped.toString('base64url'), key)).toThrow(FernetError);
      }),
    );
  });

  it('checks the TTL and the 60 s clock skew only when a TTL is given', () => {
    const token = fernetEncrypt('x', key, { now: 1_000_000 });
    expect(fernetDecrypt(token, key, { ttl: 60, now: 1_000_060 }).toString()).toBe('x');
    expect(() => fernetDecrypt(token, key, { ttl: 60, now: 1_000_061 })).toThrow(/expired/);
    expect(fernetDecrypt(token, key, { ttl: 60, now: 1_000_000 - 60 }).toString()).toBe('x');
    expect(() => fernetDecrypt(token, key, { ttl: 60, now: 1_000_000 - 61 })).toThrow(/future/);
    expect(fernetDecrypt(token, key, { now: 9_000_000 }).toString()).toBe('x');
  });

  it('refuses a key that is not 32 bytes of base64url, without echoing it', () => {
    expect(() => parseFernetKey('c2hvcnQ=')).toThrow(/not 32 bytes/);
    expect(() => parseFernetKey('secret+/secret')).not.toThrow(/secret\+/);
  });
});
