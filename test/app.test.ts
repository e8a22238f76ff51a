import t from 'tap'
import { buildApp, processLogger } from '../app.js'
import { build, CLIENT_HEADERS, errorShape, startSession, testConfig } from './helper.js'
import { until } from './push/push-helper.js'

t.test('GET /health: status, sessions, uptime and memory in MB, without a token', async (t) => {
  const app = await build(t)
  await startSession(app)
  const res = await app.inject({ method: 'GET', url: '/health' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { status: 'healthy', activeSessions: 1, uptime: Number, memoryUsage: { used: Number, total: Number } })
  t.ok(body.memoryUsage.used > 0 && body.memoryUsage.used <= body.memoryUsage.total)
})

t.test('unknown routes and methods are 404 NOT_FOUND in the uniform format', async (t) => {
  const app = await build(t)
  for (const [method, url] of [['GET', '/nope'], ['GET', '/api/share/123456/unknown'], ['DELETE', '/api/share/123456/stop']] as const) {
    const res = await app.inject({ method, url, headers: CLIENT_HEADERS })
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.match(res.json(), errorShape('NOT_FOUND'))
  }
  for (const id of ['12a456', '12345', '1234567']) {
    const badId = await app.inject({ method: 'GET', url: `/api/share/${id}/status`, headers: CLIENT_HEADERS })
    t.equal(badId.statusCode, 400, `${id}: a malformed id on an existing route is a validation error`)
    t.match(badId.json(), errorShape('VALIDATION_ERROR'))
  }
  for (const url of ['/api/share/%ZZ/status', '/api/share/123456/status%', '/nope/%zz?key=secret']) {
    const badUrl = await app.inject({ method: 'GET', url, headers: CLIENT_HEADERS })
    t.equal(badUrl.statusCode, 400, `${url}: a malformed percent-encoding is a 400`)
    t.match(badUrl.json(), { ...errorShape('BAD_REQUEST'), error: 'The URL holds a malformed percent-encoding' }, 'in the uniform format')
  }
})

t.test('an unexpected failure is a generic 500 INTERNAL_ERROR: no message, no stack', async (t) => {
  const lines: string[] = []
  const app = await buildApp(testConfig(), { logger: { level: 'error', stream: { write: (l: string) => { lines.push(l) } } } })
  t.teardown(() => app.close())
  app.get('/boom', async () => { throw new Error('secret internal detail') })
  const res = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(res.statusCode, 500)
  t.match(res.json(), { ...errorShape('INTERNAL_ERROR'), error: 'Internal server error' })
  t.notMatch(res.body, /secret internal detail|at .*\.ts/)
  t.match(lines.join(''), /secret internal detail/, 'the real error is logged for operators')
})

t.test('CORS: localhost and 127.0.0.1 on any port by default; CORS_ORIGINS replaces the list', async (t) => {
  const app = await build(t)
  const preflight = (origin: string) => app.inject({
    method: 'OPTIONS',
    url: '/api/share/123456/status',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' }
  })
  for (const origin of ['http://localhost:3000', 'http://127.0.0.1:8080', 'http://localhost']) {
    const res = await preflight(origin)
    t.equal(res.statusCode, 204, origin)
    t.equal(res.headers['access-control-allow-origin'], origin)
    t.match(String(res.headers['access-control-allow-headers']), /Authorization/i)
  }
  for (const origin of ['http://evil.example', 'http://localhost.evil.example:3000', 'https://localhost:3000']) {
    const res = await preflight(origin)
    t.equal(res.headers['access-control-allow-origin'], undefined, `${origin} is not allowed`)
  }

  // Found by the fuzzer: a malformed preflight used to get the CORS plugin's plain-text 400.
  const malformed = await app.inject({ method: 'OPTIONS', url: '/', headers: { origin: ',i6\':' } })
  t.not(malformed.statusCode, 400)
  t.notMatch(malformed.body, /Invalid Preflight/)

  const custom = await build(t, { CORS_ORIGINS: 'https://listen.example.com' })
  const ok = await custom.inject({ method: 'GET', url: '/health', headers: { origin: 'https://listen.example.com' } })
  t.equal(ok.headers['access-control-allow-origin'], 'https://listen.example.com')
  const local = await custom.inject({ method: 'GET', url: '/health', headers: { origin: 'http://localhost:3000' } })
  t.equal(local.headers['access-control-allow-origin'], undefined)
})

t.test('BASE_PATH mounts every route under a prefix (a server behind /songrequests/)', async (t) => {
  const app = await build(t, { BASE_PATH: '/songrequests' })
  t.equal((await app.inject({ method: 'GET', url: '/songrequests/health' })).statusCode, 200)
  const res = await app.inject({ method: 'GET', url: '/songrequests/api/share/123456/status', headers: CLIENT_HEADERS })
  t.equal(res.statusCode, 404)
  t.match(res.json(), errorShape('SESSION_NOT_FOUND'))
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 404)
})

t.test('logs redact the Authorization header and carry no audio or thumbnails', async (t) => {
  const lines: string[] = []
  const app = await build(t, {}, { logger: { level: 'trace', stream: { write: (l: string) => { lines.push(l) } } } })
  await startSession(app)
  await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: { ...CLIENT_HEADERS, authorization: 'Bearer wrong-token-xyz' } })
  const all = lines.join('')
  t.ok(lines.length > 0)
  t.notMatch(all, /wrong-token-xyz|Multicore2024SR/)
})

t.test('while the server closes, a held long-poll is answered and a new request gets 503 in the uniform format', async (t) => {
  const app = await buildApp(testConfig())
  // A test-only pause inside the shutdown, so a request can arrive while it is under way.
  let resume: () => void = () => {}
  const paused = new Promise<void>((resolve) => { resume = resolve })
  app.addHook('preClose', async () => { await paused })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  await startSession(app)
  const held = fetch(`${base}/api/share/123456/audio?since=5&waitMs=5000`, { headers: CLIENT_HEADERS })
  await until(() => app.push.waiters.held === 1, 'the long-poll to be held')
  const closing = app.close()
  t.equal((await held).status, 204, 'the held long-poll was released with 204')
  const res = await fetch(`${base}/api/share/123456/status`, { headers: CLIENT_HEADERS })
  t.equal(res.status, 503)
  t.match(await res.json(), errorShape('SERVICE_UNAVAILABLE'))
  t.ok(Number(res.headers.get('retry-after')) > 0)
  t.equal(res.headers.get('connection'), 'close')
  resume()
  await closing
})

t.test('the process log is pretty only on a terminal outside production, and only when the pretty printer is installed', (t) => {
  let resolved = 0
  const installed = () => { resolved++; return '/somewhere/pino-pretty/index.js' }
  const pretty = processLogger({ stdoutIsTTY: true, nodeEnv: undefined, resolvePrettyPrinter: installed })
  t.match(pretty, { transport: { target: '/somewhere/pino-pretty/index.js', options: { colorize: true } } }, 'a terminal: pino-pretty as a transport')
  t.match(processLogger({ stdoutIsTTY: true, nodeEnv: 'development', resolvePrettyPrinter: installed }), { transport: Object })
  t.equal(resolved, 2)
  t.equal(processLogger({ stdoutIsTTY: false, nodeEnv: undefined, resolvePrettyPrinter: installed }), undefined, 'a pipe or a file: JSON')
  t.equal(processLogger({ stdoutIsTTY: true, nodeEnv: 'production', resolvePrettyPrinter: installed }), undefined, 'production: JSON, even on a terminal')
  t.equal(resolved, 2, 'the pretty printer is not even looked up then')
  t.equal(processLogger({ stdoutIsTTY: true, nodeEnv: undefined, resolvePrettyPrinter: () => undefined }), undefined,
    'not installed (the production image has no development dependencies): JSON')
  t.end()
})
