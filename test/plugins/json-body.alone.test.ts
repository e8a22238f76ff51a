import t from 'tap'
import jsonBody, { useJsonBodies } from '../../plugins/json-body.js'
import { alone, assertDependencies } from './alone-helper.js'

async function build (t: Parameters<typeof alone>[0]) {
  const app = await alone(t, jsonBody)
  app.post('/echo', async (request) => ({ body: request.body ?? 'none' }))
  await app.register(async (fast) => {
    // A route group with a fast path: it answers what it can, the general parser the rest.
    useJsonBodies(fast, (bytes) => bytes.toString() === '{"fast":1}' ? { fast: 'path' } : undefined)
    fast.post('/fast', async (request) => ({ body: request.body ?? 'none' }))
  })
  await app.ready()
  return app
}

const post = (url: string, payload: string, type = 'application/json') =>
  ({ method: 'POST' as const, url, headers: { 'content-type': type }, payload })

t.test('JSON bodies are parsed; an empty JSON body is no body rather than an error', async (t) => {
  const app = await build(t)
  t.same((await app.inject(post('/echo', '{"a":1}'))).json(), { body: { a: 1 } })
  const empty = await app.inject(post('/echo', ''))
  t.equal(empty.statusCode, 200, 'Fastify\'s own parser would answer 400 FST_ERR_CTP_EMPTY_JSON_BODY')
  t.same(empty.json(), { body: 'none' })
})

t.test('only JSON: text/plain (which Fastify accepts by default) is 415', async (t) => {
  const app = await build(t)
  const res = await app.inject(post('/echo', 'hello', 'text/plain'))
  t.equal(res.statusCode, 415)
  t.equal(res.json().code, 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
})

t.test('bad JSON and prototype poisoning are refused by the general parser', async (t) => {
  const app = await build(t)
  const bad = await app.inject(post('/echo', '{"a":'))
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'FST_ERR_CTP_INVALID_JSON_BODY')
  const poisoned = await app.inject(post('/echo', '{"__proto__":{"admin":true}}'))
  t.equal(poisoned.statusCode, 400, '__proto__ is an error, not silently dropped')
  const constructor = await app.inject(post('/echo', '{"constructor":{"prototype":{"admin":true}}}'))
  t.equal(constructor.statusCode, 400)
})

t.test('useJsonBodies with a fast path: its answer when it has one, the general parser otherwise', async (t) => {
  const app = await build(t)
  t.same((await app.inject(post('/fast', '{"fast":1}'))).json(), { body: { fast: 'path' } })
  t.same((await app.inject(post('/fast', '{"slow":2}'))).json(), { body: { slow: 2 } })
  t.same((await app.inject(post('/fast', ''))).json(), { body: 'none' })
  t.equal((await app.inject(post('/fast', '{"__proto__":{}}'))).statusCode, 400)
})

t.test('declares no dependencies', (t) => assertDependencies(t, jsonBody, []))
