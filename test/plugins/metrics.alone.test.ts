import t from 'tap'
import metrics from '../../plugins/metrics.js'
import { DomainError } from '../../src/errors.js'
import { LatencyWindow } from '../../src/observability/latency-window.js'
import { alone, assertDependencies } from './alone-helper.js'

const EVENTS = ['started', 'ended', 'audio', 'sent', 'metadata', 'overflow', 'chat', 'chat-refused'] as const

async function build (t: Parameters<typeof alone>[0], env: Record<string, string> = {}) {
  const app = await alone(t, metrics, { env })
  app.get('/api/share/:sessionId/status', async () => { throw new DomainError('SESSION_NOT_FOUND', 'no such session') })
  app.get('/api/ok', async () => ({ ok: true }))
  await app.ready()
  return app
}

/** The value of one series of metric `name` in the app's registry (`series`: a histogram's `_count` etc.). */
async function value (app: Awaited<ReturnType<typeof build>>, name: string, labels: Record<string, string> = {}, series = name) {
  const metric = app.metrics!.registry.getSingleMetric(name)
  if (metric === undefined) return undefined
  const { values } = await metric.get()
  return (values as Array<typeof values[number] & { metricName?: string }>).find((v) => (v.metricName ?? name) === series &&
    Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value
}

t.test('counts sessions from registry events and errors from the error handler\'s reply.errorCode', async (t) => {
  const app = await build(t)
  t.type(app.metrics!.latency, LatencyWindow)
  t.equal(await value(app, 'musicshare_sessions_started_total'), 0)
  app.sessions.start('123456', Date.now())
  app.sessions.stop('123456', Date.now())
  t.equal(await value(app, 'musicshare_sessions_started_total'), 1)
  t.equal(await value(app, 'musicshare_sessions_ended_total', { reason: 'stopped' }), 1)

  t.equal((await app.inject({ url: '/api/share/123456/status' })).statusCode, 404)
  t.equal((await app.inject({ url: '/api/ok' })).statusCode, 200)
  t.equal(await value(app, 'musicshare_errors_total', { code: 'SESSION_NOT_FOUND' }), 1)
  t.equal(await value(app, 'musicshare_http_request_duration_seconds', { route: '/api/share/:sessionId/status', method: 'GET', status_class: '4xx' },
    'musicshare_http_request_duration_seconds_count'), 1, 'timed, labelled by route pattern')
  t.match(app.metrics!.latency.summary(Date.now()), { requests: 2, errors: 1 }, '/api routes feed the latency window')
})

/** The registry listeners of everything but metrics (its dependency push listens too). */
async function othersListening (t: Parameters<typeof alone>[0]) {
  const app = await build(t, { METRICS_ENABLED: 'false' })
  const counts = new Map(EVENTS.map((event) => [event, app.sessions.events.listenerCount(event)]))
  await app.close()
  return counts
}

t.test('closing removes its registry listeners and clears its metrics', async (t) => {
  const others = await othersListening(t)
  const app = await build(t)
  const { events } = app.sessions
  for (const event of EVENTS) t.equal(events.listenerCount(event), others.get(event)! + 1, `listening to '${event}' while open`)
  const registry = app.metrics!.registry
  await app.close()
  for (const event of EVENTS) t.equal(events.listenerCount(event), 0, `no '${event}' listener left after close`)
  t.same(registry.getMetricsAsArray(), [])
})

t.test('METRICS_ENABLED=false: app.metrics is null and it listens to nothing', async (t) => {
  const app = await build(t, { METRICS_ENABLED: 'false' })
  t.equal(app.metrics, null)
  // Only push (its dependency) listens, and only to what push needs: never to 'started', 'sent' or 'overflow'.
  for (const event of ['started', 'sent', 'overflow'] as const) t.equal(app.sessions.events.listenerCount(event), 0)
})

t.test('declares config, session-registry, error-handler and push and fails without each',
  (t) => assertDependencies(t, metrics, ['config', 'session-registry', 'error-handler', 'push']))
