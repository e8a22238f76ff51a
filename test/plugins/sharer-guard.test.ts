import t from 'tap'
import { build, clientChunk, clientMetadata, CLIENT_HEADERS, errorShape, JSON_HEADERS } from '../helper.js'

type App = Awaited<ReturnType<typeof build>>
const SHARER = '10.0.0.1'
const OTHER = '10.0.0.99'

async function start (app: App) {
  const res = await app.inject({ method: 'POST', url: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId: '123456' }, remoteAddress: SHARER })
  t.equal(res.statusCode, 200)
  return res.json().sharerKey as string
}

const writes = (key?: string) => {
  const headers = key === undefined ? {} : { 'x-sharer-key': key }
  return [
    { method: 'POST', url: '/api/share/123456/metadata', headers: { ...JSON_HEADERS, ...headers }, payload: clientMetadata() },
    { method: 'POST', url: '/api/share/123456/audio', headers: { ...JSON_HEADERS, ...headers }, payload: clientChunk(0) },
    { method: 'POST', url: '/api/share/123456/stop', headers: { ...CLIENT_HEADERS, ...headers } }
  ] as const
}

t.test('start returns a sharer key; the desktop client (same address, no key) keeps working', async (t) => {
  const app = await build(t)
  const key = await start(app)
  t.match(key, /^[A-Za-z0-9_-]{32}$/)
  for (const req of writes()) {
    const res = await app.inject({ ...req, remoteAddress: SHARER })
    t.equal(res.statusCode, 200, `${req.url} from the starting address`)
  }
})

t.test('another address without the key gets 403 FORBIDDEN and changes nothing; with the key it may write', async (t) => {
  const app = await build(t)
  const key = await start(app)
  for (const req of writes()) {
    const res = await app.inject({ ...req, remoteAddress: OTHER })
    t.equal(res.statusCode, 403, `${req.url} from another address`)
    t.match(res.json(), errorShape('FORBIDDEN'))
  }
  const session = app.sessions.requireActive('123456')
  t.equal(session.bytesReceived, 0, 'no audio was taken')
  t.equal(session.metadata(Date.now()), undefined, 'no metadata was taken')
  for (const req of writes('wrong-key')) {
    const res = await app.inject({ ...req, remoteAddress: SHARER })
    t.equal(res.statusCode, 403, `${req.url}: a wrong key is refused even from the starting address`)
  }
  for (const req of writes(key)) {
    const res = await app.inject({ ...req, remoteAddress: OTHER })
    t.equal(res.statusCode, 200, `${req.url} with the key from anywhere`)
  }
})

t.test('reading is not guarded: receivers anywhere keep polling', async (t) => {
  const app = await build(t)
  await start(app)
  const res = await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: CLIENT_HEADERS, remoteAddress: OTHER })
  t.equal(res.statusCode, 200)
})

t.test('SESSION_WRITE_GUARD=key: only the key; =off: anyone with the token', async (t) => {
  const strict = await build(t, { SESSION_WRITE_GUARD: 'key' })
  const key = await start(strict)
  const noKey = await strict.inject({ ...writes()[0], remoteAddress: SHARER })
  t.equal(noKey.statusCode, 403, 'the starting address is not enough')
  t.equal((await strict.inject({ ...writes(key)[0], remoteAddress: OTHER })).statusCode, 200)

  const open = await build(t, { SESSION_WRITE_GUARD: 'off' })
  await start(open)
  for (const req of writes()) t.equal((await open.inject({ ...req, remoteAddress: OTHER })).statusCode, 200, `${req.url} unguarded`)
})

t.test('behind a proxy with TRUST_PROXY the client address comes from X-Forwarded-For', async (t) => {
  const app = await build(t, { TRUST_PROXY: 'true' })
  const res = await app.inject({ method: 'POST', url: '/api/share/start', headers: { ...JSON_HEADERS, 'x-forwarded-for': '203.0.113.7' }, payload: { sessionId: '123456' }, remoteAddress: '127.0.0.1' })
  t.equal(res.statusCode, 200)
  const fromSharer = await app.inject({ ...writes()[0], headers: { ...writes()[0].headers, 'x-forwarded-for': '203.0.113.7' }, remoteAddress: '127.0.0.1' })
  t.equal(fromSharer.statusCode, 200, 'the sharer behind the proxy')
  const fromOther = await app.inject({ ...writes()[0], headers: { ...writes()[0].headers, 'x-forwarded-for': '198.51.100.1' }, remoteAddress: '127.0.0.1' })
  t.equal(fromOther.statusCode, 403, 'someone else behind the same proxy')
  // The proxy appends the address it saw to whatever the client sent: a first entry is the client's own words.
  const forged = await app.inject({ ...writes()[0], headers: { ...writes()[0].headers, 'x-forwarded-for': '203.0.113.7, 198.51.100.1' }, remoteAddress: '127.0.0.1' })
  t.equal(forged.statusCode, 403, 'a stranger who wrote the sharer\'s address first is still the stranger the proxy saw')
})

t.test('TRUST_PROXY=2: two proxies in a chain, the address the outer one appended', async (t) => {
  const app = await build(t, { TRUST_PROXY: '2' })
  const via = (forwardedFor: string) => ({ 'x-forwarded-for': forwardedFor })
  const res = await app.inject({ method: 'POST', url: '/api/share/start', headers: { ...JSON_HEADERS, ...via('203.0.113.7, 10.0.0.2') }, payload: { sessionId: '123456' }, remoteAddress: '127.0.0.1' })
  t.equal(res.statusCode, 200)
  const write = writes()[0]
  t.equal((await app.inject({ ...write, headers: { ...write.headers, ...via('203.0.113.7, 10.0.0.2') }, remoteAddress: '127.0.0.1' })).statusCode, 200, 'the sharer')
  t.equal((await app.inject({ ...write, headers: { ...write.headers, ...via('203.0.113.7, 198.51.100.1, 10.0.0.2') }, remoteAddress: '127.0.0.1' })).statusCode, 403,
    'a stranger who forged the sharer\'s address in front')
})

t.test('the guard refuses before the body is read, and unknown sessions still answer 404', async (t) => {
  const app = await build(t)
  await start(app)
  const res = await app.inject({ method: 'POST', url: '/api/share/123456/audio', headers: JSON_HEADERS, payload: '{not json', remoteAddress: OTHER })
  t.equal(res.statusCode, 403, 'a 403, not a 400 for the malformed body')
  const unknown = await app.inject({ method: 'POST', url: '/api/share/654321/stop', headers: CLIENT_HEADERS, remoteAddress: OTHER })
  t.equal(unknown.statusCode, 404)
})
