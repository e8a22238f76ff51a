/**
 * `node redis-return-probe.js <redisUrl> <serverUrl>`, with a JSON array of Redis keys on stdin: a small
 * process of its own (the load generator's event loop is too busy to time anything to the millisecond)
 * that waits for Redis to answer again, then times, from that moment, how long until every key exists
 * and until the server's /health says healthy. Prints one JSON line
 * `{"backMs":…,"healthyMs":…}` (null for what did not happen within 30 s) and exits.
 */
import { Redis } from 'ioredis'
import { setTimeout as delay } from 'node:timers/promises'

const [redisUrl, serverUrl] = process.argv.slice(2) as [string, string]
let input = ''
for await (const chunk of process.stdin) input += chunk
const keys = JSON.parse(input) as string[]

const client = new Redis(redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 10 })
client.on('error', () => {}) // every refused attempt while Redis is down
const returned = new Promise<number>((resolve) => client.once('ready', () => resolve(performance.now())))
client.connect().catch(() => {})
const returnedAt = await returned

async function msUntil (check: () => Promise<boolean>): Promise<number | null> {
  while (performance.now() - returnedAt < 30_000) {
    if (await check().catch(() => false)) return Math.round(performance.now() - returnedAt)
    await delay(10)
  }
  return null
}

const [backMs, healthyMs] = await Promise.all([
  msUntil(async () => (await client.exists(...keys)) === keys.length),
  msUntil(async () => ((await (await fetch(`${serverUrl}/health`)).json()) as { status: string }).status === 'healthy')
])
console.log(JSON.stringify({ backMs, healthyMs }))
client.disconnect()
