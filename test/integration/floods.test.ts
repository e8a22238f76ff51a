import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Agent, request } from 'node:http'
import { build, CLIENT_HEADERS, startSession } from '../helper.js'

// A full garbage collection between measurements, so the heap figures compare what is really retained.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function retainedHeapMb (): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed / 1024 / 1024
}

t.test('a flood of distinct fake receivers keeps listener tracking and rate-limit keys bounded: memory stays flat', async (t) => {
  // Small bounds so the flood passes them quickly; over real HTTP (app.inject under tap retains every request).
  const app = await build(t, { MAX_LISTENERS_PER_SESSION: '200', RATE_LIMIT_MAX_KEYS: '500', LISTENER_WINDOW_SECONDS: '300' })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  await startSession(app)
  const agent = new Agent({ keepAlive: true, maxSockets: 16 })
  t.teardown(() => agent.destroy())
  const poll = (i: number) => new Promise<number>((resolve, reject) => {
    request(`${base}/api/share/123456/audio?since=-1`, { agent, headers: { ...CLIENT_HEADERS, 'x-client-id': `fake-client-${i}` } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    }).on('error', reject).end()
  })
  const flood = async (from: number, count: number) => {
    let next = from
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < from + count) {
        const status = await poll(next++)
        if (status !== 204) throw new Error(`poll: ${status}`)
      }
    }))
  }
  const session = app.sessions.requireActive('123456')
  await flood(0, 1500)
  const warm = retainedHeapMb()
  t.equal(session.listeners.count(Date.now()), 200, 'listener tracking is capped at MAX_LISTENERS_PER_SESSION')
  await flood(1500, 3000)
  const after = retainedHeapMb()
  t.equal(session.listeners.count(Date.now()), 200)
  // A per-request leak (a few KB each) would show as several MB here; the structures themselves are
  // checked exactly above (listeners) and below (rate-limit keys).
  t.ok(after - warm < 3, `heap after 3000 more distinct clients (6x the rate-limit key bound): ${warm.toFixed(1)} -> ${after.toFixed(1)} MB`)
  const status = await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: CLIENT_HEADERS })
  t.equal(status.json().listenerCount, 200, 'the listener count says what is tracked')
})

t.test('rate-limit state is bounded: past RATE_LIMIT_MAX_KEYS the least recently seen client is forgotten', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX_KEYS: '100' })
  await startSession(app)
  const poll = (client: string) => app.inject({
    method: 'GET', url: '/api/share/123456/audio?since=-1', headers: { ...CLIENT_HEADERS, 'x-client-id': client }
  })
  let status = 0
  for (let i = 0; i < 200 && status !== 429; i++) status = (await poll('hammer')).statusCode
  t.equal(status, 429, 'the hammering client is limited')
  t.equal((await poll('hammer')).statusCode, 429, 'and stays limited within the window')
  for (let i = 0; i < 150; i++) await poll(`other-${i}`)
  t.equal((await poll('hammer')).statusCode, 204, 'after 150 other clients its count was evicted: the store holds at most 100 keys')
})

t.test('a flood of sessions started and stopped keeps the ended markers bounded', async (t) => {
  const app = await build(t, { RATE_LIMIT_STARTS_PER_MINUTE: '100000' })
  const max = app.sessions.options.maxEndedSessions
  // Drive the registry directly past its bound (the HTTP path is the same call; 10 000+ round trips would only slow the suite).
  const before = retainedHeapMb()
  for (let i = 0; i < max + 5000; i++) {
    const id = String(100000 + i)
    app.sessions.start(id, Date.now())
    app.sessions.stop(id, Date.now())
  }
  t.equal(app.sessions.endedCount, max, `ended markers capped at ${max}`)
  const full = retainedHeapMb()
  for (let i = 0; i < 10_000; i++) {
    const id = String(300000 + i)
    app.sessions.start(id, Date.now())
    app.sessions.stop(id, Date.now())
  }
  const after = retainedHeapMb()
  t.equal(app.sessions.endedCount, max)
  t.ok(after - full < 2, `heap with the markers full, then 10 000 more: ${full.toFixed(1)} -> ${after.toFixed(1)} MB (from ${before.toFixed(1)})`)
})
