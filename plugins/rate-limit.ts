import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { AppConfig } from '../src/config.js'
import { DomainError } from '../src/errors.js'
import { isClientIdKey, receiverKey } from './client-identity.js'

export type RateLimitedAction = 'start' | 'stop' | 'metadata-write' | 'audio-write' | 'recording-write' | 'poll'

/**
 * Requests allowed per window for a steady rate: the rate over the window plus one second of burst
 * and two spare requests, so a client on its cadence with ±100 ms jitter (or a short hiccup burst)
 * never hits the limit while one sending at three times the rate does.
 */
export function budget (perSecond: number, windowMs: number): number {
  return Math.ceil(perSecond * (windowMs / 1000 + 1)) + 2
}

function sessionIdOf (request: FastifyRequest): string {
  return (request.params as { sessionId?: string }).sessionId ?? ''
}

/** The per-route `config.rateLimit` for an action, fitted to the desktop client's cadence (CLIENT.md). */
export function rateLimitFor (limits: AppConfig['rateLimit'], action: RateLimitedAction) {
  // Each route keeps its own store: the key bound has to be given per route (the plugin-level `cache`
  // only sizes the global store, and a route's store would otherwise hold 5000 keys).
  return { cache: limits.maxKeys, ...limitOf(limits, action) }
}

function limitOf (limits: AppConfig['rateLimit'], action: RateLimitedAction) {
  const timeWindow = limits.windowMs
  switch (action) {
    case 'start':
      return { max: limits.startsPerMinute, timeWindow: 60_000, keyGenerator: (r: FastifyRequest) => `start:${r.ip}` }
    case 'stop':
      return { max: budget(1, timeWindow), timeWindow, keyGenerator: (r: FastifyRequest) => `stop:${sessionIdOf(r)}` }
    case 'metadata-write':
      return { max: budget(limits.metadataPerSecond, timeWindow), timeWindow, keyGenerator: (r: FastifyRequest) => `mw:${sessionIdOf(r)}` }
    case 'recording-write':
      return { max: budget(1, timeWindow), timeWindow, keyGenerator: (r: FastifyRequest) => `rw:${sessionIdOf(r)}` }
    case 'audio-write':
      return { max: budget(limits.audioPerSecond, timeWindow), timeWindow, keyGenerator: (r: FastifyRequest) => `aw:${sessionIdOf(r)}` }
    case 'poll': {
      const perReceiver = budget(limits.pollsPerSecond, timeWindow)
      return {
        timeWindow,
        keyGenerator: (r: FastifyRequest) => `${sessionIdOf(r)}:${receiverKey(r)}`,
        // Without X-Client-Id every receiver behind one address + User-Agent shares a key: give it room for many.
        max: (_r: FastifyRequest, key: string) =>
          isClientIdKey(key.slice(key.indexOf(':') + 1)) ? perReceiver : perReceiver * limits.receiversPerAddress
      }
    }
  }
}

const rateLimitPlugin: FastifyPluginAsync = async (app) => {
  await app.register(rateLimit, {
    global: false,
    // Keys kept at most (LRU) by each rate-limited route: rate-limit state stays bounded however many clients come.
    cache: app.config.rateLimit.maxKeys,
    errorResponseBuilder: (_request, context) =>
      new DomainError('RATE_LIMITED', `Rate limit exceeded: at most ${context.max} requests per ${context.after}; retry later`)
  })
}

export default fp(rateLimitPlugin, { name: 'rate-limit', fastify: '5.x', dependencies: ['config'] })
