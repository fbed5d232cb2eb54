// POST /v1/events with server.mapping: the body's records, in a source's shape, mapped into contract
// records (compileMappingJs) before the collector validates them as it validates any JSON array.

import type { MapRecord } from '../../events/mapping/index.js';
import { parseJsonText, validateEvent } from '../../events/validate.js';
import { Refused } from '../../sources/spool/batch.js';
import type { BatchBody } from './body.js';

/**
 * Each record of the body mapped, or Refused with the rule it broke and the record as received
 * (an NDJSON line that is not JSON, as its text). A mapped record the contract rejects is refused
 * here too, so its dead letter holds the original and not the mapped record; the ones kept are
 * validated again by the collector, a cost only mapped bodies pay.
 */
export function mappedRecords(map: MapRecord, batch: BatchBody): unknown[] {
  const items: Array<{ record: unknown; text?: string } | Refused> =
    'ndjson' in batch
      ? batch.ndjson
          .toString('utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((text) => {
            const parsed = parseJsonText(text);
            return parsed.ok ? { record: parsed.value, text } : new Refused(text, parsed.rejection);
          })
      : batch.records.map((record) => ({ record }));
  return items.map((item) => {
    if (item instanceof Refused) return item;
    const mapped = map(item.record, item.text);
    if (!mapped.ok) return new Refused(item.record, mapped.rejection);
    const valid = validateEvent(mapped.record);
    return valid.ok ? mapped.record : new Refused(item.record, valid.rejection);
  });
}
