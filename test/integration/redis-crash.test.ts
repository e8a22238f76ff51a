import t from 'tap'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { clientChunk, clientMetadata, CLIENT_HEADERS, eventually, JSON_HEADERS, TOKEN } from '../helper.js'
import { readMetadata, readStatus } from '../client-contract.js'
import { pollingReceiver } from '../polling-receiver.js'
import { freePort, PrivateRedis, redisBinary } from '../redis-server.js'
import { assertBuilt, listeningUrl, spawnBuiltServer } from '../built-server.js'

const CHUNK_EVERY_MS = 100
const POLL_EVERY_MS = 80
const FLUSH_MS = 50

/** Starts the server as its own process and resolves once it logs that it listens. */
async function startServer (port: number, redisUrl: string): Promise<ChildProcess> {
  const server = spawnBuiltServer({
    PORT: String(port),
    BEARER_TOKEN: TOKEN,
    REDIS_URL: redisUrl,
    REDIS_FLUSH_INTERVAL_MS: String(FLUSH_MS),
    AUDIO_BUFFER_SECONDS: '30',
    RATE_LIMIT_AUDIO_PER_SECOND: '100',
    RATE_LIMIT_POLLS_PER_SECOND: '100'
  })
  await listeningUrl(server)
  return server.child
}

t.before(assertBuilt)

t.test('kill -9 with a sharer and two receivers: a new process on the same Redis carries on where it stopped', { skip: redisBinary.skip }, async (t) => {
  const redis = await PrivateRedis.start(t)
  const r = redis.client()
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const api = (path: string) => `${base}/api/share/123456${path}`
  let server = await startServer(port, redis.url)
  t.teardown(() => { server.kill('SIGKILL') })

  const start = await fetch(`${base}/api/share/start`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ sessionId: '123456' }) })
  t.equal(start.status, 200)
  const meta = await fetch(api('/metadata'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(clientMetadata()) })
  t.equal(meta.status, 200)

  // The sharer, as the desktop client: one chunk per period, errors only logged, never re-registers.
  const accepted: number[] = []
  const unreachable: number[] = []
  const rejected: string[] = []
  let sharing = true
  let nextSeq = 0
  const sharer = (async () => {
    while (sharing) {
      const seq = nextSeq++
      try {
        const res = await fetch(api('/audio'), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(clientChunk(seq)) })
        if (res.status === 200) accepted.push(seq)
        else rejected.push(`${seq}: ${res.status} ${await res.text()}`)
      } catch {
        unreachable.push(seq)
      }
      await sleep(CHUNK_EVERY_MS)
    }
  })()

  // Receivers poll with `since` and retry on connection errors, as the client does.
  let receiving = true
  const receiver = () => pollingReceiver(api('/audio'), CLIENT_HEADERS, POLL_EVERY_MS, () => receiving)
  const receivers = Promise.all([receiver(), receiver()])
  t.teardown(() => { sharing = false; receiving = false }) // the loops end even when an assertion throws

  await eventually(() => accepted.length >= 15 || rejected.length > 0 || undefined, '15 chunks accepted', 15_000)
  const statusBefore = await (await fetch(api('/status'), { headers: CLIENT_HEADERS })).json() as Record<string, unknown>
  const exited = once(server, 'exit')
  server.kill('SIGKILL')
  await exited
  const acceptedBeforeCrash = [...accepted]
  // What reached Redis before the crash; anything accepted after it is the at-most-one-flush window lost.
  const persisted = Number(await r.hget('session:123456', 'lastSequence'))
  const lostInCrash = acceptedBeforeCrash.filter((s) => s > persisted)
  t.ok(lostInCrash.length <= Math.ceil(FLUSH_MS / CHUNK_EVERY_MS) + 1, `at most one flush interval lost to kill -9 (${lostInCrash.length} chunk(s))`)

  await sleep(3 * CHUNK_EVERY_MS) // the sharer keeps sending into the void for a while
  server = await startServer(port, redis.url)
  const firstAfter = nextSeq
  await eventually(() => accepted.filter((s) => s >= firstAfter).length >= 8 || rejected.length > 0 || undefined,
    '8 chunks accepted after the restart', 15_000)
  sharing = false
  await sharer
  await sleep(4 * POLL_EVERY_MS) // the receivers drain what is left
  receiving = false
  const results = await receivers

  t.same(rejected, [], 'the server answered every audio POST it received with 200: the session was never forgotten')
  t.ok(unreachable.length >= 1, `${unreachable.length} chunk(s) were sent while the server was down`)
  const firstAccepted = accepted.find((s) => s > acceptedBeforeCrash.at(-1)!)
  t.equal(firstAccepted, unreachable.at(-1)! + 1, 'the sharer\'s first POST after the restart succeeded')

  const statusAfter = await (await fetch(api('/status'), { headers: CLIENT_HEADERS })).json() as Record<string, unknown>
  t.match(readStatus(statusAfter), { isActive: true, startTime: readStatus(statusBefore).startTime }, 'the client reads the same session')
  t.match(statusAfter, { sessionId: '123456', currentMetadata: { title: 'Song Title', artist: 'Artist Name' }, endedAt: null })
  t.same(readMetadata(await (await fetch(api('/metadata'), { headers: CLIENT_HEADERS })).json() as Record<string, unknown>), clientMetadata())

  const missing = new Set([...unreachable, ...lostInCrash])
  for (const [i, { got, errors }] of results.entries()) {
    t.same(errors, [], `receiver ${i}: no error answers`)
    const first = got[0]!
    const last = got.at(-1)!
    const expected = accepted.filter((s) => s >= first && s <= last && !lostInCrash.includes(s))
    const held = got.filter((s) => !lostInCrash.includes(s))
    t.same(held, expected, `receiver ${i}: every chunk the servers kept, once, in order, across the crash`)
    const gaps = []
    for (let s = first; s <= last; s++) if (!got.includes(s)) gaps.push(s)
    t.ok(gaps.every((s) => missing.has(s)), `receiver ${i}: the only gaps are chunks sent while the server was down (${gaps.join(',')})`)
    t.ok(last >= accepted.at(-1)!, `receiver ${i} caught up with the sharer`)
  }
})
