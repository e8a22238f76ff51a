import t from 'tap'
import { build, errorShape, startSession, TOKEN } from '../helper.js'

const ROUTES = [
  { method: 'POST', url: '/api/share/start', payload: { sessionId: '123456' } },
  { method: 'POST', url: '/api/share/123456/metadata', payload: {} },
  { method: 'POST', url: '/api/share/123456/audio', payload: {} },
  { method: 'POST', url: '/api/share/123456/stop' },
  { method: 'GET', url: '/api/share/123456/status' },
  { method: 'GET', url: '/api/share/123456/metadata' },
  { method: 'GET', url: '/api/share/123456/audio?since=-1' }
] as const

t.test('every /api/share route answers 401 in the uniform format without a valid token', async (t) => {
  const app = await build(t)
  await startSession(app)
  const badHeaders: Array<Record<string, string>> = [
    {},
    { authorization: 'Bearer wrong' },
    { authorization: 'Bearer ' },
    { authorization: 'Bearer' },
    { authorization: 'Basic ' + Buffer.from(`u:${TOKEN}`).toString('base64') },
    { authorization: `Bearer ${TOKEN}x` }
  ]
  for (const route of ROUTES) {
    for (const headers of badHeaders) {
      const res = await app.inject({ ...route, headers: { ...headers, 'content-type': 'application/json' } })
      t.equal(res.statusCode, 401, `${route.method} ${route.url} with ${JSON.stringify(headers)}`)
      t.match(res.json(), errorShape('UNAUTHORIZED'))
      t.equal(res.headers['www-authenticate'], 'Bearer')
    }
  }
  // Nothing the unauthenticated requests sent changed the session.
  const status = await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(status.json().isActive, true)
})

t.test('accepted forms of the token: scheme in any case, extra spaces, and the bare token', async (t) => {
  const app = await build(t)
  for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER   ${TOKEN}  `, TOKEN, `  ${TOKEN} `]) {
    const res = await app.inject({ method: 'GET', url: '/api/share/999999/status', headers: { authorization } })
    t.equal(res.statusCode, 404, `"${authorization}" passes auth (404: no such session)`)
  }
})

t.test('BEARER_TOKEN configured without the scheme means the same token', async (t) => {
  const app = await build(t, { BEARER_TOKEN: 'Token' })
  const ok = await app.inject({ method: 'GET', url: '/api/share/999999/status', headers: { authorization: 'Bearer Token' } })
  t.equal(ok.statusCode, 404)
  const bad = await app.inject({ method: 'GET', url: '/api/share/999999/status', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(bad.statusCode, 401)
})

t.test('/health needs no token', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/health' })
  t.equal(res.statusCode, 200)
})

t.test('an unauthenticated large body is refused before it is parsed', async (t) => {
  const app = await build(t)
  await startSession(app)
  const res = await app.inject({
    method: 'POST',
    url: '/api/share/123456/audio',
    headers: { 'content-type': 'application/json' },
    payload: '{"data": not json at all'
  })
  t.equal(res.statusCode, 401, 'auth runs before the body parser (a parse error would be 400)')
})

t.test('auth failures are logged with ip and route, never the header', async (t) => {
  const lines: string[] = []
  const stream = { write: (line: string) => { lines.push(line) } }
  const app = await build(t, {}, { logger: { level: 'info', stream } })
  await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: { authorization: 'Bearer not-the-token-abc' } })
  const failure = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'authentication failed')
  t.ok(failure, 'a failure line is logged')
  t.equal(failure.ip, '127.0.0.1')
  t.equal(failure.route, '/api/share/:sessionId/status')
  t.notMatch(lines.join('\n'), /not-the-token-abc/)
  t.notMatch(lines.join('\n'), new RegExp(TOKEN))
})
