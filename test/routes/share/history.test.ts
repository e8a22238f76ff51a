import t from 'tap'
import { build, clientMetadata, CLIENT_HEADERS, errorShape, JSON_HEADERS, startSession } from '../../helper.js'
import { AUTH, listen, openStream, openWs, postMetadata, SseReader, startOver, until } from '../../push/push-helper.js'
import { coverHash } from '../../../src/history/cover-hash.js'

const URL = '/api/share/123456/history'

t.test('GET /:id/history: the songs so far, one entry per play however often the sharer posts', async (t) => {
  const app = await build(t, { RATE_LIMIT_METADATA_PER_SECOND: '1000' })
  const { listenKey } = await startSession(app)
  const empty = await app.inject({ url: URL, headers: CLIENT_HEADERS })
  t.same(empty.json(), { sessionId: '123456', isActive: true, songs: [] })
  const post = (over: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/api/share/123456/metadata', headers: JSON_HEADERS, payload: clientMetadata(over) })
  for (let p = 0; p < 5; p += 0.5) await post({ title: 'One', elapsedSeconds: p })
  for (let p = 0; p < 3; p += 0.5) await post({ title: 'Two', elapsedSeconds: p, thumbnailData: null })

  const res = await app.inject({ url: `${URL}?key=${listenKey}` })
  t.equal(res.statusCode, 200, 'a listen key opens it')
  const { songs } = res.json()
  t.match(songs, [
    { n: 1, title: 'One', artist: 'Artist Name', coverHash: coverHash(clientMetadata().thumbnailData), startPosition: 0, durationSeconds: 180.5, endedAt: Number },
    { n: 2, title: 'Two', coverHash: null, endedAt: null }
  ])
  t.equal(songs.length, 2)
  t.equal(songs[0].endedAt, songs[1].startedAt, 'a play ends when the next starts')

  t.equal((await app.inject({ url: `${URL}?key=wrong` })).statusCode, 401)
  t.equal((await app.inject({ url: URL })).statusCode, 401)
  t.match((await app.inject({ url: '/api/share/12345x/history', headers: CLIENT_HEADERS })).json(), errorShape('VALIDATION_ERROR'))
  t.match((await app.inject({ url: '/api/share/654321/history', headers: CLIENT_HEADERS })).json(), errorShape('SESSION_NOT_FOUND'))

  // After the end, while the ended marker is kept: the last play is closed at the end.
  await app.inject({ method: 'POST', url: '/api/share/123456/stop', headers: CLIENT_HEADERS })
  const after = (await app.inject({ url: URL, headers: CLIENT_HEADERS })).json()
  t.match(after, { isActive: false, songs: [{ n: 1 }, { n: 2, endedAt: Number }] })
})

t.test('an ended marker past its retention: the history is gone with it', async (t) => {
  const app = await build(t, { ENDED_RETENTION_MINUTES: '0' })
  await startSession(app)
  await app.inject({ method: 'POST', url: '/api/share/123456/stop', headers: CLIENT_HEADERS })
  app.sessions.sweep(Date.now() + 1)
  t.equal((await app.inject({ url: URL, headers: CLIENT_HEADERS })).statusCode, 404)
})

t.test('song events over WebSocket and SSE: each play as it starts and ends, the last one closed before `ended`', async (t) => {
  const app = await build(t)
  const base = await listen(app)
  await startOver(base)
  const ws = await openWs(`${base}/api/share/123456/ws`)
  const sse = await openStream(`${base}/api/share/123456/events`)
  const events = new SseReader(sse.res)
  await until(() => app.push.hub.listenerCount('123456') === 2, 'both listening')

  await postMetadata(base, clientMetadata({ title: 'First', elapsedSeconds: 0.2 }))
  await postMetadata(base, clientMetadata({ title: 'First', elapsedSeconds: 0.7 }))
  await postMetadata(base, clientMetadata({ title: 'Second', elapsedSeconds: 0.1 }))
  await fetch(`${base}/api/share/123456/stop`, { method: 'POST', headers: AUTH })
  await events.until(() => events.events.some((e) => e.event === 'ended'))
  await ws.closed

  const fromWs = ws.json().filter((e) => e.type === 'song' || e.type === 'ended')
  t.match(fromWs, [
    { type: 'song', n: 1, title: 'First', endedAt: null },
    { type: 'song', n: 1, title: 'First', endedAt: Number },
    { type: 'song', n: 2, title: 'Second', endedAt: null },
    { type: 'song', n: 2, title: 'Second', endedAt: Number },
    { type: 'ended' }
  ])
  t.equal(fromWs.length, 5)
  const fromSse = events.events.filter((e) => e.event === 'song').map((e) => e.data)
  t.same(fromSse, ws.json().filter((e) => e.type === 'song'), 'SSE carries the same events, with the same ids')
})
