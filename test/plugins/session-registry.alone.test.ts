import t from 'tap'
import sessionRegistry from '../../plugins/session-registry.js'
import { SessionRegistry } from '../../src/session/session-registry.js'
import { alone, assertDependencies, until } from './alone-helper.js'

t.test('app.sessions is a registry configured from app.config', async (t) => {
  const app = await alone(t, sessionRegistry, { env: { MAX_SESSIONS: '1' } })
  await app.ready()
  t.type(app.sessions, SessionRegistry)
  app.sessions.start('123456', Date.now())
  t.throws(() => app.sessions.start('654321', Date.now()), { code: 'SESSION_LIMIT' }, 'MAX_SESSIONS=1 applies')
})

t.test('its timer expires an idle session', async (t) => {
  // SESSION_TIMEOUT_MINUTES=0.01: 600 ms, and the sweep runs that often.
  const app = await alone(t, sessionRegistry, { env: { SESSION_TIMEOUT_MINUTES: '0.01' } })
  await app.ready()
  app.sessions.start('123456', Date.now())
  const ended = await until(() => {
    const found = app.sessions.lookup('123456')
    return found.state === 'ended' ? found.ended : undefined
  }, 'the sweep to expire the session')
  t.equal(ended.reason, 'expired')
})

t.test('closing the app clears the registry', async (t) => {
  const app = await alone(t, sessionRegistry)
  await app.ready()
  const session = app.sessions.start('123456', Date.now())
  app.sessions.start('111111', Date.now())
  app.sessions.stop('111111', Date.now())
  t.equal(app.sessions.activeCount, 1)
  t.equal(app.sessions.endedCount, 1)
  await app.close()
  t.equal(app.sessions.activeCount, 0)
  t.equal(app.sessions.endedCount, 0)
  t.equal(app.sessions.lookup(session.id).state, 'unknown')
})

t.test('declares config and fails without it', (t) => assertDependencies(t, sessionRegistry, ['config']))
