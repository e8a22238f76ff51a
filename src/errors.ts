/** Every error code the API answers with, in the uniform `{success:false, error, code, timestamp}` body. */
export const ERROR_CODES = [
  'VALIDATION_ERROR',
  'INVALID_JSON',
  'INVALID_AUDIO',
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'SESSION_NOT_FOUND',
  'SESSION_ENDED',
  'METADATA_NOT_FOUND',
  'MESSAGE_NOT_FOUND',
  'CHAT_MUTED',
  'RECORDING_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'SESSION_EXISTS',
  'RECORDING_OFF',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RANGE_NOT_SATISFIABLE',
  'UPGRADE_REQUIRED',
  'RATE_LIMITED',
  'INTERNAL_ERROR',
  'SESSION_LIMIT',
  'OVERLOADED',
  'SERVICE_UNAVAILABLE'
] as const
export type ErrorCode = typeof ERROR_CODES[number]

export interface DomainErrorOptions {
  /** Fields the answer carries beside the message (e.g. the status 404's `isActive:false`). */
  readonly details?: Readonly<Record<string, unknown>>
  /** When the caller may usefully try again. */
  readonly retryAfterSeconds?: number
}

/**
 * A failure the domain reports on purpose, by code. It knows nothing of HTTP: the error handler
 * (plugins/error-handler.ts) alone turns a code into a status and headers.
 */
export class DomainError extends Error {
  override name = 'DomainError'
  readonly details: Readonly<Record<string, unknown>>
  readonly retryAfterSeconds: number | undefined

  constructor (readonly code: ErrorCode, message: string, options: DomainErrorOptions = {}) {
    super(message)
    this.details = options.details ?? {}
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

/** Which credential a refused request presented (or should have). */
export type CredentialScheme = 'bearer' | 'listen-key'

/** UNAUTHORIZED: the request's credential is missing or wrong. */
export class CredentialError extends DomainError {
  override name = 'CredentialError'

  constructor (message: string, readonly scheme: CredentialScheme) {
    super('UNAUTHORIZED', message)
  }
}
