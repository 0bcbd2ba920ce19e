// Domain layer: the bounds of a name (contract, network), defined once for the API schema, the
// panel and the use cases. Imports nothing but errors.
import { badRequest } from '../errors.js';

export const NAME_MAX = 200;

/** The name as kept: trimmed, 1 to NAME_MAX characters (code points). */
export function cleanName(raw: string, what: string): string {
  const name = raw.trim();
  const length = [...name].length;
  if (length < 1 || length > NAME_MAX) throw badRequest('INVALID_NAME', `A ${what} name is 1 to ${NAME_MAX} characters`);
  return name;
}
