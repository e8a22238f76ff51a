import fp from 'fastify-plugin'
import cors from '@fastify/cors'
import type { FastifyPluginAsync } from 'fastify'

function escape (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/** `*` allows every origin; `http://host:*` allows any port of that host; anything else is exact. */
export function originMatcher (patterns: readonly string[]): true | RegExp[] {
  if (patterns.includes('*')) return true
  return patterns.map((p) => p.endsWith(':*')
    ? new RegExp(`^${escape(p.slice(0, -2))}(:\\d{1,5})?$`)
    : new RegExp(`^${escape(p)}$`))
}

const corsPlugin: FastifyPluginAsync = async (app) => {
  await app.register(cors, {
    origin: originMatcher(app.config.corsOrigins),
    methods: ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Client-Id', 'X-Sharer-Key'],
    // One string rather than a list: the plugin would join the list again for every response.
    exposedHeaders: 'Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset',
    maxAge: 600,
    // A malformed preflight gets the ordinary CORS answer instead of the plugin's plain-text 400.
    strictPreflight: false
  })
}

export default fp(corsPlugin, { name: 'cors', fastify: '5.x', dependencies: ['config'] })
