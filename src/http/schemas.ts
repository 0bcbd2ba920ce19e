/** Shared JSON-schema pieces for routes. */
export const uuid = { type: 'string', format: 'uuid' } as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: uuid },
  additionalProperties: false,
} as const;

export const baseUrl = (request: { protocol: string; host: string }) => `${request.protocol}://${request.host}`;
