/**
 * The admin API's error contract: every failure is `{"error": {"code", "message"}}` with a
 * stable code from `src/errors.ts`. Route plugins use `notFound`/`badRequest`; the central
 * handler in `index.ts` maps everything else.
 */
import { DaemonError } from '../errors.js';

/** JSON schema of the error body, shared by every route's `response` map. */
export const ErrorBodySchema = {
  $id: 'AdminError',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

/** `{ 404: ref, 400: ref }` style response entries for route schemas. */
export const errorResponses = {
  400: { $ref: 'AdminError#' },
  404: { $ref: 'AdminError#' },
} as const;

export function notFound(what: string): DaemonError {
  return new DaemonError('ADMIN_ERR_NOT_FOUND', what);
}

export function badRequest(why: string): DaemonError {
  return new DaemonError('ADMIN_ERR_BAD_REQUEST', why);
}
