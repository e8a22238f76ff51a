import t from 'tap'
import { build, clientChunk, CLIENT_HEADERS, errorShape, JSON_HEADERS, startSession } from '../helper.js'
import { readAudioChunks } from '../client-contract.js'
import { AUTH, listen, startOver, until } from './push-helper.js'

const poll = (since: number, waitMs: number) =>
  ({ method: 'GET' as const, url: `/api/share/123456/audio?since=${since}&waitMs=${waitMs}`, headers: CLIENT_HEADERS })

t.test('a held long-poll returns the chunk that arrives while it waits', async (t) => {
  const app = await build(t)
  await startSession(app)
  const held = app.inject(poll(-1, 5000))
  await until(() => app.push.waiters.held === 1, 'the poll to be held')
  const post = await app.inject({ method: 'POST', url: '/api/share/123456/audio', headers: JSON_HEADERS, payload: clientChunk(0) })
  t.equal(post.statusCode, 200)
  const res = await held
  t.equal(res.statusCode, 200)
  t.same(readAudioChunks(res.json()).map((c) => c.sequenceNumber), [0])
  t.equal(app.push.waiters.held, 0)

  // With something newer already buffered it answers at once, as without waitMs.
  const now = await app.inject(poll(-1, 5000))
  t.equal(now.statusCode, 200)
  // Without waitMs: unchanged, 204 at once.
  t.equal((await app.inject({ method: 'GET', url: '/api/share/123456/audio?since=0', headers: CLIENT_HEADERS })).statusCode, 204)
})

t.test('a held long-poll: 204 when waitMs passes, 404 SESSION_ENDED when the session stops', async (t) => {
  const app = await build(t)
  await startSession(app)
  const expired = await app.inject(poll(-1, 30))
  t.equal(expired.statusCode, 204)
  t.equal(expired.body, '')

  const held = app.inject(poll(-1, 10_000))
  await until(() => app.push.waiters.held === 1, 'held')
  await app.inject({ method: 'POST', url: '/api/share/123456/stop', headers: CLIENT_HEADERS })
  const res = await held
  t.equal(res.statusCode, 404)
  t.match(res.json(), errorShape('SESSION_ENDED'))
})

t.test('waitMs is bounded; held polls are bounded in number', async (t) => {
  const app = await build(t, { LONG_POLL_MAX_HELD: '1' })
  await startSession(app)
  t.equal((await app.inject(poll(-1, 10_001))).statusCode, 400)
  t.equal((await app.inject(poll(-1, -1))).statusCode, 400)
  const held = app.inject(poll(-1, 5000))
  await until(() => app.push.waiters.held === 1, 'held')
  const refused = await app.inject(poll(-1, 5000))
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '1')
  t.match(refused.json(), errorShape('SERVICE_UNAVAILABLE'))
  await app.inject({ method: 'POST', url: '/api/share/123456/audio', headers: JSON_HEADERS, payload: clientChunk(0) })
  t.equal((await held).statusCode, 200)
})

t.test('a client that hangs up frees its slot; shutdown releases held polls at once', async (t) => {
  const app = await build(t)
  const base = await listen(app)
  await startOver(base)
  const abort = new AbortController()
  const gone = fetch(`${base}/api/share/123456/audio?since=-1&waitMs=10000`, { headers: AUTH, signal: abort.signal }).catch((e: Error) => e.name)
  await until(() => app.push.waiters.held === 1, 'held')
  abort.abort()
  t.equal(await gone, 'AbortError')
  await until(() => app.push.waiters.held === 0, 'the slot freed')

  const held = fetch(`${base}/api/share/123456/audio?since=-1&waitMs=10000`, { headers: AUTH })
  await until(() => app.push.waiters.held === 1, 'held')
  const began = Date.now()
  await app.close()
  const res = await held
  t.equal(res.status, 204)
  t.ok(Date.now() - began < 5000, 'not held until waitMs')
})
