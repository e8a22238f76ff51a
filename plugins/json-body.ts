import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'

/** Parses a raw JSON body when it certainly can, faster than the general parser; undefined otherwise. */
export type JsonFastPath = (body: Buffer) => Record<string, unknown> | undefined

/**
 * Sets the application/json parser of `app`'s context. An empty body (a POST /stop some HTTP stacks
 * send with a content type) means "no body" rather than an error; every other body goes through
 * Fastify's JSON parser with its prototype-poisoning protection, after `fastPath` when a route has one
 * (the fast path must answer exactly what that parser would, or undefined).
 */
export function useJsonBodies (app: FastifyInstance, fastPath?: JsonFastPath): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  if (app.hasContentTypeParser('application/json')) app.removeContentTypeParser('application/json')
  if (fastPath === undefined) {
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (body === '') {
        done(null, undefined)
        return
      }
      parseJson(request, body as string, done)
    })
    return
  }
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer
    if (bytes.length === 0) {
      done(null, undefined)
      return
    }
    const parsed = fastPath(bytes)
    if (parsed !== undefined) {
      done(null, parsed)
      return
    }
    parseJson(request, bytes.toString('utf8'), done)
  })
}

/**
 * Bodies are JSON or nothing. text/plain is not accepted (415), so a client that forgot its content
 * type is told so instead of getting a confusing validation error.
 */
const jsonBody: FastifyPluginAsync = async (app) => {
  app.removeAllContentTypeParsers()
  useJsonBodies(app)
}

export default fp(jsonBody, { name: 'json-body', fastify: '5.x' })
