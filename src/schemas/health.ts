import { Type } from '@sinclair/typebox'

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
  activeSessions: Type.Integer({ minimum: 0 }),
  uptime: Type.Number({ description: 'seconds since start' }),
  memoryUsage: Type.Object({
    used: Type.Number({ description: 'V8 heap used, MB' }),
    total: Type.Number({ description: 'V8 heap total, MB' }),
    rss: Type.Number({ description: 'resident set size, MB' })
  })
})
