import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HealthResponse } from '../src/schemas/health.js'
import { Tag } from '../src/schemas/tags.js'

const MB = 1024 * 1024
const toMb = (bytes: number) => Math.round((bytes / MB) * 10) / 10

const health: FastifyPluginAsyncTypebox = async (app) => {
  const responseTimes = () => {
    if (app.metrics === null) return null
    const { requests, p50, p95, p99, errorRate } = app.metrics.latency.summary(Date.now())
    return { windowSeconds: app.metrics.latency.windowSeconds, requests, p50, p95, p99, errorRate }
  }

  app.get('/health', {
    // Answered even while the server sheds load (a liveness probe that failed then would restart a busy server).
    config: { pressureHandler: () => undefined },
    schema: { tags: [Tag.operators], summary: 'Liveness and load', response: { 200: HealthResponse } }
  }, async () => {
    const memory = process.memoryUsage()
    return {
      ...app.healthChecks.report(),
      instanceId: app.config.instanceId,
      activeSessions: app.sessions.activeCount,
      uptime: Math.round(process.uptime() * 10) / 10,
      memoryUsage: { used: toMb(memory.heapUsed), total: toMb(memory.heapTotal), rss: toMb(memory.rss) },
      responseTimes: responseTimes()
    }
  })
}

export default health
