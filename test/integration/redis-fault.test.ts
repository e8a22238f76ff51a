import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp } from '../../app.js'
import { clientChunk, clientMetadata, CLIENT_HEADERS, eventually, JSON_HEADERS, testConfig } from '../helper.js'
import { readAudioChunks } from '../client-contract.js'
import { nextEvent, PrivateRedis, redisBinary } from '../redis-server.js'

const CHUNK_EVERY_MS = 50

t.test('Redis goes down during traffic: zero failed requests, health degraded; back up: healthy and keys rebuilt', { skip: redisBinary.skip }, async (t) => {
  const redis = await PrivateRedis.start(t)
  const lines: string[] = []
  // (testConfig turns load shedding off: a 503 because the machine lagged would hide what this test counts.)
  const app = await buildApp(testConfig({ REDIS_URL: redis.url, REDIS_FLUSH_INTERVAL_MS: '50', RATE_LIMIT_AUDIO_PER_SECOND: '100', RATE_LIMIT_POLLS_PER_SECOND: '100' }),
    { logger: { level: 'info', stream: { write: (l: string) => { lines.push(l) } } } })
  t.teardown(() => app.close())
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const api = (path: string) => `${base}/api/share/123456${path}`
  const health = async () => (await fetch(`${base}/health`)).json() as Promise<{ status: string, reason?: string }>

  const failures: string[] = []
  const check = async (what: string, res: Promise<Response>, ok: number[]) => {
    try {
      const r = await res
      const body = await r.text()
      if (!ok.includes(r.status)) failures.push(`${what}: ${r.status} ${body}`)
      return { status: r.status, body }
    } catch (err) {
      failures.push(`${what}: ${(err as Error).message}`)
      return { status: 0, body: '' }
    }
  }
  await check('start', fetch(`${base}/api/share/start`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ sessionId: '123456' }) }), [200])

  let sent = 0
  let sharing = true
  let stopped = false
  t.teardown(() => { sharing = false; stopped = true }) // the loops end even when an assertion throws
  const waiters: Array<{ seq: number, resolve: () => void }> = []
  const sentAtLeast = (seq: number) => new Promise<void>((resolve) => waiters.push({ seq: sent + seq, resolve }))
  const sharer = (async () => {
    while (sharing) {
      await check(`audio ${sent}`, fetch(api('/audio'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(clientChunk(sent)) }), [200])
      if (sent % 5 === 0) {
        await check('metadata', fetch(api('/metadata'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(clientMetadata({ elapsedSeconds: sent })) }), [200])
      }
      sent++
      for (const w of waiters.filter((w) => sent >= w.seq)) w.resolve()
      await sleep(CHUNK_EVERY_MS)
    }
  })()
  const receiver = async () => {
    const got: number[] = []
    let since = -1
    while (!stopped && (sharing || since < sent - 1)) {
      const res = await check('poll', fetch(api(`/audio?since=${since}`), { headers: CLIENT_HEADERS }), [200, 204])
      if (res.status === 200) {
        for (const c of readAudioChunks(JSON.parse(res.body))) {
          got.push(c.sequenceNumber)
          since = c.sequenceNumber
        }
      }
      await check('metadata poll', fetch(api('/metadata'), { headers: CLIENT_HEADERS }), [200, 404])
      await sleep(CHUNK_EVERY_MS)
    }
    return got
  }
  const receivers = Promise.all([receiver(), receiver()])

  await sentAtLeast(10)
  t.match(await health(), { status: 'healthy' })
  const closed = nextEvent(app.redisSnapshot!.client, 'close')
  await redis.stop()
  await closed
  const degraded = await health()
  t.match(degraded, { status: 'degraded', reason: /Redis unreachable/ }, 'degraded, with the reason')
  await sentAtLeast(10) // traffic goes on from memory

  const ready = nextEvent(app.redisSnapshot!.client, 'ready')
  await redis.start() // empty: nothing was persisted
  await ready
  const r = redis.client() // a client of the new redis-server: what it holds was rebuilt
  await eventually(async () => ((await health()).status === 'healthy' ? true : undefined), 'health to be healthy again')
  const lastSequence = Number(await r.hget('session:123456', 'lastSequence'))
  t.ok(lastSequence >= 19, `the session hash is rebuilt (lastSequence ${lastSequence}, 20 chunks or more sent)`)
  t.equal(await r.hget('session:123456:metadata', 'title'), 'Song Title', 'the metadata is rebuilt')
  t.ok(await r.xlen('session:123456:audio') >= 5, 'the audio stream is rebuilt')
  t.equal(await r.get('session:123456:claim'), app.redisSnapshot!.claims.get('123456'), 'the claim is rebuilt as it was (Redis came back empty)')

  sharing = false
  await sharer
  const [a, b] = await receivers
  t.same(failures, [], 'zero failed API requests')
  for (const got of [a!, b!]) t.same(got, Array.from({ length: got.length }, (_, i) => got[0]! + i), 'receivers got every chunk in order')
  t.equal(lines.filter((l) => l.includes('Redis snapshot degraded')).length, 1, 'one log line for the outage, not one per retry')
  t.equal(lines.filter((l) => l.includes('Redis snapshot healthy again')).length, 1)
})
