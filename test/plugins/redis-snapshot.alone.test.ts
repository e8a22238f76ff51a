import t from 'tap'
import redisSnapshot from '../../plugins/redis-snapshot.js'
import { PrivateRedis, redisBinary } from '../redis-server.js'
import { alone, assertDependencies, errorShape } from './alone-helper.js'

// Needs a real redis-server: skipped with the reason naming the Debian package when it is absent,
// and an error under CI=true (redisBinary throws there).
const skip = redisBinary.skip

t.test('mirrors sessions to Redis, claims ids on start routes, reports its health and instance', { skip }, async (t) => {
  const redis = await PrivateRedis.start(t)
  const r = redis.client()
  await r.set('session:654321:claim', '1:another-instance')
  // error-handler added: it answers the plugin's SESSION_EXISTS with a 409. Ticks are the test's (no timer in between).
  const app = await alone(t, redisSnapshot, {
    env: { REDIS_URL: redis.url, REDIS_FLUSH_INTERVAL_MS: '10000', INSTANCE_ID: 'alone-1' },
    adds: ['error-handler']
  })
  // As the start route does: the session counts once the store has claimed it with its snapshot.
  app.post('/start', async (request) => {
    await app.sessions.startCommitted((request.body as { sessionId: string }).sessionId, Date.now())
    return { started: true }
  })
  await app.ready()

  t.ok(app.redisSnapshot, 'app.redisSnapshot')
  t.match(app.healthChecks.report(), { status: 'healthy', checks: { redis: { status: 'ok', metrics: { up: 1 } } } })

  const started = await app.inject({ method: 'POST', url: '/start', payload: { sessionId: '123456' } })
  t.equal(started.statusCode, 200)
  t.equal(started.headers['x-instance-id'], 'alone-1')
  t.match(await r.get('session:123456:claim'), /^\d+:alone-1\|/, 'the id is claimed for this instance, with its start record')
  t.match(await r.hgetall('session:123456'), { active: 'true' }, 'and its snapshot written with the claim')

  const taken = await app.inject({ method: 'POST', url: '/start', payload: { sessionId: '654321' } })
  t.equal(taken.statusCode, 409, 'an id another instance holds')
  t.match(taken.json(), errorShape('SESSION_EXISTS'))
  t.equal(app.sessions.lookup('654321').state, 'unknown', 'the session was not started here')

  await app.redisSnapshot!.tick()
  t.match(await r.hgetall('session:123456'), { active: 'true' }, 'a tick writes the session')

  app.sessions.stop('123456', Date.now())
  await app.close()
  t.equal(await r.exists('session:123456'), 0, 'closing flushed the end')
  t.match(await r.hgetall('session:123456:ended'), { reason: 'stopped' })
  t.equal(app.sessions.events.listenerCount('started'), 0, 'no registry listener left')
})

t.test('declares config, session-registry and health-checks and fails without each',
  (t) => assertDependencies(t, redisSnapshot, ['config', 'session-registry', 'health-checks']))
