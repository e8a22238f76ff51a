import Fastify, { LogController, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { AppConfig } from './src/config.js'
import { ErrorResponse } from './src/schemas/common.js'
import { redactQuery } from './src/auth/listen-key.js'
import configPlugin from './plugins/config.js'
import validation from './plugins/validation.js'
import rateLimits from './plugins/rate-limit.js'
import errorHandler, { sendError, toDomainError } from './plugins/error-handler.js'
import jsonBody from './plugins/json-body.js'
import gracefulClose from './plugins/graceful-close.js'
import underPressure from './plugins/under-pressure.js'
import cors from './plugins/cors.js'
import auth from './plugins/auth.js'
import sessionRegistry from './plugins/session-registry.js'
import sharerGuard from './plugins/sharer-guard.js'
import metrics from './plugins/metrics.js'
import openapi from './plugins/openapi.js'
import push from './plugins/push.js'
import opus from './plugins/opus.js'
import healthChecks from './plugins/health-checks.js'
import stats from './plugins/stats.js'
import recordings from './plugins/recordings.js'
import type { OpenSegmentFile } from './src/recording/segment-writer.js'
import health from './routes/health.js'
import metricsRoute from './routes/metrics.js'
import share from './routes/share/index.js'
import listen from './routes/listen.js'
import statsRoutes from './routes/stats.js'
import statsPage from './routes/stats-page.js'

export interface BuildOptions {
  /** A pino logger configuration or instance; defaults to JSON at the configured level. */
  logger?: FastifyServerOptions['logger']
  loggerInstance?: FastifyServerOptions['loggerInstance']
  /** Where the built pages live (default dist/web). */
  webDir?: string
  /** Opens recording segment files (default: the file system); tests put a failing disk here. */
  recordingFiles?: OpenSegmentFile
}

/** Headers and fields that must never reach a log line. */
export const REDACTED_PATHS = ['req.headers.authorization', 'req.headers["x-sharer-key"]', 'headers.authorization']

/** Any URL that reaches a log line loses its query string: listen keys travel as `?key=`. */
export const URL_SERIALIZERS = {
  url: redactQuery,
  path: redactQuery,
  req: (req: { method?: string, url?: string, ip?: string }) => ({ method: req.method, url: redactQuery(req.url ?? ''), remoteAddress: req.ip })
}

/** What decides how the log is written: facts about the process, gathered by server.ts. */
export interface LogTarget {
  /** process.stdout.isTTY: a person is reading it. */
  stdoutIsTTY: boolean
  nodeEnv: string | undefined
  /** Where the pretty printer resolves from; undefined when it is not installed (a production image). */
  resolvePrettyPrinter: () => string | undefined
}

/**
 * Pino options for the process's log: pretty-printed (pino-pretty, a development dependency, as a
 * transport) when stdout is a terminal and NODE_ENV is not production; otherwise undefined, which is
 * pino's JSON, one object a line, for collectors. Without the pretty printer installed, JSON too.
 * buildApp adds the level, the redaction of secrets and the URL serializers either way.
 */
export function processLogger (target: LogTarget): FastifyServerOptions['logger'] | undefined {
  if (!target.stdoutIsTTY || target.nodeEnv === 'production') return undefined
  const prettyPrinter = target.resolvePrettyPrinter()
  if (prettyPrinter === undefined) return undefined
  return { transport: { target: prettyPrinter, options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
}

/** Believes the X-Forwarded-For entries appended by the nearest `hops` proxies, and no earlier one. */
function trustHops (hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops
}

/** Builds the whole server without listening: tests inject into it, server.ts listens. */
export async function buildApp (config: AppConfig, options: BuildOptions = {}) {
  // Whatever logger options a caller gives, the redaction of secrets stays.
  const redact = { paths: REDACTED_PATHS, censor: '[redacted]' }
  const logging = options.loggerInstance !== undefined
    ? { loggerInstance: options.loggerInstance }
    : { logger: typeof options.logger === 'object' ? { level: config.logLevel, ...options.logger, redact, serializers: URL_SERIALIZERS } : options.logger ?? { level: config.logLevel, redact, serializers: URL_SERIALIZERS } }

  const app = Fastify({
    ...logging,
    // A number of hops is believed from the nearest proxy back (Fastify's types lack the number form).
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    // Per-request lines would be thousands a second at the client's cadence; errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    // graceful-close answers requests that arrive while closing, in the uniform error format.
    return503OnClosing: false,
    // Routes that take large bodies (audio, metadata) set their own limit; everything else is small.
    bodyLimit: 64 * 1024,
    // Slow clients cannot hold the server: headers, whole requests and silent connections are timed,
    // checked every second rather than Node's default 30 s.
    connectionTimeout: config.limits.connectionTimeoutMs,
    requestTimeout: config.limits.requestTimeoutMs,
    keepAliveTimeout: config.limits.keepAliveTimeoutMs,
    http: { headersTimeout: config.limits.headersTimeoutMs, connectionsCheckingInterval: 1000 },
    routerOptions: { ignoreTrailingSlash: true },
    // The router's own refusals (a path segment with a malformed percent-encoding) come before any route
    // or error handler: answered here in the uniform error format too.
    frameworkErrors: (error, _request, reply) => { sendError(reply, toDomainError(error)) }
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.server.maxConnections = config.limits.maxConnections
  app.addSchema(ErrorResponse)

  await app.register(validation)
  await app.register(configPlugin, { config })
  await app.register(rateLimits)
  await app.register(errorHandler)
  await app.register(jsonBody)
  await app.register(gracefulClose)
  await app.register(underPressure)
  await app.register(cors)
  await app.register(auth)
  await app.register(sessionRegistry)
  await app.register(sharerGuard)
  await app.register(healthChecks)
  // Optional: without REDIS_URL the plugin is not registered at all and nothing connects to Redis.
  // Loaded only when used: its Redis client library is ~10 MB of memory a single instance never needs.
  if (config.redisUrl !== undefined) await app.register(import('./plugins/redis-snapshot.js'))
  await app.register(push)
  // After push and the Redis snapshot: it reads their figures at scrape time.
  await app.register(metrics)
  await app.register(opus)
  await app.register(stats)
  // After opus (its streams) and the Redis snapshot (a restore at start-up happens before it follows the registry).
  await app.register(recordings, { openFile: options.recordingFiles })
  // After every plugin that adds routes' schemas, before the routes: it collects them as they are declared.
  await app.register(openapi)

  app.addHook('onRequestAbort', async (request) => {
    request.log.info({ route: request.routeOptions.url, method: request.method }, 'client aborted the request')
  })

  await app.register(async (root) => {
    await root.register(health)
    await root.register(metricsRoute)
    await root.register(share, { prefix: '/api/share' })
    await root.register(statsRoutes, { prefix: '/api/stats' })
    await root.register(listen, { webDir: options.webDir })
    await root.register(statsPage, { webDir: options.webDir })
  }, { prefix: config.basePath })

  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
