import t from 'tap'
import { Validator } from '@seriousme/openapi-schema-validator'
import type { App } from '../../app.js'
import { AudioBody, MetadataBody, StartBody } from '../../src/schemas/share.js'
import { ROLE_TAGS } from '../../src/schemas/tags.js'
import { build, CLIENT_HEADERS, clientChunk, JSON_HEADERS, startSession } from '../helper.js'

type Operation = {
  parameters?: Array<{ in: string, name: string, schema: object }>
  requestBody?: { content: Record<string, { schema: { required?: string[] } }> }
  responses: Record<string, { description: string, content?: Record<string, { schema: object, examples?: Record<string, { value: { code: string } }> }> }>
  security?: Array<Record<string, string[]>>
  tags?: string[]
}
type Doc = {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { securitySchemes: Record<string, object> }
  tags?: Array<{ name: string, description?: string }>
}

/** Every (method, path) the app serves, read from Fastify's own route tree (not from the document). */
function routesOf (app: App): Array<{ method: string, path: string }> {
  const stack: string[] = []
  const out: Array<{ method: string, path: string }> = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line)
    if (m === null) continue
    const depth = m[1]!.length / 4
    stack.length = depth
    stack.push(m[2]!)
    for (const method of (m[3] ?? '').split(', ').filter((x) => x !== '' && x !== '-')) {
      out.push({ method, path: stack.join('') })
    }
  }
  return out
}

const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}')

async function documentOf (app: App, url = '/openapi.json'): Promise<Doc> {
  const res = await app.inject({ method: 'GET', url })
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`)
  return res.json()
}

t.test('the document is valid OpenAPI 3.1 and declares the bearer scheme', async (t) => {
  const app = await build(t, { METRICS_TOKEN: 'scrape', STATS: 'on', STATS_DB: ':memory:', STATS_TOKEN: 'stats' })
  const doc = await documentOf(app)
  const validator = new Validator()
  const result = await validator.validate(doc as unknown as Parameters<Validator['validate']>[0])
  t.same(result.errors, undefined, 'no schema errors')
  t.equal(result.valid, true)
  t.equal(validator.version, '3.1')
  t.match(doc.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer' }, metricsToken: { type: 'http', scheme: 'bearer' } })
  t.same(doc.paths['/metrics']!.get!.security, [{ metricsToken: [] }], 'METRICS_TOKEN set: /metrics documents it')
  t.same(doc.paths['/health']!.get!.security, undefined, '/health is open')
  t.same(doc.paths['/api/stats/summary']!.get!.security, [{ bearerAuth: [] }, { statsToken: [] }], 'STATS_TOKEN set: statistics take either')
  t.same(doc.paths['/api/share/start']!.post!.security, [{ bearerAuth: [] }], 'STATS_TOKEN opens nothing else')
})

t.test('every route is in the document with its parameters, body, responses and errors', async (t) => {
  const app = await build(t, { BASE_PATH: '/songrequests', STATS: 'on', STATS_DB: ':memory:' })
  const doc = await documentOf(app, '/songrequests/openapi.json')
  const routes = routesOf(app).filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' &&
    !r.path.startsWith('/songrequests/docs') && r.path !== '/songrequests/openapi.json')
  t.ok(routes.length >= 9, `found ${routes.length} routes`)
  for (const { method, path } of routes) {
    const op = doc.paths[openApiPath(path)]?.[method.toLowerCase()]
    if (op === undefined) {
      t.fail(`${method} ${path} is not documented`)
      continue
    }
    for (const name of [...path.matchAll(/:(\w+)/g)].map((m) => m[1])) {
      t.ok(op.parameters?.some((p) => p.in === 'path' && p.name === name && p.schema !== undefined), `${method} ${path}: path parameter ${name}`)
    }
    const success = op.responses['200'] ?? op.responses['204'] ?? op.responses['101']
    t.ok(success?.content !== undefined, `${method} ${path}: a success body schema`)
    t.equal(op.responses['4XX'], undefined, `${method} ${path}: no catch-all 4XX`)
    for (const [status, response] of Object.entries(op.responses)) {
      if (Number(status) < 400) continue
      const media = response.content?.['application/json']
      t.ok(media?.schema !== undefined, `${method} ${path} ${status}: error schema`)
      const codes = Object.values(media?.examples ?? {}).map((e) => e.value.code)
      t.ok(codes.length > 0, `${method} ${path} ${status}: example error bodies`)
      for (const code of codes) t.match(response.description, code, `${method} ${path} ${status}: ${code} described`)
    }
    t.ok(op.responses['500'] && op.responses['503'], `${method} ${path}: 500 and 503 documented`)
    if (path.startsWith('/songrequests/api/')) {
      t.same(op.security, [{ bearerAuth: [] }], `${method} ${path}: needs the bearer token`)
      t.ok(op.responses['401'], `${method} ${path}: 401 documented`)
      t.ok(op.responses['429'], `${method} ${path}: 429 documented`)
    }
  }
  const body = (method: string, path: string) =>
    doc.paths[path]![method]!.requestBody!.content['application/json']!.schema.required
  t.same(body('post', '/songrequests/api/share/start'), StartBody.required)
  t.same(body('post', '/songrequests/api/share/{sessionId}/metadata'), MetadataBody.required)
  t.same(body('post', '/songrequests/api/share/{sessionId}/audio'), AudioBody.required)
  const listQuery = doc.paths['/songrequests/api/share/sessions']!.get!.parameters!.filter((p) => p.in === 'query').map((p) => p.name)
  t.same(listQuery.sort(), ['limit', 'offset', 'scope', 'state'])
  const since = doc.paths['/songrequests/api/share/{sessionId}/audio']!.get!.parameters!.find((p) => p.name === 'since')
  t.match(since, { in: 'query', schema: { type: 'integer', minimum: -1 } })
})

t.test('the errors the routes really answer with are the ones documented', async (t) => {
  const app = await build(t, { RATE_LIMIT_STARTS_PER_MINUTE: '2' })
  const doc = await documentOf(app)
  const { sharerKey } = await startSession(app, '123456')
  // A listener whose message the sharer muted: its next message is refused.
  const muted = { ...JSON_HEADERS, 'x-client-id': 'muted-listener' }
  const said = await app.inject({ method: 'POST', url: '/api/share/123456/chat', headers: muted, payload: { name: 'a', text: 'b' } })
  await app.inject({ method: 'POST', url: '/api/share/123456/chat/mute', headers: { ...JSON_HEADERS, 'x-sharer-key': sharerKey }, payload: { messageId: said.json().message.id } })
  const cases: Array<{ method: 'GET' | 'POST' | 'DELETE', url: string, path: string, headers?: Record<string, string>, payload?: unknown }> = [
    { method: 'GET', url: '/api/share/123456/status', path: '/api/share/{sessionId}/status' },
    { method: 'GET', url: '/api/share/654321/status', path: '/api/share/{sessionId}/status', headers: CLIENT_HEADERS },
    { method: 'GET', url: '/api/share/12/status', path: '/api/share/{sessionId}/status', headers: CLIENT_HEADERS },
    { method: 'GET', url: '/api/share/123456/metadata', path: '/api/share/{sessionId}/metadata', headers: CLIENT_HEADERS },
    { method: 'POST', url: '/api/share/start', path: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId: '123456' } },
    { method: 'POST', url: '/api/share/start', path: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId: '222222' } },
    { method: 'POST', url: '/api/share/start', path: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId: '333333' } },
    { method: 'POST', url: '/api/share/123456/audio', path: '/api/share/{sessionId}/audio', headers: JSON_HEADERS, payload: { ...clientChunk(0), data: 'AAA' } },
    { method: 'POST', url: '/api/share/123456/audio', path: '/api/share/{sessionId}/audio', headers: { ...CLIENT_HEADERS, 'content-type': 'text/plain' }, payload: 'x' },
    { method: 'POST', url: '/api/share/123456/metadata', path: '/api/share/{sessionId}/metadata', headers: JSON_HEADERS, payload: '{"title":' },
    { method: 'POST', url: '/api/share/999999/stop', path: '/api/share/{sessionId}/stop', headers: CLIENT_HEADERS },
    { method: 'GET', url: '/api/share/sessions?limit=1000', path: '/api/share/sessions', headers: CLIENT_HEADERS },
    { method: 'POST', url: '/api/share/123456/chat', path: '/api/share/{sessionId}/chat', headers: muted, payload: { name: 'a', text: 'again' } },
    { method: 'DELETE', url: '/api/share/123456/chat/1', path: '/api/share/{sessionId}/chat/{messageId}', headers: CLIENT_HEADERS },
    { method: 'DELETE', url: '/api/share/123456/chat/99', path: '/api/share/{sessionId}/chat/{messageId}', headers: { ...CLIENT_HEADERS, 'x-sharer-key': sharerKey } },
    { method: 'GET', url: '/api/share/123456/chat?since=x', path: '/api/share/{sessionId}/chat', headers: CLIENT_HEADERS }
  ]
  const seen = new Set<string>()
  for (const c of cases) {
    const res = await app.inject({ method: c.method, url: c.url, headers: c.headers ?? {}, ...(c.payload === undefined ? {} : { payload: c.payload as string }) })
    t.ok(res.statusCode >= 400, `${c.method} ${c.url} fails (${res.statusCode})`)
    const { code } = res.json() as { code: string }
    const documented = doc.paths[c.path]![c.method.toLowerCase()]!.responses[String(res.statusCode)]
    t.ok(documented !== undefined, `${c.method} ${c.path}: ${res.statusCode} documented`)
    t.match(documented?.description ?? '', code, `${c.method} ${c.path}: ${code} documented`)
    seen.add(code)
  }
  t.same([...seen].sort(), ['CHAT_MUTED', 'FORBIDDEN', 'INVALID_AUDIO', 'INVALID_JSON', 'MESSAGE_NOT_FOUND', 'METADATA_NOT_FOUND',
    'RATE_LIMITED', 'SESSION_EXISTS', 'SESSION_NOT_FOUND', 'UNAUTHORIZED', 'UNSUPPORTED_MEDIA_TYPE', 'VALIDATION_ERROR'])
})

t.test('Swagger UI is served at /docs without a token', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/docs' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
  t.match(res.body, /swagger/i)
  const json = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(json.statusCode, 200)
  t.same(json.json().paths['/api/share/start'] !== undefined, true)
})

t.test('error examples carry the fixed fields a route adds (the status 404 says isActive:false)', async (t) => {
  const app = await build(t)
  const doc = await documentOf(app)
  const examples = doc.paths['/api/share/{sessionId}/status']!.get!.responses['404']!.content!['application/json']!.examples!
  t.match(examples.SESSION_NOT_FOUND!.value, { success: false, code: 'SESSION_NOT_FOUND', isActive: false })
  const real = await app.inject({ method: 'GET', url: '/api/share/654321/status', headers: CLIENT_HEADERS })
  t.same(Object.keys(real.json()).sort(), Object.keys(examples.SESSION_NOT_FOUND!.value).sort(), 'the example has the real fields')
})

t.test('with load shedding on, every route but /health and /metrics documents 503 OVERLOADED', async (t) => {
  const app = await build(t, { MAX_EVENT_LOOP_DELAY_MS: '60000' })
  const doc = await documentOf(app)
  t.match(doc.paths['/api/share/{sessionId}/audio']!.post!.responses['503']!.description, 'OVERLOADED')
  t.match(doc.paths['/api/share/sessions']!.get!.responses['503']!.description, 'OVERLOADED')
  t.notMatch(doc.paths['/health']!.get!.responses['503']!.description, 'OVERLOADED')
  t.notMatch(doc.paths['/metrics']!.get!.responses['503']!.description, 'OVERLOADED')
})

t.test('routes are grouped by role: each documented route has exactly one role tag, and every role is described', async (t) => {
  const app = await build(t, { METRICS_TOKEN: 'scrape' })
  const roles = ROLE_TAGS.map((tag) => tag.name)
  t.same(roles, ['sharer', 'receiver', 'push', 'chat', 'history and recordings', 'listener page', 'operators'])
  const byTag = new Map<string, string[]>()
  for (const url of ['/openapi.json', '/docs/json']) {
    const doc = await documentOf(app, url)
    t.same(doc.tags, ROLE_TAGS, `${url} lists the role tags, in order, each with its description`)
    t.ok(doc.tags!.every((tag) => (tag.description ?? '').length > 20), `${url}: every tag is described`)
    byTag.clear()
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const route = `${method.toUpperCase()} ${path}`
        t.equal(op.tags?.length, 1, `${route}: exactly one tag (${(op.tags ?? []).join(', ')})`)
        t.ok(roles.includes(op.tags?.[0] as typeof roles[number]), `${route}: a role tag`)
        byTag.set(op.tags?.[0] ?? '', [...(byTag.get(op.tags?.[0] ?? '') ?? []), route])
      }
    }
  }
  t.same([...byTag.keys()].sort(), [...roles].sort(), 'every role has routes')
  t.same(byTag.get('sharer')!.sort(), [
    'POST /api/share/start', 'POST /api/share/{sessionId}/audio', 'POST /api/share/{sessionId}/metadata', 'POST /api/share/{sessionId}/stop'
  ].sort(), 'the sharer\'s routes are the four the desktop app sends on')
  t.same(byTag.get('receiver')!.sort(), [
    'GET /api/share/{sessionId}/audio', 'GET /api/share/{sessionId}/metadata', 'GET /api/share/{sessionId}/status'
  ].sort(), 'the receiver\'s routes are the three it polls')
  t.same(byTag.get('operators')!.sort(), ['GET /api/share/sessions', 'GET /health', 'GET /metrics'])
})
