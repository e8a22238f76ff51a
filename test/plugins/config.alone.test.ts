import t from 'tap'
import Fastify from 'fastify'
import configPlugin from '../../plugins/config.js'
import { aloneConfig, assertDependencies } from './alone-helper.js'

t.test('app.config is the very object passed in', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  const config = aloneConfig({ MAX_SESSIONS: '7' })
  await app.register(configPlugin, { config })
  await app.ready()
  t.equal(app.config, config)
  t.equal(app.config.sessions.maxSessions, 7)
})

t.test('declares no dependencies', (t) => assertDependencies(t, configPlugin, []))
