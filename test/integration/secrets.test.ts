import t from 'tap'
import { buildApp } from '../../app.js'
import { clientChunk, clientMetadata, CLIENT_HEADERS, JSON_HEADERS, testConfig, TOKEN } from '../helper.js'

t.test('the logs of a whole session, a 401, a 403 and a 500 at trace level carry no token, key, audio or thumbnail', async (t) => {
  const lines: string[] = []
  const app = await buildApp(testConfig(), { logger: { level: 'trace', stream: { write: (l: string) => { lines.push(l) } } } })
  t.teardown(() => app.close())
  app.get('/test-only/boom', async (request) => {
    throw new Error(`boom while handling ${request.headers.authorization === undefined ? 'nothing' : 'a request'}`)
  })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })

  const thumbnail = Buffer.alloc(3000, 0xab).toString('base64')
  const chunk = clientChunk(0)
  const post = (path: string, body?: unknown) => fetch(`${base}/api/share${path}`, {
    method: 'POST', headers: body === undefined ? CLIENT_HEADERS : JSON_HEADERS, body: body === undefined ? undefined : JSON.stringify(body)
  })
  const started = await post('/start', { sessionId: '123456' })
  t.equal(started.status, 200)
  const { listenKey, sharerKey } = await started.json() as { listenKey: string, sharerKey: string }
  t.equal((await post('/123456/metadata', clientMetadata({ thumbnailData: thumbnail }))).status, 200)
  // The keys in use: a write with the sharer key, reads with the listen key (right and wrong).
  const keyed = await fetch(`${base}/api/share/123456/metadata`, {
    method: 'POST', headers: { ...JSON_HEADERS, 'x-sharer-key': sharerKey }, body: JSON.stringify(clientMetadata({ thumbnailData: thumbnail }))
  })
  t.equal(keyed.status, 200)
  t.equal((await fetch(`${base}/api/share/123456/status?key=${listenKey}`)).status, 200)
  t.equal((await fetch(`${base}/api/share/123456/status?key=${listenKey.slice(0, -2)}xx`)).status, 401)
  const forbidden = await fetch(`${base}/api/share/123456/stop`, { method: 'POST', headers: { ...CLIENT_HEADERS, 'x-sharer-key': `${sharerKey}-wrong` } })
  t.equal(forbidden.status, 403)
  t.equal((await post('/123456/audio', chunk)).status, 200)
  t.equal((await post('/123456/audio', { ...chunk, sequenceNumber: 1, data: chunk.data.slice(0, -4) + '!!!!' })).status, 400)
  for (const path of ['/123456/status', '/123456/metadata', '/123456/audio?since=-1']) {
    t.equal((await fetch(`${base}/api/share${path}`, { headers: CLIENT_HEADERS })).status, 200)
  }
  const wrong = await fetch(`${base}/api/share/123456/status`, { headers: { authorization: `Bearer ${TOKEN}-wrong` } })
  t.equal(wrong.status, 401)
  const boom = await fetch(`${base}/test-only/boom`, { headers: CLIENT_HEADERS })
  t.equal(boom.status, 500)
  const body = await boom.json() as Record<string, unknown>
  t.same(Object.keys(body).sort(), ['code', 'error', 'success', 'timestamp'], 'a 5xx body carries nothing but the uniform fields')
  t.equal(body.error, 'Internal server error')
  t.equal((await post('/123456/stop')).status, 200)
  await app.close()

  const log = lines.join('')
  t.ok(lines.length >= 5, `${lines.length} log lines captured`)
  t.match(log, /authentication failed/)
  t.match(log, /boom while handling/, 'the 500 is logged for operators')
  t.notMatch(log, new RegExp(TOKEN), 'no token')
  t.notMatch(log, new RegExp(listenKey.slice(0, 20)), 'no listen key')
  t.notMatch(log, new RegExp(sharerKey.slice(0, 20)), 'no sharer key')
  t.match(log, /write refused: not the sharer/, 'the refused write is logged (without its key)')
  t.notMatch(log, new RegExp(chunk.data.slice(100, 160).replace(/[+/]/g, '\\$&')), 'no audio')
  t.notMatch(log, new RegExp(thumbnail.slice(0, 60)), 'no thumbnail')
  t.notMatch(boom.headers.get('content-type') ?? '', /html/)
})
