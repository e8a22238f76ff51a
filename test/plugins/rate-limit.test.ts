import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { build, clientChunk, clientMetadata, CLIENT_HEADERS, errorShape, JSON_HEADERS, startSession } from '../helper.js'
import { budget } from '../../plugins/rate-limit.js'

type App = Awaited<ReturnType<typeof build>>

/** Fires `send` every `periodMs` ± `jitterMs` on an open-loop schedule until `untilMs`; returns the status codes. */
async function cadence (periodMs: number, jitterMs: number, untilMs: number, send: () => Promise<number>): Promise<number[]> {
  const started = Date.now()
  const pending: Array<Promise<number>> = []
  for (let k = 0; ; k++) {
    const at = started + k * periodMs + (Math.random() * 2 - 1) * jitterMs
    if (at - started > untilMs) break
    await sleep(Math.max(0, at - Date.now()))
    pending.push(send())
  }
  return Promise.all(pending)
}

const status = (p: Promise<{ statusCode: number }>) => p.then((r) => r.statusCode)

t.test('budgets: the client cadence fits, three times the rate does not', async (t) => {
  const window = 5
  for (const perSecond of [2, 10]) {
    const max = budget(perSecond, window * 1000)
    t.ok(max >= perSecond * window + 1, `${perSecond}/s: the client's ${perSecond * window + 1} requests in a window fit`)
    t.ok(max < 3 * perSecond * window, `${perSecond}/s: three times the rate exceeds ${max}`)
  }
})

t.test('the real client cadence with ±100 ms jitter is never limited; hammering at 3x gets 429 with Retry-After', async (t) => {
  const app: App = await build(t)
  await startSession(app, '111111')
  await startSession(app, '222222')
  let seq = 0
  const durationMs = 6000
  const receiverHeaders = { ...CLIENT_HEADERS }

  const [metaPosts, audioPosts, statusPolls, metaPolls, audioPolls, hammerMeta, hammerAudio, hammerPoll] = await Promise.all([
    // The sharer and one receiver of session 111111, as CLIENT.md describes them.
    cadence(500, 100, durationMs, () => status(app.inject({ method: 'POST', url: '/api/share/111111/metadata', headers: JSON_HEADERS, payload: clientMetadata() }))),
    cadence(500, 100, durationMs, () => status(app.inject({ method: 'POST', url: '/api/share/111111/audio', headers: JSON_HEADERS, payload: clientChunk(seq++) }))),
    cadence(1000, 0, 0, () => status(app.inject({ method: 'GET', url: '/api/share/111111/status', headers: receiverHeaders }))),
    cadence(500, 100, durationMs, () => status(app.inject({ method: 'GET', url: '/api/share/111111/metadata', headers: receiverHeaders }))),
    cadence(100, 20, durationMs, () => status(app.inject({ method: 'GET', url: '/api/share/111111/audio?since=-1', headers: receiverHeaders }))),
    // Someone hammering session 222222 at three times each nominal rate.
    cadence(1000 / 6, 0, 3500, () => status(app.inject({ method: 'POST', url: '/api/share/222222/metadata', headers: JSON_HEADERS, payload: clientMetadata() }))),
    cadence(1000 / 30, 0, 3500, () => status(app.inject({ method: 'POST', url: '/api/share/222222/audio', headers: JSON_HEADERS, payload: clientChunk(1) }))),
    cadence(1000 / 30, 0, 3500, () => status(app.inject({ method: 'GET', url: '/api/share/222222/audio?since=-1', headers: { ...CLIENT_HEADERS, 'x-client-id': 'hammer' } })))
  ])
  for (const [name, codes] of Object.entries({ metaPosts, audioPosts, statusPolls, metaPolls, audioPolls })) {
    t.same(codes.filter((c) => c === 429), [], `${name}: ${codes.length} requests, none limited`)
  }
  for (const [name, codes] of Object.entries({ hammerMeta, hammerAudio, hammerPoll })) {
    t.ok(codes.includes(429), `${name}: limited`)
  }

  await startSession(app, '333333')
  const post = () => app.inject({ method: 'POST', url: '/api/share/333333/metadata', headers: JSON_HEADERS, payload: clientMetadata() })
  for (let i = 0; i < budget(2, 5000); i++) t.equal((await post()).statusCode, 200)
  const limited = await post()
  t.equal(limited.statusCode, 429, 'one past the budget')
  t.match(limited.json(), errorShape('RATE_LIMITED'))
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After is set')
  const unaffected = await app.inject({ method: 'POST', url: '/api/share/111111/metadata', headers: JSON_HEADERS, payload: clientMetadata() })
  t.equal(unaffected.statusCode, 200, 'another session is not affected')
})

t.test('dozens of receivers behind one address and User-Agent are not limited at the client cadence', async (t) => {
  const app: App = await build(t)
  await startSession(app)
  const receivers = 40
  const codes = await cadence(1000 / (receivers * 2.5), 0, 2000, () =>
    status(app.inject({ method: 'GET', url: '/api/share/123456/audio?since=-1', headers: CLIENT_HEADERS })))
  t.ok(codes.length >= receivers * 2.5 * 2 * 0.8, `${codes.length} polls sent`)
  t.same(codes.filter((c) => c === 429), [])
})
