import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { HealthChecks } from '../src/observability/health-checks.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Optional components (e.g. the Redis snapshot) add what GET /health reports about them. */
    healthChecks: HealthChecks
  }
}

const healthChecks: FastifyPluginAsync = async (app) => {
  app.decorate('healthChecks', new HealthChecks())
}

export default fp(healthChecks, { name: 'health-checks', fastify: '5.x' })
