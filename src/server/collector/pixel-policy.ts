// What a keyless pixel may record (server.pixel_types, server.pixel_fields). Anyone can request
// /i, so it must not be able to book money, clicks or conversions, nor choose an event_id (a public
// id, like a signed click's, taken first would turn the real event into a duplicate). A pixel the
// ad server signed (same HMAC scheme as clicks, see click-signature.ts) is vouched for field by
// field: it may carry money and an id, and must carry the id so that a replay counts once.
// Pixels with a write key in a header and signed clicks are not held to this.

import type { ParsedUrlQuery } from 'node:querystring';
import { ALIASES, CANONICAL_FIELDS, MONEY_FIELDS } from '../../events/contract.js';
import type { Refusal } from '../../sources/spool/batch.js';
import { type ClickParams, verifyClick } from './click-signature.js';

export interface PixelPolicy {
  /** Event types a keyless pixel may record (lower case). */
  types: readonly string[];
  /** Contract fields an unsigned keyless pixel may set. */
  fields: readonly string[];
  /** server.secret, which signs pixels as it signs clicks; none: no pixel is signed. */
  secret: string | undefined;
}

const CONTRACT_FIELDS = new Set(CANONICAL_FIELDS);
const MONEY = new Set<string>(MONEY_FIELDS);

const refuse = (code: string, field: string, words: string): Refusal => ({
  code,
  field,
  message: `${field}: ${words}`,
});

const flat = (query: ParsedUrlQuery): query is ClickParams => {
  for (const k in query) if (typeof query[k] !== 'string') return false;
  return true;
};

/** A PixelPolicy made ready to check many hits (one per group: it reaches a worker as plain data). */
export class PixelRules {
  private readonly types: Set<string>;
  private readonly fields: Set<string>;
  private readonly typeWords: string;

  constructor(
    private readonly policy: PixelPolicy,
    /** The type of a hit that names none. */
    private readonly defaultType: string,
  ) {
    this.types = new Set(policy.types);
    this.fields = new Set(policy.fields);
    this.typeWords = `keyless pixels record only ${policy.types.join(', ') || 'nothing'} (server.pixel_types); clicks need a signed /c`;
  }

  /** Why a hit's parameters are outside the policy, or undefined when they are within it. */
  refusal(query: ParsedUrlQuery): Refusal | undefined {
    const signed = query.sig !== undefined;
    if (signed) {
      if (!flat(query) || !verifyClick(query, this.policy.secret))
        return refuse(
          'pixel.signature',
          'sig',
          'the signature does not match the parameters (server.secret)',
        );
      if (query.event_id === undefined)
        return refuse(
          'pixel.event_id',
          'event_id',
          'a signed pixel must sign its event_id, so that a replay counts once',
        );
    }
    let typed = false;
    for (const k in query) {
      if (k === 'sig' || k === 'key') continue;
      const field = Object.hasOwn(ALIASES, k) ? ALIASES[k]! : k;
      if (field === 'type') {
        typed = true;
        const v = query[k];
        if (typeof v !== 'string' || !this.types.has(v.toLowerCase()))
          return refuse('pixel.type', 'type', this.typeWords);
      } else if (!signed && CONTRACT_FIELDS.has(field)) {
        if (field === 'event_id')
          return refuse(
            'pixel.event_id',
            field,
            'the server makes the id of a keyless pixel; only a signed pixel carries one',
          );
        if (MONEY.has(field)) return refuse('pixel.money', field, 'money needs a signed pixel (sig)');
        if (!this.fields.has(field)) return refuse('pixel.field', field, 'not among server.pixel_fields');
      }
    }
    if (!typed && !this.types.has(this.defaultType)) return refuse('pixel.type', 'type', this.typeWords);
    return undefined;
  }
}
