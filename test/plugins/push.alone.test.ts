import t from 'tap'
import push from '../../plugins/push.js'
import { LongPollWaiters } from '../../src/push/long-poll.js'
import { PushHub } from '../../src/push/push-hub.js'
import { alone, assertDependencies } from './alone-helper.js'

const EVENTS = ['metadata', 'audio', 'ended', 'moved', 'chat', 'chat-removed'] as const

t.test('app.push holds the hub and the long-poll waiters; a session\'s events wake its held polls', async (t) => {
  const app = await alone(t, push)
  await app.ready()
  t.type(app.push.hub, PushHub)
  t.type(app.push.waiters, LongPollWaiters)
  t.ok(app.websocketServer, '@fastify/websocket is registered')

  app.sessions.start('123456', Date.now())
  const onAudio = app.push.waiters.hold('123456', 60_000)!
  app.sessions.receiveAudioSamples('123456', { samples: new Float32Array(4), sampleRate: 44100, channels: 2, sequenceNumber: 0 }, Date.now())
  t.equal(await onAudio.done, 'audio')
  const onEnd = app.push.waiters.hold('123456', 60_000)!
  app.sessions.stop('123456', Date.now())
  t.equal(await onEnd.done, 'ended')
})

t.test('closing lets go of held polls and of every registry listener', async (t) => {
  const app = await alone(t, push)
  await app.ready()
  const { events } = app.sessions
  for (const event of EVENTS) t.ok(events.listenerCount(event) > 0, `listening to '${event}' while open`)
  const held = app.push.waiters.hold('123456', 60_000)!

  await app.close()
  t.equal(await held.done, 'shutdown')
  t.equal(app.push.waiters.held, 0)
  for (const event of EVENTS) t.equal(events.listenerCount(event), 0, `no '${event}' listener left after close`)
})

t.test('declares config and session-registry and fails without either',
  (t) => assertDependencies(t, push, ['config', 'session-registry']))
