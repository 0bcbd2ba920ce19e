/** Shared JSON-schema pieces for routes. */
export const uuid = { type: 'string', format: 'uuid' } as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: uuid },
  additionalProperties: false,
} as const;

/**
 * A query of single text values (a controller's redirect parameters, `mac`, `lang`): a parameter
 * given twice, which the parser would hand on as an array no route expects, is 400.
 */
export const textQuery = { type: 'object', additionalProperties: { type: 'string' } } as const;

export const baseUrl = (request: { protocol: string; host: string }) => `${request.protocol}://${request.host}`;
