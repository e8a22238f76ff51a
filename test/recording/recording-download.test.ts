import t from 'tap'
import { build, errorShape } from '../helper.js'
import { AUTH, listen, startOver } from '../push/push-helper.js'
import { ffmpegDecodeF32, ffprobeStreams } from '../codec/helpers/ffmpeg.js'
import { alignAndSnr, channel, dominantFrequency, TONE_AMPLITUDE, TONE_HZ } from '../codec/helpers/signal.js'
import { parseOggPages } from '../codec/helpers/ogg-reader.js'
import { assertFfmpeg, cueTracks, FAST, jsonOf, needsFfmpeg, playSongs, recorded, recordingsDir, saveFile, statusOf } from './recording-helper.js'

const SONGS = [{ title: 'First', chunks: 6 }, { title: 'Second', chunks: 6 }, { title: 'Third', chunks: 6 }]

t.test('a recorded session downloads as Ogg/Opus that decodes to the posted tone; its chapters are the songs posted', needsFfmpeg, async (t) => {
  if (!assertFfmpeg(t)) return
  const dir = recordingsDir(t)
  const app = await build(t, { RECORDINGS_DIR: dir, ...FAST })
  const base = await listen(app)
  const { listenKey } = await startOver(base)
  await playSongs(base, SONGS)
  await recorded(app, 8.9)
  const stop = await fetch(`${base}/api/share/123456/stop`, { method: 'POST', headers: AUTH })
  t.equal(stop.status, 200)
  await app.recordings!.settled()

  const res = await fetch(`${base}/api/share/123456/recording.ogg?key=${listenKey}`)
  t.equal(res.status, 200, 'a listen key opens it')
  t.equal(res.headers.get('content-type'), 'audio/ogg')
  t.equal(res.headers.get('accept-ranges'), 'bytes')
  t.match(res.headers.get('content-disposition'), /^attachment; filename="musicshare-123456-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.ogg"$/)
  const body = Buffer.from(await res.arrayBuffer())
  t.equal(Number(res.headers.get('content-length')), body.length)
  const pages = parseOggPages(body)
  t.ok(pages.every((p) => p.crcOk), 'whole pages with good CRCs')
  t.equal(pages.at(-1)!.flags & 0x04, 0x04, 'ended cleanly: the last page is end-of-stream')

  const file = saveFile(dir, 'download.ogg', body)
  const probe = ffprobeStreams(file)
  t.equal(probe.streams.length, 1)
  t.match(probe.streams[0], { codec_name: 'opus', sample_rate: '48000', channels: 2 })
  const left = channel(ffmpegDecodeF32(file, 2).samples, 2, 0)
  t.ok(left.length / 48000 > 8.9 && left.length / 48000 <= 9, `${(left.length / 48000).toFixed(3)} s decoded of 9 s posted`)
  const hz = dominantFrequency(left.subarray(48000, 8 * 48000), 48000)
  t.ok(Math.abs(hz - TONE_HZ) < 1, `${hz.toFixed(2)} Hz`)
  const fit = alignAndSnr(left, (n) => TONE_AMPLITUDE * Math.sin(2 * Math.PI * TONE_HZ * n / 48000), 4800, left.length - 4800, -60, 60)
  t.ok(fit.snrDb > 25, `SNR ${fit.snrDb.toFixed(1)} dB against the posted sine, across the song changes`)

  const cue = await fetch(`${base}/api/share/123456/recording.cue`, { headers: AUTH })
  t.equal(cue.status, 200)
  t.match(cue.headers.get('content-type'), /^application\/x-cue/)
  t.match(cue.headers.get('content-disposition'), /filename="musicshare-123456-.*Z\.cue"/)
  const text = await cue.text()
  t.match(text, /FILE "musicshare-123456-.*Z\.ogg" WAVE/, 'it names the download')
  const tracks = cueTracks(text)
  t.same(tracks.map((c) => c.title), ['First', 'Second', 'Third'], 'one chapter per song posted, in order')
  tracks.forEach((c, i) => t.ok(Math.abs(c.at - 3 * i) < 0.1, `"${c.title}" at ${c.at.toFixed(2)} s, where its audio starts (${3 * i} s)`))
  const status = await statusOf(base)
  t.match(status, { isActive: false, recording: { state: 'finished', reason: null, bytes: body.length } })
  t.ok(Math.abs(status.recording!.seconds - left.length / 48000) < 0.02)
})

t.test('Range requests return the right bytes; a range past the end is 416 with the size; HEAD has no body', async (t) => {
  const dir = recordingsDir(t)
  const app = await build(t, { RECORDINGS_DIR: dir, ...FAST })
  const base = await listen(app)
  await startOver(base)
  await playSongs(base, [{ title: 'Only', chunks: 4 }])
  await recorded(app, 1.9)
  const url = `${base}/api/share/123456/recording.ogg`
  const whole = Buffer.from(await (await fetch(url, { headers: AUTH })).arrayBuffer())
  const size = whole.length
  t.ok(size > 10_000, `${size} bytes recorded so far, while the session is live`)

  const get = async (range: string) => {
    const res = await fetch(url, { headers: { ...AUTH, range } })
    return { status: res.status, contentRange: res.headers.get('content-range'), length: Number(res.headers.get('content-length')), body: Buffer.from(await res.arrayBuffer()) }
  }
  const cases: Array<[string, number, number]> = [['bytes=0-99', 0, 99], ['bytes=-100', size - 100, size - 1], ['bytes=100-', 100, size - 1],
    ['bytes=5000-5000', 5000, 5000], [`bytes=${size - 10}-${size + 1000}`, size - 10, size - 1]]
  for (const [range, start, end] of cases) {
    const res = await get(range)
    t.equal(res.status, 206, range)
    t.equal(res.contentRange, `bytes ${start}-${end}/${size}`)
    t.equal(res.length, end - start + 1)
    t.same(res.body, whole.subarray(start, end + 1), `${range}: the right bytes`)
  }
  const past = await get(`bytes=${size}-`)
  t.equal(past.status, 416)
  t.equal(past.contentRange, `bytes */${size}`)
  t.match(JSON.parse(past.body.toString()), errorShape('RANGE_NOT_SATISFIABLE'))
  const several = await get('bytes=0-1,4-5')
  t.equal(several.status, 200, 'several ranges: the whole file')
  t.equal(several.body.length, size)

  const head = await fetch(url, { method: 'HEAD', headers: AUTH })
  t.equal(head.status, 200)
  t.equal(Number(head.headers.get('content-length')), size)
  t.equal((await head.arrayBuffer()).byteLength, 0)
})

t.test('who may download: receivers (token or listen key); an unknown id or a session never recorded is 404', async (t) => {
  const app = await build(t, { RECORDINGS_DIR: recordingsDir(t), RECORDING_DEFAULT: 'off', ...FAST })
  const base = await listen(app)
  await startOver(base)
  await playSongs(base, [{ title: 'x', chunks: 2 }])
  t.equal((await fetch(`${base}/api/share/123456/recording.ogg?key=wrong`)).status, 401)
  t.equal((await fetch(`${base}/api/share/123456/recording.ogg`)).status, 401)
  t.match(await jsonOf(fetch(`${base}/api/share/123456/recording.ogg`, { headers: AUTH })), errorShape('RECORDING_NOT_FOUND'), 'not recorded')
  t.match(await jsonOf(fetch(`${base}/api/share/123456/recording.cue`, { headers: AUTH })), errorShape('RECORDING_NOT_FOUND'))
  t.match(await jsonOf(fetch(`${base}/api/share/654321/recording.ogg`, { headers: AUTH })), errorShape('RECORDING_NOT_FOUND'))
  t.match(await jsonOf(fetch(`${base}/api/share/12345/recording.ogg`, { headers: AUTH })), errorShape('VALIDATION_ERROR'))
})

t.test('after the session is forgotten, its recording and its song history are served until retention ends', async (t) => {
  const dir = recordingsDir(t)
  const app = await build(t, { RECORDINGS_DIR: dir, RECORDINGS_RETENTION_HOURS: '1', ...FAST })
  const base = await listen(app)
  await startOver(base)
  await playSongs(base, [{ title: 'One', chunks: 2 }, { title: 'Two', chunks: 2 }])
  await recorded(app, 1.9)
  await fetch(`${base}/api/share/123456/stop`, { method: 'POST', headers: AUTH })
  const { songs } = await jsonOf(fetch(`${base}/api/share/123456/history`, { headers: AUTH })) as { songs: Array<{ title: string }> }
  t.same(songs.map((s) => s.title), ['One', 'Two'])

  app.sessions.sweep(Date.now() + 10 * 60_000)
  t.equal((await fetch(`${base}/api/share/123456/status`, { headers: AUTH })).status, 404, 'the ended marker is gone')
  t.same(await jsonOf(fetch(`${base}/api/share/123456/history`, { headers: AUTH })), { sessionId: '123456', isActive: false, songs },
    'the history is kept with the recording')
  t.equal((await fetch(`${base}/api/share/123456/recording.ogg`, { headers: AUTH })).status, 200)

  await app.recordings!.sweep(Date.now() + 2 * 3_600_000)
  t.equal((await fetch(`${base}/api/share/123456/recording.ogg`, { headers: AUTH })).status, 404, 'past retention: deleted')
  t.equal((await fetch(`${base}/api/share/123456/history`, { headers: AUTH })).status, 404, 'and the history with it')
})
