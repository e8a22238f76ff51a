import t, { type Test } from 'tap'
import { once } from 'node:events'
import { request as httpRequest, Agent } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocket } from 'ws'
import { clientChunk, clientMetadata, TOKEN } from '../helper.js'
import { PrivateRedis, redisBinary } from '../redis-server.js'
import { assertBuilt, listeningUrl, spawnBuiltServer } from '../built-server.js'

const AUTH = { authorization: `Bearer ${TOKEN}`, 'user-agent': 'SongRequest Desktop v1.4.2' }
const SESSIONS = ['111111', '222222', '333333']

interface Outcome { status: number | 'reset' | 'refused', body: string, sentAt: number }

/** One HTTP request over a keep-alive agent; never throws: a failure is an outcome too. */
function call (agent: Agent, base: string, method: string, path: string, body?: unknown): Promise<Outcome> {
  const sentAt = Date.now()
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = httpRequest(`${base}${path}`, {
      method, agent, headers: payload === undefined ? AUTH : { ...AUTH, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, sentAt }))
      res.on('aborted', () => resolve({ status: 'reset', body: text, sentAt }))
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: err.code === 'ECONNREFUSED' ? 'refused' : 'reset', body: '', sentAt }))
    req.end(payload)
  })
}

t.before(assertBuilt)

async function startServer (env: Record<string, string>) {
  const server = spawnBuiltServer({ BEARER_TOKEN: TOKEN, SHUTDOWN_TIMEOUT_SECONDS: '8', ...env })
  return { child: server.child, base: await listeningUrl(server), log: () => server.stdout() + server.stderr() }
}

async function shutdownUnderLoad (t: Test, env: Record<string, string>) {
  const { child, base, log } = await startServer(env)
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  t.teardown(() => { agent.destroy(); if (child.exitCode === null) child.kill('SIGKILL') })
  for (const id of SESSIONS) t.equal((await call(agent, base, 'POST', '/api/share/start', { sessionId: id })).status, 200)

  const outcomes: Outcome[] = []
  const acked = new Map<string, number>()
  let running = true
  // Sharers: audio and metadata every 100 ms per session; receivers: polls, long-polls, push streams.
  const sharers = SESSIONS.map(async (id) => {
    for (let seq = 0; running; seq++) {
      const [audio, meta] = await Promise.all([
        call(agent, base, 'POST', `/api/share/${id}/audio`, clientChunk(seq)),
        call(agent, base, 'POST', `/api/share/${id}/metadata`, clientMetadata())
      ])
      outcomes.push(audio, meta)
      if (audio.status === 200) acked.set(id, seq)
      await sleep(100)
    }
  })
  const pollers = SESSIONS.map(async (id) => {
    let since = -1
    while (running) {
      const res = await call(agent, base, 'GET', `/api/share/${id}/audio?since=${since}`)
      outcomes.push(res)
      if (res.status === 200) since = Math.max(since, ...(JSON.parse(res.body) as Array<{ sequenceNumber: number }>).map((c) => c.sequenceNumber))
      await sleep(40)
    }
  })
  // Long-polls held far beyond the shutdown: they must be released with an answer, not cut.
  const longPolls = SESSIONS.map((id) => call(agent, base, 'GET', `/api/share/${id}/audio?since=100000&waitMs=10000`))
  const sockets = SESSIONS.map((id) => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/share/${id}/ws`, { headers: AUTH })
    ws.on('error', () => {})
    return { ws, closed: once(ws, 'close') as Promise<[number, Buffer]> }
  })
  const wav = await new Promise<import('node:http').IncomingMessage>((resolve) => {
    httpRequest(`${base}/api/share/111111/stream.wav`, { headers: AUTH }, resolve).end()
  })
  const wavEnded = new Promise<string>((resolve) => {
    wav.on('end', () => resolve('end'))
    wav.on('aborted', () => resolve('aborted'))
    wav.on('error', () => resolve('error'))
    wav.resume()
  })

  await sleep(1500)
  const sigtermAt = Date.now()
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit') as [number]
  const exitMs = Date.now() - sigtermAt
  running = false
  await Promise.all([...sharers, ...pollers])

  t.equal(code, 0, 'exit code 0')
  t.ok(exitMs < 8000, `exited ${exitMs} ms after SIGTERM`)
  t.match(log(), /shutting down/)
  t.match(log(), /shutdown complete/)

  const released = await Promise.all(longPolls)
  t.same(released.map((r) => r.status), [204, 204, 204], 'held long-polls were answered (204), not cut')
  for (const { closed } of sockets) {
    const [wsCode] = await closed
    t.equal(wsCode, 1001, 'WebSocket closed with 1001 going away')
  }
  t.equal(await wavEnded, 'end', 'stream.wav ended cleanly')

  const before = outcomes.filter((o) => o.sentAt < sigtermAt)
  const during = outcomes.filter((o) => o.sentAt >= sigtermAt)
  t.ok(before.length > 50, `${before.length} requests before SIGTERM`)
  t.same(before.filter((o) => typeof o.status !== 'number' || o.status >= 500), [], 'no request sent before SIGTERM failed')
  for (const o of during) {
    if (o.status === 503) t.match(JSON.parse(o.body), { success: false, code: 'SERVICE_UNAVAILABLE' }, 'a 503 while closing is in the uniform format')
  }
  t.same(during.filter((o) => typeof o.status === 'number' && o.status >= 500 && o.status !== 503), [], 'nothing but 503 or a refused connection while closing')
  t.same(outcomes.filter((o) => o.status === 200 && o.body.startsWith('[')).filter((o) => { try { JSON.parse(o.body); return false } catch { return true } }), [], 'no truncated audio answer')
  return { acked, during }
}

t.test('SIGTERM under load: in-flight requests finish, new ones get 503, streams close properly, exit 0', async (t) => {
  const { during } = await shutdownUnderLoad(t, {})
  t.comment(`after SIGTERM: ${during.filter((o) => o.status === 503).length} answered 503, ${during.filter((o) => o.status === 'refused').length} refused`)
})

t.test('SIGTERM under load with the Redis snapshot on: the last accepted chunk of every session is flushed', { skip: redisBinary.skip }, async (t) => {
  const redis = await PrivateRedis.start(t)
  const { acked } = await shutdownUnderLoad(t, { REDIS_URL: redis.url, REDIS_FLUSH_INTERVAL_MS: '5000' })
  const r = redis.client()
  for (const id of SESSIONS) {
    t.equal(Number(await r.hget(`session:${id}`, 'lastSequence')), acked.get(id), `session ${id}: the last acknowledged chunk reached Redis`)
  }
})
