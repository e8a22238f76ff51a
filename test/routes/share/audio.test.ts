import t from 'tap'
import { build, clientChunk, CLIENT_HEADERS, errorShape, JSON_HEADERS, sine, startSession } from '../../helper.js'
import { encodeFloat32Base64 } from '../../../src/session/pcm-codec.js'

const POST_URL = '/api/share/123456/audio'
const poll = (app: Awaited<ReturnType<typeof build>>, since: number | string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url: `/api/share/123456/audio?since=${since}`, headers: { ...CLIENT_HEADERS, ...headers } })

t.test('a posted chunk comes back byte-identical, exactly the five client fields, as a JSON array', async (t) => {
  const app = await build(t)
  await startSession(app)
  const chunk = clientChunk(0)
  const res = await app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload: chunk })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { success: true, buffered: true })

  const got = await poll(app, -1)
  t.equal(got.statusCode, 200)
  t.match(got.headers['content-type'], /^application\/json/)
  const body = got.json()
  t.ok(Array.isArray(body))
  t.equal(body.length, 1)
  t.same(Object.keys(body[0]), ['data', 'sampleRate', 'channels', 'timestamp', 'sequenceNumber'])
  t.same(body[0], chunk)
  t.ok(Number.isInteger(body[0].timestamp))
})

t.test('since semantics: 204 with an empty body when nothing is newer, oldest first, at most 10', async (t) => {
  const app = await build(t, { AUDIO_BUFFER_SECONDS: '60' })
  await startSession(app)
  const empty = await poll(app, -1)
  t.equal(empty.statusCode, 204)
  t.equal(empty.body, '')
  for (let seq = 0; seq < 15; seq++) {
    await app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload: clientChunk(seq) })
  }
  const seqs = (res: { json: () => Array<{ sequenceNumber: number }> }) => res.json().map((c) => c.sequenceNumber)
  t.same(seqs(await poll(app, 2)), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'ten, oldest first')
  t.same(seqs(await poll(app, 12)), [13, 14])
  t.equal((await poll(app, 14)).statusCode, 204)
  t.equal((await poll(app, 100)).statusCode, 204)
  t.same(seqs(await poll(app, -1)), [11, 12, 13, 14], 'a new receiver starts near live: the newest 2 s (JOIN_BURST_SECONDS)')
})

t.test('the window is 5 s of audio: a receiver that fell behind gets the oldest chunks still held, byte-identical', async (t) => {
  const app = await build(t)
  await startSession(app)
  const sent = []
  for (let seq = 0; seq < 14; seq++) {
    sent.push(clientChunk(seq))
    await app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload: sent[seq] })
  }
  const res = await poll(app, 0)
  t.same(res.json().map((c: { sequenceNumber: number }) => c.sequenceNumber), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
  // Chunks older than the join burst are served from the samples (their JSON was released): same bytes.
  t.equal(res.body, JSON.stringify(sent.slice(4, 14)))
})

t.test('duplicates (sequence not after the last accepted) answer buffered:false and are not stored twice', async (t) => {
  const app = await build(t)
  await startSession(app)
  await app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload: clientChunk(5) })
  for (const seq of [5, 4, 0]) {
    const res = await app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload: clientChunk(seq, sine(100)) })
    t.same(res.json(), { success: true, buffered: false }, `seq ${seq}`)
  }
  const got = (await poll(app, -1)).json()
  t.equal(got.length, 1)
  t.equal(got[0].sequenceNumber, 5)
})

t.test('format changes mid-session (stereo to mono, 44.1 to 48 kHz) are relayed as sent', async (t) => {
  const app = await build(t)
  await startSession(app)
  const stereo = clientChunk(0)
  const mono = { data: encodeFloat32Base64(sine(4800, 0, 440, 48000, 1)), sampleRate: 48000, channels: 1, timestamp: 7, sequenceNumber: 1 }
  await app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload: stereo })
  t.same((await poll(app, -1)).json(), [stereo])
  t.equal((await app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload: mono })).statusCode, 200)
  t.same((await poll(app, 0)).json(), [mono])
  t.same((await poll(app, -1)).json(), [mono], 'the old format is gone from the window')
})

t.test('audio validation: every malformed chunk is 400/413 in the uniform format and stores nothing', async (t) => {
  const app = await build(t)
  await startSession(app)
  const good = clientChunk(0)
  const nan = new Float32Array([0.1, NaN])
  const inf = new Float32Array([Infinity, 0.2])
  const cases: Array<[string, Record<string, unknown>, number, string]> = [
    ['not base64', { data: '!!!!' }, 400, 'INVALID_AUDIO'],
    ['unpadded base64', { data: 'AAAAAA' }, 400, 'INVALID_AUDIO'],
    ['URL-safe alphabet', { data: encodeFloat32Base64(new Float32Array([0.1, 0.9])).replace(/\+/g, '-').replace(/\//g, '_').replace(/^/, '-_-_') }, 400, 'INVALID_AUDIO'],
    ['stray bits in the last character', { data: 'AAAAAAAAAAB=' }, 400, 'INVALID_AUDIO'],
    ['whitespace inside', { data: 'AAAA AAAAAAA' }, 400, 'INVALID_AUDIO'],
    ['half a stereo frame', { data: encodeFloat32Base64(new Float32Array(3)) }, 400, 'INVALID_AUDIO'],
    ['not whole float32', { data: Buffer.from([1, 2, 3]).toString('base64'), channels: 1 }, 400, 'INVALID_AUDIO'],
    ['NaN sample', { data: encodeFloat32Base64(nan) }, 400, 'INVALID_AUDIO'],
    ['infinite sample', { data: encodeFloat32Base64(inf) }, 400, 'INVALID_AUDIO'],
    ['empty data', { data: '' }, 400, 'VALIDATION_ERROR'],
    ['sampleRate too low', { sampleRate: 7999 }, 400, 'VALIDATION_ERROR'],
    ['sampleRate too high', { sampleRate: 192001 }, 400, 'VALIDATION_ERROR'],
    ['sampleRate as string', { sampleRate: '44100' }, 400, 'VALIDATION_ERROR'],
    ['channels 0', { channels: 0 }, 400, 'VALIDATION_ERROR'],
    ['channels 9', { channels: 9 }, 400, 'VALIDATION_ERROR'],
    ['negative sequence', { sequenceNumber: -1 }, 400, 'VALIDATION_ERROR'],
    ['sequence past int32', { sequenceNumber: 2 ** 31 }, 400, 'VALIDATION_ERROR'],
    ['fractional sequence', { sequenceNumber: 1.5 }, 400, 'VALIDATION_ERROR'],
    ['null data', { data: null }, 400, 'VALIDATION_ERROR'],
    ['over 1 MiB decoded', { data: encodeFloat32Base64(new Float32Array(262146)) }, 413, 'PAYLOAD_TOO_LARGE']
  ]
  for (const [name, over, status, code] of cases) {
    const res = await app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload: { ...good, ...over } })
    t.equal(res.statusCode, status, name)
    t.match(res.json(), errorShape(code), name)
  }
  const bigBody = await app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload: { ...good, data: 'A'.repeat(1_500_000) } })
  t.equal(bigBody.statusCode, 413, 'a body over the route limit')
  t.match(bigBody.json(), errorShape('PAYLOAD_TOO_LARGE'))
  const exactly1MiB = await app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload: { ...good, data: encodeFloat32Base64(new Float32Array(262144)) } })
  t.equal(exactly1MiB.statusCode, 200, 'exactly 1 MiB is accepted')
  t.same((await poll(app, -1)).json().map((c: { sequenceNumber: number }) => c.sequenceNumber), [0], 'only the valid chunk was stored')
  t.equal(app.sessions.requireActive('123456').bytesReceived, 1024 * 1024)
})

t.test('since must be an integer >= -1', async (t) => {
  const app = await build(t)
  await startSession(app)
  for (const since of ['abc', '-2', '1.5', String(2 ** 31)]) {
    const res = await poll(app, since)
    t.equal(res.statusCode, 400, `since=${since}`)
    t.match(res.json(), errorShape('VALIDATION_ERROR'))
  }
  const absent = await app.inject({ method: 'GET', url: '/api/share/123456/audio', headers: CLIENT_HEADERS })
  t.equal(absent.statusCode, 204, 'no since means a new receiver (-1)')
})

t.test('the desktop client\'s System.Text.Json body (every + as \\u002B) and other escapes are read as JSON says', async (t) => {
  const app = await build(t)
  await startSession(app)
  const post = (payload: string) => app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload })
  const chunks = [clientChunk(0), clientChunk(1), clientChunk(2)]
  t.ok(chunks.every((c) => c.data.includes('+') && c.data.includes('/')), 'chunks with both characters JSON may escape')
  // System.Text.Json's default encoder writes '+' as \u002B; other serialisers may write '/' as \/.
  const stj = JSON.stringify(chunks[0]).replaceAll('+', '\\u002B')
  const slashes = JSON.stringify(chunks[1]).replaceAll('/', '\\/')
  const spaced = JSON.stringify(chunks[2], null, 1)
  for (const body of [stj, slashes, spaced]) t.equal((await post(body)).statusCode, 200)
  t.same((await poll(app, -1)).json(), chunks, 'relayed as canonical base64, byte-identical to what was encoded')

  const control = JSON.stringify(clientChunk(3)).replace('","sampleRate"', '\x01","sampleRate"') // a raw U+0001
  const res = await post(control)
  t.equal(res.statusCode, 400)
  t.match(res.json(), errorShape('INVALID_JSON'), 'a raw control character in data is malformed JSON, as before')
})

t.test('wrong content type is 415; malformed JSON is 400 INVALID_JSON', async (t) => {
  const app = await build(t)
  await startSession(app)
  const text = await app.inject({ method: 'POST', url: POST_URL, headers: { ...CLIENT_HEADERS, 'content-type': 'text/plain' }, payload: 'hello' })
  t.equal(text.statusCode, 415)
  t.match(text.json(), errorShape('UNSUPPORTED_MEDIA_TYPE'))
  const broken = await app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload: '{"data":"AAAA",' })
  t.equal(broken.statusCode, 400)
  t.match(broken.json(), errorShape('INVALID_JSON'))
  const proto = await app.inject({ method: 'POST', url: POST_URL, headers: JSON_HEADERS, payload: '{"__proto__":{"x":1},"data":"AAAA"}' })
  t.equal(proto.statusCode, 400, 'prototype poisoning is refused')
})
