import { Type } from '@sinclair/typebox'

export const HealthResponse = Type.Object({
  status: Type.Literal('healthy'),
  activeSessions: Type.Integer({ minimum: 0 }),
  uptime: Type.Number({ description: 'seconds since start' }),
  memoryUsage: Type.Object({
    used: Type.Number({ description: 'V8 heap used, MB' }),
    total: Type.Number({ description: 'V8 heap total, MB' }),
    rss: Type.Number({ description: 'resident set size, MB' })
  })
})
