import t from 'tap'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { clientMetadata, CLIENT_HEADERS, JSON_HEADERS, TOKEN, eventually } from '../helper.js'
import { postAudio, postMetadata } from '../push/push-helper.js'
import { assertBuilt, listeningUrl, spawnBuiltServer } from '../built-server.js'
import { ffmpegDecodeF32, ffprobeStreams } from '../codec/helpers/ffmpeg.js'
import { alignAndSnr, channel, TONE_AMPLITUDE, TONE_HZ } from '../codec/helpers/signal.js'
import { parseOggPages } from '../codec/helpers/ogg-reader.js'
import { inspectSegment } from '../../src/recording/recording-reader.js'
import { assertFfmpeg, needsFfmpeg, recordingsDir, saveFile, statusOf, tone } from '../recording/recording-helper.js'

t.before(assertBuilt)

const ENV = { BEARER_TOKEN: TOKEN, RATE_LIMIT_AUDIO_PER_SECOND: '1000', RATE_LIMIT_METADATA_PER_SECOND: '1000' }

t.test('kill -9 while recording: the file plays up to its last written page, and a new process serves it', needsFfmpeg, async (t) => {
  if (!assertFfmpeg(t)) return
  const dir = recordingsDir(t)
  const server = spawnBuiltServer({ ...ENV, RECORDINGS_DIR: dir })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const base = await listeningUrl(server)
  const start = await fetch(`${base}/api/share/start`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ sessionId: '123456' }) })
  t.equal(start.status, 200)
  await postMetadata(base, clientMetadata({ title: 'Before the crash', elapsedSeconds: 0 }))
  for (let seq = 0; seq < 8; seq++) await postAudio(base, seq, tone(seq))
  const written = await eventually(async () => {
    const recording = (await statusOf(base)).recording!
    return recording.seconds >= 3.9 ? recording : undefined
  }, 'four seconds written', 10_000)

  // More audio on its way, and the process killed in the middle of it: nothing gets to finish.
  for (let seq = 8; seq < 12; seq++) void postAudio(base, seq, tone(seq)).catch(() => {})
  server.child.kill('SIGKILL')
  await once(server.child, 'exit')

  const [recording] = readdirSync(dir)
  const segment = readdirSync(join(dir, recording!)).find((f) => f.endsWith('.ogg'))!
  const bytes = readFileSync(join(dir, recording!, segment))
  t.ok(bytes.length >= written.bytes, `${bytes.length} bytes on disk, at least the ${written.bytes} written before the kill`)
  t.match(await inspectSegment(join(dir, recording!, segment)), { endsStream: false }, 'no end-of-stream page: it never finished')
  const probe = ffprobeStreams(join(dir, recording!, segment))
  t.match(probe.streams, [{ codec_name: 'opus', channels: 2 }])
  const left = channel(ffmpegDecodeF32(join(dir, recording!, segment), 2).samples, 2, 0)
  t.ok(left.length / 48000 >= written.seconds - 0.01, `ffmpeg plays ${(left.length / 48000).toFixed(2)} s (${written.seconds.toFixed(2)} s were written)`)
  const fit = alignAndSnr(left, (n) => TONE_AMPLITUDE * Math.sin(2 * Math.PI * TONE_HZ * n / 48000), 4800, left.length - 4800, -60, 60)
  t.ok(fit.snrDb > 25, `the tone up to the end: ${fit.snrDb.toFixed(1)} dB`)

  // A new process on the same folder (no Redis: the session itself is gone) still serves the recording.
  const again = spawnBuiltServer({ ...ENV, RECORDINGS_DIR: dir })
  t.teardown(() => { again.child.kill('SIGKILL') })
  const base2 = await listeningUrl(again)
  const download = await fetch(`${base2}/api/share/123456/recording.ogg`, { headers: CLIENT_HEADERS })
  t.equal(download.status, 200)
  const served = Buffer.from(await download.arrayBuffer())
  t.ok(parseOggPages(served).every((p) => p.crcOk), 'whole pages only (a torn last page is left out)')
  t.ok(served.length <= bytes.length && served.length >= written.bytes)
  const file = saveFile(dir, 'served.ogg', served)
  t.ok(Math.abs(channel(ffmpegDecodeF32(file, 2).samples, 2, 0).length - left.length) < 960, 'the same audio')
  const cue = await (await fetch(`${base2}/api/share/123456/recording.cue`, { headers: CLIENT_HEADERS })).text()
  t.match(cue, /TITLE "Before the crash"\r\n {4}PERFORMER "Artist Name"\r\n {4}INDEX 01 00:00:00/, 'its chapter survived in the sidecar')
})
