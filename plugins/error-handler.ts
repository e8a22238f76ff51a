import fp from 'fastify-plugin'
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, ErrorCode } from '../src/errors.js'

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

/** Maps anything thrown in a request to the AppError the client is told about. */
export function toAppError (err: FastifyError | AppError | Error): AppError {
  if (err instanceof AppError) return err
  const e = err as FastifyError
  if (e.validation !== undefined) return new AppError('VALIDATION_ERROR', e.message)
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('INVALID_JSON', 'Body is not valid JSON')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', 'Request body is larger than this endpoint accepts')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json')
    case 'FST_UNDER_PRESSURE':
      return new AppError('OVERLOADED', 'The server is overloaded; retry in a few seconds')
  }
  if (e instanceof SyntaxError) return new AppError('INVALID_JSON', 'Body is not valid JSON')
  const status = e.statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    return new AppError(CODE_BY_STATUS[status] ?? 'BAD_REQUEST', e.message)
  }
  if (status === 503) return new AppError('SERVICE_UNAVAILABLE', 'Service unavailable; try again shortly')
  return new AppError('INTERNAL_ERROR', 'Internal server error')
}

export function errorBody (err: AppError) {
  return { success: false as const, error: err.message, code: err.code, timestamp: Date.now(), ...err.extra }
}

function sendError (reply: FastifyReply, err: AppError): FastifyReply {
  return reply.code(err.statusCode).headers(err.headers).send(errorBody(err))
}

/**
 * One error format for the whole app: `{success:false, error, code, timestamp}` (plus a route's extra fields).
 * Registered with fastify-plugin so it sits on the root, before any route.
 */
const errorHandler: FastifyPluginAsync = async (app) => {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(err)
    if (appError.statusCode >= 500 && appError.statusCode !== 503) {
      request.log.error({ err, reqId: request.id }, 'request failed')
    } else {
      // A client's mistake is the client's to fix: kept out of the info log so a broken client cannot flood it.
      request.log.debug({ code: appError.code, statusCode: appError.statusCode, route: request.routeOptions.url }, appError.message)
    }
    return sendError(reply, appError)
  })

  app.setNotFoundHandler({ preHandler: app.rateLimit() }, (request, reply) => {
    return sendError(reply, new AppError('NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} not found`))
  })
}

export default fp(errorHandler, { name: 'error-handler', fastify: '5.x', dependencies: ['@fastify/rate-limit'] })
