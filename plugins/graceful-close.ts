import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { DomainError } from '../src/errors.js'

const RETRY_AFTER_SECONDS = 5

/**
 * Shutting down: requests already in flight finish; a new request on a kept-alive connection gets
 * 503 SERVICE_UNAVAILABLE in the uniform format (Fastify's own 503 has another body) with Retry-After;
 * and every answer carries `Connection: close`, so keep-alive clients let go as soon as their request
 * is done instead of holding the shutdown until their idle timeout.
 */
const gracefulClose: FastifyPluginAsync = async (app) => {
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onRequest', async () => {
    if (closing) {
      throw new DomainError('SERVICE_UNAVAILABLE', 'The server is shutting down; retry shortly',
        { retryAfterSeconds: RETRY_AFTER_SECONDS })
    }
  })
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })
}

export default fp(gracefulClose, { name: 'graceful-close', fastify: '5.x' })
