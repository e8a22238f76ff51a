import t from 'tap'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { build, CLIENT_HEADERS, JSON_HEADERS } from '../helper.js'
import { PrivateRedis, redisBinary } from '../redis-server.js'
import { listen, startOver } from '../push/push-helper.js'
import { parseOggPages } from '../codec/helpers/ogg-reader.js'
import { ffmpegDecodeF32, ffmpegMissingReason, ffprobeStreams } from '../codec/helpers/ffmpeg.js'
import { alignAndSnr, channel, TONE_AMPLITUDE, TONE_HZ } from '../codec/helpers/signal.js'
import { assertFfmpeg, cueTracks, FAST, jsonOf, playSongs, recorded, recordingsDir, saveFile } from './recording-helper.js'

// Ticks and heartbeats are driven by the test.
const MANUAL = { REDIS_FLUSH_INTERVAL_MS: '10000' }
const skip = redisBinary.skip !== false ? redisBinary.skip : ffmpegMissingReason() !== null && process.env.CI !== 'true' ? ffmpegMissingReason()! : false

t.test('a takeover continues the recording in a new segment; the download is ONE Ogg stream of both that ffmpeg decodes whole', { skip }, async (t) => {
  if (!assertFfmpeg(t)) return
  const redis = await PrivateRedis.start(t)
  const dir = recordingsDir(t)
  const env = { REDIS_URL: redis.url, RECORDINGS_DIR: dir, ...MANUAL, ...FAST }
  const a = await build(t, { ...env, INSTANCE_ID: 'node-a' })
  const b = await build(t, { ...env, INSTANCE_ID: 'node-b' })
  const [baseA, baseB] = [await listen(a), await listen(b)]

  await startOver(baseA)
  await playSongs(baseA, [{ title: 'On node A', chunks: 6 }])
  await recorded(a, 2.9)
  // A second session that opted out: the new owner must not record it either.
  const other = await startOver(baseA, '222222')
  const optOut = await fetch(`${baseA}/api/share/222222/recording`, { method: 'POST', headers: { ...JSON_HEADERS, 'x-sharer-key': other.sharerKey }, body: '{"enabled":false}' })
  t.equal(optOut.status, 200)
  await a.redisSnapshot!.tick()

  // The load balancer sends the sessions to node-b: it takes them over; node-a learns it at its heartbeat.
  t.equal((await fetch(`${baseB}/api/share/123456/status`, { headers: CLIENT_HEADERS })).status, 200)
  t.match((await jsonOf(fetch(`${baseB}/api/share/222222/status`, { headers: CLIENT_HEADERS }))).recording, { state: 'off', reason: 'opted-out' })
  await a.redisSnapshot!.directory.heartbeat()
  t.equal(a.sessions.lookup('123456').state, 'unknown', 'node-a let it go')
  t.equal(a.recordings!.recording, 0, 'and finished its segment')

  await playSongs(baseB, [{ title: 'On node B', chunks: 6 }], 6)
  // node-b's status counts node-a's 2.98 s too; its own segment starts 160 ms in (the late-join pre-roll).
  await recorded(b, 2.98 + 2.8)
  t.equal((await fetch(`${baseB}/api/share/123456/stop`, { method: 'POST', headers: CLIENT_HEADERS })).status, 200)
  await b.redisSnapshot!.tick()
  // The stop is answered before the segment is closed (end-of-stream page, fsync, sidecar).
  await b.recordings!.settled()

  const [folder, ...others] = readdirSync(dir)
  t.same(others, [], 'one recording folder: 222222 was never recorded')
  t.same(readdirSync(join(dir, folder!)).map((f) => f.replace(/^\d+-/, '')).sort(),
    ['node-a.json', 'node-a.ogg', 'node-b.json', 'node-b.ogg'], 'one segment per owner')

  // Either instance serves it (node-a learns from Redis that the session ended).
  const fromA = Buffer.from(await (await fetch(`${baseA}/api/share/123456/recording.ogg`, { headers: CLIENT_HEADERS })).arrayBuffer())
  const fromB = Buffer.from(await (await fetch(`${baseB}/api/share/123456/recording.ogg`, { headers: CLIENT_HEADERS })).arrayBuffer())
  t.same(fromA, fromB, 'the same file from both')
  const pages = parseOggPages(fromB)
  t.equal(new Set(pages.map((p) => p.serialNumber)).size, 1, 'one logical stream')
  t.same(pages.map((p) => p.sequenceNumber), pages.map((_, i) => i))
  t.equal(pages.filter((p) => p.body.subarray(0, 8).toString('latin1') === 'OpusHead').length, 1)
  t.equal(pages.at(-1)!.flags & 0x04, 0x04, 'ends with end-of-stream; the one of node-a\'s segment is gone')
  t.equal(pages.filter((p) => (p.flags & 0x04) !== 0).length, 1)

  const file = saveFile(dir, 'joined.ogg', fromB)
  const probe = ffprobeStreams(file)
  t.equal(probe.streams.length, 1)
  const duration = Number(probe.streams[0]!.duration)
  t.ok(duration > 5.8 && duration <= 6, `ffprobe: ${duration} s, both segments (6 s posted)`)
  const left = channel(ffmpegDecodeF32(file, 2).samples, 2, 0)
  t.ok(Math.abs(left.length / 48000 - duration) < 0.02, `ffmpeg decodes all of it: ${(left.length / 48000).toFixed(3)} s`)
  const ref = (n: number) => TONE_AMPLITUDE * Math.sin(2 * Math.PI * TONE_HZ * n / 48000)
  const seam = 144_000 - 312
  t.ok(alignAndSnr(left, ref, 4800, seam - 4800, -60, 60).snrDb > 25, 'node-a\'s part is the tone')
  t.ok(alignAndSnr(left, ref, seam + 19_200, left.length - 4800, -60, 60).snrDb > 25, 'node-b\'s part too (after the seam\'s 0.4 s)')

  const tracks = cueTracks(await (await fetch(`${baseA}/api/share/123456/recording.cue`, { headers: CLIENT_HEADERS })).text())
  t.same(tracks.map((c) => c.title), ['On node A', 'On node B'])
  t.ok(tracks[0]!.at === 0 && Math.abs(tracks[1]!.at - 3) < 0.1, `chapters at ${tracks.map((c) => c.at.toFixed(2)).join(', ')} s`)
  const history = await jsonOf(fetch(`${baseA}/api/share/123456/history`, { headers: CLIENT_HEADERS }))
  t.match(history, { isActive: false, songs: [{ n: 1, title: 'On node A' }, { n: 2, title: 'On node B' }] }, 'the history went along (Redis)')
})
