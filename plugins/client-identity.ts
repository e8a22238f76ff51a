import { hash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'

const MAX_CLIENT_ID = 128
const MAX_USER_AGENT = 256

/** Keys already worked out, per request: the rate limiter and the route both need it. */
const keys = new WeakMap<FastifyRequest, string>()

/**
 * Identifies a receiver. The desktop client never names itself, so address + User-Agent it is,
 * unless the client sends an X-Client-Id. Hashed so the key is short and holds nothing personal.
 */
export function receiverKey (request: FastifyRequest): string {
  let key = keys.get(request)
  if (key === undefined) {
    key = keyOf(request)
    keys.set(request, key)
  }
  return key
}

function keyOf (request: FastifyRequest): string {
  const clientId = request.headers['x-client-id']
  if (typeof clientId === 'string' && clientId !== '') {
    return 'c:' + digest(clientId.slice(0, MAX_CLIENT_ID))
  }
  const userAgent = request.headers['user-agent'] ?? ''
  return 'a:' + digest(`${request.ip}|${userAgent.slice(0, MAX_USER_AGENT)}`)
}

/** True when the key names one client (it sent X-Client-Id) rather than everyone behind an address. */
export function isClientIdKey (key: string): boolean {
  return key.startsWith('c:')
}

function digest (value: string): string {
  return hash('sha1', value, 'base64url').slice(0, 16)
}
