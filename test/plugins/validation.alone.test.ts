import t from 'tap'
import validation from '../../plugins/validation.js'
import { alone, assertDependencies } from './alone-helper.js'

async function build (t: Parameters<typeof alone>[0]) {
  const app = await alone(t, validation)
  app.post('/v', {
    schema: {
      body: {
        type: 'object',
        required: ['n'],
        additionalProperties: false,
        properties: { n: { type: 'number' }, title: { type: 'string', maxLength: 1 }, mode: { type: 'string', default: 'live' } }
      },
      querystring: { type: 'object', properties: { since: { type: 'integer' } } }
    }
  }, async (request) => ({ body: request.body, query: request.query }))
  await app.ready()
  return app
}

t.test('bodies are not coerced: null where a number is expected is refused', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/v', payload: { n: null } })
  t.equal(res.statusCode, 400, 'Fastify\'s default validator would coerce null to 0')
  t.equal(res.json().code, 'FST_ERR_VALIDATION')
  t.equal((await app.inject({ method: 'POST', url: '/v', payload: { n: '5' } })).statusCode, 400, 'nor "5" to 5')
})

t.test('query strings are coerced: since=5 is the integer 5; defaults fill in, unknown fields are removed', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/v?since=5', payload: { n: 1.5, extra: true } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { body: { n: 1.5, mode: 'live' }, query: { since: 5 } })
  t.equal((await app.inject({ method: 'POST', url: '/v?since=five', payload: { n: 1 } })).statusCode, 400)
})

t.test('maxLength counts UTF-16 units (unicode: false)', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/v', payload: { n: 1, title: '🎵' } })
  t.equal(res.statusCode, 400, 'one code point but two UTF-16 units: over a maxLength of 1 (Ajv\'s default counts code points)')
  t.equal((await app.inject({ method: 'POST', url: '/v', payload: { n: 1, title: 'a' } })).statusCode, 200)
})

t.test('declares no dependencies', (t) => assertDependencies(t, validation, []))
