import t from 'tap'
import { build, CLIENT_HEADERS, startSession } from '../helper.js'

t.test('/health reports the API response times and error rate of the last 60 s', async (t) => {
  const app = await build(t)
  const empty = (await app.inject({ method: 'GET', url: '/health' })).json()
  t.same(empty.responseTimes, { windowSeconds: 60, requests: 0, p50: null, p95: null, p99: null, errorRate: 0 })

  await startSession(app)
  for (let i = 0; i < 5; i++) {
    const ok = await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: CLIENT_HEADERS })
    t.equal(ok.statusCode, 200)
  }
  t.equal((await app.inject({ method: 'GET', url: '/api/share/123456/status' })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/api/share/123456/metadata', headers: CLIENT_HEADERS })).statusCode, 404)
  // Neither monitoring routes nor unknown routes are API traffic.
  await app.inject({ method: 'GET', url: '/metrics' })
  await app.inject({ method: 'GET', url: '/health' })
  await app.inject({ method: 'GET', url: '/nothing' })

  const res = await app.inject({ method: 'GET', url: '/health' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { status: 'healthy', activeSessions: 1, memoryUsage: { used: Number, total: Number, rss: Number } })
  const r = body.responseTimes
  t.equal(r.windowSeconds, 60)
  t.equal(r.requests, 8, 'the start, 5 statuses, the 401 and the 404')
  t.equal(r.errorRate, 0.25, '2 errors in 8 requests')
  t.ok(r.p50 > 0 && r.p50 <= r.p95 && r.p95 <= r.p99, `ordered percentiles ${r.p50} ≤ ${r.p95} ≤ ${r.p99}`)
  t.ok(r.p99 < 10_000, 'in milliseconds')
})
