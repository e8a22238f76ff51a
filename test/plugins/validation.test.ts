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
