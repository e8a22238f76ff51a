import t from 'tap'
import openapi from '../../plugins/openapi.js'
import { ErrorResponse } from '../../src/schemas/common.js'
import { alone, assertDependencies } from './alone-helper.js'

t.test('the document at /docs/json and /openapi.json lists a declared route, with its error codes', async (t) => {
  const app = await alone(t, openapi)
  // The error responses it documents point at the shared ErrorResponse schema, which app.ts adds.
  app.addSchema(ErrorResponse)
  app.get('/api/things/:sessionId', {
    schema: {
      params: { type: 'object', properties: { sessionId: { type: 'string' } } },
      response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } }
    }
  }, async () => ({ ok: true }))
  await app.ready()

  const docs = await app.inject({ url: '/docs/json' })
  t.equal(docs.statusCode, 200)
  const doc = docs.json()
  t.equal(doc.openapi, '3.1.0')
  const operation = doc.paths['/api/things/{sessionId}']?.get
  t.ok(operation, 'the route is documented')
  t.same(operation.security, [{ bearerAuth: [] }], '/api routes need the bearer token')
  t.match(operation.responses['401'].description, /`UNAUTHORIZED`/)
  t.match(operation.responses['404'].description, /`SESSION_NOT_FOUND`.*`SESSION_ENDED`/)
  t.same(Object.keys(operation.responses).sort(), ['200', '400', '401', '404', '500', '503'])
  const unauthorized = operation.responses['401'].content['application/json']
  t.match(unauthorized.examples.UNAUTHORIZED.value, { success: false, code: 'UNAUTHORIZED', timestamp: Number })
  const ref: string = unauthorized.schema.$ref
  t.match(ref, /^#\/components\/schemas\//, 'the error schema is a component (without addSchema it would dangle as "ErrorResponse#")')
  t.equal(doc.components.schemas[ref.split('/').pop()!]?.title, 'ErrorResponse')

  const served = await app.inject({ url: '/openapi.json' })
  t.same(served.json().paths, doc.paths, '/openapi.json is the same document')
  t.notOk(doc.paths['/openapi.json'], 'documentation routes are hidden')
})

t.test('declares config and fails without it', (t) => assertDependencies(t, openapi, ['config']))
