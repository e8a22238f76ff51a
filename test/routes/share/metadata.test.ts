import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { build, clientMetadata, CLIENT_HEADERS, errorShape, JSON_HEADERS, startSession } from '../../helper.js'

const URL = '/api/share/123456/metadata'

t.test('metadata round-trips exactly, with every numeric and boolean field present', async (t) => {
  const app = await build(t)
  await startSession(app)
  const sent = clientMetadata()
  const post = await app.inject({ method: 'POST', url: URL, headers: JSON_HEADERS, payload: sent })
  t.equal(post.statusCode, 200)
  t.same(post.json(), { success: true, listenersNotified: 0 })

  const res = await app.inject({ method: 'GET', url: URL, headers: CLIENT_HEADERS })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), sent)
})

t.test('null lyrics and thumbnail stay null; a missing timestamp is filled with server time', async (t) => {
  const app = await build(t)
  await startSession(app)
  const { timestamp: _omit, ...withoutTimestamp } = clientMetadata({ lyrics: null, thumbnailData: null, hasSyncedLyrics: false })
  const before = Date.now()
  await app.inject({ method: 'POST', url: URL, headers: JSON_HEADERS, payload: withoutTimestamp })
  const body = (await app.inject({ method: 'GET', url: URL, headers: CLIENT_HEADERS })).json()
  t.equal(body.lyrics, null)
  t.equal(body.thumbnailData, null)
  t.equal(body.hasSyncedLyrics, false)
  t.ok(Number.isInteger(body.timestamp) && body.timestamp >= before, 'timestamp filled')
})

t.test('metadata validation: wrong types, nulls in numbers, negative and missing fields are 400 and change nothing', async (t) => {
  const app = await build(t)
  await startSession(app)
  await app.inject({ method: 'POST', url: URL, headers: JSON_HEADERS, payload: clientMetadata() })
  const bad = [
    { elapsedSeconds: null },
    { elapsedSeconds: '45.2' },
    { totalSeconds: -1 },
    { hasSyncedLyrics: 'true' },
    { hasSyncedLyrics: null },
    { title: null },
    { title: 5 },
    { timestamp: 1.5 },
    { timestamp: -3 },
    { lyrics: 7 }
  ]
  for (const over of bad) {
    const res = await app.inject({ method: 'POST', url: URL, headers: JSON_HEADERS, payload: clientMetadata({ title: 'Other', ...over }) })
    t.equal(res.statusCode, 400, JSON.stringify(over))
    t.match(res.json(), errorShape('VALIDATION_ERROR'))
  }
  const { artist: _a, ...noArtist } = clientMetadata()
  t.equal((await app.inject({ method: 'POST', url: URL, headers: JSON_HEADERS, payload: noArtist })).statusCode, 400)
  const stored = (await app.inject({ method: 'GET', url: URL, headers: CLIENT_HEADERS })).json()
  t.equal(stored.title, 'Song Title', 'the rejected updates did not replace the stored metadata')
})

t.test('1e309 (parsed as Infinity) is rejected', async (t) => {
  const app = await build(t)
  await startSession(app)
  const payload = JSON.stringify(clientMetadata()).replace('"elapsedSeconds":45.2', '"elapsedSeconds":1e309')
  const res = await app.inject({ method: 'POST', url: URL, headers: JSON_HEADERS, payload })
  t.equal(res.statusCode, 400)
})

t.test('a body over 5 MB is 413 PAYLOAD_TOO_LARGE; a 4 MB thumbnail is fine', async (t) => {
  const app = await build(t)
  await startSession(app)
  const big = await app.inject({ method: 'POST', url: URL, headers: JSON_HEADERS, payload: clientMetadata({ thumbnailData: 'A'.repeat(5 * 1024 * 1024) }) })
  t.equal(big.statusCode, 413)
  t.match(big.json(), errorShape('PAYLOAD_TOO_LARGE'))
  const ok = await app.inject({ method: 'POST', url: URL, headers: JSON_HEADERS, payload: clientMetadata({ thumbnailData: 'A'.repeat(4 * 1024 * 1024) }) })
  t.equal(ok.statusCode, 200)
})

t.test('GET metadata before any is posted is 404 with the spec message', async (t) => {
  const app = await build(t)
  await startSession(app)
  const res = await app.inject({ method: 'GET', url: URL, headers: CLIENT_HEADERS })
  t.equal(res.statusCode, 404)
  t.match(res.json(), { ...errorShape('METADATA_NOT_FOUND'), error: 'Session not found or no metadata available' })
})

t.test('metadata is served for METADATA_TTL_SECONDS after it was posted, then 404', async (t) => {
  const app = await build(t, { METADATA_TTL_SECONDS: '1' })
  await startSession(app)
  await app.inject({ method: 'POST', url: URL, headers: JSON_HEADERS, payload: clientMetadata() })
  t.equal((await app.inject({ method: 'GET', url: URL, headers: CLIENT_HEADERS })).statusCode, 200)
  await sleep(1100)
  const res = await app.inject({ method: 'GET', url: URL, headers: CLIENT_HEADERS })
  t.equal(res.statusCode, 404)
  t.match(res.json(), errorShape('METADATA_NOT_FOUND'))
})

t.test('metadata posts keep the session alive; receivers polling do not', async (t) => {
  const app = await build(t, { SESSION_TIMEOUT_MINUTES: '0.02' }) // 1.2 s
  await startSession(app, '111111')
  await startSession(app, '222222')
  const deadline = Date.now() + 1800
  while (Date.now() < deadline) {
    await app.inject({ method: 'POST', url: '/api/share/111111/metadata', headers: JSON_HEADERS, payload: clientMetadata() })
    await app.inject({ method: 'GET', url: '/api/share/222222/status', headers: CLIENT_HEADERS })
    await app.inject({ method: 'GET', url: '/api/share/222222/audio?since=-1', headers: CLIENT_HEADERS })
    await sleep(200)
  }
  await sleep(600) // let the sweep run
  const kept = (await app.inject({ method: 'GET', url: '/api/share/111111/status', headers: CLIENT_HEADERS })).json()
  t.equal(kept.isActive, true, 'the sharer that kept posting is alive')
  const expired = (await app.inject({ method: 'GET', url: '/api/share/222222/status', headers: CLIENT_HEADERS })).json()
  t.match(expired, { isActive: false, endReason: 'expired' }, 'only polled: expired')
})
