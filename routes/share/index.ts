import type { FastifyPluginAsync } from 'fastify'
import start from './start.js'
import lifecycle from './lifecycle.js'
import metadata from './metadata.js'
import audio from './audio.js'
import sessions from './sessions.js'
import push from './push.js'
import chat from './chat.js'
import history from './history.js'
import recording from './recording.js'

/**
 * Everything under /api/share: one encapsulated context that requires a credential. Sending routes take
 * the bearer token only; receiving routes (`config.auth: 'receive'`) also take the session's listen key.
 */
const share: FastifyPluginAsync = async (app) => {
  app.addHook('onRequest', app.verifyCredentials)
  await app.register(start)
  await app.register(lifecycle)
  await app.register(metadata)
  await app.register(audio)
  await app.register(sessions)
  await app.register(push)
  await app.register(chat)
  await app.register(history)
  await app.register(recording)
}

export default share
