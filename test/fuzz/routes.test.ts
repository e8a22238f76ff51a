import t from 'tap'
import fc from 'fast-check'
import { build, startSession } from '../helper.js'
import { LIVE_ID, request, type FuzzRequest } from './requests.js'

/**
 * Property-based fuzzing of every route (fast-check). CI runs a fixed seed and a bounded number of cases;
 * `npm run fuzz` sets FUZZ_SEED / FUZZ_RUNS / FUZZ_SECONDS for longer runs and prints the seed of any failure.
 */
const seed = Number(process.env.FUZZ_SEED ?? 20261124)
const numRuns = Number(process.env.FUZZ_RUNS ?? 5000)
const seconds = Number(process.env.FUZZ_SECONDS ?? 0)

type App = Awaited<ReturnType<typeof build>>

/** Everything a rejected request must leave as it was. */
function state (app: App) {
  const found = app.sessions.lookup(LIVE_ID)
  const live = found.state === 'active' ? found.session : undefined
  return {
    active: app.sessions.activeCount,
    ended: app.sessions.endedCount,
    lookup: found.state,
    startTime: live?.startTime,
    lastSequence: live?.lastSequence,
    bytesReceived: live?.bytesReceived,
    chunks: live?.audio.chunkCount,
    newest: live?.audio.newestSequence,
    metadata: live?.metadata(Date.now())?.json,
    chat: live === undefined ? undefined : [live.chat.nextId, live.chat.entries.length, live.chat.muted.length]
  }
}

function checkResponse (req: FuzzRequest, res: { statusCode: number, body: string, headers: Record<string, unknown> }) {
  const where = `${req.method} ${req.url} -> ${res.statusCode} ${res.body.slice(0, 200)}`
  if (res.statusCode >= 500 && res.statusCode !== 503) throw new Error(`server error: ${where}`)
  if (res.statusCode >= 400 && req.method !== 'HEAD') {
    let body: Record<string, unknown>
    try {
      body = JSON.parse(res.body)
    } catch {
      throw new Error(`4xx body is not JSON: ${where}`)
    }
    if (body.success !== false || typeof body.error !== 'string' || typeof body.code !== 'string' ||
        !Number.isInteger(body.timestamp)) {
      throw new Error(`4xx body is not the uniform error format: ${where}`)
    }
  }
  if (res.statusCode === 200 && req.method !== 'HEAD' && res.body !== '') JSON.parse(res.body)
}

t.test(`fuzz every route (seed ${seed}, ${seconds > 0 ? `${seconds} s` : `${numRuns} cases`})`, async (t) => {
  const app = await build(t, {
    RATE_LIMIT_METADATA_PER_SECOND: '10000',
    RATE_LIMIT_AUDIO_PER_SECOND: '10000',
    RATE_LIMIT_POLLS_PER_SECOND: '10000',
    RATE_LIMIT_STARTS_PER_MINUTE: '100000',
    CHAT_MESSAGES_PER_SECOND: '1000',
    CHAT_BURST: '10000',
    CHAT_SESSION_MESSAGES_PER_SECOND: '100000'
  })
  let cases = 0
  const accepted = new Map<string, number>()
  const property = fc.asyncProperty(request, async (req) => {
    cases++
    if (app.sessions.lookup(LIVE_ID).state !== 'active') await startSession(app, LIVE_ID)
    const before = state(app)
    const res = await app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, payload: req.payload })
    checkResponse(req, res)
    if (res.statusCode < 300) {
      const kind = `${req.method} ${req.url.replace(/\/api\/share\/[^/]+\//, '/api/share/:id/').split('?')[0]}`
      accepted.set(kind, (accepted.get(kind) ?? 0) + 1)
    }
    if (res.statusCode >= 400) {
      const after = state(app)
      if (JSON.stringify(after) !== JSON.stringify(before)) {
        throw new Error(`a rejected request changed state: ${req.method} ${req.url} -> ${res.statusCode}\n` +
          `before ${JSON.stringify(before)}\nafter  ${JSON.stringify(after)}`)
      }
    }
    const health = await app.inject({ method: 'GET', url: '/health' })
    if (health.statusCode !== 200) throw new Error(`/health answered ${health.statusCode}`)
  })
  const details = await fc.check(property, {
    seed,
    numRuns: seconds > 0 ? Number.MAX_SAFE_INTEGER : numRuns,
    interruptAfterTimeLimit: seconds > 0 ? seconds * 1000 : undefined,
    endOnFailure: true
  })
  if (details.failed) {
    t.fail(`fuzz failure; replay with FUZZ_SEED=${details.seed} (path ${details.counterexamplePath})\n${fc.defaultReportMessage(details)}\n${String(details.errorInstance)}`)
  } else {
    t.pass(`${cases} requests, no 5xx, uniform 4xx, rejected requests changed nothing`)
  }
  // The generators must also reach the accepting paths, or the invariants above say little.
  for (const kind of ['POST /api/share/start', 'POST /api/share/:id/audio', 'POST /api/share/:id/metadata', 'POST /api/share/:id/stop',
    'GET /api/share/:id/audio', 'GET /api/share/:id/status', 'POST /api/share/:id/chat', 'GET /api/share/:id/chat']) {
    t.ok((accepted.get(kind) ?? 0) > 0, `${kind} accepted ${accepted.get(kind) ?? 0} times`)
  }
})
