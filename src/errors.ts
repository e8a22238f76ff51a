/** Every error code the API answers with, in the uniform `{success:false, error, code, timestamp}` body. */
export const ErrorCode = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  INVALID_AUDIO: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  SESSION_ENDED: 404,
  METADATA_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  SESSION_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SESSION_LIMIT: 503,
  OVERLOADED: 503,
  SERVICE_UNAVAILABLE: 503
} as const
export type ErrorCode = keyof typeof ErrorCode

/**
 * A failure the API reports on purpose. `extra` keeps fields the spec shows on some errors
 * (e.g. `isActive:false` on the status 404); `headers` carries e.g. Retry-After.
 */
export class AppError extends Error {
  override name = 'AppError'
  readonly statusCode: number

  constructor (
    readonly code: ErrorCode,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {}
  ) {
    super(message)
    this.statusCode = ErrorCode[code]
  }
}
