import t from 'tap'
import Fastify from 'fastify'
import healthChecks from '../../plugins/health-checks.js'
import { HealthChecks } from '../../src/observability/health-checks.js'
import { alone, assertDependencies } from './alone-helper.js'

t.test('app.healthChecks collects checks and runs each one at every report', async (t) => {
  const app = await alone(t, healthChecks)
  await app.ready()
  t.type(app.healthChecks, HealthChecks)
  t.same(app.healthChecks.report(), { status: 'healthy' }, 'no checks: plainly healthy')

  let redisUp = true
  let runs = 0
  app.healthChecks.add('redis', () => {
    runs++
    return redisUp ? { status: 'ok' } : { status: 'degraded', reason: 'down' }
  })
  t.same(app.healthChecks.report(), { status: 'healthy', checks: { redis: { status: 'ok' } } })
  redisUp = false
  t.same(app.healthChecks.report(), { status: 'degraded', reason: 'redis: down', checks: { redis: { status: 'degraded', reason: 'down' } } })
  t.equal(runs, 2, 'the check ran at each report')
  t.throws(() => app.healthChecks.add('redis', () => ({ status: 'ok' })), /already registered/)
})

t.test('each app has its own checks', async (t) => {
  const one = await alone(t, healthChecks)
  const two = Fastify({ logger: false })
  t.teardown(() => two.close())
  await two.register(healthChecks)
  await Promise.all([one.ready(), two.ready()])
  one.healthChecks.add('redis', () => ({ status: 'degraded', reason: 'down' }))
  t.same(two.healthChecks.report(), { status: 'healthy' })
})

t.test('declares no dependencies', (t) => assertDependencies(t, healthChecks, []))
