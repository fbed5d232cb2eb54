// Why a record was rejected: stable codes `field.rule`, shared by the SQL and the JS validator and
// written to the dead-letter store. Codes are never reused; docs/events.md lists them.

export const REJECT_REASONS = {
  'record.invalid_json': 'the line is not valid JSON',
  'record.not_object': 'the record is not a JSON object',
  'record.too_deep': 'the record is nested more than 64 levels deep',
  'event_id.missing': 'event_id is required',
  'event_id.type': 'event_id must be a string or an integer',
  'event_id.length': 'event_id must be 1-128 characters',
  'type.missing': 'type (or event_type) is required',
  'type.invalid': 'type must be one of request, response, passback, impression, click, conversion, custom',
  'name.missing': 'a custom event requires name',
  'name.invalid': 'name must be a string of 1-128 characters',
  'ts.missing': 'ts (or timestamp) is required',
  'ts.no_offset': 'ts is a local time without Z or an offset, which is ambiguous',
  'ts.invalid': 'ts must be ISO-8601 with Z or an offset, or a Unix epoch number',
  'id.invalid': 'an id field must be a string or an integer of 1-128 characters',
  'device.invalid': 'device must be PC or MOBILE',
  'app_type.invalid': 'app_type must be WEB, IOS or AOS',
  'text.invalid': 'a text field must be a string of at most 2048 characters (or an integer)',
  'money.invalid': 'a money field must be a decimal number or decimal string',
  'money.negative': 'a money field must be >= 0',
  'money.scale': 'a money field may have at most 6 fractional digits',
  'money.range': 'a money field must be below 1e9',
  // A source's mapping (src/events/mapping) could not convert a value: the rule named is the mapping's.
  'mapping.time_format':
    "ts matches neither the mapping's time_format nor ISO-8601 nor an epoch, or names an impossible time",
  'mapping.dst_gap': "ts is a local time the mapping's time_zone skips (clocks went forward)",
} as const;

export type RejectCode = keyof typeof REJECT_REASONS;

/** Rejections of the collector's own, of what it cannot even map to a record; docs/collector.md lists them. */
export const COLLECTOR_REJECT_REASONS = {
  'segment.unknown_call':
    'a Segment call must be an object whose type is track, page, screen, identify, group or alias',
} as const;

export type CollectorRejectCode = keyof typeof COLLECTOR_REJECT_REASONS;

/** A rejection as written to the dead-letter store: the rule code, the field it concerns, and words. */
export interface Rejection {
  code: RejectCode | CollectorRejectCode;
  field: string;
  message: string;
}

const ALL_REASONS: Record<RejectCode | CollectorRejectCode, string> = {
  ...REJECT_REASONS,
  ...COLLECTOR_REJECT_REASONS,
};

export function rejection(code: RejectCode | CollectorRejectCode, field: string): Rejection {
  return { code, field, message: `${field}: ${ALL_REASONS[code]}` };
}
