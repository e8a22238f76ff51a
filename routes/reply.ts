import { Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'

/**
 * Sends JSON that was serialised ahead of time (once per update, not once per poll). Pieces are written
 * one after the other without being copied into one Buffer. The route's response schema still documents
 * the body; Fastify sends Buffers and streams as they are.
 */
export function sendSerialisedJson (reply: { type: FastifyReply['type'] }, json: Buffer | readonly Buffer[]): FastifyReply {
  const r = (reply as FastifyReply).type('application/json; charset=utf-8')
  if (Buffer.isBuffer(json)) return r.send(json)
  const length = json.reduce((sum, part) => sum + part.length, 0)
  return r.header('content-length', length).send(Readable.from(json, { objectMode: false }))
}

/** 204 No Content, with no body. */
export function sendNoContent (reply: { code: FastifyReply['code'] }): FastifyReply {
  return (reply as FastifyReply).code(204).send()
}

/** Sends a stream as a response whose headers the route has set; its schema documents it. */
export function sendStream (reply: { send: FastifyReply['send'] }, body: Readable): FastifyReply {
  return (reply as FastifyReply).send(body)
}
