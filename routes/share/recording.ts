import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Tag } from '../../src/schemas/tags.js'
import { Type } from '@sinclair/typebox'
import { errorResponses, SessionParams } from '../../src/schemas/common.js'
import { KeyQuery } from '../../src/schemas/push.js'
import { RecordingAck, RecordingBody } from '../../src/schemas/recording.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import { DomainError } from '../../src/errors.js'
import type { Recordings } from '../../src/recording/recordings.js'
import { cueSheet, downloadName, parseByteRange } from '../../src/recording/download.js'
import { sendStream } from '../reply.js'

/** The recordings, or the error that says this server records nothing. */
function required (recordings: Recordings | null, code: 'RECORDING_OFF' | 'RECORDING_NOT_FOUND'): Recordings {
  if (recordings === null) throw new DomainError(code, 'This server records nothing (RECORDINGS_DIR is not set)')
  return recordings
}

/** A session's recording: the sharer's say, the download (one Ogg/Opus file, with Range) and its chapters (CUE). */
const recording: FastifyPluginAsyncTypebox = async (app) => {
  const receiving = { auth: 'receive' as const, rateLimit: rateLimitFor(app.config.rateLimit, 'poll') }

  app.post('/:sessionId/recording', {
    config: { sharerOnly: true, rateLimit: rateLimitFor(app.config.rateLimit, 'recording-write') },
    schema: {
      tags: [Tag.recordings],
      summary: 'Record this session or not: off deletes what was recorded of it',
      params: SessionParams,
      body: RecordingBody,
      response: { 200: RecordingAck, ...errorResponses }
    }
  }, async (request) => {
    const recordings = required(app.recordings, 'RECORDING_OFF')
    const session = app.sessions.requireActive(request.params.sessionId)
    return { success: true as const, recording: await recordings.setEnabled(session, request.body.enabled) }
  })

  app.get('/:sessionId/recording.ogg', {
    config: receiving,
    schema: {
      tags: [Tag.recordings],
      summary: 'Download the recording so far, as one Ogg/Opus file; Range requests',
      params: SessionParams,
      querystring: KeyQuery,
      response: {
        200: { description: 'the whole recording', content: { 'audio/ogg': { schema: Type.String() } } },
        206: { description: 'the bytes a Range asked for', content: { 'audio/ogg': { schema: Type.String() } } },
        ...errorResponses
      }
    }
  }, async (request, reply) => {
    const download = await required(app.recordings, 'RECORDING_NOT_FOUND').download(request.params.sessionId)
    const { size } = download.joined
    const range = parseByteRange(request.headers.range, size)
    if (range === 'unsatisfiable') {
      throw new DomainError('RANGE_NOT_SATISFIABLE', `The recording is ${size} bytes long`, { details: { size } })
    }
    const { start, end } = range ?? { start: 0, end: size - 1 }
    reply.type('audio/ogg').headers({
      'accept-ranges': 'bytes',
      'cache-control': 'no-store',
      'content-disposition': `attachment; filename="${download.fileName}"`,
      'content-length': end - start + 1
    })
    if (range !== undefined) reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`)
    // HEAD: Fastify's HEAD route keeps the headers set here for a stream body (an empty one: nothing is read).
    return sendStream(reply, Readable.from(request.method === 'HEAD' ? [] : download.joined.read(start, end)))
  })

  app.get('/:sessionId/recording.cue', {
    config: receiving,
    schema: {
      tags: [Tag.recordings],
      summary: 'The recording\'s chapters, one per song, as a CUE sheet',
      params: SessionParams,
      querystring: KeyQuery,
      response: { 200: { description: 'a CUE sheet naming recording.ogg\'s file', content: { 'application/x-cue': { schema: Type.String() } } }, ...errorResponses }
    }
  }, async (request, reply) => {
    const download = await required(app.recordings, 'RECORDING_NOT_FOUND').download(request.params.sessionId)
    return reply.type('application/x-cue; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="${downloadName(download.sessionId, download.startedAt, 'cue')}"`)
      .send(cueSheet(download.sessionId, download.startedAt, download.fileName, download.chapters))
  })
}

export default recording
