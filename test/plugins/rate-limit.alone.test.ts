import t from 'tap'
import rateLimit from '../../plugins/rate-limit.js'
import { alone, assertDependencies, errorShape } from './alone-helper.js'

t.test('a route with a low limit answers 429 RATE_LIMITED in the uniform format; routes without one are not limited', async (t) => {
  // error-handler added: the plugin's errorResponseBuilder gives a DomainError for it to format.
  const app = await alone(t, rateLimit, { adds: ['error-handler'] })
  app.get('/limited', { config: { rateLimit: { max: 2, timeWindow: 60_000 } } }, async () => ({ ok: true }))
  app.get('/free', async () => ({ ok: true }))
  await app.ready()

  for (let i = 0; i < 2; i++) t.equal((await app.inject({ url: '/limited' })).statusCode, 200)
  const limited = await app.inject({ url: '/limited' })
  t.equal(limited.statusCode, 429)
  t.match(limited.json(), { ...errorShape('RATE_LIMITED'), error: 'Rate limit exceeded: at most 2 requests per 1 minute; retry later' })
  t.equal(limited.headers['retry-after'], '60')
  t.equal(limited.headers['x-ratelimit-limit'], '2')

  for (let i = 0; i < 5; i++) t.equal((await app.inject({ url: '/free' })).statusCode, 200, 'global: false')
})

t.test('declares config and fails without it', (t) => assertDependencies(t, rateLimit, ['config']))
