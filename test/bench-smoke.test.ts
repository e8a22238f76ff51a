import t from 'tap'
import type { AddressInfo } from 'node:net'
import { createCeilingServer } from '../bench/ceiling-server.js'
import { runScenario } from '../bench/scenario.js'
import { build } from './helper.js'

// Keeps the load generator honest: a few seconds of s1 against the in-process ceiling server must
// deliver every chunk intact (with either kind of audio JSON), with no errors; and the real server does the same with the desktop
// client's own JSON (System.Text.Json's '+' escapes), relaying every chunk as canonical base64.
for (const bodyEncoding of ['plain', 'system-text-json'] as const) t.test(`s1 for 3 s against the ceiling server, ${bodyEncoding} audio bodies: no loss, no errors`, async (t) => {
  const server = createCeilingServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const { port } = server.address() as AddressInfo

  const r = await runScenario({ scenario: 's1', url: `http://127.0.0.1:${port}`, token: 'smoke', sessions: 10, receiversPerSession: 1, durationS: 3, bodyEncoding })

  t.equal(r.summary.errors, 0, 'no HTTP errors and no corrupt chunks')
  t.equal(r.receivers.lost, 0, 'no chunk lost')
  t.equal(r.receivers.duplicates, 0, 'no chunk received twice')
  t.equal(r.receivers.formatMismatches, 0, 'every GET audio body in the exact chunk format')
  t.ok(r.receivers.chunksExpected >= 10 * 4, `every receiver expected chunks (${r.receivers.chunksExpected})`)
  t.equal(r.receivers.chunksReceived, r.receivers.chunksExpected)
  const audio = r.endpoints.find((e) => e.endpoint === 'POST audio')
  t.ok(audio !== undefined && audio.requests >= 10 * 5, 'sharers posted audio at the client cadence')
})

t.test('s1 for 3 s against the server, audio written as System.Text.Json writes it: every chunk intact', async (t) => {
  const app = await build(t, { BEARER_TOKEN: 'smoke' })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })

  const r = await runScenario({ scenario: 's1', url, token: 'smoke', sessions: 10, receiversPerSession: 1, durationS: 3, bodyEncoding: 'system-text-json' })

  t.equal(r.summary.errors, 0, 'no HTTP errors and no corrupt chunks')
  t.equal(r.receivers.lost, 0, 'no chunk lost')
  t.equal(r.receivers.formatMismatches, 0, 'every GET audio body in the exact chunk format')
  t.ok(r.receivers.chunksExpected >= 10 * 4, `every receiver expected chunks (${r.receivers.chunksExpected})`)
  t.equal(r.receivers.chunksReceived, r.receivers.chunksExpected, 'each one byte-identical to what was encoded')
})
