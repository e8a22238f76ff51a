import t from 'tap'
import { audioBody, chunkPcm16, pcm16Matches, pcmMatches } from '../bench/lib/payloads.js'
import { opusPackets } from '../bench/lib/push-receivers.js'
import { stopChild } from '../bench/lib/proc.js'
import { runScenario } from '../bench/scenario.js'
import { assertBuilt, listeningUrl, spawnBuiltServer } from './built-server.js'
import { build, TOKEN } from './helper.js'

// Keeps the push part of the load generator honest: a few seconds of the push scenario against the real
// server (in-process, listening on a real port) must deliver every chunk intact over WebSocket and stream.wav.
t.test('push for 3 s against the server: 2 sessions x (2 WebSocket + 1 stream.wav), no loss, no errors', async (t) => {
  const app = await build(t)
  const url = await app.listen({ port: 0, host: '127.0.0.1' })

  const r = await runScenario({ scenario: 'push', url, token: TOKEN, sessions: 2, receiversPerSession: 0, wsPerSession: 2, wavPerSession: 1, durationS: 3 })

  t.equal(r.summary.errors, 0, 'no HTTP errors, refused upgrades, corrupt chunks or connections ended early')
  t.equal(r.summary.lost, 0, 'no chunk lost')
  const { ws, wav } = r.push!
  t.match(ws, { listeners: 4, failed: 0, abnormal: 0, lost: 0, duplicates: 0, corrupt: 0 })
  t.match(wav, { listeners: 2, failed: 0, abnormal: 0, lost: 0, duplicates: 0, corrupt: 0 })
  t.ok(ws.chunksExpected >= 4 * 4, `every WebSocket listener expected chunks (${ws.chunksExpected})`)
  t.equal(ws.chunksReceived, ws.chunksExpected)
  t.ok(wav.chunksExpected >= 2 * 4, `every stream.wav reader expected chunks (${wav.chunksExpected})`)
  t.equal(wav.chunksReceived, wav.chunksExpected)
  t.equal(wav.bytesReceived, wav.bytesExpected, 'stream.wav: the header and every chunk, nothing more')
  t.ok(ws.deliveryDelayMs.count > 0 && wav.deliveryDelayMs.count > 0, 'delivery delays measured on both transports')
  t.ok(ws.endToEndMs.p50 >= 0 && wav.endToEndMs.p50 >= 0)
  t.equal(r.summary.p99Ms, Math.max(ws.deliveryDelayMs.p99, wav.deliveryDelayMs.p99), 'the summary p99 is the delivery p99')
})

// Opus against the built server, as `npm run bench -- push --codec opus` runs it (its encoder thread is the built one).
t.test('push --codec opus for 3 s: 2 sessions x 2 Opus WebSocket listeners, every frame once, in order, intact', async (t) => {
  assertBuilt()
  const server = spawnBuiltServer({ BEARER_TOKEN: TOKEN, LOG_LEVEL: 'info' })
  t.teardown(() => stopChild(server.child, 'SIGTERM'))
  const url = await listeningUrl(server)

  const r = await runScenario({ scenario: 'push-opus', url, token: TOKEN, sessions: 2, receiversPerSession: 0, wsPerSession: 2, wavPerSession: 0, durationS: 3, codec: 'opus' })

  t.equal(r.summary.errors, 0, 'no HTTP errors, refused upgrades, corrupt or out-of-order frames, or connections ended early')
  t.equal(r.summary.lost, 0, 'no chunk lost')
  const { ws, codec } = r.push!
  t.equal(codec, 'opus')
  t.match(ws, { listeners: 4, failed: 0, abnormal: 0, lost: 0, duplicates: 0, corrupt: 0, outOfOrder: 0 })
  t.ok(ws.chunksExpected >= 4 * 4, `every listener expected chunks (${ws.chunksExpected})`)
  t.equal(ws.chunksReceived, ws.chunksExpected)
  t.ok(ws.deliveryDelayMs.count > 0, 'delivery delays measured')
  // 128 kbit/s is 16 KB/s of packets; frames add their headers. PCM frames would be ~353 KB/s.
  t.ok(ws.bytesPerSPerListener > 8_000 && ws.bytesPerSPerListener < 30_000, `Opus bandwidth per listener (${ws.bytesPerSPerListener} B/s)`)
})

t.test('Opus packet framing: lengths that add up and 20 ms single-frame packets only', async (t) => {
  const body = (lengths: number[], toc = 31 << 3): Buffer => {
    const head = Buffer.alloc(2 + 2 * lengths.length)
    head.writeUInt16LE(lengths.length, 0)
    lengths.forEach((l, i) => head.writeUInt16LE(l, 2 + 2 * i))
    return Buffer.concat([head, ...lengths.map((l) => Buffer.alloc(l, toc))])
  }
  t.same(opusPackets(body([3, 5])), [3, 5])
  t.equal(opusPackets(body([])), undefined, 'no packet')
  t.equal(opusPackets(body([3, 5]).subarray(0, 9)), undefined, 'cut short')
  t.equal(opusPackets(Buffer.concat([body([3]), Buffer.alloc(1)])), undefined, 'bytes left over')
  t.equal(opusPackets(body([3], (31 << 3) | 1)), undefined, 'two frames in a packet')
  t.equal(opusPackets(body([3], 30 << 3)), undefined, 'a 10 ms CELT frame')
  t.equal(opusPackets(body([0, 3])), undefined, 'an empty packet')
})

t.test('the push checks tell chunks apart', async (t) => {
  const body = audioBody(0, 5, 1)
  const pcm = Buffer.from(Buffer.concat(body.slice(1, 3)).toString('latin1'), 'base64')
  t.ok(pcmMatches(pcm, 0, 5))
  t.notOk(pcmMatches(pcm, 0, 6), 'another sequence number')
  t.notOk(pcmMatches(pcm, 1, 5), 'another session')
  t.notOk(pcmMatches(pcm.subarray(4), 0, 5), 'a short frame')
  const flipped = Buffer.from(pcm)
  flipped[100_000] = (flipped[100_000] ?? 0) ^ 1
  t.notOk(pcmMatches(flipped, 0, 5), 'one bit off')

  const pcm16 = chunkPcm16(0, 5)
  t.equal(pcm16.length, 88_200)
  t.ok(pcm16Matches(pcm16, 0, 0, 5))
  t.ok(pcm16Matches(pcm16.subarray(3, 500), 3, 0, 5), 'a piece across the tag')
  t.notOk(pcm16Matches(pcm16.subarray(3, 500), 5, 0, 5), 'the same piece at the wrong offset')
  for (const seq of [4, 6, 7, 8]) t.notOk(pcm16Matches(pcm16.subarray(0, 4000), 0, 0, seq), `not chunk ${seq}`)
  t.notOk(pcm16Matches(pcm16.subarray(0, 6), 0, 1, 5), 'another session')
  t.notOk(pcm16Matches(pcm16, 1, 0, 5), 'past the end of the chunk')
})
