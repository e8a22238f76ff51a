import t from 'tap'
import opus from '../../plugins/opus.js'
import { OpusHub } from '../../src/opus/opus-hub.js'
import { alone, assertDependencies } from './alone-helper.js'

t.test('app.opus is the hub; it reports in /health checks and /metrics, and lets go of everything on close', async (t) => {
  const app = await alone(t, opus)
  await app.ready()
  t.type(app.opus, OpusHub)
  t.match(app.healthChecks.report(), { status: 'healthy', checks: { opus: { status: 'ok', metrics: { encoders: 0, listeners: 0, encoderFailures: 0 } } } })
  const text = await app.metrics!.registry.metrics()
  for (const name of ['musicshare_opus_encoders 0', 'musicshare_opus_encoder_failures_total 0', 'musicshare_push_listeners{codec="opus"} 0']) {
    t.ok(text.includes(name), name)
  }
  const { events } = app.sessions
  const before = events.listenerCount('audio')
  app.sessions.start('123456', Date.now())
  const session = app.sessions.requireActive('123456')
  app.opus.poll(session, -1, Date.now())
  t.equal(app.opus.encoders, 1)
  const held = app.push.waiters.hold('123456/opus', 60_000)!
  app.sessions.stop('123456', Date.now())
  t.equal(await held.done, 'ended', 'an Opus long-poll is released when its session ends')
  t.equal(app.opus.encoders, 0)
  await app.close()
  t.ok(events.listenerCount('audio') < before, 'the hub stopped listening to the registry')
  t.equal(events.listenerCount('ended'), 0)
})

t.test('declares its dependencies and fails without each',
  (t) => assertDependencies(t, opus, ['config', 'session-registry', 'health-checks', 'push', 'metrics']))
