import t from 'tap'
import { build, clientChunk, clientMetadata, CLIENT_HEADERS, errorShape, JSON_HEADERS, startSession } from '../../helper.js'

t.test('POST /start creates a session; the same id again is 409 with the spec message', async (t) => {
  const app = await build(t)
  const before = Date.now()
  const res = await app.inject({ method: 'POST', url: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId: '123456' } })
  t.equal(res.statusCode, 200)
  const body = res.json()
  // The client reads the first three; listenKey and listenUrl were added for push receivers (README: listen keys),
  // sharerKey for the write guard (README: only the sharer can change a share).
  t.same(Object.keys(body).sort(), ['listenKey', 'listenUrl', 'sessionId', 'sharerKey', 'success', 'timestamp'])
  t.equal(body.success, true)
  t.equal(body.sessionId, '123456')
  t.ok(Number.isInteger(body.timestamp) && body.timestamp >= before)

  const again = await app.inject({ method: 'POST', url: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId: '123456' } })
  t.equal(again.statusCode, 409)
  t.match(again.json(), { ...errorShape('SESSION_EXISTS'), error: 'Session ID already in use' })
})

t.test('POST /start rejects anything but six ASCII digits', async (t) => {
  const app = await build(t)
  const bad: unknown[] = ['12345', '1234567', '12345a', '١٢٣٤٥٦', '１２３４５６', ' 123456', '123456\n', 123456, null, '']
  for (const sessionId of bad) {
    const res = await app.inject({ method: 'POST', url: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId } })
    t.equal(res.statusCode, 400, JSON.stringify(sessionId))
    t.match(res.json(), errorShape('VALIDATION_ERROR'))
  }
  const missing = await app.inject({ method: 'POST', url: '/api/share/start', headers: JSON_HEADERS, payload: {} })
  t.equal(missing.statusCode, 400)
  t.equal(app.sessions.activeCount, 0, 'no session was created by a rejected start')
})

t.test('MAX_SESSIONS: the next start is 503 SESSION_LIMIT with Retry-After; stopping one frees a slot', async (t) => {
  const app = await build(t, { MAX_SESSIONS: '2' })
  await startSession(app, '100001')
  await startSession(app, '100002')
  const full = await app.inject({ method: 'POST', url: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId: '100003' } })
  t.equal(full.statusCode, 503)
  t.match(full.json(), errorShape('SESSION_LIMIT'))
  t.ok(Number(full.headers['retry-after']) > 0, 'Retry-After is set')
  await app.inject({ method: 'POST', url: '/api/share/100001/stop', headers: CLIENT_HEADERS })
  const ok = await app.inject({ method: 'POST', url: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId: '100003' } })
  t.equal(ok.statusCode, 200)
})

t.test('POST /stop as the client sends it (no body, no content type) reports duration and decoded bytes', async (t) => {
  const app = await build(t)
  await startSession(app)
  for (let seq = 0; seq < 3; seq++) {
    const res = await app.inject({ method: 'POST', url: '/api/share/123456/audio', headers: JSON_HEADERS, payload: clientChunk(seq) })
    t.equal(res.statusCode, 200)
  }
  // A duplicate does not count twice.
  await app.inject({ method: 'POST', url: '/api/share/123456/audio', headers: JSON_HEADERS, payload: clientChunk(2) })
  const res = await app.inject({ method: 'POST', url: '/api/share/123456/stop', headers: CLIENT_HEADERS })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.success, true)
  t.equal(body.bytesTransferred, 3 * 44100 * 4)
  t.type(body.sessionDuration, 'number')
  t.ok(body.sessionDuration >= 0 && body.sessionDuration < 60)
})

t.test('POST /stop also accepts an empty body with a JSON content type, and a JSON body', async (t) => {
  const app = await build(t)
  await startSession(app, '111111')
  await startSession(app, '222222')
  const empty = await app.inject({ method: 'POST', url: '/api/share/111111/stop', headers: JSON_HEADERS, payload: '' })
  t.equal(empty.statusCode, 200)
  const withBody = await app.inject({ method: 'POST', url: '/api/share/222222/stop', headers: JSON_HEADERS, payload: {} })
  t.equal(withBody.statusCode, 200)
})

t.test('after stop: status says isActive:false, every other endpoint is 404 SESSION_ENDED, unknown ids SESSION_NOT_FOUND', async (t) => {
  const app = await build(t)
  await startSession(app)
  await app.inject({ method: 'POST', url: '/api/share/123456/metadata', headers: JSON_HEADERS, payload: clientMetadata() })
  await app.inject({ method: 'POST', url: '/api/share/123456/stop', headers: CLIENT_HEADERS })

  const status = await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: CLIENT_HEADERS })
  t.equal(status.statusCode, 200)
  t.match(status.json(), { isActive: false, sessionId: '123456', startTime: Number, listenerCount: 0, endReason: 'stopped', endedAt: Number })

  const endpoints = [
    { method: 'POST', url: '/api/share/123456/metadata', headers: JSON_HEADERS, payload: clientMetadata() },
    { method: 'POST', url: '/api/share/123456/audio', headers: JSON_HEADERS, payload: clientChunk(0) },
    { method: 'POST', url: '/api/share/123456/stop', headers: CLIENT_HEADERS },
    { method: 'GET', url: '/api/share/123456/metadata', headers: CLIENT_HEADERS },
    { method: 'GET', url: '/api/share/123456/audio?since=-1', headers: CLIENT_HEADERS }
  ] as const
  for (const req of endpoints) {
    const ended = await app.inject(req)
    t.equal(ended.statusCode, 404, `${req.method} ${req.url}`)
    t.match(ended.json(), errorShape('SESSION_ENDED'))
    const unknown = await app.inject({ ...req, url: req.url.replace('123456', '654321') })
    t.equal(unknown.statusCode, 404)
    t.match(unknown.json(), errorShape('SESSION_NOT_FOUND'))
  }

  const restarted = await app.inject({ method: 'POST', url: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId: '123456' } })
  t.equal(restarted.statusCode, 200, 'an ended id can be started again')
  const fresh = await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: CLIENT_HEADERS })
  t.match(fresh.json(), { isActive: true, currentMetadata: null, endedAt: null })
})

t.test('GET /status of a live session; unknown id is 404 with isActive:false and the spec message', async (t) => {
  const app = await build(t)
  await startSession(app)
  const empty = await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: CLIENT_HEADERS })
  t.match(empty.json(), { isActive: true, listenerCount: 1, currentMetadata: null })
  await app.inject({ method: 'POST', url: '/api/share/123456/metadata', headers: JSON_HEADERS, payload: clientMetadata() })
  const res = await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: CLIENT_HEADERS })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { isActive: true, sessionId: '123456', startTime: Number, listenerCount: 1, currentMetadata: { title: 'Song Title', artist: 'Artist Name' } })

  const unknown = await app.inject({ method: 'GET', url: '/api/share/999999/status', headers: CLIENT_HEADERS })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { isActive: false, error: 'Session not found', success: false, code: 'SESSION_NOT_FOUND', timestamp: Number })
})

t.test('listeners: distinct receivers by address + User-Agent or X-Client-Id; the sharer does not count', async (t) => {
  const app = await build(t, { LISTENER_WINDOW_SECONDS: '5' })
  await startSession(app)
  const post = () => app.inject({ method: 'POST', url: '/api/share/123456/metadata', headers: JSON_HEADERS, payload: clientMetadata() })
  t.equal((await post()).json().listenersNotified, 0, 'the sharer alone is no listener')

  const poll = (headers: Record<string, string>, remoteAddress = '127.0.0.1') =>
    app.inject({ method: 'GET', url: '/api/share/123456/metadata', headers: { ...CLIENT_HEADERS, ...headers }, remoteAddress })
  await poll({})
  await poll({})
  t.equal((await post()).json().listenersNotified, 1, 'one client polling twice is one listener')
  await poll({}, '10.0.0.2')
  await poll({ 'user-agent': 'SongRequest Desktop v2.0.0' })
  await poll({ 'x-client-id': 'browser-a' })
  await poll({ 'x-client-id': 'browser-b' })
  t.equal((await post()).json().listenersNotified, 5)
  const status = await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: CLIENT_HEADERS })
  t.equal(status.json().listenerCount, 5)
})
