import type { FastifyPluginAsync } from 'fastify'
import start from './start.js'
import lifecycle from './lifecycle.js'
import metadata from './metadata.js'
import audio from './audio.js'
import sessions from './sessions.js'

/** Everything under /api/share: one encapsulated context that requires the bearer token. */
const share: FastifyPluginAsync = async (app) => {
  app.addHook('onRequest', app.verifyBearer)
  await app.register(start)
  await app.register(lifecycle)
  await app.register(metadata)
  await app.register(audio)
  await app.register(sessions)
}

export default share
