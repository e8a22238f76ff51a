import { Type } from '@sinclair/typebox'
import { Nullable } from './common.js'

const Ms = (what: string) => Nullable(Type.Number({ minimum: 0, description: `${what} response time, ms (null with no requests)` }))

/** The /api routes over the last minute; null when metrics are turned off (METRICS_ENABLED=false). */
export const ResponseTimes = Nullable(Type.Object({
  windowSeconds: Type.Integer({ minimum: 1, examples: [60] }),
  requests: Type.Integer({ minimum: 0, description: 'API requests answered in the window' }),
  p50: Ms('median'),
  p95: Ms('95th percentile'),
  p99: Ms('99th percentile'),
  errorRate: Type.Number({ minimum: 0, maximum: 1, description: 'share of those answered with a 4xx or 5xx error (0..1)' })
}, { description: 'API response times and error rate over a sliding window' }))

const ComponentHealth = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  reason: Type.Optional(Type.String()),
  metrics: Type.Optional(Type.Record(Type.String(), Type.Number()))
})

export const HealthResponse = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded')], {
    description: 'degraded: serving, but an optional component (e.g. Redis) is down; still HTTP 200'
  }),
  reason: Type.Optional(Type.String({ description: 'why it is degraded' })),
  checks: Type.Optional(Type.Record(Type.String(), ComponentHealth, { description: 'per optional component' })),
  instanceId: Type.String({ description: 'which instance answered (INSTANCE_ID)' }),
  activeSessions: Type.Integer({ minimum: 0 }),
  uptime: Type.Number({ description: 'seconds since start' }),
  memoryUsage: Type.Object({
    used: Type.Number({ description: 'V8 heap used, MB' }),
    total: Type.Number({ description: 'V8 heap total, MB' }),
    rss: Type.Number({ description: 'resident set size, MB' })
  }),
  responseTimes: ResponseTimes
})
