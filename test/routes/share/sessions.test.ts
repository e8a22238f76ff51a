import t from 'tap'
import { build, CLIENT_HEADERS, clientChunk, clientMetadata, errorShape, JSON_HEADERS, startSession } from '../../helper.js'

const CHUNK_BYTES = 44100 * 4

t.test('GET /api/share/sessions needs the bearer token', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/api/share/sessions' })
  t.equal(res.statusCode, 401)
  t.match(res.json(), errorShape('UNAUTHORIZED'))
})

t.test('active and ended sessions with their figures', async (t) => {
  const app = await build(t)
  const before = Date.now()
  await startSession(app, '111111')
  await startSession(app, '222222')
  await startSession(app, '333333')
  const meta = await app.inject({ method: 'POST', url: '/api/share/222222/metadata', headers: JSON_HEADERS, payload: clientMetadata() })
  t.equal(meta.statusCode, 200)
  for (const seq of [0, 1]) {
    const res = await app.inject({ method: 'POST', url: '/api/share/222222/audio', headers: JSON_HEADERS, payload: clientChunk(seq) })
    t.equal(res.statusCode, 200)
  }
  const poll = await app.inject({ method: 'GET', url: '/api/share/222222/audio?since=0', headers: CLIENT_HEADERS })
  t.equal(poll.statusCode, 200)
  const stop = await app.inject({ method: 'POST', url: '/api/share/333333/stop', headers: CLIENT_HEADERS })
  t.equal(stop.statusCode, 200)

  const res = await app.inject({ method: 'GET', url: '/api/share/sessions', headers: CLIENT_HEADERS })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { total: 3, active: 2, ended: 1, offset: 0, limit: 50 })
  t.same(body.sessions.map((s: { sessionId: string }) => s.sessionId), ['222222', '111111', '333333'],
    'active newest first, then ended')
  const [playing, idle, ended] = body.sessions
  t.same(playing, {
    sessionId: '222222',
    state: 'active',
    startTime: playing.startTime,
    lastActivity: playing.lastActivity,
    endedAt: null,
    endReason: null,
    listenerCount: 1,
    title: 'Song Title',
    artist: 'Artist Name',
    audioFormat: { sampleRate: 44100, channels: 2 },
    bufferedSeconds: 1,
    bytesReceived: 2 * CHUNK_BYTES,
    bytesSent: CHUNK_BYTES
  })
  t.ok(playing.startTime >= before && playing.lastActivity >= playing.startTime)
  t.match(idle, { sessionId: '111111', state: 'active', listenerCount: 0, title: null, artist: null, audioFormat: null, bufferedSeconds: 0, bytesReceived: 0, bytesSent: 0 })
  t.same(ended, {
    sessionId: '333333',
    state: 'ended',
    startTime: ended.startTime,
    lastActivity: ended.endedAt,
    endedAt: ended.endedAt,
    endReason: 'stopped',
    listenerCount: 0,
    title: null,
    artist: null,
    audioFormat: null,
    bufferedSeconds: 0,
    bytesReceived: 0,
    bytesSent: 0
  })

  const onlyEnded = (await app.inject({ method: 'GET', url: '/api/share/sessions?state=ended', headers: CLIENT_HEADERS })).json()
  t.match(onlyEnded, { total: 1, active: 2, ended: 1 })
  t.same(onlyEnded.sessions.map((s: { sessionId: string }) => s.sessionId), ['333333'])
  const onlyActive = (await app.inject({ method: 'GET', url: '/api/share/sessions?state=active', headers: CLIENT_HEADERS })).json()
  t.same(onlyActive.sessions.map((s: { state: string }) => s.state), ['active', 'active'])

  // An ended session keeps what it moved.
  await app.inject({ method: 'POST', url: '/api/share/222222/stop', headers: CLIENT_HEADERS })
  const after = (await app.inject({ method: 'GET', url: '/api/share/sessions?state=ended', headers: CLIENT_HEADERS })).json()
  t.match(after.sessions[0], { sessionId: '222222', state: 'ended', bytesReceived: 2 * CHUNK_BYTES, bytesSent: CHUNK_BYTES })
})

t.test('pages are capped at 200 and walk the whole list', async (t) => {
  const app = await build(t)
  const ids = ['100001', '100002', '100003', '100004', '100005']
  for (const id of ids) await startSession(app, id)
  const page = async (query: string) => {
    const res = await app.inject({ method: 'GET', url: `/api/share/sessions?${query}`, headers: CLIENT_HEADERS })
    t.equal(res.statusCode, 200, query)
    return res.json()
  }
  const seen: string[] = []
  for (let offset = 0; offset < 6; offset += 2) {
    const p = await page(`limit=2&offset=${offset}`)
    t.equal(p.total, 5)
    t.equal(p.limit, 2)
    seen.push(...p.sessions.map((s: { sessionId: string }) => s.sessionId))
  }
  t.same(seen, [...ids].reverse(), 'every session once, newest first')
  t.same((await page('offset=99')).sessions, [], 'past the end is an empty page')

  for (const bad of ['limit=201', 'limit=0', 'offset=-1', 'state=gone', 'limit=abc']) {
    const res = await app.inject({ method: 'GET', url: `/api/share/sessions?${bad}`, headers: CLIENT_HEADERS })
    t.equal(res.statusCode, 400, bad)
    t.match(res.json(), errorShape('VALIDATION_ERROR'))
  }
  t.equal((await page('limit=200')).limit, 200)
})

t.test('the session list does not shadow a session id route', async (t) => {
  const app = await build(t)
  await startSession(app, '123456')
  const status = await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: CLIENT_HEADERS })
  t.equal(status.statusCode, 200)
  const sessionsAsId = await app.inject({ method: 'GET', url: '/api/share/sessions/status', headers: CLIENT_HEADERS })
  t.equal(sessionsAsId.statusCode, 400, '"sessions" is not a session id')
})
