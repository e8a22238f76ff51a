import fp from 'fastify-plugin'
import websocket from '@fastify/websocket'
import type { FastifyPluginAsync } from 'fastify'
import type { WebSocket } from 'ws'
import { LongPollWaiters } from '../src/push/long-poll.js'
import { PushHub } from '../src/push/push-hub.js'
import { CloseCode, closeSocket } from '../src/push/push-listeners.js'
import { METADATA_BODY_LIMIT } from '../src/schemas/share.js'
import type { ShareSession } from '../src/session/session.js'
import type { EndedSession } from '../src/session/session-registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    push: {
      hub: PushHub
      waiters: LongPollWaiters
    }
  }
  interface FastifyRequest {
    /** This request was held as a long-poll: its duration is mostly waiting, not work (metrics tell it apart). */
    longPollHeld: boolean
  }
}

/** How often push listeners are re-counted as listening and a changed listener count is announced. */
const STATUS_TICK_MS = 1_000

/**
 * Push delivery: owns every long-poll, WebSocket, SSE and stream.wav listener, and lets go of all of
 * them before the server closes, so a shutdown never waits on an open stream.
 */
const push: FastifyPluginAsync = async (app) => {
  const { push: options, basePath } = app.config
  const hub = new PushHub(app.sessions, {
    maxConnections: options.maxConnections,
    eventHistory: options.eventHistory,
    artPath: (sessionId, hash) => `${basePath}/api/share/${sessionId}/art/${hash}`
  }, app.log.child({ plugin: 'push' }))
  const waiters = new LongPollWaiters(options.maxHeldPolls)
  app.decorate('push', { hub, waiters })
  app.decorateRequest('longPollHeld', false)

  const { events } = app.sessions
  const onAudio = (session: ShareSession) => waiters.wake(session.id, 'audio')
  const onEnded = (ended: EndedSession) => waiters.wake(ended.id, 'ended')
  const onMoved = (session: ShareSession) => waiters.wake(session.id, 'moved')
  events.on('audio', onAudio).on('ended', onEnded).on('moved', onMoved)

  let closing = false
  await app.register(websocket, {
    // A sharer's metadata frame may carry a cover as large as the REST metadata body.
    options: { maxPayload: METADATA_BODY_LIMIT },
    preClose: async function () {
      closing = true
      waiters.releaseAll('shutdown')
      hub.closeAll()
      for (const socket of app.websocketServer.clients) closeSocket(socket, CloseCode.SHUTDOWN, 'server shutting down')
      app.websocketServer.close()
    }
  })

  // Ping/pong: a socket that did not answer the previous ping is cut.
  const alive = new WeakSet<WebSocket>()
  app.websocketServer.on('connection', (socket: WebSocket) => {
    alive.add(socket)
    socket.on('pong', () => alive.add(socket))
  })
  const timers = [
    setInterval(() => {
      for (const socket of app.websocketServer.clients) {
        if (!alive.delete(socket)) {
          socket.terminate()
          continue
        }
        socket.ping()
      }
    }, options.pingIntervalMs),
    setInterval(() => hub.heartbeat(), options.heartbeatMs),
    setInterval(() => hub.tick(Date.now()), STATUS_TICK_MS)
  ]
  for (const timer of timers) timer.unref()

  app.addHook('onClose', async () => {
    for (const timer of timers) clearInterval(timer)
    events.off('audio', onAudio).off('ended', onEnded).off('moved', onMoved)
    hub.unsubscribe()
    if (!closing) {
      waiters.releaseAll('shutdown')
      hub.closeAll()
    }
  })
}

export default fp(push, { name: 'push', fastify: '5.x', dependencies: ['config', 'session-registry'] })
