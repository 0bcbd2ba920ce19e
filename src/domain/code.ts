import { randomInt } from 'node:crypto';
import { AppError } from '../errors.js';

/** Luhn check digit for a string of decimal digits (the payload without its check digit). */
export function luhnDigit(payload: string): number {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    // Double every second digit counting from the right of the payload (the check digit's neighbour first).
    let d = payload.charCodeAt(payload.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export function luhnValid(code: string): boolean {
  return luhnDigit(code.slice(0, -1)) === Number(code[code.length - 1]);
}

/** A fresh 12-digit code: first digit 1-9, ten more random digits, a Luhn check digit. */
export function generateCode(): string {
  let payload = String(randomInt(1, 10));
  for (let i = 0; i < 10; i++) payload += String(randomInt(0, 10));
  return payload + String(luhnDigit(payload));
}

export type CodeProblem = 'format' | 'check_digit';

/** Strips spaces and dashes; tells a malformed or mistyped code apart without a lookup. */
export function parseCode(input: string): { code: string } | { problem: CodeProblem } {
  const code = input.replace(/[\s\-‐-―]/g, '');
  if (!/^[1-9][0-9]{11}$/.test(code)) return { problem: 'format' };
  if (!luhnValid(code)) return { problem: 'check_digit' };
  return { code };
}

/** Like parseCode but throws the 400 the API and portal show. */
export function requireCode(input: string): string {
  const parsed = parseCode(input);
  if ('code' in parsed) return parsed.code;
  if (parsed.problem === 'check_digit') {
    throw new AppError(400, 'TOKEN_CHECK_DIGIT', 'The token has a mistyped digit (check digit does not match)');
  }
  throw new AppError(400, 'TOKEN_FORMAT', 'A token is 12 digits, the first not zero');
}

/** `100123456789` → `1001 2345 6789`, as printed on slips. */
export function groupCode(code: string): string {
  return code.replace(/(\d{4})(?=\d)/g, '$1 ');
}
