import type { Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'

/**
 * Sends JSON that was serialised ahead of time (once per update, not once per poll), as one Buffer: the
 * headers and the body go out in one write. The route's response schema still documents the body;
 * Fastify sends Buffers as they are.
 */
export function sendSerialisedJson (reply: { type: FastifyReply['type'] }, json: Buffer): FastifyReply {
  return (reply as FastifyReply).type('application/json; charset=utf-8').send(json)
}

/** 204 No Content, with no body. */
export function sendNoContent (reply: { code: FastifyReply['code'] }): FastifyReply {
  return (reply as FastifyReply).code(204).send()
}

/** Sends a stream as a response whose headers the route has set; its schema documents it. */
export function sendStream (reply: { send: FastifyReply['send'] }, body: Readable): FastifyReply {
  return (reply as FastifyReply).send(body)
}
