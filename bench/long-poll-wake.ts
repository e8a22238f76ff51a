/**
 * Long-poll wake-up delay: `npm run build && node dist/bench/long-poll-wake.js [--rounds N] [--held K]`.
 * Spawns the real server, holds K audio long-polls (waitMs) on one session, POSTs a chunk, and measures,
 * per round, from the moment the POST's response arrives to the moment each held poll's response arrives
 * (negative: the poll's answer came first). Short by design (well under 20 s).
 */
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { spawnServer } from './lib/proc.js'
import { summarize } from './lib/stats.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '200' }, held: { type: 'string', default: '10' } } })
const rounds = Number(values.rounds)
const heldPerRound = Number(values.held)
const token = 'bench-token'
const here = fileURLToPath(new URL('.', import.meta.url))
// The rounds come faster than a real client polls: lift the per-receiver budgets for this measurement.
process.env.RATE_LIMIT_POLLS_PER_SECOND = '10000'
process.env.RATE_LIMIT_AUDIO_PER_SECOND = '10000'
const server = await spawnServer(join(here, '..', 'server.js'), token)
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
const api = `${server.url}/api/share/123456`
const data = Buffer.from(new Float32Array(4410 * 2).buffer).toString('base64') // 0.1 s stereo

try {
  await fetch(`${server.url}/api/share/start`, { method: 'POST', headers, body: JSON.stringify({ sessionId: '123456' }) })
  const afterPost: number[] = []
  const afterSend: number[] = []
  for (let seq = 0; seq < rounds; seq++) {
    // Each receiver has everything up to seq-1 and waits for seq.
    const polls = Array.from({ length: heldPerRound }, (_, i) =>
      fetch(`${api}/audio?since=${seq - 1}&waitMs=5000`, { headers: { ...headers, 'x-client-id': `r${i}` } })
        .then(async (res) => { await res.arrayBuffer(); if (res.status !== 200) throw new Error(`poll ${res.status}`); return performance.now() }))
    // Let the polls reach the server and be held before the chunk is sent.
    await new Promise((resolve) => setTimeout(resolve, 20))
    const sentAt = performance.now()
    const post = await fetch(`${api}/audio`, { method: 'POST', headers, body: JSON.stringify({ data, sampleRate: 44100, channels: 2, sequenceNumber: seq }) })
    await post.arrayBuffer()
    const postDone = performance.now()
    for (const at of await Promise.all(polls)) {
      afterPost.push(at - postDone)
      afterSend.push(at - sentAt)
    }
  }
  const report = {
    rounds,
    heldPerRound,
    wakeAfterPostResponseMs: summarize(afterPost),
    wakeAfterPostSentMs: summarize(afterSend)
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n')
} finally {
  await server.stop()
}
