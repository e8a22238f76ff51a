import t, { type Test } from 'tap'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { CLIENT_HEADERS, JSON_HEADERS, build, clientChunk, clientMetadata, errorShape, eventually, startSession } from '../helper.js'
import type { App } from '../../app.js'

const dir = mkdtempSync(join(tmpdir(), 'music-share-stats-routes-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

/** The app with statistics on, in a SQLite file of its own (in a folder that does not exist yet). */
async function withStats (t: Test, env: Record<string, string> = {}) {
  const file = join(dir, `case-${++n}`, 'data', 'stats.db')
  const app = await build(t, { STATS: 'on', STATS_DB: file, STATS_FLUSH_INTERVAL_MS: '50', STATS_SECRET: 'test-secret-0123456789', ...env })
  return { app, file }
}

const get = (app: App, url: string, headers: Record<string, string> = CLIENT_HEADERS) => app.inject({ method: 'GET', url, headers })
const RECEIVER_A = { ...CLIENT_HEADERS, 'user-agent': 'Receiver A' }
const RECEIVER_B = { ...CLIENT_HEADERS, 'x-client-id': 'receiver-b' }

async function metadata (app: App, id: string, title: string, elapsedSeconds: number) {
  const res = await app.inject({ method: 'POST', url: `/api/share/${id}/metadata`, headers: JSON_HEADERS,
    payload: clientMetadata({ title, elapsedSeconds, timestamp: Date.now() }) })
  if (res.statusCode !== 200) throw new Error(res.body)
}

t.test('STATS=off: no statistics routes, nothing recorded', async (t) => {
  const app = await build(t, { STATS: 'off' })
  t.equal(app.stats, null)
  const res = await get(app, '/api/stats/summary')
  t.equal(res.statusCode, 404)
  t.match(res.json(), errorShape('NOT_FOUND'))
  t.equal((await get(app, '/stats', {})).statusCode, 404, 'no page either')
})

t.test('/stats is the page: no data in it, its script from the built assets, the strict CSP', async (t) => {
  const { app } = await withStats(t)
  const res = await get(app, '/stats', {})
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  t.match(res.headers['content-security-policy'], /default-src 'none';\s*script-src 'self'/)
  const script = /<script type="module" src="\/listen\/assets\/(stats-[A-Z0-9]+\.js)">/.exec(res.body)?.[1]
  t.ok(script, 'the page names its hashed script')
  const asset = await get(app, `/listen/assets/${script}`, {})
  t.equal(asset.statusCode, 200)
  t.match(asset.headers['content-type'], /javascript/)
})

t.test('the statistics API takes the bearer token or STATS_TOKEN, and checks its query', async (t) => {
  const { app, file } = await withStats(t, { STATS_TOKEN: 'Bearer stats-only-token' })
  t.ok(existsSync(file), 'the SQLite file and its folders were created')
  t.equal((await get(app, '/api/stats/summary', {})).statusCode, 401)
  t.match((await get(app, '/api/stats/songs', { authorization: 'Bearer wrong' })).json(), errorShape('UNAUTHORIZED'))
  t.equal((await get(app, '/api/stats/sessions', { authorization: 'Bearer stats-only-token' })).statusCode, 200, 'STATS_TOKEN')
  t.equal((await get(app, '/api/stats/sessions')).statusCode, 200, 'the bearer token')
  t.equal((await get(app, '/api/share/sessions', { authorization: 'Bearer stats-only-token' })).statusCode, 401,
    'STATS_TOKEN opens nothing but statistics')
  for (const url of ['/api/stats/summary?period=year', '/api/stats/songs?limit=0', '/api/stats/songs?limit=101',
    '/api/stats/songs?sort=title', '/api/stats/sessions?offset=-1', '/api/stats/sessions?limit=abc']) {
    const res = await get(app, url)
    t.equal(res.statusCode, 400, url)
    t.match(res.json(), errorShape('VALIDATION_ERROR'))
  }
  const empty = (await get(app, '/api/stats/summary?period=all')).json()
  t.match(empty, { period: 'all', since: '1970-01-01', sessions: 0, plays: 0, days: [], recorder: { store: 'sqlite', up: true, pendingRows: 0 } })
})

t.test('a share with two songs and two receivers becomes history', async (t) => {
  const { app, file } = await withStats(t)
  const { sessionId } = await startSession(app, '246810')
  await metadata(app, sessionId, 'First Song', 0)
  for (const headers of [RECEIVER_A, RECEIVER_B, RECEIVER_A]) {
    t.equal((await get(app, `/api/share/${sessionId}/metadata`, headers)).statusCode, 200)
  }
  await app.inject({ method: 'POST', url: `/api/share/${sessionId}/audio`, headers: JSON_HEADERS, payload: clientChunk(0) })
  t.equal((await get(app, `/api/share/${sessionId}/audio?since=-1`, RECEIVER_A)).statusCode, 200)
  await metadata(app, sessionId, 'First Song', 0.5)
  await metadata(app, sessionId, 'Second Song', 0)
  await app.inject({ method: 'POST', url: `/api/share/${sessionId}/stop`, headers: CLIENT_HEADERS })

  const summary = await eventually(async () => {
    const s = (await get(app, '/api/stats/summary?period=day')).json()
    return s.sessions === 1 && s.plays === 2 && s.recorder.pendingRows === 0 ? s : undefined
  }, 'the share in the statistics')
  t.match(summary, { period: 'day', sessions: 1, plays: 2, distinctSongs: 2, uniqueListeners: 2, peakListeners: 2, bytesIn: 176_400, bytesOut: 176_400 })
  t.equal(summary.days.length, 1)

  const songs = (await get(app, '/api/stats/songs?period=day&sort=plays')).json()
  t.same(songs.songs.map((s: { title: string, plays: number }) => [s.title, s.plays]), [['First Song', 1], ['Second Song', 1]])
  const sessions = (await get(app, '/api/stats/sessions?period=day&limit=5')).json()
  t.match(sessions, { total: 1, limit: 5, offset: 0, sessions: [{ sessionId: '246810', endReason: 'stopped', plays: 2, uniqueListeners: 2, bytesIn: 176_400 }] })

  // Pseudonyms only: no address, User-Agent, client id or receiver key anywhere in the file.
  await app.close()
  const db = new Database(file, { readonly: true })
  t.teardown(() => db.close())
  const text = JSON.stringify(['stats_sessions', 'stats_plays', 'stats_visits', 'stats_songs']
    .map((table) => db.prepare(`SELECT * FROM ${table}`).all()))
  for (const secret of ['127.0.0.1', 'Receiver A', 'receiver-b', 'SongRequest']) t.notMatch(text, secret, `no "${secret}" stored`)
  t.match(db.prepare('SELECT count(DISTINCT listener) AS n FROM stats_visits').get(), { n: 2 })
  const { listener_ms: listenerMs, duration } = db.prepare('SELECT listener_ms, ended_at - started_at AS duration FROM stats_sessions')
    .get() as { listener_ms: number, duration: number }
  t.ok(listenerMs > 0 && listenerMs <= 2 * duration, `${listenerMs} listener-ms in a ${duration} ms share with two receivers`)
})

t.test('closing the app writes what was still waiting, with open plays and visits ended', async (t) => {
  const { app, file } = await withStats(t, { STATS_FLUSH_INTERVAL_MS: '60000' })
  const { sessionId } = await startSession(app, '135790')
  await metadata(app, sessionId, 'Still Playing', 30)
  await get(app, `/api/share/${sessionId}/metadata`, RECEIVER_A)
  t.equal(app.stats!.status().flushes, 0, 'nothing written yet: the interval is a minute')
  await app.close()
  const db = new Database(file, { readonly: true })
  t.teardown(() => db.close())
  t.match(db.prepare('SELECT session_code, ended_at FROM stats_sessions').all(), [{ session_code: '135790', ended_at: null }],
    'the session is still open: with Redis it may be restored')
  t.match(db.prepare('SELECT start_position_ms, ended_at FROM stats_plays').get(), { start_position_ms: 30_000, ended_at: Number })
  t.match(db.prepare('SELECT left_at FROM stats_visits').get(), { left_at: Number })
})
