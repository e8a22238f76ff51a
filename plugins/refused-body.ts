import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'

/** How much of a refused body is still read after the answer, and for how long, before the connection is cut. */
export interface DrainLimits {
  readonly maxBytes: number
  readonly timeoutMs: number
}

/** The request's body was not read to its end: the server refused it before reading it all (a 413). */
export function bodyStillArriving (request: FastifyRequest): boolean {
  return !request.raw.readableEnded && !request.raw.destroyed
}

/**
 * Answers a request whose body was refused before it was all read, without breaking the pipe under a
 * client that writes its whole body before it reads (the desktop client's HttpClient throws on EPIPE
 * instead of showing the status). Closing at once, as Node does after a `Connection: close` answer,
 * leaves the rest of the body unread: the kernel answers it with a reset, the client's writes fail and
 * the answer it has not read yet is lost with the connection.
 *
 * So the answer (JSON, with its Content-Length and `Connection: close`) is written whole at once, and the
 * response is only ended once the request's body has arrived: the rest of it is read and thrown away as it
 * comes (nothing is kept), then the connection closes cleanly. Past `limits` (bytes read after the answer,
 * or time) the connection is cut instead.
 */
export function sendWhileDraining (request: FastifyRequest, reply: FastifyReply, body: object, limits: DrainLimits): FastifyReply {
  const raw = request.raw
  const bytes = Buffer.from(JSON.stringify(body))
  const answer = new Readable({ read () {} })
  answer.push(bytes)
  let discarded = 0

  const finish = (cut?: 'bytes' | 'time'): void => {
    clearTimeout(timer)
    raw.off('data', onData)
    raw.off('end', onEnd)
    raw.off('close', onEnd)
    if (cut === undefined) {
      answer.push(null)
      return
    }
    request.log.debug({ discardedBytes: discarded, bound: cut }, 'refused body not drained within its bound: connection cut')
    raw.socket.destroy()
  }
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length
    if (discarded > limits.maxBytes) finish('bytes')
  }
  // The body ended (or the client went away): nothing left to read.
  const onEnd = (): void => finish()
  const timer = setTimeout(() => finish('time'), limits.timeoutMs).unref()
  raw.on('data', onData)
  raw.once('end', onEnd)
  raw.once('close', onEnd)
  raw.resume()

  return reply
    .header('connection', 'close')
    .header('content-type', 'application/json; charset=utf-8')
    .header('content-length', String(bytes.length))
    .send(answer)
}
