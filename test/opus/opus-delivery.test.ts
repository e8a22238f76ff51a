import t, { type Test } from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, CLIENT_HEADERS, clientMetadata } from '../helper.js'
import { AUTH, listen, openStream, openWs, postAudio, postMetadata, startOver, until } from '../push/push-helper.js'
import { LibopusDecoder } from '../../src/codec/libopus.js'
import { decodePacketFrame, decodePacketFrameBase64 } from '../../src/codec/packet-framing.js'
import { AUDIO_FRAME_HEADER_BYTES, Codec, OPUS_FRAME_HEADER_BYTES } from '../../src/push/push-frames.js'
import { ffmpegDecodeF32, ffmpegMissingReason, ffprobeStreams, isCI } from '../codec/helpers/ffmpeg.js'
import { alignAndSnr, channel, dominantFrequency, sineChunk, TONE_AMPLITUDE, TONE_HZ } from '../codec/helpers/signal.js'

const FAST_AUDIO = { RATE_LIMIT_AUDIO_PER_SECOND: '1000' }

/** The tone as the client sends it: 0.5 s chunks, phase-continuous across chunks and formats. */
const tone = (i: number, rate = 44100, channels = 2) => sineChunk(rate, channels, rate / 2, i * 0.5)

/** Decodes every packet of a chunk, asserting each is one 20 ms stereo frame. */
function decodeAll (t: Test, decoder: LibopusDecoder, packets: readonly Uint8Array[]): number {
  let frames = 0
  for (const p of packets) {
    const pcm = decoder.decode(p)
    if (pcm.length !== 960 * 2) t.fail(`a packet decoded to ${pcm.length / 2} frames, not 960`)
    frames += pcm.length / 2
  }
  return frames
}

t.test('WebSocket codec=opus: Opus frames of every chunk in order, each packet decoded by libopus', async (t) => {
  const app = await build(t, FAST_AUDIO)
  const base = await listen(app)
  await startOver(base)
  t.equal(app.opus.encoders, 0, 'no Opus listener, no encoder')
  const client = await openWs(`${base}/api/share/123456/ws?codec=opus`)
  t.equal(client.status, 101)
  await until(() => app.opus.encoders === 1, 'the listener started the session\'s encoder')
  for (let i = 0; i < 6; i++) await postAudio(base, i, tone(i))
  const binary = () => client.messages.filter((m) => m.binary).map((m) => m.data)
  await until(() => binary().length === 6, 'six Opus frames')

  const decoder = new LibopusDecoder(2)
  let expectedGranule = 0
  binary().forEach((frame, i) => {
    t.equal(frame.readUInt32LE(0), i, `frame ${i}: its chunk's sequence number`)
    t.equal(frame.readUInt32LE(12), 48000, 'Opus is 48 kHz')
    t.equal(frame.readUInt8(16), 2, 'stereo')
    t.equal(frame.readUInt8(17), Codec.OPUS, 'codec byte: Opus')
    t.equal(frame.readDoubleLE(AUDIO_FRAME_HEADER_BYTES), expectedGranule, 'granules continue from chunk to chunk')
    const receivedAt = frame.readDoubleLE(AUDIO_FRAME_HEADER_BYTES + 8)
    t.ok(receivedAt > Date.now() - 60_000 && receivedAt <= Date.now(), 'when the chunk reached the server')
    const packets = decodePacketFrame(frame.subarray(OPUS_FRAME_HEADER_BYTES))
    t.equal(packets.length, i === 0 ? 24 : 25, 'a 0.5 s chunk is 25 packets of 20 ms (the first keeps 2.5 ms back)')
    decodeAll(t, decoder, packets)
    expectedGranule += packets.length * 960
  })
  const bytes = binary().reduce((n, f) => n + f.length, 0)
  t.ok(bytes / 3 < 20_000, `about ${Math.round(bytes / 3)} bytes a second, against 352 800 as PCM frames`)
  t.ok(app.opus.stats.bytesSent >= bytes, 'Opus bytes sent are counted')

  client.ws.close()
  await until(() => app.opus.encoders === 0, 'the last listener gone, the encoder stops')
})

t.test('REST codec=opus: the same chunk list with Opus data; without codec the answer is unchanged', async (t) => {
  const app = await build(t, FAST_AUDIO)
  const base = await listen(app)
  await startOver(base)
  for (let i = 0; i < 4; i++) await postAudio(base, i, tone(i))

  const pcm = await fetch(`${base}/api/share/123456/audio?since=-1`, { headers: CLIENT_HEADERS })
  const explicitPcm = await fetch(`${base}/api/share/123456/audio?since=-1&codec=pcm`, { headers: CLIENT_HEADERS })
  const pcmBody = await pcm.text()
  t.equal(await explicitPcm.text(), pcmBody, 'codec=pcm is the default answer, byte for byte')
  t.notMatch(pcmBody, /codec/, 'the desktop client\'s answer has no new field')
  t.equal(app.opus.encoders, 0, 'PCM polls start no encoder')

  // The first Opus poll starts the encoder from the join burst; a long-poll waits for the first chunk.
  const first = await fetch(`${base}/api/share/123456/audio?since=-1&codec=opus&waitMs=5000`, { headers: CLIENT_HEADERS })
  t.equal(first.status, 200)
  t.equal(app.opus.encoders, 1)
  let chunks = await first.json() as Array<Record<string, unknown>>
  await until(() => app.opus.stats.encodedChunks >= 4, 'the join burst encoded')
  if (chunks.length < 4) {
    const again = await fetch(`${base}/api/share/123456/audio?since=-1&codec=opus`, { headers: CLIENT_HEADERS })
    chunks = await again.json() as Array<Record<string, unknown>>
  }
  t.same(chunks.map((c) => c.sequenceNumber), [0, 1, 2, 3], 'every chunk, in order')
  const decoder = new LibopusDecoder(2)
  for (const c of chunks) {
    t.match(c, { codec: 'opus', sampleRate: 48000, channels: 2, timestamp: Number, granule: Number, receivedAt: Number })
    decodeAll(t, decoder, decodePacketFrameBase64(c.data as string))
  }
  const next = await fetch(`${base}/api/share/123456/audio?since=3&codec=opus`, { headers: CLIENT_HEADERS })
  t.equal(next.status, 204, 'nothing newer than since')

  t.equal((await fetch(`${base}/api/share/123456/audio?since=-1&codec=mp3`, { headers: CLIENT_HEADERS })).status, 400)
  const bad = await fetch(`${base}/api/share/123456/audio?since=-1&codec=mp3`, { headers: CLIENT_HEADERS })
  t.match(await bad.json(), { success: false, code: 'VALIDATION_ERROR', error: /codec/, timestamp: Number })

  app.opus.sweep(Date.now() + 16_000)
  t.equal(app.opus.encoders, 0, 'no poll for 15 s: the encoder stops')
})

t.test('bad input: an unknown codec is a 400 everywhere; a sharer does not take one', async (t) => {
  const app = await build(t)
  const base = await listen(app)
  await startOver(base)
  t.equal((await openWs(`${base}/api/share/123456/ws?codec=flac`)).status, 400)
  t.equal((await openWs(`${base}/api/share/123456/ws?role=sharer&codec=opus`)).status, 400)
  const res = await app.inject({ method: 'GET', url: '/api/share/123456/ws?codec=flac', headers: AUTH })
  t.match(res.json(), { success: false, code: 'VALIDATION_ERROR' })
})

t.test('stream.ogg and stream.opus count against PUSH_MAX_CONNECTIONS and need a credential', async (t) => {
  const app = await build(t, { PUSH_MAX_CONNECTIONS: '1' })
  const base = await listen(app)
  await startOver(base)
  const one = await openStream(`${base}/api/share/123456/stream.ogg`)
  t.equal(one.res.statusCode, 200)
  t.equal(one.res.headers['content-type'], 'audio/ogg')
  const two = await openStream(`${base}/api/share/123456/stream.opus`)
  t.equal(two.res.statusCode, 503)
  two.res.resume()
  const anonymous = await openStream(`${base}/api/share/123456/stream.opus`, {})
  t.equal(anonymous.res.statusCode, 401)
  anonymous.res.resume()
  one.req.destroy()
  await until(() => app.opus.encoders === 0, 'the stream closed, the encoder stopped')
})

const missing = ffmpegMissingReason()
t.test('stream.ogg: ffmpeg decodes one Opus stream at 48 kHz stereo, the tone intact across a song and a format change',
  missing === null ? {} : { skip: isCI ? false : missing }, async (t) => {
    if (missing !== null) return t.fail(`CI=true requires ffmpeg: ${missing}`)
    const dir = mkdtempSync(join(tmpdir(), 'stream-ogg-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const app = await build(t, FAST_AUDIO)
    const base = await listen(app)
    await startOver(base)
    await postMetadata(base, clientMetadata({ title: 'First song' }))
    const { res } = await openStream(`${base}/api/share/123456/stream.ogg`)
    t.equal(res.statusCode, 200)
    const parts: Buffer[] = []
    res.on('data', (d: Buffer) => parts.push(d))
    const ended = new Promise((resolve) => res.on('end', resolve))
    await until(() => app.opus.encoders === 1, 'encoder started')
    for (let i = 0; i < 6; i++) await postAudio(base, i, tone(i))
    await postMetadata(base, clientMetadata({ title: 'Second song', elapsedSeconds: 0.2 }))
    for (let i = 6; i < 12; i++) await postAudio(base, i, tone(i, 48000, 1), '123456', 48000, 1)
    await until(() => app.opus.stats.encodedChunks === 12, 'all twelve chunks encoded')
    await until(() => parts.reduce((n, p) => n + p.length, 0) > 20_000, 'the pages written')
    const stop = await fetch(`${base}/api/share/123456/stop`, { method: 'POST', headers: CLIENT_HEADERS })
    t.equal(stop.status, 200)
    await ended
    const path = join(dir, 'session.ogg')
    writeFileSync(path, Buffer.concat(parts))

    const probe = ffprobeStreams(path)
    t.equal(probe.streams.length, 1, 'one logical stream across the song and the format change')
    t.match(probe.streams[0], { codec_name: 'opus', sample_rate: '48000', channels: 2 })
    const { samples } = ffmpegDecodeF32(path, 2)
    const left = channel(samples, 2, 0)
    t.ok(left.length / 48000 > 5.8, `${(left.length / 48000).toFixed(2)} s decoded of 6 s posted`)
    const ref = (n: number) => TONE_AMPLITUDE * Math.sin(2 * Math.PI * TONE_HZ * n / 48000)
    const change = 3 * 48000
    for (const [name, from, to] of [['44.1 kHz stereo', 960, change - 960], ['48 kHz mono', change + 960, left.length - 960]] as const) {
      const hz = dominantFrequency(left.subarray(from, to), 48000)
      t.ok(Math.abs(hz - TONE_HZ) <= 2, `${name}: ${hz.toFixed(2)} Hz`)
      // A period of the tone is 109 samples: a lag search of +-60 finds the phase wherever the stream began.
      const fit = alignAndSnr(left, ref, from, to, -60, 60)
      t.ok(fit.snrDb >= 30, `${name}: SNR ${fit.snrDb.toFixed(1)} dB against the posted sine`)
    }
  })
