import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyPluginAsync, RouteOptions } from 'fastify'
import type { ErrorCode } from '../src/errors.js'
import { HTTP_STATUS } from './error-handler.js'
import { ROLE_TAGS } from '../src/schemas/tags.js'

/** What each error code means, for the documentation of every response that can carry it. */
export const ERROR_MEANINGS: Readonly<Record<ErrorCode, string>> = {
  VALIDATION_ERROR: 'a parameter, query or body field is missing, mistyped or out of range',
  INVALID_JSON: 'the body is not valid JSON',
  INVALID_AUDIO: 'the audio data is not base64 of whole float32 frames',
  BAD_REQUEST: 'the request is malformed',
  UNAUTHORIZED: 'missing or wrong bearer token',
  FORBIDDEN: 'not the sharer of this session: send its X-Sharer-Key (SESSION_WRITE_GUARD), or the key sent is wrong',
  NOT_FOUND: 'no such route',
  SESSION_NOT_FOUND: 'no session with this id',
  SESSION_ENDED: 'the session has ended',
  METADATA_NOT_FOUND: 'the sharer has not sent fresh metadata',
  MESSAGE_NOT_FOUND: 'no chat message with this id in the session\'s history (deleted, or older than the history keeps)',
  CHAT_MUTED: 'the sharer muted this listener in this session\'s chat',
  RECORDING_NOT_FOUND: 'this session has no recording (not recorded, nothing yet, or past RECORDINGS_RETENTION_HOURS)',
  RECORDING_OFF: 'this server records nothing (RECORDINGS_DIR is not set)',
  RANGE_NOT_SATISFIABLE: 'the Range starts past the end; Content-Range says the size',
  METHOD_NOT_ALLOWED: 'method not allowed',
  SESSION_EXISTS: 'a session with this id is already active',
  PAYLOAD_TOO_LARGE: 'the body is larger than this endpoint accepts',
  UNSUPPORTED_MEDIA_TYPE: 'Content-Type is not application/json',
  RATE_LIMITED: 'too many requests; see Retry-After',
  INTERNAL_ERROR: 'unexpected server error',
  SESSION_LIMIT: 'the server is at MAX_SESSIONS; see Retry-After',
  SERVICE_UNAVAILABLE: 'the server is shutting down (or, for /api/stats, the statistics database is unavailable)',
  OVERLOADED: 'the server is shedding load; see Retry-After',
  UPGRADE_REQUIRED: 'this endpoint speaks WebSocket only'
}

/** Errors a route gives beyond those its traits imply (key: method and path below BASE_PATH). */
const ROUTE_ERRORS: Readonly<Record<string, readonly ErrorCode[]>> = {
  'POST /api/share/start': ['SESSION_EXISTS', 'SESSION_LIMIT'],
  'POST /api/share/:sessionId/audio': ['INVALID_AUDIO', 'FORBIDDEN'],
  'POST /api/share/:sessionId/metadata': ['FORBIDDEN'],
  'POST /api/share/:sessionId/stop': ['FORBIDDEN'],
  'GET /api/share/:sessionId/metadata': ['METADATA_NOT_FOUND'],
  'GET /api/share/:sessionId/ws': ['UPGRADE_REQUIRED', 'FORBIDDEN'],
  'POST /api/share/:sessionId/chat': ['FORBIDDEN', 'CHAT_MUTED'],
  'DELETE /api/share/:sessionId/chat/:messageId': ['FORBIDDEN', 'MESSAGE_NOT_FOUND'],
  'POST /api/share/:sessionId/chat/mute': ['FORBIDDEN', 'MESSAGE_NOT_FOUND'],
  'POST /api/share/:sessionId/recording': ['FORBIDDEN', 'RECORDING_OFF'],
  'GET /api/share/:sessionId/recording.ogg': ['RECORDING_NOT_FOUND', 'RANGE_NOT_SATISFIABLE'],
  'GET /api/share/:sessionId/recording.cue': ['RECORDING_NOT_FOUND']
}

interface RouteTraits {
  method: string
  /** Path below BASE_PATH. */
  path: string
  authenticated: boolean
  rateLimited: boolean
  validated: boolean
  hasBody: boolean
  metricsToken: boolean
  /** Answers 503 OVERLOADED while the server sheds load. */
  shedsLoad: boolean
}

/** Every error code a route can answer with, from what it is: authenticated, rate limited, has a body... */
export function errorCodesOf (r: RouteTraits): ErrorCode[] {
  const codes: ErrorCode[] = []
  if (r.validated) codes.push('VALIDATION_ERROR')
  if (r.hasBody) codes.push('INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE')
  if (r.authenticated || r.metricsToken) codes.push('UNAUTHORIZED')
  if (r.path.includes(':sessionId')) codes.push('SESSION_NOT_FOUND', 'SESSION_ENDED')
  codes.push(...(ROUTE_ERRORS[`${r.method} ${r.path}`] ?? []))
  if (r.rateLimited) codes.push('RATE_LIMITED')
  codes.push('INTERNAL_ERROR', 'SERVICE_UNAVAILABLE')
  if (r.shedsLoad) codes.push('OVERLOADED')
  return codes
}

const errorExample = (code: ErrorCode, extra: Record<string, unknown>) =>
  ({ success: false, error: ERROR_MEANINGS[code], code, timestamp: 1234567890123, ...extra })

/** Fixed fields a route adds to its error body (e.g. the status 404's `isActive: false`), for its examples. */
function constantFields (schema: Record<string, unknown> | undefined): Record<string, unknown> {
  const properties = (schema?.properties ?? {}) as Record<string, { const?: unknown }>
  return Object.fromEntries(Object.entries(properties)
    .filter(([name, p]) => name !== 'success' && p.const !== undefined)
    .map(([name, p]) => [name, p.const]))
}

/**
 * The route's response map for the document: its own entries, with the shared `4xx`/`5xx` entries
 * replaced by one entry per status it can give, naming each code and with an example body.
 */
export function documentedResponses (response: Record<string, unknown>, codes: readonly ErrorCode[]): Record<string, unknown> {
  const { '4xx': _4xx, '5xx': _5xx, ...own } = response
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of codes) byStatus.set(HTTP_STATUS[code], [...(byStatus.get(HTTP_STATUS[code]) ?? []), code])
  const out: Record<string, unknown> = { ...own }
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const description = list.map((c) => `\`${c}\`: ${ERROR_MEANINGS[c]}`).join('; ')
    const declared = own[String(status)] as Record<string, unknown> | undefined
    out[String(status)] = {
      description,
      content: {
        'application/json': {
          schema: declared ?? { $ref: 'ErrorResponse#' },
          examples: Object.fromEntries(list.map((c) => [c, { summary: ERROR_MEANINGS[c], value: errorExample(c, constantFields(declared)) }]))
        }
      }
    }
  }
  return out
}

/**
 * OpenAPI 3.1 from the route schemas (@fastify/swagger) at /openapi.json, and Swagger UI at /docs.
 * Registered before the routes, so it sees every one; documentation routes themselves are hidden.
 */
const openapi: FastifyPluginAsync = async (app) => {
  const { basePath, metrics, limits, stats } = app.config
  const shedding = limits.maxEventLoopDelayMs > 0 || limits.maxHeapUsedBytes > 0
  const apiPrefix = `${basePath}/api/`

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Music Share',
        version: '1.0.0',
        description: 'Relays what one person is listening to, live: song metadata and float32 PCM audio from one ' +
          'sharer to every receiver of a 6-digit session. Every error is `{success:false, error, code, timestamp}`.'
      },
      // Swagger UI groups the routes by these, in this order; each route's schema names exactly one.
      tags: ROLE_TAGS.map((tag) => ({ ...tag })),
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'BEARER_TOKEN; the bare token without "Bearer " is accepted too' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when it is set' },
          statsToken: { type: 'http', scheme: 'bearer', description: 'STATS_TOKEN, when it is set: opens /api/stats (as the bearer token does)' }
        }
      }
    },
    transform: ({ schema, url, route }) => {
      const r = route as RouteOptions
      const s = { ...(schema as Record<string, unknown>) }
      const path = url.slice(basePath.length)
      const authenticated = url.startsWith(apiPrefix)
      if (authenticated) {
        s.security = stats.token !== undefined && path.startsWith('/api/stats/') ? [{ bearerAuth: [] }, { statsToken: [] }] : [{ bearerAuth: [] }]
      }
      if (s.response !== undefined) {
        s.response = documentedResponses(s.response as Record<string, unknown>, errorCodesOf({
          method: r.method as string,
          path,
          authenticated,
          rateLimited: (r.config as { rateLimit?: unknown } | undefined)?.rateLimit !== undefined,
          validated: s.params !== undefined || s.querystring !== undefined || s.body !== undefined,
          hasBody: r.method === 'POST',
          metricsToken: path === '/metrics' && metrics.token !== undefined,
          shedsLoad: shedding && (r.config as { pressureHandler?: unknown } | undefined)?.pressureHandler === undefined
        }))
      }
      return { schema: s as typeof schema, url }
    }
  })

  await app.register(swaggerUi, { routePrefix: `${basePath}/docs` })

  app.get(`${basePath}/openapi.json`, { schema: { hide: true } }, async () => app.swagger())
}

export default fp(openapi, { name: 'openapi', fastify: '5.x', dependencies: ['config'] })
