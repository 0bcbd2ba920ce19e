import { AppError } from '../../src/errors.js';

/** Awaits a call that must be refused; its AppError's status, code and details (anything else is thrown on). */
export async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return { status: err.status, code: err.code, details: err.details };
    throw err;
  }
  throw new Error('expected a refusal');
}
