import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { RawData, WebSocket } from 'ws'
import { errorResponses, SessionParams } from '../../src/schemas/common.js'
import { ArtParams, KeyQuery, WsQuery } from '../../src/schemas/push.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import { DomainError, CredentialError } from '../../src/errors.js'
import { toDomainError } from '../../plugins/error-handler.js'
import { receiveSharerFrame } from '../../src/push/sharer-ingest.js'
import { SendGate, type PushListener } from '../../src/push/push-hub.js'
import { answerClockPing, CloseCode, closeSocket, SseStream, WavStream, WsReceiver, WsSharer } from '../../src/push/push-listeners.js'
import { OggStream, WsOpusReceiver } from '../../src/push/opus-listeners.js'
import type { ShareSession } from '../../src/session/session.js'
import { Tag } from '../../src/schemas/tags.js'

/** Last-Event-ID as a number, or undefined for anything else (then the stream starts from a snapshot). */
function lastEventId (header: string | string[] | undefined): number | undefined {
  return typeof header === 'string' && /^[0-9]{1,15}$/.test(header) ? Number(header) : undefined
}

/** If-None-Match names this ETag (or is `*`). */
function matchesEtag (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  return header.split(',').some((t) => { const v = t.trim().replace(/^W\//, ''); return v === etag || v === '*' })
}

/** Header fields set so far (CORS) for responses written by hand. */
function headersOf (reply: FastifyReply) {
  return reply.getHeaders() as Record<string, string | string[] | number | undefined>
}

/** Push delivery for receivers (WebSocket, SSE, cover art, stream.wav) and WebSocket sharers. */
const push: FastifyPluginAsyncTypebox = async (app) => {
  const { hub } = app.push
  const { sendBufferBytes, maxDroppedFrames } = app.config.push
  let connections = 0
  const nextTrackerKey = () => `push:${++connections}`
  const gateFor = (sessionId: string, transport: string) =>
    new SendGate(sendBufferBytes, maxDroppedFrames, hub, { sessionId, transport })

  /** The active session, after checking the server may hold one more push connection (before any upgrade or hijack). */
  const acceptPush = (sessionId: string): ShareSession => {
    const session = app.sessions.requireActive(sessionId)
    hub.requireRoom()
    return session
  }

  const serveSharer = (socket: WebSocket, session: ShareSession): void => {
    const sharer = new WsSharer(socket, session.id)
    hub.attach(session, sharer, Date.now())
    socket.on('close', () => hub.detach(sharer, Date.now()))
    socket.on('message', (data: RawData, isBinary: boolean) => {
      try {
        receiveSharerFrame(app.sessions, session.id, data as Buffer, isBinary, Date.now())
      } catch (err) {
        // The same codes and messages the REST routes answer with, as a text frame; the socket stays open.
        const e = toDomainError(err as Error)
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type: 'error', code: e.code, error: e.message }))
      }
    })
  }

  const receiving = { auth: 'receive' as const, rateLimit: rateLimitFor(app.config.rateLimit, 'poll') }
  /**
   * Options of an endless response: receiver auth, no HEAD route (a stream has nothing to say to HEAD),
   * documented by its media type; a hijacked reply writes it (no serializer runs).
   */
  const endless = (summary: string, mediaType: string, description: string) => ({
    exposeHeadRoute: false,
    config: receiving,
    schema: {
      tags: [Tag.push],
      summary,
      params: SessionParams,
      querystring: KeyQuery,
      response: { 200: { description, content: { [mediaType]: { schema: Type.String() } } }, ...errorResponses }
    }
  })
  /** Takes the response over from Fastify for a stream that is detached from the hub when it closes. */
  const hijack = <L extends PushListener>(reply: FastifyReply, make: (headers: ReturnType<typeof headersOf>) => L,
    release: (listener: L) => void = (listener) => hub.detach(listener, Date.now())): L => {
    reply.hijack()
    const listener = make(headersOf(reply))
    reply.raw.on('close', () => release(listener))
    return listener
  }

  app.route({
    method: 'GET',
    url: '/:sessionId/ws',
    config: receiving,
    schema: {
      tags: [Tag.push],
      summary: 'WebSocket: receive (JSON events, chat included, + binary audio frames) or, with role=sharer, send',
      params: SessionParams,
      querystring: WsQuery,
      response: {
        101: { description: 'Switching Protocols: the WebSocket (frame layout and close codes in the README)', content: { 'application/octet-stream': { schema: Type.String() } } },
        ...errorResponses
      }
    },
    preHandler: async (request) => {
      if (request.query.role === 'sharer' && request.credential !== 'bearer') {
        throw new CredentialError('A sharer needs the bearer token: a listen key only receives', 'bearer')
      }
      if (request.query.role === 'sharer' && request.query.codec !== 'pcm') {
        throw new DomainError('VALIDATION_ERROR', 'codec is for receivers: a sharer sends float32 PCM frames')
      }
      if (request.query.role === 'sharer') await app.verifySharer(request)
      acceptPush(request.params.sessionId)
    },
    handler: async () => {
      throw new DomainError('UPGRADE_REQUIRED', 'This endpoint speaks WebSocket only')
    },
    wsHandler: (socket, request) => {
      const { sessionId } = request.params
      const { role, since, codec } = request.query
      const found = app.sessions.lookup(sessionId)
      // It may have ended while the socket was being upgraded.
      if (found.state !== 'active') return closeSocket(socket, CloseCode.SESSION_INACTIVE, 'session not active')
      try {
        if (role === 'sharer') return serveSharer(socket, found.session)
        if (codec === 'opus') {
          const { tiersKbps, defaultKbps, upAfterMs } = app.config.opus
          const receiver = new WsOpusReceiver(socket, sessionId, nextTrackerKey(), hub, gateFor(sessionId, 'ws-opus'), app.opus,
            { tiersKbps, startKbps: defaultKbps, pinnedKbps: request.query.bitrate, upAfterMs }, Date.now())
          socket.on('close', () => receiver.release(Date.now()))
          socket.on('message', (data: RawData, isBinary: boolean) => answerClockPing(socket, data as Buffer, isBinary))
          return receiver.start(found.session, since, Date.now())
        }
        const receiver = new WsReceiver(socket, sessionId, nextTrackerKey(), hub, gateFor(sessionId, 'ws'))
        socket.on('close', () => hub.detach(receiver, Date.now()))
        socket.on('message', (data: RawData, isBinary: boolean) => answerClockPing(socket, data as Buffer, isBinary))
        receiver.start(found.session, since, Date.now())
      } catch (err) {
        closeSocket(socket, CloseCode.TRY_AGAIN_LATER, toDomainError(err as Error).message.slice(0, 120))
      }
    }
  })

  app.get('/:sessionId/events', endless('Server-Sent Events: metadata, status, song, ended and chat', 'text/event-stream',
    'an endless event stream: `metadata`, `status`, `song`, `ended`, `chat`, `chat-deleted` and `chat-muted` events with `id:` lines, a comment heartbeat every 15 s'), async (request, reply) => {
    const session = acceptPush(request.params.sessionId)
    hijack(reply, (headers) => new SseStream(reply.raw, session.id, nextTrackerKey(), hub, sendBufferBytes, headers))
      .start(session, lastEventId(request.headers['last-event-id']), Date.now())
  })

  app.get('/:sessionId/stream.wav', endless('The session\'s audio as an endless 16-bit WAV stream, for any player', 'audio/wav',
    'an endless RIFF/WAVE stream of 16-bit PCM at the session\'s rate and channels'), async (request, reply) => {
    const session = acceptPush(request.params.sessionId)
    hijack(reply, (headers) => new WavStream(reply.raw, session.id, nextTrackerKey(), hub, gateFor(session.id, 'wav'), headers))
      .start(session, Date.now())
  })

  const oggStream = endless('The session\'s audio as an endless Ogg/Opus stream, for any player (receiver)', 'audio/ogg',
    'an endless Ogg/Opus stream (48 kHz, one logical stream across song and format changes), starting with the join burst')
  for (const name of ['stream.ogg', 'stream.opus']) {
    app.get(`/:sessionId/${name}`, oggStream, async (request, reply) => {
      const session = acceptPush(request.params.sessionId)
      hijack(reply, (headers) => new OggStream(reply.raw, session.id, nextTrackerKey(), hub, gateFor(session.id, 'ogg'), app.opus, headers),
        (listener) => listener.release(Date.now()))
        .start(session, Date.now())
    })
  }

  app.get('/:sessionId/art/:hash', {
    config: receiving,
    schema: {
      tags: [Tag.push],
      summary: 'Cover art by content hash, as push metadata events link it',
      params: ArtParams,
      querystring: KeyQuery,
      response: { 200: Type.Unsafe<Buffer>({ description: 'the cover, image/jpeg' }), 304: Type.Null(), ...errorResponses }
    }
  }, async (request, reply) => {
    const { sessionId, hash } = request.params
    app.sessions.requireActive(sessionId)
    const bytes = hub.art(sessionId, hash)
    if (bytes === undefined) throw new DomainError('NOT_FOUND', 'This session has no cover art with that hash')
    const etag = `"${hash}"`
    // Content-addressed: the bytes behind a URL never change. Private: the URL needs a credential.
    reply.header('etag', etag).header('cache-control', 'private, max-age=31536000, immutable')
    if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send(null)
    return reply.type('image/jpeg').send(bytes)
  })
}

export default push
