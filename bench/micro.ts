/**
 * npm run bench:micro — the hot paths in isolation (tinybench): ops/s and ns/op.
 * The same payloads as the desktop client: 0.5 s chunks of 44 100 float32 samples, metadata with a
 * ~40 KB thumbnail and ~2 KB of LRC lyrics.
 */
import { Bench } from 'tinybench'
import { cpus } from 'node:os'
import { AudioRing } from '../src/session/audio-ring.js'
import { decodeFloat32Base64, encodeFloat32Base64 } from '../src/session/pcm-codec.js'
import { SessionRegistry } from '../src/session/session-registry.js'
import { audioChunkJson } from '../src/session/rest-wire.js'
import { parseAudioBodyFast } from '../src/session/audio-body.js'
import type { TextBytes } from '../src/schemas/text-bytes.js'
import Fastify from 'fastify'

const FORMAT = { sampleRate: 44100, channels: 2 }
const samples = new Float32Array(44100).map((_, i) => Math.sin(i / 20) * 0.5)
const base64 = encodeFloat32Base64(samples)
const json = audioChunkJson(base64, FORMAT, Date.now(), 0)
const quiet = { info () {}, warn () {} }

function registry () {
  return new SessionRegistry({
    maxSessions: 50, audioBufferSeconds: 5, joinBurstSeconds: 2, sessionTimeoutMs: 900_000, endedRetentionMs: 300_000,
    metadataTtlMs: 30_000, listenerWindowMs: 5000, maxListenersPerSession: 1000, maxEndedSessions: 1000,
    chat: { history: 200, perSecond: 1, burst: 5, sessionPerSecond: 5 }
  }, quiet)
}

const ring = new AudioRing(5, 2)
let ringSeq = 0

const reg = registry()
reg.start('123456', Date.now())
let postSeq = 0
for (; postSeq < 12; postSeq++) reg.receiveAudio('123456', { ...FORMAT, data: base64, sequenceNumber: postSeq }, 1 << 20, Date.now())

const metadata = {
  title: 'Song Title', artist: 'Artist Name', hasSyncedLyrics: true, elapsedSeconds: 45.2, totalSeconds: 180.5,
  lyrics: Array.from({ length: 60 }, (_, i) => `[00:${String(i).padStart(2, '0')}.50]A line of lyrics number ${i}`).join('\n'),
  thumbnailData: Buffer.alloc(30_000, 7).toString('base64'), timestamp: Date.now()
}

// The audio POST body as JSON.stringify writes it, and as the desktop client's System.Text.Json does
// (every '+' as \u002B); the standard parser is Fastify's (UTF-8 decode, then secure-json-parse).
const plainBody = Buffer.from(JSON.stringify({ data: base64, ...FORMAT, timestamp: Date.now(), sequenceNumber: 0 }))
const stjBody = Buffer.from(plainBody.toString().replaceAll('+', '\\u002B'))
const standardParser = Fastify().getDefaultJsonParser('error', 'error')
function parseStandard (body: Buffer): unknown {
  let parsed: unknown
  standardParser({} as never, body.toString('utf8'), (err, value) => {
    if (err !== null) throw err
    parsed = value
  })
  return parsed
}
if (parseAudioBodyFast(plainBody) === undefined || parseAudioBodyFast(stjBody) === undefined) throw new Error('fast path not taken')
const textBytes = parseAudioBodyFast(stjBody)!.data as TextBytes
const decodeStore = new Float32Array(1 << 18)

const bench = new Bench({ time: 1500, warmupTime: 300 })
bench
  .add('ring: append a 0.5 s chunk (44 100 floats)', () => {
    ring.append({ samples, format: FORMAT, timestamp: 0, sequenceNumber: ringSeq++, json })
  })
  .add('audio body: standard JSON parse, JSON.stringify body (235 KB)', () => { parseStandard(plainBody) })
  .add('audio body: fast path, JSON.stringify body', () => { parseAudioBodyFast(plainBody) })
  .add(`audio body: standard JSON parse, System.Text.Json body (+ as \\u002B, ${Math.round(stjBody.length / 1000)} KB)`, () => { parseStandard(stjBody) })
  .add('audio body: fast path, System.Text.Json body', () => { parseAudioBodyFast(stjBody) })
  .add('codec: base64 decode + validate a 0.5 s chunk, from a string', () => {
    decodeFloat32Base64(base64, FORMAT, 1 << 20)
  })
  .add('codec: base64 decode + validate a 0.5 s chunk, from bytes into a reused store (the route\'s way)', () => {
    decodeFloat32Base64(textBytes, FORMAT, 1 << 20, decodeStore)
  })
  .add('registry: receive an audio POST whose data is a string (a body left to JSON.parse)', () => {
    reg.receiveAudio('123456', { ...FORMAT, data: base64, sequenceNumber: postSeq++ }, 1 << 20, Date.now())
  })
  .add('registry: the client\'s audio POST from its bytes (fast path, decode, validate, buffer, answer)', () => {
    const body = parseAudioBodyFast(stjBody) as { data: TextBytes }
    reg.receiveAudio('123456', { ...FORMAT, data: body.data, sequenceNumber: postSeq++ }, 1 << 20, Date.now())
  })
  .add('registry: GET audio answer, 1 chunk (live receiver)', () => {
    reg.pollAudioJson('123456', postSeq - 2, 'listener', Date.now())
  })
  .add('registry: GET audio answer, 4 chunks (new receiver, since=-1)', () => {
    reg.pollAudioJson('123456', -1, 'listener', Date.now())
  })
  .add('registry: GET audio answer, 10 chunks (receiver 5 s behind; 6 rebuilt from samples)', () => {
    reg.pollAudioJson('123456', postSeq - 11, 'listener', Date.now())
  })
  .add('registry: metadata update (~40 KB thumbnail, ~2 KB lyrics)', () => {
    reg.receiveMetadata('123456', metadata, Date.now())
  })

await bench.run()

console.log(`micro-benchmarks — node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}`)
console.log('task'.padEnd(88) + 'ops/s'.padStart(12) + 'ns/op (median)'.padStart(18) + 'ns/op (p99)'.padStart(14))
for (const task of bench.tasks) {
  const r = task.result
  if (r === undefined || !('latency' in r)) {
    console.log(`${task.name}: failed`)
    continue
  }
  const ms = r.latency
  console.log(task.name.padEnd(88) +
    Math.round(r.throughput.mean).toLocaleString('en').padStart(12) +
    Math.round(ms.p50! * 1e6).toLocaleString('en').padStart(18) +
    Math.round(ms.p99! * 1e6).toLocaleString('en').padStart(14))
}
