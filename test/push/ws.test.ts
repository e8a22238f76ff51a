import t from 'tap'
import { build, clientMetadata, sine } from '../helper.js'
import { AUTH, listen, openWs, postAudio, postMetadata, startOver, until } from './push-helper.js'
import { decodeAudioFrame, encodeAudioFrame, AUDIO_FRAME_HEADER_BYTES } from '../../src/push/push-frames.js'
import { encodeFloat32Base64 } from '../../src/session/pcm-codec.js'
import { readAudioChunks, readMetadata } from '../client-contract.js'

const FRAMES = 4410 // 0.1 s of 44.1 kHz stereo
const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex')

t.test('a WebSocket receiver gets every chunk byte-identical and in order, metadata with an art URL, status and ended', async (t) => {
  const app = await build(t, { AUDIO_BUFFER_SECONDS: '30', RATE_LIMIT_AUDIO_PER_SECOND: '1000' })
  const base = await listen(app)
  await startOver(base)
  // Two chunks before it joins: the join burst (2 s) holds both.
  const sent: Float32Array[] = []
  for (let seq = 0; seq < 2; seq++) { sent.push(sine(FRAMES, seq * FRAMES)); await postAudio(base, seq, sent[seq]!) }
  const client = await openWs(`${base}/api/share/123456/ws`)
  t.equal(client.status, 101)
  await postMetadata(base, clientMetadata({ thumbnailData: JPEG.toString('base64') }))
  for (let seq = 2; seq < 30; seq++) { sent.push(sine(FRAMES, seq * FRAMES)); await postAudio(base, seq, sent[seq]!) }
  await until(() => client.messages.filter((m) => m.binary).length === 30, 'all 30 frames')
  const stop = await fetch(`${base}/api/share/123456/stop`, { method: 'POST', headers: AUTH })
  t.equal(stop.status, 200)
  t.same(await client.closed, { code: 1000, reason: 'session ended' })

  const frames = client.messages.filter((m) => m.binary).map((m) => decodeAudioFrame(m.data)!)
  t.same(frames.map((f) => f.sequenceNumber), [...Array(30).keys()], 'every chunk once, in order')
  t.ok(frames.every((f, i) => f.pcm.equals(Buffer.from(sent[i]!.buffer))), 'PCM byte-identical to what the sharer posted')
  t.ok(frames.every((f) => f.format.sampleRate === 44100 && f.format.channels === 2 && f.timestamp > 0))

  const events = client.json()
  const types = events.map((e) => e.type)
  t.equal(types.at(-1), 'ended')
  t.match(events.at(-1), { type: 'ended', reason: 'stopped', endedAt: Number })
  t.match(events.find((e) => e.type === 'status'), { type: 'status', isActive: true, listenerCount: 1 })
  const metadata = events.find((e) => e.type === 'metadata')!
  t.match(metadata, { title: 'Song Title', artist: 'Artist Name', hasSyncedLyrics: true, thumbnailUrl: /^\/api\/share\/123456\/art\/[A-Za-z0-9_-]{32}$/ })
  t.notOk('thumbnailData' in metadata, 'no base64 cover in push events')
  t.ok(events.every((e, i) => i === 0 || Number(e.id) > Number(events[i - 1]!.id)), 'event ids increase')
})

t.test('since resumes after a sequence number; a receiver that joins before any audio starts at the first chunk', async (t) => {
  const app = await build(t, { AUDIO_BUFFER_SECONDS: '30', JOIN_BURST_SECONDS: '0' })
  const base = await listen(app)
  await startOver(base)
  for (let seq = 0; seq < 5; seq++) await postAudio(base, seq, sine(FRAMES, seq * FRAMES))
  const resumed = await openWs(`${base}/api/share/123456/ws?since=2`)
  const burst = await openWs(`${base}/api/share/123456/ws`)
  await postAudio(base, 5, sine(FRAMES, 5 * FRAMES))
  await until(() => resumed.messages.filter((m) => m.binary).length === 3, 'resumed frames')
  await until(() => burst.messages.filter((m) => m.binary).length === 2, 'join burst + live frame')
  t.same(resumed.messages.filter((m) => m.binary).map((m) => decodeAudioFrame(m.data)!.sequenceNumber), [3, 4, 5])
  t.same(burst.messages.filter((m) => m.binary).map((m) => decodeAudioFrame(m.data)!.sequenceNumber), [4, 5],
    'JOIN_BURST_SECONDS=0: only the newest chunk, then live')
  resumed.ws.close()
  burst.ws.close()
  await until(() => app.push.hub.connections === 0, 'detached')
})

t.test('a WebSocket sharer reaches a polling receiver; bad frames get error frames like REST errors', async (t) => {
  const app = await build(t)
  const base = await listen(app)
  await startOver(base)
  const sharer = await openWs(`${base}/api/share/123456/ws?role=sharer`)
  t.equal(sharer.status, 101)
  const samples = sine(FRAMES)
  sharer.ws.send(encodeAudioFrame(0, 1700000000000, { sampleRate: 44100, channels: 2 }, samples))
  sharer.ws.send(JSON.stringify(clientMetadata()))

  // The polling receiver long-polls (waitMs) for what the WebSocket sharer sent.
  const poll = await fetch(`${base}/api/share/123456/audio?since=-1&waitMs=5000`, { headers: AUTH })
  t.equal(poll.status, 200)
  const [chunk] = readAudioChunks(await poll.json())
  t.match(chunk, { sampleRate: 44100, channels: 2, timestamp: 1700000000000, sequenceNumber: 0 })
  t.equal(chunk!.data, encodeFloat32Base64(samples), 'the polling receiver gets the same samples as base64')
  await until(() => app.sessions.lookup('123456').state === 'active' &&
    (app.sessions.lookup('123456') as { session: { metadata: (n: number) => unknown } }).session.metadata(Date.now()) !== undefined, 'metadata')
  const meta = await fetch(`${base}/api/share/123456/metadata`, { headers: AUTH })
  t.match(readMetadata(await meta.json() as Record<string, unknown>), { title: 'Song Title', hasSyncedLyrics: true })

  const bad: Array<[Buffer | string, string]> = [
    [Buffer.alloc(10), 'INVALID_AUDIO'],
    [encodeAudioFrame(1, 0, { sampleRate: 1000, channels: 2 }, samples), 'VALIDATION_ERROR'],
    [encodeAudioFrame(1, 0, { sampleRate: 44100, channels: 9 }, samples), 'VALIDATION_ERROR'],
    [encodeAudioFrame(1, 0, { sampleRate: 44100, channels: 2 }, new Float32Array(3)), 'INVALID_AUDIO'],
    [encodeAudioFrame(1, 0, { sampleRate: 44100, channels: 2 }, new Float32Array([NaN, 0])), 'INVALID_AUDIO'],
    [encodeAudioFrame(1, 0, { sampleRate: 44100, channels: 2 }, new Float32Array(0)), 'INVALID_AUDIO'],
    [encodeAudioFrame(1, 0, { sampleRate: 44100, channels: 2 }, new Float32Array(262_146)), 'PAYLOAD_TOO_LARGE'],
    ['{"title": 1}', 'VALIDATION_ERROR'],
    ['not json', 'INVALID_JSON']
  ]
  for (const [frame] of bad) sharer.ws.send(frame)
  await until(() => sharer.json().filter((m) => m.type === 'error').length === bad.length, 'error frames')
  t.same(sharer.json().filter((m) => m.type === 'error').map((m) => m.code), bad.map(([, code]) => code))
  t.equal(app.sessions.lookup('123456').state, 'active')

  // A header with a sequence number past int32 is refused like the REST body.
  const big = encodeAudioFrame(0, 0, { sampleRate: 44100, channels: 2 }, samples)
  big.writeUInt32LE(0xffffffff, 0)
  sharer.ws.send(big)
  await until(() => sharer.json().filter((m) => m.type === 'error').length === bad.length + 1, 'int32 error')
  t.equal(sharer.json().at(-1)!.code, 'VALIDATION_ERROR')
  t.equal(AUDIO_FRAME_HEADER_BYTES, 20)

  await fetch(`${base}/api/share/123456/stop`, { method: 'POST', headers: AUTH })
  t.match(await sharer.closed, { code: 1000 })
  t.match(sharer.json().at(-1), { type: 'ended', reason: 'stopped' })
})

t.test('upgrade refusals are HTTP answers in the uniform format; plain GET is 426', async (t) => {
  const app = await build(t)
  const base = await listen(app)
  const { listenKey } = await startOver(base)
  t.equal((await openWs(`${base}/api/share/123456/ws`, {})).status, 401, 'no credential')
  t.equal((await openWs(`${base}/api/share/123456/ws?key=${listenKey}`, {})).status, 101, 'listen key receives')
  t.equal((await openWs(`${base}/api/share/123456/ws?role=sharer&key=${listenKey}`, {})).status, 401, 'a listen key cannot share')
  t.equal((await openWs(`${base}/api/share/654321/ws`)).status, 404, 'unknown session')
  t.equal((await openWs(`${base}/api/share/123456/ws?role=boss`)).status, 400)
  const plain = await fetch(`${base}/api/share/123456/ws`, { headers: AUTH })
  t.equal(plain.status, 426)
  t.match(await plain.json(), { success: false, code: 'UPGRADE_REQUIRED' })
})

t.test('a receiver that stops reading gets frames dropped, then is disconnected; server-side queues stay bounded', async (t) => {
  const app = await build(t, { PUSH_SEND_BUFFER_KB: '64', PUSH_MAX_DROPPED_FRAMES: '5', RATE_LIMIT_AUDIO_PER_SECOND: '10000' })
  const base = await listen(app)
  await startOver(base)
  const slow = await openWs(`${base}/api/share/123456/ws`)
  const fast = await openWs(`${base}/api/share/123456/ws`)
  slow.ws.pause() // stops reading its socket: the kernel buffers fill, then the server's queue
  const queued: number[] = []
  const serverSockets = () => [...app.websocketServer.clients]
  let seq = 0
  while (app.push.hub.stats.slowDisconnects === 0 && seq < 600) {
    await postAudio(base, seq, sine(22050, seq * 22050)) // 0.5 s chunks, 176 kB each
    queued.push(...serverSockets().map((s) => s.bufferedAmount))
    seq++
  }
  t.equal(app.push.hub.stats.slowDisconnects, 1, 'the paused receiver was disconnected')
  t.ok(app.push.hub.stats.droppedFrames >= 5, 'frames were dropped for it first')
  // A frame is queued only while the queue is under 64 kB, so no queue ever holds more than that plus one frame.
  t.ok(Math.max(...queued) <= 64 * 1024 + 176_400 + 64, `largest server-side queue ${Math.max(...queued)} bytes`)
  await until(() => app.websocketServer.clients.size === 1, 'the slow socket cut after the close grace')
  t.equal(app.push.hub.listenerCount('123456'), 1)
  await until(() => fast.messages.filter((m) => m.binary).length === seq, 'the fast receiver got everything')
  slow.ws.resume()
  t.match(await slow.closed, { code: 1006 }, 'the paused peer never read the close frame: the socket was cut')
  fast.ws.close()
})

t.test('ping/pong: a peer that answers stays, one that does not is cut; shutdown closes with 1001 without hanging', async (t) => {
  const app = await build(t, { WS_PING_SECONDS: '0.05' })
  const base = await listen(app)
  await startOver(base)
  const a = await openWs(`${base}/api/share/123456/ws`)
  const sharer = await openWs(`${base}/api/share/123456/ws?role=sharer`)
  const silent = await openWs(`${base}/api/share/123456/ws`, AUTH, { autoPong: false })
  let pings = 0
  await new Promise<void>((resolve) => a.ws.on('ping', () => { if (++pings === 4) resolve() }))
  t.equal(a.ws.readyState, a.ws.OPEN, 'answered four pings and is still open')
  t.match(await silent.closed, { code: 1006 }, 'the peer that never answers a ping is cut')
  await app.close()
  t.same(await a.closed, { code: 1001, reason: 'server shutting down' })
  t.match(await sharer.closed, { code: 1001 })
})

t.test('the WebSocket sharer role is guarded like the REST writes (SESSION_WRITE_GUARD=key)', async (t) => {
  const app = await build(t, { SESSION_WRITE_GUARD: 'key' })
  const base = await listen(app)
  const { sharerKey } = await startOver(base)
  t.equal((await openWs(`${base}/api/share/123456/ws?role=sharer`)).status, 403, 'the bearer token alone is not the sharer')
  t.equal((await openWs(`${base}/api/share/123456/ws?role=sharer`, { ...AUTH, 'x-sharer-key': 'nope' })).status, 403, 'a wrong key')
  const sharer = await openWs(`${base}/api/share/123456/ws?role=sharer`, { ...AUTH, 'x-sharer-key': sharerKey })
  t.equal(sharer.status, 101, 'with the sharer key')
  t.equal((await openWs(`${base}/api/share/123456/ws`)).status, 101, 'receiving is not guarded')
  sharer.ws.close()
})
