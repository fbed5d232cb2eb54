// Response schemas shared by the API's routes (fastify serialises bodies by them, so a property
// missing here would be dropped from the answer).

/** `{ error: { code, message, request_id } }`, as src/server/error-body.ts builds it. */
export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, request_id: { type: 'string' } },
    },
  },
} as const;

/** A route that answers JSON, or text/csv with format=csv, and error bodies for 400 and 404. */
export const jsonOrCsvResponses = {
  200: { description: 'JSON, or text/csv when format=csv', type: 'object', additionalProperties: true },
  400: errorSchema,
  404: errorSchema,
} as const;
