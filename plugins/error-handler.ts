import fp from 'fastify-plugin'
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { CredentialError, DomainError, type ErrorCode } from '../src/errors.js'
import { bodyStillArriving, sendWhileDraining, type DrainLimits } from './refused-body.js'

/** The HTTP status of each error code: the one place a domain error becomes HTTP. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  INVALID_AUDIO: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  CHAT_MUTED: 403,
  NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  SESSION_ENDED: 404,
  METADATA_NOT_FOUND: 404,
  MESSAGE_NOT_FOUND: 404,
  RECORDING_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  SESSION_EXISTS: 409,
  RECORDING_OFF: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  UPGRADE_REQUIRED: 426,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SESSION_LIMIT: 503,
  OVERLOADED: 503,
  SERVICE_UNAVAILABLE: 503
}

const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE'
}

/** Maps anything thrown in a request to the DomainError the client is told about. */
export function toDomainError (err: FastifyError | DomainError | Error): DomainError {
  if (err instanceof DomainError) return err
  const e = err as FastifyError
  if (e.validation !== undefined) return new DomainError('VALIDATION_ERROR', e.message)
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new DomainError('INVALID_JSON', 'Body is not valid JSON')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new DomainError('PAYLOAD_TOO_LARGE', 'Request body is larger than this endpoint accepts')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new DomainError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json')
    case 'FST_UNDER_PRESSURE':
      return new DomainError('OVERLOADED', 'The server is overloaded; retry in a few seconds')
    case 'FST_ERR_BAD_URL':
      // Fastify's message repeats the URL; the answer does not need it.
      return new DomainError('BAD_REQUEST', 'The URL holds a malformed percent-encoding')
  }
  if (e instanceof SyntaxError) return new DomainError('INVALID_JSON', 'Body is not valid JSON')
  const status = e.statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    return new DomainError(CODE_BY_STATUS[status] ?? 'BAD_REQUEST', e.message)
  }
  if (status === 503) return new DomainError('SERVICE_UNAVAILABLE', 'Service unavailable; try again shortly')
  return new DomainError('INTERNAL_ERROR', 'Internal server error')
}

export function errorBody (err: DomainError) {
  return { success: false as const, error: err.message, code: err.code, timestamp: Date.now(), ...err.details }
}

/** The headers an error's answer carries: when to retry, which credential to send, which protocol to speak. */
export function errorHeaders (err: DomainError): Record<string, string> {
  const headers: Record<string, string> = {}
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds)
  if (err instanceof CredentialError && err.scheme === 'bearer') headers['www-authenticate'] = 'Bearer'
  if (err.code === 'UPGRADE_REQUIRED') headers.upgrade = 'websocket'
  // A 416 says how long the resource is (RFC 9110 15.5.17).
  if (err.code === 'RANGE_NOT_SATISFIABLE' && typeof err.details.size === 'number') headers['content-range'] = `bytes */${err.details.size}`
  return headers
}

declare module 'fastify' {
  interface FastifyReply {
    /** The code of the error this reply carries, for hooks that count errors (metrics); null on success. */
    errorCode: ErrorCode | null
  }
}

export function sendError (reply: FastifyReply, err: DomainError, drain?: DrainLimits): FastifyReply {
  reply.errorCode = err.code
  reply.code(HTTP_STATUS[err.code]).headers(errorHeaders(err))
  // A body refused before it was all read (413): the answer goes out at once, the rest of the body is read and dropped.
  if (drain !== undefined && err.code === 'PAYLOAD_TOO_LARGE' && bodyStillArriving(reply.request)) {
    return sendWhileDraining(reply.request, reply, errorBody(err), drain)
  }
  return reply.send(errorBody(err))
}

/**
 * One error format for the whole app: `{success:false, error, code, timestamp}` (plus a route's extra fields).
 * Registered with fastify-plugin so it sits on the root, before any route.
 */
const errorHandler: FastifyPluginAsync = async (app) => {
  app.decorateReply('errorCode', null)
  const drain: DrainLimits = { maxBytes: app.config.limits.bodyDrainMaxBytes, timeoutMs: app.config.limits.bodyDrainTimeoutMs }
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const domainError = toDomainError(err)
    const status = HTTP_STATUS[domainError.code]
    if (status >= 500 && status !== 503) {
      request.log.error({ err, reqId: request.id }, 'request failed')
    } else {
      // A client's mistake is the client's to fix: kept out of the info log so a broken client cannot flood it.
      request.log.debug({ code: domainError.code, statusCode: status, route: request.routeOptions.url }, domainError.message)
    }
    return sendError(reply, domainError, drain)
  })

  app.setNotFoundHandler({ preHandler: app.rateLimit() }, (request, reply) => {
    return sendError(reply, new DomainError('NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} not found`))
  })
}

export default fp(errorHandler, { name: 'error-handler', fastify: '5.x', dependencies: ['config', '@fastify/rate-limit'] })
