import t from 'tap'
import cors from '../../plugins/cors.js'
import { alone, assertDependencies } from './alone-helper.js'

t.test('preflight from an allowed origin (any port of localhost) gets the CORS headers; others get none', async (t) => {
  const app = await alone(t, cors)
  app.post('/api/thing', async () => ({ ok: true }))
  await app.ready()

  const preflight = (origin: string) => app.inject({
    method: 'OPTIONS',
    url: '/api/thing',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' }
  })
  const allowed = await preflight('http://localhost:5173')
  t.equal(allowed.statusCode, 204)
  t.match(allowed.headers, {
    'access-control-allow-origin': 'http://localhost:5173',
    'access-control-allow-methods': 'GET, HEAD, POST, DELETE, OPTIONS',
    'access-control-allow-headers': 'Authorization, Content-Type, X-Client-Id, X-Sharer-Key',
    'access-control-max-age': '600'
  })

  const foreign = await preflight('https://evil.example')
  t.equal(foreign.headers['access-control-allow-origin'], undefined, 'an origin outside CORS_ORIGINS is not allowed')

  const simple = await app.inject({ method: 'POST', url: '/api/thing', headers: { origin: 'http://127.0.0.1:8080' } })
  t.equal(simple.headers['access-control-allow-origin'], 'http://127.0.0.1:8080')
  t.match(simple.headers['access-control-expose-headers'], /Retry-After/)
})

t.test('declares config and fails without it', (t) => assertDependencies(t, cors, ['config']))
