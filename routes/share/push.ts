import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { RawData, WebSocket } from 'ws'
import { errorResponses, SessionParams } from '../../src/schemas/common.js'
import { MAX_AUDIO_CHUNK_BYTES, MetadataBody } from '../../src/schemas/share.js'
import { ArtParams, AudioFrameFields, KeyQuery, WsQuery } from '../../src/schemas/push.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import { AppError } from '../../src/errors.js'
import { toAppError } from '../../plugins/error-handler.js'
import { float32Frames } from '../../src/session/pcm-codec.js'
import { decodeAudioFrame } from '../../src/push/push-frames.js'
import { SendGate, type PushListener } from '../../src/push/push-hub.js'
import { CloseCode, closeSocket, SseStream, WavStream, WsReceiver, WsSharer } from '../../src/push/push-listeners.js'
import type { ShareSession } from '../../src/session/session.js'

const metadataCheck = TypeCompiler.Compile(MetadataBody)
const frameCheck = TypeCompiler.Compile(AudioFrameFields)

/** Throws VALIDATION_ERROR naming the first problem, in the words the REST routes use, unless `value` passes. */
function validate<T extends TSchema> (check: TypeCheck<T>, value: unknown, what: string): asserts value is Static<T> {
  if (check.Check(value)) return
  const first = check.Errors(value).First()
  throw new AppError('VALIDATION_ERROR', `${what}${first?.path ?? ''} ${first?.message ?? 'is invalid'}`)
}

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

  /** One frame from a WebSocket sharer, validated like the REST bodies. Throws AppError. */
  const receiveFromSharer = (sessionId: string, data: Buffer, isBinary: boolean): void => {
    const now = Date.now()
    if (!isBinary) {
      let body: unknown
      try {
        body = JSON.parse(data.toString('utf8'))
      } catch {
        throw new AppError('INVALID_JSON', 'A text frame must be a JSON metadata object')
      }
      validate(metadataCheck, body, 'metadata')
      app.sessions.receiveMetadata(sessionId, body, now)
      return
    }
    const frame = decodeAudioFrame(data)
    if (frame === undefined) throw new AppError('INVALID_AUDIO', 'A binary frame starts with the 20-byte audio header')
    const fields = {
      sampleRate: frame.format.sampleRate,
      channels: frame.format.channels,
      sequenceNumber: frame.sequenceNumber,
      timestamp: frame.timestamp === 0 ? undefined : frame.timestamp
    }
    validate(frameCheck, fields, 'audio frame')
    if (frame.pcm.length > MAX_AUDIO_CHUNK_BYTES) {
      throw new AppError('PAYLOAD_TOO_LARGE', `audio chunk is ${frame.pcm.length} bytes; at most ${MAX_AUDIO_CHUNK_BYTES} bytes are accepted`)
    }
    if (frame.pcm.length === 0) throw new AppError('INVALID_AUDIO', 'The audio frame holds no samples')
    const samples = float32Frames(frame.pcm, frame.format)
    app.sessions.receiveAudioSamples(sessionId, { ...fields, samples }, now)
  }

  const serveSharer = (socket: WebSocket, session: ShareSession): void => {
    const sharer = new WsSharer(socket, session.id)
    hub.attach(session, sharer, Date.now())
    socket.on('close', () => hub.detach(sharer, Date.now()))
    socket.on('message', (data: RawData, isBinary: boolean) => {
      try {
        receiveFromSharer(session.id, data as Buffer, isBinary)
      } catch (err) {
        // The same codes and messages the REST routes answer with, as a text frame; the socket stays open.
        const e = toAppError(err as Error)
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
      summary,
      params: SessionParams,
      querystring: KeyQuery,
      response: { 200: { description, content: { [mediaType]: { schema: Type.String() } } }, ...errorResponses }
    }
  })
  /** Takes the response over from Fastify for a stream that is detached from the hub when it closes. */
  const hijack = <L extends PushListener>(reply: FastifyReply, make: (headers: ReturnType<typeof headersOf>) => L): L => {
    reply.hijack()
    const listener = make(headersOf(reply))
    reply.raw.on('close', () => hub.detach(listener, Date.now()))
    return listener
  }

  app.route({
    method: 'GET',
    url: '/:sessionId/ws',
    config: receiving,
    schema: {
      summary: 'WebSocket: receive (JSON events + binary audio frames) or, with role=sharer, send',
      params: SessionParams,
      querystring: WsQuery,
      response: {
        101: { description: 'Switching Protocols: the WebSocket (frame layout and close codes in the README)', content: { 'application/octet-stream': { schema: Type.String() } } },
        ...errorResponses
      }
    },
    preHandler: async (request) => {
      if (request.query.role === 'sharer' && request.credential !== 'bearer') {
        throw new AppError('UNAUTHORIZED', 'A sharer needs the bearer token: a listen key only receives', {}, { 'www-authenticate': 'Bearer' })
      }
      if (request.query.role === 'sharer') app.verifySharer(request)
      acceptPush(request.params.sessionId)
    },
    handler: async () => {
      throw new AppError('UPGRADE_REQUIRED', 'This endpoint speaks WebSocket only', {}, { upgrade: 'websocket' })
    },
    wsHandler: (socket, request) => {
      const { sessionId } = request.params
      const { role, since } = request.query
      const found = app.sessions.lookup(sessionId)
      // It may have ended while the socket was being upgraded.
      if (found.state !== 'active') return closeSocket(socket, CloseCode.SESSION_INACTIVE, 'session not active')
      try {
        if (role === 'sharer') return serveSharer(socket, found.session)
        const receiver = new WsReceiver(socket, sessionId, nextTrackerKey(), hub, gateFor(sessionId, 'ws'))
        socket.on('close', () => hub.detach(receiver, Date.now()))
        receiver.start(found.session, since, Date.now())
      } catch (err) {
        closeSocket(socket, CloseCode.TRY_AGAIN_LATER, toAppError(err as Error).message.slice(0, 120))
      }
    }
  })

  app.get('/:sessionId/events', endless('Server-Sent Events: metadata, status and ended (receiver)', 'text/event-stream',
    'an endless event stream: `metadata`, `status` and `ended` events with `id:` lines, a comment heartbeat every 15 s'), async (request, reply) => {
    const session = acceptPush(request.params.sessionId)
    hijack(reply, (headers) => new SseStream(reply.raw, session.id, nextTrackerKey(), hub, sendBufferBytes, headers))
      .start(session, lastEventId(request.headers['last-event-id']), Date.now())
  })

  app.get('/:sessionId/stream.wav', endless('The session\'s audio as an endless 16-bit WAV stream, for any player (receiver)', 'audio/wav',
    'an endless RIFF/WAVE stream of 16-bit PCM at the session\'s rate and channels'), async (request, reply) => {
    const session = acceptPush(request.params.sessionId)
    hijack(reply, (headers) => new WavStream(reply.raw, session.id, nextTrackerKey(), hub, gateFor(session.id, 'wav'), headers))
      .start(session, Date.now())
  })

  app.get('/:sessionId/art/:hash', {
    config: receiving,
    schema: {
      summary: 'Cover art by content hash, as push metadata events link it (receiver)',
      params: ArtParams,
      querystring: KeyQuery,
      response: { 200: Type.Unsafe<Buffer>({ description: 'the cover, image/jpeg' }), 304: Type.Null(), ...errorResponses }
    }
  }, async (request, reply) => {
    const { sessionId, hash } = request.params
    app.sessions.requireActive(sessionId)
    const bytes = hub.art(sessionId, hash)
    if (bytes === undefined) throw new AppError('NOT_FOUND', 'This session has no cover art with that hash')
    const etag = `"${hash}"`
    // Content-addressed: the bytes behind a URL never change. Private: the URL needs a credential.
    reply.header('etag', etag).header('cache-control', 'private, max-age=31536000, immutable')
    if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send(null)
    return reply.type('image/jpeg').send(bytes)
  })
}

export default push
