import t from 'tap'
import { build, clientMetadata, sine } from '../helper.js'
import { listen, openStream, postAudio, postMetadata, SseReader, startOver, until } from './push-helper.js'

// A listener that stops reading must not hold memory on the server or hold up anyone else: the server
// stops queueing for it and lets it go, while a reading listener on the same session gets everything.

const SLOW_LIMITS = { PUSH_SEND_BUFFER_KB: '64', PUSH_MAX_DROPPED_FRAMES: '5', RATE_LIMIT_AUDIO_PER_SECOND: '10000', RATE_LIMIT_METADATA_PER_SECOND: '10000' }

t.test('stream.wav: a reader that stops reading has frames dropped, then is let go; a reading one gets every chunk', async (t) => {
  const app = await build(t, SLOW_LIMITS)
  const base = await listen(app)
  await startOver(base)
  const slow = await openStream(`${base}/api/share/123456/stream.wav`)
  const fast = await openStream(`${base}/api/share/123456/stream.wav`)
  let fastBytes = 0
  fast.res.on('data', (d: Buffer) => { fastBytes += d.length })
  slow.res.pause() // its socket's buffers fill, then the server's queue for it
  const slowEnded = new Promise<void>((resolve) => slow.res.on('close', resolve))
  await until(() => app.push.hub.listenerCount('123456') === 2, 'both attached')

  let seq = 0
  while (app.push.hub.stats.slowDisconnects === 0 && seq < 600) {
    await postAudio(base, seq, sine(22050, seq * 22050)) // 0.5 s stereo = 88 200 bytes of 16-bit PCM
    seq++
  }
  t.equal(app.push.hub.stats.slowDisconnects, 1, 'the paused reader was let go')
  t.ok(app.push.hub.stats.droppedFrames >= 5, `frames were dropped for it first (${app.push.hub.stats.droppedFrames})`)
  const scrape = (await app.inject({ url: '/metrics' })).body
  t.match(scrape, /^musicshare_push_slow_disconnects_total 1$/m, 'the disconnect is in /metrics')
  t.match(scrape, new RegExp(`^musicshare_push_dropped_frames_total ${app.push.hub.stats.droppedFrames}$`, 'm'), 'and every dropped frame')
  t.equal(app.push.hub.listenerCount('123456'), 1, 'only the reading listener is left')
  await until(() => fastBytes === 44 + seq * 88_200, 'the reading listener got the header and every chunk')
  t.pass(`${seq} chunks reached the reading listener`)

  slow.res.resume()
  await slowEnded
  t.ok(slow.res.complete, 'the paused reader\'s stream was ended, not cut, once it read again')
  fast.req.destroy()
  await until(() => app.push.hub.listenerCount('123456') === 0, 'the other reader detached on disconnect')
})

t.test('SSE: a reader that stops reading while events pile up is cut; a reading one gets every event', async (t) => {
  const app = await build(t, SLOW_LIMITS)
  const base = await listen(app)
  await startOver(base)
  const slow = await openStream(`${base}/api/share/123456/events`)
  const fast = await openStream(`${base}/api/share/123456/events`)
  const reader = new SseReader(fast.res)
  slow.res.pause()
  const slowClosed = new Promise<void>((resolve) => slow.res.on('close', resolve))
  await until(() => app.push.hub.listenerCount('123456') === 2, 'both attached')

  // ~200 kB of lyrics per event: the paused reader's socket buffers fill after a few dozen.
  const lyrics = '[00:01.00]' + 'la '.repeat(66_000)
  let song = 0
  while (app.push.hub.listenerCount('123456') === 2 && song < 400) {
    await postMetadata(base, clientMetadata({ title: `Song ${song}`, lyrics }))
    song++
  }
  t.equal(app.push.hub.listenerCount('123456'), 1, `the paused reader was detached after ${song} events`)
  t.equal(app.push.hub.connections, 1, 'and no longer counted')
  // What the kernel already held still reaches it when it reads again; then the connection closes.
  slow.res.on('error', () => {}) // the cut may surface as ECONNRESET
  const slowReader = new SseReader(slow.res)
  slow.res.resume()
  await slowClosed
  const slowTitles = slowReader.events.filter((e) => e.event === 'metadata').length
  t.ok(slowTitles < song, `it read ${slowTitles} of ${song} events before the cut`)

  await reader.until(() => reader.events.some((e) => e.data.title === `Song ${song - 1}`))
  const titles = reader.events.filter((e) => e.event === 'metadata').map((e) => e.data.title)
  t.same(titles, Array.from({ length: song }, (_, i) => `Song ${i}`), 'the reading listener got every metadata event, in order')
  fast.req.destroy()
})
