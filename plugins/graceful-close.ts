import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'

/**
 * While the server closes, answers carry `Connection: close` so keep-alive clients let go as soon as
 * their in-flight request is done, instead of holding the shutdown until their idle timeout.
 */
const gracefulClose: FastifyPluginAsync = async (app) => {
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })
}

export default fp(gracefulClose, { name: 'graceful-close', fastify: '5.x' })
