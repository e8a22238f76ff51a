import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'

/**
 * Bodies are JSON or nothing. An empty application/json body (a POST /stop some HTTP stacks send with a
 * content type) means "no body" rather than an error; every other body keeps Fastify's JSON parser with
 * its prototype-poisoning protection. text/plain is not accepted (415), so a client that forgot its
 * content type is told so instead of getting a confusing validation error.
 */
const jsonBody: FastifyPluginAsync = async (app) => {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined)
      return
    }
    parseJson(request, body as string, done)
  })
}

export default fp(jsonBody, { name: 'json-body', fastify: '5.x' })
