import t from 'tap'
import { connect } from 'node:net'
import { build, errorShape, JSON_HEADERS, startSession, TOKEN } from '../helper.js'
import { assertBuilt, listeningUrl, spawnBuiltServer } from '../built-server.js'
import { writeWholeThenRead, type WholeWriteResult } from '../raw-client.js'
import { memoryMb } from '../../bench/lib/proc.js'
import { runScenario } from '../../bench/scenario.js'

const MB = 1_000_000
const TIMES = 20

t.before(assertBuilt)

/** The request head as the desktop client sends it, for a body of `length` bytes (or chunked). */
const head = (path: string, length: number | 'chunked') =>
  `POST /api/share/123456/${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nUser-Agent: SongRequest Desktop v1.4.2\r\n` +
  `Content-Type: application/json\r\n${length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`}\r\n\r\n`

/** A JSON body of exactly `size` bytes whose one long string is `field` (a huge cover, or huge audio). */
function jsonBody (size: number, field: string, rest: Record<string, unknown>): Buffer {
  const start = Buffer.from(`{${JSON.stringify(rest).slice(1, -1)},"${field}":"`)
  const body = Buffer.alloc(size, 'A')
  start.copy(body)
  body.write('"}', size - 2)
  return body
}
const metadataBody = (size: number) => jsonBody(size, 'thumbnailData', { title: 'Song', artist: 'Artist', lyrics: null, hasSyncedLyrics: false, elapsedSeconds: 1, totalSeconds: 2, timestamp: 1 })
const audioBody = (size: number) => jsonBody(size, 'data', { sampleRate: 44100, channels: 2, timestamp: 1, sequenceNumber: 0 })

/** One line per distinct outcome, e.g. "413 complete PAYLOAD_TOO_LARGE connection=close": 20 sends should give one line. */
function outcome (r: WholeWriteResult): string {
  if (r.writeError !== undefined) return `write failed: ${r.writeError}`
  if (r.readError !== undefined) return `read failed: ${r.readError}`
  let code = 'not JSON'
  try {
    const json = JSON.parse(r.body) as Record<string, unknown>
    const uniform = json.success === false && typeof json.error === 'string' && typeof json.timestamp === 'number'
    code = `${String(json.code)}${uniform ? '' : ' (not the uniform format)'}`
  } catch {
    // reported as "not JSON"
  }
  return `${r.status} ${r.complete ? 'complete' : 'truncated'} ${code} connection=${r.headers.connection}`
}

const EXPECTED = '413 complete PAYLOAD_TOO_LARGE connection=close'

async function sendMany (port: number, times: number, path: string, body: Buffer | Buffer[], length: number | 'chunked'): Promise<Record<string, number>> {
  const tally: Record<string, number> = {}
  for (let i = 0; i < times; i++) {
    const line = outcome(await writeWholeThenRead(port, head(path, length), body))
    tally[line] = (tally[line] ?? 0) + 1
  }
  return tally
}

t.test('a client that writes its whole oversized body before reading always reads a complete 413, also under s1 load; memory does not grow by what is discarded', async (t) => {
  const server = spawnBuiltServer({ BEARER_TOKEN: TOKEN, RATE_LIMIT_METADATA_PER_SECOND: '1000', RATE_LIMIT_AUDIO_PER_SECOND: '1000' })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const url = await listeningUrl(server)
  const port = Number(new URL(url).port)
  const pid = server.child.pid!
  const started = await fetch(`${url}/api/share/start`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ sessionId: '123456' }) })
  t.equal(started.status, 200)

  const bodies = { 6: metadataBody(6 * MB), 10: metadataBody(10 * MB), 25: metadataBody(25 * MB) }
  const audio = audioBody(2 * MB)
  // Warm-up: the first answers load code and grow pools (socket buffers, the young generation) that stay.
  await sendMany(port, 2, 'metadata', bodies[25], bodies[25].length)
  const before = memoryMb(pid).rssMb!
  let discarded = 0

  for (const size of [6, 25] as const) {
    t.same(await sendMany(port, TIMES, 'metadata', bodies[size], bodies[size].length), { [EXPECTED]: TIMES }, `${size} MB metadata, ${TIMES} times`)
    discarded += TIMES * size * MB
  }
  const afterQuiet = memoryMb(pid).rssMb!

  // The same while the server carries s1 (10 sharers, 10 receivers): the answers race with real traffic.
  const load = runScenario({ scenario: 's1', url, token: TOKEN, sessions: 10, receiversPerSession: 1, durationS: 4 })
  t.same(await sendMany(port, TIMES, 'metadata', bodies[10], bodies[10].length), { [EXPECTED]: TIMES }, `10 MB metadata, ${TIMES} times, under s1`)
  t.same(await sendMany(port, TIMES, 'audio', audio, audio.length), { [EXPECTED]: TIMES }, `2 MB audio, ${TIMES} times, under s1`)
  // Without Content-Length the limit trips while reading; the rest is drained the same way.
  const chunks = Array.from({ length: 10 * MB / 65_536 }, () => Buffer.alloc(65_536, 'A'))
  t.same(await sendMany(port, 5, 'metadata', chunks, 'chunked'), { [EXPECTED]: 5 }, '10 MB chunked metadata, 5 times, under s1')
  const s1 = await load
  t.equal(s1.summary.errors, 0, 's1 itself saw no error')
  t.equal(s1.receivers.lost, 0, 's1 lost no chunk')

  const grewMb = afterQuiet - before
  t.comment(`server RSS ${before} MB before, ${afterQuiet} MB after ${discarded / MB} MB of refused bodies were read and discarded (+${Math.round(grewMb * 10) / 10} MB); ${memoryMb(pid).rssMb} MB after the run under s1`)
  t.ok(grewMb < 25, `RSS grew by less than one 25 MB body (${Math.round(grewMb * 10) / 10} MB) while ${discarded / MB} MB were discarded`)
})

t.test('past BODY_DRAIN_MAX_BYTES the connection is cut; a stalled body is cut after BODY_DRAIN_TIMEOUT_MS', async (t) => {
  const app = await build(t, { BODY_DRAIN_MAX_BYTES: String(MB), BODY_DRAIN_TIMEOUT_MS: '300' })
  await startSession(app)
  const port = Number(new URL(await app.listen({ port: 0, host: '127.0.0.1' })).port)

  const body = metadataBody(25 * MB)
  const cut = await writeWholeThenRead(port, head('metadata', body.length), body)
  t.match(cut.writeError, /^(EPIPE|ECONNRESET)$/, `25 MB with a 1 MB drain bound: cut while still writing (${cut.writeError})`)

  // A client that stops sending halfway: the 413 is written at once, the connection is closed at the time bound.
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  let received = ''
  socket.on('data', (d) => { received += d })
  const began = Date.now()
  socket.write(head('metadata', 10 * MB) + 'A'.repeat(1000))
  await new Promise((resolve) => socket.on('close', resolve))
  const afterMs = Date.now() - began
  t.ok(afterMs >= 250 && afterMs < 3000, `closed ${afterMs} ms after the stall`)
  t.match(received, /^HTTP\/1\.1 413 /, 'after its 413')
  t.match(JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)), errorShape('PAYLOAD_TOO_LARGE'))
  t.equal((await app.inject({ url: '/api/share/123456/status', headers: JSON_HEADERS })).statusCode, 200, 'the server serves on')
})
