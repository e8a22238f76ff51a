import t from 'tap'
import { createHash } from 'node:crypto'
import { build, clientMetadata, errorShape, JSON_HEADERS } from '../helper.js'
import { listen, openStream, openWs, postAudio, postMetadata, startOver } from './push-helper.js'
import { sine } from '../helper.js'
import { ListenKeys, redactQuery } from '../../src/auth/listen-key.js'

const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex')

t.test('ListenKeys: HMAC of the session id, per secret; anything else is refused', async (t) => {
  const keys = new ListenKeys('a secret of sixteen+ chars')
  const key = keys.keyFor('123456')
  t.match(key, /^[A-Za-z0-9_-]{43}$/)
  t.ok(keys.verify('123456', key))
  t.notOk(keys.verify('654321', key), 'grants one session only')
  t.notOk(new ListenKeys('another secret, other process').verify('123456', key), 'bound to the secret')
  t.notOk(keys.verify('123456', key.slice(0, -1)))
  t.notOk(keys.verify('123456', key + '!'), 'stray characters are not skipped')
  t.notOk(keys.verify('123456', ''))
  t.throws(() => new ListenKeys(''))
  t.equal(redactQuery('/api/share/1/events?key=abc'), '/api/share/1/events?[redacted]')
  t.equal(redactQuery('/api/share/1/events'), '/api/share/1/events')
})

t.test('start returns listenKey and listenUrl next to its unchanged fields; LISTEN_KEY_SECRET makes keys stable', async (t) => {
  const app = await build(t, { LISTEN_KEY_SECRET: 'x'.repeat(32) })
  const res = await app.inject({ method: 'POST', url: '/api/share/start', headers: { ...JSON_HEADERS, host: 'relay.example:5000' }, payload: { sessionId: '123456' } })
  const body = res.json()
  t.same(Object.keys(body), ['success', 'sessionId', 'timestamp', 'listenKey', 'sharerKey', 'listenUrl'])
  t.match(body, { success: true, sessionId: '123456', timestamp: Number })
  t.equal(body.listenKey, new ListenKeys('x'.repeat(32)).keyFor('123456'))
  t.equal(body.listenUrl, `http://relay.example:5000/listen/123456?key=${body.listenKey}`, 'the listener page')
})

t.test('a listen key opens every receiving route of its session and no other; write routes need the bearer token', async (t) => {
  const lines: string[] = []
  const app = await build(t, {}, { logger: { level: 'debug', stream: { write: (l: string) => lines.push(l) } } })
  const base = await listen(app)
  const { listenKey } = await startOver(base)
  const other = await startOver(base, '654321')
  await postMetadata(base, clientMetadata({ thumbnailData: JPEG.toString('base64') }))
  await postAudio(base, 0, sine(4410))
  const art = `/art/${createHash('sha256').update(JPEG).digest('base64url').slice(0, 32)}`

  for (const path of ['/status', '/metadata', '/audio?since=-1', art]) {
    const ok = await fetch(`${base}/api/share/123456${path}${path.includes('?') ? '&' : '?'}key=${listenKey}`)
    t.equal(ok.status, 200, `${path} with the key`)
    const wrong = await fetch(`${base}/api/share/123456${path}${path.includes('?') ? '&' : '?'}key=${other.listenKey}`)
    t.equal(wrong.status, 401, `${path} with another session's key`)
    t.match(await wrong.json(), errorShape('UNAUTHORIZED'))
    t.equal((await fetch(`${base}/api/share/123456${path}`)).status, 401, `${path} without any credential`)
  }
  for (const path of ['/events', '/stream.wav']) {
    const ok = await openStream(`${base}/api/share/123456${path}?key=${listenKey}`, {})
    t.equal(ok.res.statusCode, 200, `${path} with the key`)
    ok.req.destroy()
    const wrong = await openStream(`${base}/api/share/123456${path}?key=nonsense`, {})
    t.equal(wrong.res.statusCode, 401, `${path} with a wrong key`)
    wrong.res.resume()
  }
  const ws = await openWs(`${base}/api/share/123456/ws?key=${listenKey}`, {})
  t.equal(ws.status, 101)
  ws.ws.close()
  t.equal((await openWs(`${base}/api/share/123456/ws?key=${other.listenKey}`, {})).status, 401)

  const write = (path: string, body?: unknown) => fetch(`${base}/api/share/123456${path}?key=${listenKey}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body)
  })
  for (const res of [await write('/metadata', clientMetadata()), await write('/audio', { data: 'AAAAAAAAAAA=', sampleRate: 44100, channels: 2, sequenceNumber: 9 }), await write('/stop')]) {
    t.equal(res.status, 401, 'a listen key never writes')
  }
  const start = await fetch(`${base}/api/share/start?key=${listenKey}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sessionId: '111111' }) })
  t.equal(start.status, 401)

  // An upgrade to a plain route is logged by @fastify/websocket with its URL: the query goes.
  const plain = await openWs(`${base}/api/share/123456/status?key=${listenKey}`, {})
  await plain.closed
  await app.close()
  t.ok(lines.some((l) => l.includes('authentication failed')), 'failures are logged')
  t.ok(lines.some((l) => l.includes('/api/share/123456/status?[redacted]')), 'logged URLs keep their path only')
  t.notOk(lines.some((l) => l.includes(listenKey) || l.includes(other.listenKey)), 'no key in any log line')
})

t.test('art: content-addressed, ETag and long cache headers, 304 on If-None-Match, image/jpeg bytes', async (t) => {
  const app = await build(t)
  const base = await listen(app)
  await startOver(base)
  await postMetadata(base, clientMetadata({ thumbnailData: JPEG.toString('base64') }))
  const hash = createHash('sha256').update(JPEG).digest('base64url').slice(0, 32)
  const url = `${base}/api/share/123456/art/${hash}`
  const res = await fetch(url, { headers: JSON_HEADERS })
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-type'), 'image/jpeg')
  t.equal(res.headers.get('etag'), `"${hash}"`)
  t.match(res.headers.get('cache-control'), /max-age=31536000.*immutable/)
  t.ok(Buffer.from(await res.arrayBuffer()).equals(JPEG), 'the decoded bytes')
  const cached = await fetch(url, { headers: { ...JSON_HEADERS, 'if-none-match': `W/"x", "${hash}"` } })
  t.equal(cached.status, 304)
  t.equal(await cached.text(), '')
  t.equal((await fetch(url, { headers: { ...JSON_HEADERS, 'if-none-match': '"other"' } })).status, 200)
  t.equal((await fetch(`${base}/api/share/123456/art/${'A'.repeat(32)}`, { headers: JSON_HEADERS })).status, 404)
  t.equal((await fetch(`${base}/api/share/123456/art/short`, { headers: JSON_HEADERS })).status, 400)

  // A new cover gets a new URL; repeats of the same cover keep it (decoded once per change).
  const other = Buffer.concat([JPEG.subarray(0, -2), Buffer.from([1, 2]), JPEG.subarray(-2)])
  await postMetadata(base, clientMetadata({ thumbnailData: other.toString('base64') }))
  const events = await openStream(`${base}/api/share/123456/events`)
  let text = ''
  events.res.setEncoding('utf8')
  await new Promise<void>((resolve) => events.res.on('data', (d: string) => { text += d; if (text.includes('event: status')) resolve() }))
  const newHash = createHash('sha256').update(other).digest('base64url').slice(0, 32)
  t.match(text, `"thumbnailUrl":"/api/share/123456/art/${newHash}"`)
  t.equal((await fetch(url, { headers: JSON_HEADERS })).status, 200, 'the previous cover is still served for a while')
  events.req.destroy()
  await postMetadata(base, clientMetadata({ thumbnailData: null }))
})
