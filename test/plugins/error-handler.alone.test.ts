import t, { type Test } from 'tap'
import errorHandler from '../../plugins/error-handler.js'
import { DomainError } from '../../src/errors.js'
import { alone, assertDependencies, errorShape } from './alone-helper.js'

async function build (t: Test) {
  const app = await alone(t, errorHandler)
  const codes: Array<string | null> = []
  app.addHook('onResponse', async (_request, reply) => { codes.push(reply.errorCode) })
  app.get('/missing', async () => {
    throw new DomainError('SESSION_NOT_FOUND', 'x', { details: { isActive: false } })
  })
  app.get('/full', async () => { throw new DomainError('SESSION_LIMIT', 'full', { retryAfterSeconds: 30 }) })
  app.get('/bug', async () => { throw new Error('secret internals') })
  app.post('/typed', { schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'number' } } } } },
    async () => ({ ok: true }))
  app.get('/ok', async () => ({ ok: true }))
  await app.ready()
  return { app, codes }
}

t.test('a DomainError becomes its status and the uniform body, details included', async (t) => {
  const { app, codes } = await build(t)
  const res = await app.inject({ url: '/missing' })
  t.equal(res.statusCode, 404)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['code', 'error', 'isActive', 'success', 'timestamp'])
  t.match(body, { success: false, error: 'x', code: 'SESSION_NOT_FOUND', timestamp: Number, isActive: false })
  t.same(codes, ['SESSION_NOT_FOUND'], 'reply.errorCode names the code for hooks (metrics)')
})

t.test('retryAfterSeconds becomes a Retry-After header', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ url: '/full' })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '30')
  t.match(res.json(), { ...errorShape('SESSION_LIMIT'), error: 'full' })
})

t.test('an unexpected error is a 500 INTERNAL_ERROR that tells nothing of it', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ url: '/bug' })
  t.equal(res.statusCode, 500)
  t.match(res.json(), { ...errorShape('INTERNAL_ERROR'), error: 'Internal server error' })
  t.notMatch(res.body, /secret internals/)
})

t.test('Fastify\'s own errors are mapped: validation, bad JSON', async (t) => {
  const { app, codes } = await build(t)
  const invalid = await app.inject({ method: 'POST', url: '/typed', payload: { n: 'one' } })
  t.equal(invalid.statusCode, 400)
  t.match(invalid.json(), errorShape('VALIDATION_ERROR'))
  const badJson = await app.inject({ method: 'POST', url: '/typed', headers: { 'content-type': 'application/json' }, payload: '{"n":' })
  t.equal(badJson.statusCode, 400)
  t.match(badJson.json(), { ...errorShape('INVALID_JSON'), error: 'Body is not valid JSON' })
  t.equal((await app.inject({ url: '/ok' })).statusCode, 200)
  t.same(codes, ['VALIDATION_ERROR', 'INVALID_JSON', null], 'a success leaves reply.errorCode null')
})

t.test('an unknown route gets the not-found handler\'s uniform 404, without its query string', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/nowhere?key=secret' })
  t.equal(res.statusCode, 404)
  t.match(res.json(), { ...errorShape('NOT_FOUND'), error: 'Route GET /nowhere not found' })
  t.notMatch(res.body, /secret/)
})

t.test('declares config (the body-drain limits) and @fastify/rate-limit (its not-found handler is rate limited) and fails without either',
  (t) => assertDependencies(t, errorHandler, ['config', '@fastify/rate-limit']))
