import t from 'tap'
import { spawn } from 'node:child_process'
import { build, sine } from '../helper.js'
import { findBinary } from '../system-binary.js'
import { AUTH, listen, openStream, postAudio, startOver, until } from './push-helper.js'

const ffmpeg = findBinary('ffmpeg', 'ffmpeg')
const RATE = 44100
const CHUNK = 11025 // 0.25 s

t.test('stream.wav: a WAV header for the session\'s format, 16-bit PCM of the floats; a format change ends it cleanly', async (t) => {
  const app = await build(t, { RATE_LIMIT_AUDIO_PER_SECOND: '1000' })
  const base = await listen(app)
  await startOver(base)
  await postAudio(base, 0, new Float32Array([0, 0, 0.5, -0.5, 1, -1, 2, -2])) // 4 stereo frames, the last clipped
  const { res } = await openStream(`${base}/api/share/123456/stream.wav`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'audio/wav')
  const parts: Buffer[] = []
  res.on('data', (d: Buffer) => parts.push(d))
  const ended = new Promise((resolve) => res.on('end', resolve))
  await until(() => app.push.hub.listenerCount('123456') === 1, 'attached')
  await postAudio(base, 1, new Float32Array([0.25, 0.25]))
  await postAudio(base, 2, new Float32Array([0.1, 0.1, 0.1]), '123456', 48000, 1) // another format
  await ended
  const wav = Buffer.concat(parts)
  t.equal(wav.toString('latin1', 0, 4), 'RIFF')
  t.equal(wav.readUInt32LE(4), 0xffffffff, 'unknown length')
  t.equal(wav.toString('latin1', 8, 16), 'WAVEfmt ')
  t.equal(wav.readUInt16LE(20), 1, 'PCM')
  t.equal(wav.readUInt16LE(22), 2)
  t.equal(wav.readUInt32LE(24), 44100)
  t.equal(wav.readUInt32LE(28), 44100 * 4)
  t.equal(wav.readUInt16LE(34), 16)
  t.equal(wav.toString('latin1', 36, 40), 'data')
  const pcm = wav.subarray(44)
  t.same([...new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.length))],
    [0, 0, 16384, -16383, 32767, -32767, 32767, -32767, 8192, 8192], 'both chunks, converted and clipped; nothing of the new format')
  t.equal(app.push.hub.listenerCount('123456'), 0)
})

t.test('ffmpeg plays stream.wav of a 440 Hz sine: 440 Hz, uninterrupted', { skip: ffmpeg.skip }, async (t) => {
  const app = await build(t, { RATE_LIMIT_AUDIO_PER_SECOND: '1000' })
  const base = await listen(app)
  const { listenKey } = await startOver(base)
  const listenUrl = `${base}/api/share/123456/stream.wav?key=${listenKey}`
  const seconds = 3
  const player = spawn(ffmpeg.path, ['-nostdin', '-loglevel', 'error', '-i', listenUrl, '-t', String(seconds),
    '-f', 's16le', '-ac', '1', '-ar', String(RATE), '-'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  let stderr = ''
  player.stdout.on('data', (d: Buffer) => out.push(d))
  player.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => player.on('close', resolve))
  await until(() => app.push.hub.listenerCount('123456') === 1, 'ffmpeg connected')

  // A little faster than real time, in 0.25 s chunks, until ffmpeg has its three seconds.
  let seq = 0
  let playing = true
  void exited.then(() => { playing = false })
  while (playing && seq < 40) {
    await postAudio(base, seq, sine(CHUNK, seq * CHUNK, 440, RATE, 2))
    seq++
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(await exited, 0, stderr)
  const bytes = Buffer.concat(out)
  const samples = new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))
  t.equal(samples.length, seconds * RATE, 'three seconds decoded')

  // Frequency: rising zero crossings per second.
  let crossings = 0
  let maxStep = 0
  for (let i = 1; i < samples.length; i++) {
    if (samples[i - 1]! < 0 && samples[i]! >= 0) crossings++
    maxStep = Math.max(maxStep, Math.abs(samples[i]! - samples[i - 1]!))
  }
  t.ok(Math.abs(crossings / seconds - 440) <= 1, `${crossings / seconds} Hz`)
  // Uninterrupted: a 0.5-amplitude 440 Hz sine moves at most 0.5·2π·440/44100 ≈ 0.031 full scale (1030) per
  // sample; a gap, a repeat or a dropped chunk would jump further, and every 50 ms has its full swing.
  t.ok(maxStep < 1100, `largest step between samples ${maxStep}`)
  for (let at = 0; at + 2205 <= samples.length; at += 2205) {
    const window = samples.subarray(at, at + 2205)
    t.ok(Math.max(...window) > 15000 && Math.min(...window) < -15000, `signal in window at ${at}`)
    if (t.passing() === false) break
  }
  await fetch(`${base}/api/share/123456/stop`, { method: 'POST', headers: AUTH })
})
