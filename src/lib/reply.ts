import type { FastifyReply } from 'fastify'

/**
 * Sends JSON that was serialised ahead of time (once per update, not once per poll).
 * The route's response schema still documents it; Fastify sends strings and Buffers as they are.
 */
export function sendSerialisedJson (reply: { type: FastifyReply['type'] }, json: string | Buffer): FastifyReply {
  return (reply as FastifyReply).type('application/json; charset=utf-8').send(json)
}

/** 204 No Content, with no body. */
export function sendNoContent (reply: { code: FastifyReply['code'] }): FastifyReply {
  return (reply as FastifyReply).code(204).send()
}
