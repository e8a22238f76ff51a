import t from 'tap'
import { build, clientMetadata, JSON_HEADERS, startSession } from '../helper.js'

// Length bounds count UTF-16 units (Ajv's `unicode: false`), which keeps validating a 235 KB audio body
// cheap. The option is deprecated in Ajv 8: if an upgrade stops honouring it, the first test fails.

t.test('maxLength counts UTF-16 units: 1100 emoji (2200 units) is over a 2048 limit', async (t) => {
  const app = await build(t)
  await startSession(app)
  const post = (title: string) => app.inject({
    method: 'POST', url: '/api/share/123456/metadata', headers: JSON_HEADERS, payload: clientMetadata({ title })
  })

  const over = await post('🎵'.repeat(1100))
  t.equal(over.statusCode, 400, 'code points are under the limit, UTF-16 units are not')
  t.equal(over.json().code, 'VALIDATION_ERROR')
  t.equal((await post('🎵'.repeat(1024))).statusCode, 200, 'exactly 2048 units is accepted')
})

t.test('building the app writes nothing to the console: Ajv speaks through the structured log', async (t) => {
  const written: unknown[][] = []
  const original = { log: console.log, warn: console.warn, error: console.error }
  for (const key of ['log', 'warn', 'error'] as const) console[key] = (...args: unknown[]) => { written.push(args) }
  t.teardown(() => Object.assign(console, original))

  await build(t)
  Object.assign(console, original)
  t.same(written, [], 'no console output')
})

t.test('a string property a parser hands over as TextBytes is checked against its bounds, the rest against the schema', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { Type } = await import('@sinclair/typebox')
  const { createValidatorCompiler } = await import('../../plugins/validation.js')
  const { StringOrTextBytes, TextBytes } = await import('../../src/schemas/text-bytes.js')
  const app = Fastify()
  t.teardown(() => app.close())
  app.setValidatorCompiler(createValidatorCompiler(app.log))
  // A parser like the audio route's: `text` (when marked) arrives as the bytes of its characters.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const parsed = JSON.parse(body as string) as Record<string, unknown>
    if (parsed.asBytes === true && typeof parsed.text === 'string') {
      parsed.text = new TextBytes(Buffer.from(`xx${parsed.text}`, 'latin1'), 2, parsed.text.length)
    }
    done(null, parsed)
  })
  app.post('/', {
    schema: { body: Type.Object({ text: StringOrTextBytes(Type.String({ minLength: 2, maxLength: 8 })), n: Type.Integer(), asBytes: Type.Boolean() }) }
  }, async (request) => {
    const { text } = request.body as { text: unknown }
    return { kind: text instanceof TextBytes ? 'bytes' : 'string', text: String(text) }
  })
  const post = (body: unknown) => app.inject({ method: 'POST', url: '/', payload: body as object })

  for (const asBytes of [true, false]) {
    const kind = asBytes ? 'bytes' : 'string'
    const ok = await post({ text: 'abcd', n: 1, asBytes })
    t.same(ok.json(), { kind, text: 'abcd' }, `${kind}: within bounds, accepted as it came`)
    const long = await post({ text: 'abcdefghi', n: 1, asBytes })
    t.equal(long.statusCode, 400, `${kind}: too long`)
    t.match(long.json().message, /body\/text must NOT have more than 8 characters/, `${kind}: Ajv's own message`)
    const short = await post({ text: 'a', n: 1, asBytes })
    t.match(short.json().message, /body\/text must NOT have fewer than 2 characters/, `${kind}: too short, Ajv's own message`)
    const otherWrong = await post({ text: 'abcd', n: 'one', asBytes })
    t.match(otherWrong.json().message, /body\/n must be integer/, `${kind}: the other properties are still checked`)
    const missing = await post({ n: 1, asBytes })
    t.equal(missing.statusCode, 400, `${kind}: a missing property is still missing`)
  }
  t.match((await post({ text: 12, n: 1, asBytes: false })).json().message, /body\/text must be string/, 'a string property given a number')
  t.throws(() => StringOrTextBytes(Type.String({ pattern: '^a' })), /length only/, 'a pattern could not be checked on bytes: refused when declared')
})
