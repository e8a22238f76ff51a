import t from 'tap'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { build, eventually } from '../helper.js'
import { AUTH, listen, openWs, postAudio, startOver, until } from '../push/push-helper.js'
import { sineChunk } from '../codec/helpers/signal.js'
import { encodeAudioFrame } from '../../src/push/push-frames.js'

const STEREO = { sampleRate: 44100, channels: 2 }
const SLOW_LISTENER = fileURLToPath(new URL('./slow-listener.mjs', import.meta.url))

const tone = (i: number) => sineChunk(44100, 2, 22050, i * 0.5)
type Quality = { type: string, bitrateKbps: number, adaptive: boolean }

t.test('a listener that stops reading steps down a tier instead of being dropped, and back up once it reads again', async (t) => {
  const app = await build(t, { OPUS_ABR_UP_AFTER_SECONDS: '1', JOIN_BURST_SECONDS: '0.5' })
  const base = await listen(app)
  await startOver(base)
  // The listener is another process (a phone on a bad network), so its reads stop for real.
  const child = spawn(process.execPath, [SLOW_LISTENER, `${base.replace(/^http/, 'ws')}/api/share/123456/ws?codec=opus`, AUTH.authorization])
  t.teardown(() => child.kill())
  const lines: Array<Record<string, unknown>> = []
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>))
  const qualities = () => lines.filter((m) => m.type === 'quality') as unknown as Quality[]
  await eventually(() => qualities().length === 1 || undefined, 'told its starting quality', 20_000)
  t.match(qualities()[0], { bitrateKbps: 128, adaptive: true })
  const sharer = await openWs(`${base}/api/share/123456/ws?role=sharer`)
  let seq = 0
  const send = () => sharer.ws.send(encodeAudioFrame(seq, Date.now(), STEREO, tone(seq++)))
  // A few clean seconds first: the tier it is at when its reads stop.
  for (let i = 0; i < 4; i++) {
    send()
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  child.stdin.write('pause\n')

  // The sharer streams over its own WebSocket (raw float32 frames: cheap to send many seconds quickly).
  while (app.opus.stats.tierDowns === 0 && seq < 2000) {
    send()
    if (seq % 10 === 0) await eventually(() => app.sessions.requireActive('123456').chunksReceived >= seq || undefined, 'the frames arrive', 20_000, 5)
  }
  t.ok(app.opus.stats.tierDowns >= 1, `stepped down after ${seq / 2} s of audio sent to a listener that reads nothing`)
  t.notOk(lines.some((m) => m.type === 'closed'), 'not dropped')
  const downAt = qualities().length

  // It reads again: after a clean second it climbs back.
  child.stdin.write('resume\n')
  const ups = app.opus.stats.tierUps
  const deadline = Date.now() + 30_000
  while (app.opus.stats.tierUps === ups && Date.now() < deadline) {
    send()
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(app.opus.stats.tierUps > ups, 'stepped back up')
  // Its quality events were queued while it read nothing: once it reads, it learns of the step down, then up.
  const descentThenAscent = (seen: number[]) => seen.some((kbps, i) => i > 0 && kbps < seen[i - 1]! && seen.slice(i + 1).some((later) => later > kbps))
  await eventually(() => descentThenAscent(qualities().map((q) => q.bitrateKbps)) || undefined, 'the page told of the step down and back up', 20_000)
  t.ok(qualities().length > downAt, `the page was told each change: ${qualities().map((q) => q.bitrateKbps).join(' → ')}`)
  const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(scrape, /musicshare_opus_tier_changes_total\{direction="down"\} [1-9]/)
  t.match(scrape, /musicshare_opus_listeners\{bitrate="\d+"\} 1/)
  child.stdin.write('close\n')
  sharer.ws.close()
  await until(() => app.opus.encoders === 0, 'every tier stops with the last listener')
})

t.test('?bitrate= pins a tier (the nearest at or below); tiers are encoded only while someone takes them', async (t) => {
  const app = await build(t, { RATE_LIMIT_AUDIO_PER_SECOND: '1000' })
  const base = await listen(app)
  await startOver(base)
  const low = await openWs(`${base}/api/share/123456/ws?codec=opus&bitrate=70`)
  const high = await openWs(`${base}/api/share/123456/ws?codec=opus`)
  await until(() => app.opus.encoders === 2, 'two tiers, two encoders')
  for (let i = 0; i < 4; i++) await postAudio(base, i, tone(i))
  const frames = (c: typeof low) => c.messages.filter((m) => m.binary).map((m) => m.data)
  await until(() => frames(low).length === 4 && frames(high).length === 4, 'both get every chunk')
  t.match(low.json().find((m) => m.type === 'quality'), { bitrateKbps: 64, adaptive: false })
  const bytes = (c: typeof low) => frames(c).reduce((n, f) => n + f.length, 0)
  t.ok(bytes(low) < bytes(high) * 0.65, `64 kbit/s is smaller: ${bytes(low)} against ${bytes(high)} bytes`)
  t.same(frames(low).map((f) => f.readDoubleLE(28)), frames(high).map((f) => f.readDoubleLE(28)),
    'every tier carries the same arrival time for a chunk')
  high.ws.close()
  await until(() => app.opus.encoders === 1, 'the 128 kbit/s tier stops with its last listener')
  low.ws.close()
})

t.test('the clock: a ping is answered at once with the server time; anything else is ignored', async (t) => {
  const app = await build(t)
  const base = await listen(app)
  await startOver(base)
  for (const codec of ['opus', 'pcm']) {
    const client = await openWs(`${base}/api/share/123456/ws?codec=${codec}`)
    client.ws.send('not json')
    client.ws.send(JSON.stringify({ type: 'ping', t: 'soon' }))
    client.ws.send(Buffer.alloc(8))
    const before = Date.now()
    client.ws.send(JSON.stringify({ type: 'ping', t: 12345.5 }))
    await until(() => client.json().some((m) => m.type === 'pong'), 'a pong')
    const pongs = client.json().filter((m) => m.type === 'pong')
    t.equal(pongs.length, 1, `${codec}: only the well-formed ping is answered`)
    t.equal(pongs[0]!.t, 12345.5, 'its time comes back')
    t.ok((pongs[0]!.serverTime as number) >= before && (pongs[0]!.serverTime as number) <= Date.now(), 'with the server\'s')
    client.ws.close()
  }
})
