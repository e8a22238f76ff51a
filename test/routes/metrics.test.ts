import t, { type Test } from 'tap'
import type { App } from '../../app.js'
import { build, CLIENT_HEADERS, clientChunk, clientMetadata, eventually, JSON_HEADERS, sine, startSession, TOKEN } from '../helper.js'
import { PrivateRedis, redisBinary } from '../redis-server.js'
import { listen, openStream, postAudio, startOver, until } from '../push/push-helper.js'

/** Every sample of a Prometheus text exposition: `name{labels} value`. */
function parse (text: string) {
  const samples: Array<{ name: string, labels: Record<string, string>, value: number }> = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!
    samples.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return samples
}

async function scrape (app: App, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers })
  if (res.statusCode !== 200) throw new Error(`scrape failed: ${res.statusCode} ${res.body}`)
  const samples = parse(res.body)
  /** The value of the one series of `name` whose labels include `labels`; undefined when absent. */
  const value = (name: string, labels: Record<string, string> = {}) => {
    const found = samples.filter((s) => s.name === name &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} series`)
    return found[0]?.value
  }
  return { samples, value, text: res.body, contentType: res.headers['content-type'] }
}

const CHUNK_BYTES = 44100 * 4

/** Sessions 123456 and 654321, with two receivers of the first (told apart by X-Client-Id) and one of the second. */
async function twoSessionsWithListeners (t: Test, app: App) {
  await startSession(app, '123456')
  await startSession(app, '654321')
  for (const [id, client] of [['123456', 'a'], ['123456', 'b'], ['654321', 'c']] as const) {
    const res = await app.inject({ method: 'GET', url: `/api/share/${id}/status`, headers: { ...CLIENT_HEADERS, 'x-client-id': `receiver-${client}-0001` } })
    t.equal(res.statusCode, 200)
  }
}

t.test('the process metrics are collected once per process, shared by every app in it', async (t) => {
  const a = await build(t)
  const b = await build(t)
  for (const name of ['nodejs_gc_duration_seconds', 'nodejs_eventloop_lag_p99_seconds', 'process_cpu_user_seconds_total']) {
    const metric = a.metrics!.registry.getSingleMetric(name)
    t.ok(metric, `${name} is exposed`)
    t.equal(b.metrics!.registry.getSingleMetric(name), metric, `${name}: one collector, not one per app`)
  }
  await a.close()
  t.ok((await scrape(b)).value('nodejs_heap_size_used_bytes')! > 0, 'closing one app leaves the other\'s scrape whole')
})

t.test('/metrics is Prometheus text with the default process metrics and every musicshare_ metric', async (t) => {
  const app = await build(t)
  const m = await scrape(app)
  t.match(m.contentType, /^text\/plain; version=0\.0\.4/)
  t.ok(m.value('process_cpu_user_seconds_total')! >= 0, 'default process metrics are on')
  t.ok(m.value('nodejs_heap_size_used_bytes')! > 0)
  t.ok(m.value('process_resident_memory_bytes')! > 0)
  for (const name of [
    'musicshare_active_sessions', 'musicshare_listeners', 'musicshare_audio_buffer_bytes',
    'musicshare_sessions_started_total', 'musicshare_audio_received_bytes_total', 'musicshare_audio_sent_bytes_total',
    'musicshare_metadata_updates_total', 'musicshare_buffer_overflows_total', 'musicshare_auth_failures_total'
  ]) t.equal(m.value(name), 0, `${name} starts at 0`)
  t.equal(m.value('musicshare_sessions_ended_total', { reason: 'stopped' }), 0)
  t.equal(m.value('musicshare_sessions_ended_total', { reason: 'expired' }), 0)
  t.equal(m.value('musicshare_errors_total', { code: 'SESSION_NOT_FOUND' }), 0)
  t.match(m.text, /# TYPE musicshare_http_request_duration_seconds histogram/)
  t.match(m.text, /# TYPE musicshare_session_listeners_max gauge/)
  t.match(m.text, /# TYPE musicshare_sessions_by_listeners gauge/)
  t.notMatch(m.text, /musicshare_session_listeners[{ ]/, 'no per-session series unless METRICS_SESSION_LABELS=true')
  t.match(m.text, /# TYPE musicshare_rate_limited_requests_total counter/)
})

t.test('sessions: a start increments the gauges, a stop ends it; listeners are aggregated, never per session id', async (t) => {
  const app = await build(t)
  await twoSessionsWithListeners(t, app)
  let m = await scrape(app)
  t.equal(m.value('musicshare_active_sessions'), 2)
  t.equal(m.value('musicshare_sessions', { state: 'active' }), 2)
  t.equal(m.value('musicshare_sessions', { state: 'ended' }), 0)
  t.equal(m.value('musicshare_sessions_started_total'), 2)
  t.equal(m.value('musicshare_session_listeners_max'), 2)
  t.equal(m.value('musicshare_sessions_by_listeners', { listeners: '2-5' }), 1)
  t.equal(m.value('musicshare_sessions_by_listeners', { listeners: '1' }), 1)
  t.equal(m.value('musicshare_sessions_by_listeners', { listeners: '0' }), 0)
  t.equal(m.value('musicshare_listeners'), 3)
  t.notMatch(m.text, /123456|654321/, 'no session id anywhere')

  const stop = await app.inject({ method: 'POST', url: '/api/share/123456/stop', headers: CLIENT_HEADERS })
  t.equal(stop.statusCode, 200)
  m = await scrape(app)
  t.equal(m.value('musicshare_active_sessions'), 1)
  t.equal(m.value('musicshare_sessions', { state: 'ended' }), 1, 'the stopped session is remembered as ended')
  t.equal(m.value('musicshare_sessions_ended_total', { reason: 'stopped' }), 1)
  t.equal(m.value('musicshare_session_listeners_max'), 1)
  t.equal(m.value('musicshare_sessions_by_listeners', { listeners: '2-5' }), 0)
  t.equal(m.value('musicshare_listeners'), 1)

  app.sessions.sweep(Date.now() + app.config.sessions.sessionTimeoutMs)
  m = await scrape(app)
  t.equal(m.value('musicshare_sessions_ended_total', { reason: 'expired' }), 1, 'an idle session expires with its own reason')
  t.equal(m.value('musicshare_active_sessions'), 0)
  t.equal(m.value('musicshare_session_listeners_max'), 0)
})

t.test('METRICS_SESSION_LABELS=true: listeners per session id, each series removed when its session ends', async (t) => {
  const app = await build(t, { METRICS_SESSION_LABELS: 'true' })
  await twoSessionsWithListeners(t, app)
  let m = await scrape(app)
  t.equal(m.value('musicshare_active_sessions'), 2)
  t.equal(m.value('musicshare_sessions_started_total'), 2)
  t.equal(m.value('musicshare_session_listeners', { session_id: '123456' }), 2)
  t.equal(m.value('musicshare_session_listeners', { session_id: '654321' }), 1)
  t.equal(m.value('musicshare_listeners'), 3)

  const stop = await app.inject({ method: 'POST', url: '/api/share/123456/stop', headers: CLIENT_HEADERS })
  t.equal(stop.statusCode, 200)
  m = await scrape(app)
  t.equal(m.value('musicshare_active_sessions'), 1)
  t.equal(m.value('musicshare_sessions_ended_total', { reason: 'stopped' }), 1)
  t.equal(m.value('musicshare_session_listeners', { session_id: '123456' }), undefined, 'the stopped session has no series')
  t.notMatch(m.text, /session_id="123456"/)
  t.equal(m.value('musicshare_session_listeners', { session_id: '654321' }), 1)
  t.equal(m.value('musicshare_listeners'), 1)

  app.sessions.sweep(Date.now() + app.config.sessions.sessionTimeoutMs)
  m = await scrape(app)
  t.equal(m.value('musicshare_sessions_ended_total', { reason: 'expired' }), 1, 'an idle session expires with its own reason')
  t.equal(m.value('musicshare_active_sessions'), 0)
  t.notMatch(m.text, /musicshare_session_listeners\{/)
})

t.test('audio: bytes in and out are the decoded bytes, exactly; duplicates and empty polls add nothing', async (t) => {
  const app = await build(t)
  await startSession(app)
  const post = (seq: number) => app.inject({ method: 'POST', url: '/api/share/123456/audio', headers: JSON_HEADERS, payload: clientChunk(seq) })
  t.equal((await post(0)).statusCode, 200)
  let m = await scrape(app)
  t.equal(m.value('musicshare_audio_received_bytes_total'), CHUNK_BYTES, 'one chunk: 44100 float32 samples')
  t.equal(m.value('musicshare_audio_buffer_bytes'), [...app.sessions.activeSessions()][0]!.audio.bytesHeld,
    'the buffer gauge is what the rings hold')
  t.ok(m.value('musicshare_audio_buffer_bytes')! >= CHUNK_BYTES)

  t.equal((await post(0)).json().buffered, false)
  t.equal((await post(1)).statusCode, 200)
  m = await scrape(app)
  t.equal(m.value('musicshare_audio_received_bytes_total'), 2 * CHUNK_BYTES, 'the duplicate was not counted')

  const poll = (since: number, client: string) => app.inject({
    method: 'GET', url: `/api/share/123456/audio?since=${since}`, headers: { ...CLIENT_HEADERS, 'x-client-id': client }
  })
  const first = await poll(-1, 'receiver-one-0001')
  t.equal(first.statusCode, 200)
  const served = (first.json() as unknown[]).length
  t.ok(served >= 1)
  const none = await poll(1, 'receiver-one-0001')
  t.equal(none.statusCode, 204)
  const second = await poll(0, 'receiver-two-0002')
  t.equal((second.json() as unknown[]).length, 1)
  m = await scrape(app)
  t.equal(m.value('musicshare_audio_sent_bytes_total'), (served + 1) * CHUNK_BYTES, 'every served chunk, once per receiver')

  await app.inject({ method: 'POST', url: '/api/share/123456/stop', headers: CLIENT_HEADERS })
  m = await scrape(app)
  t.equal(m.value('musicshare_audio_buffer_bytes'), 0, 'a stopped session holds no audio')
})

t.test('metadata updates and buffer overflows are counted', async (t) => {
  const app = await build(t, { AUDIO_BUFFER_SECONDS: '0.5' })
  await startSession(app)
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/share/123456/metadata', headers: JSON_HEADERS, payload: clientMetadata() })
    t.equal(res.statusCode, 200)
  }
  const post = (seq: number) => app.inject({ method: 'POST', url: '/api/share/123456/audio', headers: JSON_HEADERS, payload: clientChunk(seq) })
  await post(0)
  // A receiver fetches chunk 0; the 0.5 s window holds one chunk, so chunk 2 pushes out chunk 1 unfetched.
  const got = await app.inject({ method: 'GET', url: '/api/share/123456/audio?since=-1', headers: CLIENT_HEADERS })
  t.equal(got.statusCode, 200)
  await post(1)
  let m = await scrape(app)
  t.equal(m.value('musicshare_buffer_overflows_total'), 0, 'evicting a chunk every receiver had is no overflow')
  await post(2)
  m = await scrape(app)
  t.equal(m.value('musicshare_metadata_updates_total'), 3)
  t.equal(m.value('musicshare_buffer_overflows_total'), 1)
})

t.test('errors by code, auth failures and rate-limited requests', async (t) => {
  const app = await build(t, { RATE_LIMIT_STARTS_PER_MINUTE: '1' })
  const noToken = await app.inject({ method: 'GET', url: '/api/share/123456/status' })
  t.equal(noToken.statusCode, 401)
  const wrong = await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: { authorization: 'Bearer nope' } })
  t.equal(wrong.statusCode, 401)
  const missing = await app.inject({ method: 'GET', url: '/api/share/123456/metadata', headers: CLIENT_HEADERS })
  t.equal(missing.statusCode, 404)
  await startSession(app)
  const limited = await app.inject({ method: 'POST', url: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId: '222222' } })
  t.equal(limited.statusCode, 429)
  const unknown = await app.inject({ method: 'GET', url: '/no/such/route' })
  t.equal(unknown.statusCode, 404)

  const m = await scrape(app)
  t.equal(m.value('musicshare_auth_failures_total'), 2)
  t.equal(m.value('musicshare_errors_total', { code: 'UNAUTHORIZED' }), 2)
  t.equal(m.value('musicshare_errors_total', { code: 'SESSION_NOT_FOUND' }), 1)
  t.equal(m.value('musicshare_errors_total', { code: 'RATE_LIMITED' }), 1)
  t.equal(m.value('musicshare_errors_total', { code: 'NOT_FOUND' }), 1)
  t.equal(m.value('musicshare_rate_limited_requests_total', { route: '/api/share/start' }), 1)
})

t.test('request durations are labelled by route pattern, method and status class, never the raw URL', async (t) => {
  const app = await build(t)
  await startSession(app, '987654')
  await app.inject({ method: 'GET', url: '/api/share/987654/status', headers: CLIENT_HEADERS })
  await app.inject({ method: 'GET', url: '/api/share/987654/status', headers: CLIENT_HEADERS })
  await app.inject({ method: 'GET', url: '/api/share/111111/status', headers: CLIENT_HEADERS })
  await app.inject({ method: 'GET', url: '/987654/nothing-here' })
  const m = await scrape(app)
  const count = (labels: Record<string, string>) => m.value('musicshare_http_request_duration_seconds_count', labels)
  t.equal(count({ route: '/api/share/:sessionId/status', method: 'GET', status_class: '2xx' }), 2)
  t.equal(count({ route: '/api/share/:sessionId/status', method: 'GET', status_class: '4xx' }), 1)
  t.equal(count({ route: '/api/share/start', method: 'POST', status_class: '2xx' }), 1)
  t.equal(count({ route: 'unmatched', method: 'GET', status_class: '4xx' }), 1)
  const durations = m.samples.filter((s) => s.name.startsWith('musicshare_http_request_duration_seconds'))
  t.notOk(durations.some((s) => /\d{6}/.test(s.labels.route ?? '')), 'no session id in any route label')
  const buckets = m.samples
    .filter((s) => s.name === 'musicshare_http_request_duration_seconds_bucket' && s.labels.route === '/api/share/start')
    .map((s) => s.labels.le)
  t.same(buckets.slice(0, 4), ['0.00025', '0.0005', '0.00075', '0.001'], 'sub-millisecond buckets')
  t.equal(buckets.at(-2), '1')
})

t.test('METRICS_TOKEN protects /metrics; the failure is itself counted', async (t) => {
  const app = await build(t, { METRICS_TOKEN: 'scrape-secret' })
  const open = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(open.statusCode, 401)
  t.match(open.json(), { success: false, code: 'UNAUTHORIZED' })
  t.equal(open.headers['www-authenticate'], 'Bearer')
  const shareToken = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(shareToken.statusCode, 401, 'the sharing token is not the metrics token')
  const m = await scrape(app, { authorization: 'Bearer scrape-secret' })
  t.equal(m.value('musicshare_auth_failures_total'), 2)
})

t.test('METRICS_ENABLED=false: no /metrics, no response-time figures, the API unchanged', async (t) => {
  const app = await build(t, { METRICS_ENABLED: 'false' })
  t.equal(app.metrics, null)
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404)
  await startSession(app)
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
  t.equal(health.json().responseTimes, null)
})

t.test('a real server: scraping over HTTP after real traffic', async (t) => {
  const app = await build(t, { BASE_PATH: '/songrequests' })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const api = `${base}/songrequests/api/share`
  const start = await fetch(`${api}/start`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ sessionId: '135790' }) })
  t.equal(start.status, 200)
  const audio = await fetch(`${api}/135790/audio`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(clientChunk(0)) })
  t.equal(audio.status, 200)
  const poll = await fetch(`${api}/135790/audio?since=-1`, { headers: CLIENT_HEADERS })
  t.equal(poll.status, 200)
  await poll.arrayBuffer()
  const res = await fetch(`${base}/songrequests/metrics`)
  t.equal(res.status, 200)
  const samples = parse(await res.text())
  const v = (name: string, labels: Record<string, string> = {}) => samples.find((s) => s.name === name &&
    Object.entries(labels).every(([k, val]) => s.labels[k] === val))?.value
  t.equal(v('musicshare_active_sessions'), 1)
  t.equal(v('musicshare_audio_received_bytes_total'), CHUNK_BYTES)
  t.equal(v('musicshare_audio_sent_bytes_total'), CHUNK_BYTES)
  t.equal(v('musicshare_http_request_duration_seconds_count',
    { route: '/songrequests/api/share/:sessionId/audio', method: 'POST', status_class: '2xx' }), 1)
})

t.test('a scrape with live sessions names no session id, key, title, artist or client address', async (t) => {
  const app = await build(t, { TRUST_PROXY: 'true' })
  const clientAddress = '203.0.113.77'
  const secrets: string[] = [clientAddress]
  for (const [sessionId, title, artist] of [['246801', 'Zyxwv Title', 'Qwertz Artist'], ['975310', 'Plover Song', 'Xanadu Band']] as const) {
    const start = await app.inject({ method: 'POST', url: '/api/share/start', headers: { ...JSON_HEADERS, 'x-forwarded-for': clientAddress }, payload: { sessionId } })
    t.equal(start.statusCode, 200)
    const { listenKey, sharerKey } = start.json() as { listenKey: string, sharerKey: string }
    secrets.push(sessionId, listenKey, sharerKey, title, artist)
    const sharer = { ...JSON_HEADERS, 'x-forwarded-for': clientAddress, 'x-sharer-key': sharerKey }
    t.equal((await app.inject({ method: 'POST', url: `/api/share/${sessionId}/metadata`, headers: sharer, payload: clientMetadata({ title, artist }) })).statusCode, 200)
    t.equal((await app.inject({ method: 'POST', url: `/api/share/${sessionId}/audio`, headers: sharer, payload: clientChunk(0) })).statusCode, 200)
    // Receivers by bearer token and by listen key, and a few failures whose URLs carry the id and key.
    t.equal((await app.inject({ method: 'GET', url: `/api/share/${sessionId}/metadata`, headers: { ...CLIENT_HEADERS, 'x-forwarded-for': clientAddress } })).statusCode, 200)
    t.equal((await app.inject({ method: 'GET', url: `/api/share/${sessionId}/audio?since=-1&key=${listenKey}`, headers: { 'x-forwarded-for': clientAddress } })).statusCode, 200)
    t.equal((await app.inject({ method: 'GET', url: `/api/share/${sessionId}/nothing-here?key=${listenKey}` })).statusCode, 404)
    t.equal((await app.inject({ method: 'POST', url: `/api/share/${sessionId}/stop?key=${listenKey}` })).statusCode, 401, 'a listen key does not stop a share')
  }
  const m = await scrape(app)
  t.equal(m.value('musicshare_active_sessions'), 2, 'the sessions are live while scraped')
  t.equal(m.value('musicshare_listeners'), 4, 'two receivers of each')
  for (const secret of secrets) t.notOk(m.text.includes(secret), `the scrape does not contain ${secret.length > 12 ? 'a key' : secret}`)
})

t.test('without METRICS_TOKEN only loopback and private addresses may scrape; with it, any address holding it', async (t) => {
  const open = await build(t)
  for (const remoteAddress of ['127.0.0.1', '::1', '10.1.2.3', '172.20.0.5', '192.168.1.20', '::ffff:192.168.1.20', 'fd12:3456::1']) {
    t.equal((await open.inject({ method: 'GET', url: '/metrics', remoteAddress })).statusCode, 200, `${remoteAddress} may scrape`)
  }
  for (const remoteAddress of ['203.0.113.7', '8.8.8.8', '2001:db8::1', '::ffff:203.0.113.7']) {
    const res = await open.inject({ method: 'GET', url: '/metrics', remoteAddress })
    t.equal(res.statusCode, 403, `${remoteAddress} may not`)
    t.match(res.json(), { success: false, code: 'FORBIDDEN', error: /METRICS_TOKEN/, timestamp: Number })
  }

  const locked = await build(t, { METRICS_TOKEN: 'scrape-secret' })
  const remoteAddress = '203.0.113.7'
  t.equal((await locked.inject({ method: 'GET', url: '/metrics', remoteAddress, headers: { authorization: 'Bearer scrape-secret' } })).statusCode, 200,
    'the token opens it from a public address')
  t.equal((await locked.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode, 401, 'and is needed from loopback too')
})

t.test('the limits an instance runs with are exported, for alerts to compare against', async (t) => {
  const app = await build(t, { MAX_SESSIONS: '7', MAX_HEAP_USED_MB: '300' })
  const m = await scrape(app)
  t.equal(m.value('musicshare_max_sessions'), 7)
  t.equal(m.value('musicshare_max_heap_used_bytes'), 300 * 1024 * 1024)
  const off = await scrape(await build(t, { MAX_HEAP_USED_MB: '0' }))
  t.equal(off.value('musicshare_max_heap_used_bytes'), 0, '0 when heap shedding is off')
})

t.test('push: open connections and held long-polls are gauges; frames dropped for slow listeners and their disconnects are counted', async (t) => {
  const app = await build(t)
  const base = await listen(app)
  await startOver(base)
  let m = await scrape(app)
  for (const n of ['musicshare_push_connections', 'musicshare_long_polls_held', 'musicshare_push_dropped_frames_total', 'musicshare_push_slow_disconnects_total']) {
    t.equal(m.value(n), 0, `${n} starts at 0`)
  }
  const stream = await openStream(`${base}/api/share/123456/stream.wav`)
  t.teardown(() => stream.req.destroy())
  const held = fetch(`${base}/api/share/123456/audio?since=-1&waitMs=5000`, { headers: CLIENT_HEADERS })
  await until(() => app.push.hub.connections === 1 && app.push.waiters.held === 1, 'a stream attached and a long-poll held')
  m = await scrape(app)
  t.equal(m.value('musicshare_push_connections'), 1)
  t.equal(m.value('musicshare_long_polls_held'), 1)

  // The hub's running totals (test/push/slow-readers.test.ts makes them with a real paused reader).
  app.push.hub.stats.droppedFrames += 41
  app.push.hub.stats.slowDisconnects += 1
  m = await scrape(app)
  t.equal(m.value('musicshare_push_dropped_frames_total'), 41)
  t.equal(m.value('musicshare_push_slow_disconnects_total'), 1)
  app.push.hub.stats.droppedFrames += 4
  m = await scrape(app)
  t.equal(m.value('musicshare_push_dropped_frames_total'), 45, 'a counter follows the total, not each scrape\'s delta')
  t.equal(m.value('musicshare_push_slow_disconnects_total'), 1)

  await postAudio(base, 0, sine(22050))
  t.equal((await held).status, 200, 'the long-poll was answered')
  const answered = await fetch(`${base}/api/share/123456/audio?since=-1&waitMs=5000`, { headers: { ...CLIENT_HEADERS, 'x-client-id': 'receiver-two-0002' } })
  t.equal(answered.status, 200, 'a long-poll with a chunk buffered is answered at once')
  await answered.arrayBuffer()
  m = await scrape(app)
  const count = (route: string) => m.value('musicshare_http_request_duration_seconds_count', { route, method: 'GET', status_class: '2xx' })
  t.equal(count('/api/share/:sessionId/audio (held)'), 1, 'the held long-poll has its own route label: its duration is the wait')
  t.equal(count('/api/share/:sessionId/audio'), 1, 'one answered at once is an ordinary poll')
  const health = (await app.inject({ url: '/health' })).json() as { responseTimes: { requests: number } }
  t.equal(health.responseTimes.requests, 3, '/health\'s response times leave the held one out (start, audio POST, the quick poll)')
})

t.test('without REDIS_URL there is no Redis or cluster series at all', async (t) => {
  const m = await scrape(await build(t))
  t.notMatch(m.text, /musicshare_(redis|cluster)_/)
})

t.test('with REDIS_URL: the snapshot is up, flushes are counted, an outage shows; takeovers are counted on the instance that takes over', { skip: redisBinary.skip }, async (t) => {
  const redis = await PrivateRedis.start(t)
  // Flushes are driven by the test.
  const env = { REDIS_URL: redis.url, REDIS_FLUSH_INTERVAL_MS: '10000' }
  const a = await build(t, { ...env, INSTANCE_ID: 'node-a' })
  const b = await build(t, { ...env, INSTANCE_ID: 'node-b' })
  let m = await scrape(a)
  t.equal(m.value('musicshare_redis_up'), 1)
  for (const n of ['musicshare_redis_outages_total', 'musicshare_redis_flush_failures_total', 'musicshare_cluster_takeovers_total',
    'musicshare_cluster_takeovers_from_live_total', 'musicshare_cluster_sessions_moved_away_total', 'musicshare_cluster_heartbeat_failures_total']) {
    t.equal(m.value(n), 0, `${n} starts at 0`)
  }

  await startSession(a)
  t.equal((await a.inject({ method: 'POST', url: '/api/share/123456/audio', headers: JSON_HEADERS, payload: clientChunk(0) })).statusCode, 200)
  t.equal((await scrape(a)).value('musicshare_redis_pending_sessions'), 1, 'the session waits for the next flush')
  await a.redisSnapshot!.tick()
  m = await scrape(a)
  t.equal(m.value('musicshare_redis_flushes_total'), a.redisSnapshot!.stats.flushes)
  t.ok(m.value('musicshare_redis_flushes_total')! >= 1)
  t.equal(m.value('musicshare_redis_pending_sessions'), 0)
  t.ok(m.value('musicshare_redis_last_flush_seconds')! > 0, 'the last flush took some time')

  // B is asked for A's session (a rebalance): B takes it over from a live instance, A drops it at its next write.
  t.equal((await b.inject({ url: '/api/share/123456/status', headers: CLIENT_HEADERS })).statusCode, 200)
  m = await scrape(b)
  t.equal(m.value('musicshare_cluster_takeovers_total'), 1)
  t.equal(m.value('musicshare_cluster_takeovers_from_live_total'), 1)
  t.equal((await a.inject({ method: 'POST', url: '/api/share/123456/audio', headers: JSON_HEADERS, payload: clientChunk(1) })).statusCode, 200)
  await a.redisSnapshot!.tick()
  t.equal((await scrape(a)).value('musicshare_cluster_sessions_moved_away_total'), 1)

  await redis.stop()
  await eventually(async () => (await scrape(a)).value('musicshare_redis_up') === 0 || undefined, 'redis_up 0 once Redis is gone')
  t.equal((await scrape(a)).value('musicshare_redis_outages_total'), 1, 'one outage')
})

t.test('behind a proxy the check reads the address the proxy saw, not a forged first X-Forwarded-For entry', async (t) => {
  const app = await build(t, { TRUST_PROXY: 'true' })
  const scrape = (forwardedFor: string) => app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': forwardedFor } })
  t.equal((await scrape('10.0.0.1, 203.0.113.9')).statusCode, 403, 'a public client that wrote a private address first is refused')
  t.equal((await scrape('203.0.113.9')).statusCode, 403)
  t.equal((await scrape('192.168.1.7')).statusCode, 200, 'a scraper on the private side of the proxy may')
})
