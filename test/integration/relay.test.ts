import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { build, clientMetadata, CLIENT_HEADERS, JSON_HEADERS, sine } from '../helper.js'
import { encodeFloat32Base64 } from '../../src/session/pcm-codec.js'
import { readAudioChunks, readMetadata, readStatus } from '../client-contract.js'

// A tiny JPEG (SOI, APP0 JFIF header, EOI) as the client would send a cover thumbnail.
const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex').toString('base64')
const FRAMES = 22050 // 0.5 s of 44.1 kHz stereo = 44100 floats, the client's chunk
const CHUNK_EVERY_MS = 100 // five times the client's real cadence
const POLL_EVERY_MS = 80 // five times the client's 400 ms

t.test('one sharer, three receivers over real HTTP: every chunk once, in order, byte-identical; a paused receiver catches up; stop ends it', async (t) => {
  // 30 s window = 60 chunks = 6 s at this accelerated cadence, so a 3 s pause stays inside it.
  const app = await build(t, { AUDIO_BUFFER_SECONDS: '30', JOIN_BURST_SECONDS: '30' })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const api = (path: string) => `${base}/api/share/123456${path}`

  const start = await fetch(`${base}/api/share/start`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ sessionId: '123456' }) })
  t.equal(start.status, 200)

  const sent = new Map<number, string>()
  let sharing = true
  const sharer = (async () => {
    let seq = 0
    const began = Date.now()
    while (sharing) {
      const data = encodeFloat32Base64(sine(FRAMES, seq * FRAMES))
      sent.set(seq, data)
      const res = await fetch(api('/audio'), {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({ data, sampleRate: 44100, channels: 2, timestamp: Date.now(), sequenceNumber: seq })
      })
      if (res.status !== 200) throw new Error(`audio POST ${seq}: ${res.status} ${await res.text()}`)
      if (seq % 5 === 0) {
        const meta = await fetch(api('/metadata'), {
          method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(clientMetadata({ elapsedSeconds: seq / 2, thumbnailData: JPEG }))
        })
        if (meta.status !== 200) throw new Error(`metadata POST: ${meta.status}`)
      }
      seq++
      await sleep(Math.max(0, began + seq * CHUNK_EVERY_MS - Date.now()))
    }
    return seq
  })()

  const receive = async (name: string, pauseAfterMs?: number) => {
    const status = readStatus(await (await fetch(api('/status'), { headers: CLIENT_HEADERS })).json() as Record<string, unknown>)
    if (!status.isActive) throw new Error(`${name}: not active`)
    const got: number[] = []
    let last = -1
    let paused = pauseAfterMs === undefined
    const began = Date.now()
    let sawMetadata = false
    while (true) {
      if (!paused && Date.now() - began > pauseAfterMs!) {
        paused = true
        await sleep(3000)
      }
      const res = await fetch(api(`/audio?since=${last}`), { headers: CLIENT_HEADERS })
      if (res.status === 404) break // the share ended
      if (res.status === 200) {
        for (const chunk of readAudioChunks(JSON.parse(await res.text()))) {
          if (chunk.data !== sent.get(chunk.sequenceNumber)) throw new Error(`${name}: chunk ${chunk.sequenceNumber} differs`)
          if (chunk.sampleRate !== 44100 || chunk.channels !== 2) throw new Error(`${name}: format`)
          got.push(chunk.sequenceNumber)
          last = Math.max(last, chunk.sequenceNumber)
        }
      } else if (res.status !== 204) {
        throw new Error(`${name}: audio poll ${res.status}`)
      }
      const meta = await fetch(api('/metadata'), { headers: CLIENT_HEADERS })
      if (meta.status === 200) {
        const m = readMetadata(await meta.json() as Record<string, unknown>)
        sawMetadata = m.thumbnailData === JPEG && m.title === 'Song Title'
      }
      await sleep(POLL_EVERY_MS)
    }
    return { got, sawMetadata }
  }

  const receivers = Promise.all([receive('r1'), receive('r2'), receive('paused', 1000)])
  await sleep(6000)
  sharing = false
  const total = await sharer
  await sleep(300) // the receivers drain what is left
  const stop = await fetch(api('/stop'), { method: 'POST', headers: CLIENT_HEADERS })
  t.equal(stop.status, 200)
  const stopBody = await stop.json() as { bytesTransferred: number }
  t.equal(stopBody.bytesTransferred, total * FRAMES * 2 * 4, 'bytesTransferred counts every decoded byte')

  const results = await receivers
  for (const [i, { got, sawMetadata }] of results.entries()) {
    const first = got[0]!
    t.ok(first <= 1, `receiver ${i} joined at the start (first chunk ${first})`)
    t.same(got, Array.from({ length: total - first }, (_, k) => first + k), `receiver ${i}: all ${total - first} chunks once, in order`)
    t.ok(sawMetadata, `receiver ${i} read the metadata with its thumbnail`)
  }

  const ended = await (await fetch(api('/status'), { headers: CLIENT_HEADERS })).json()
  t.match(ended, { isActive: false, endReason: 'stopped' })
  t.equal(app.sessions.activeCount, 0)
})
