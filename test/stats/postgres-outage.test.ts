/**
 * The relay with statistics in a real PostgreSQL that goes away and comes back: no relay request
 * fails, rows wait in memory, and they are all written once the database answers again.
 */
import t from 'tap'
import { CLIENT_HEADERS, JSON_HEADERS, build, clientMetadata, errorShape, eventually, startSession } from '../helper.js'
import { PrivatePostgres, postgresBinary } from '../postgres-server.js'
import type { App } from '../../app.js'

async function share (app: App, id: string, title: string) {
  const res = await app.inject({ method: 'POST', url: `/api/share/${id}/metadata`, headers: JSON_HEADERS,
    payload: clientMetadata({ title, elapsedSeconds: 0, timestamp: Date.now() }) })
  return res.statusCode
}

const titles = async (server: PrivatePostgres, database: string) =>
  (await server.query<{ title: string }>('SELECT title FROM stats_songs ORDER BY title', database)).map((r) => r.title)

t.test('postgres outage', { skip: postgresBinary.skip }, async (t) => {
  const server = await PrivatePostgres.start(t)

  t.test('while PostgreSQL is down the relay answers as ever; the rows are written when it is back', async (t) => {
    const url = await server.createDatabase('outage')
    const app = await build(t, { STATS: 'on', DATABASE_URL: url, STATS_FLUSH_INTERVAL_MS: '50' })
    const { sessionId } = await startSession(app, '112233')
    t.equal(await share(app, sessionId, 'Before'), 200)
    await eventually(async () => (await titles(server, 'outage')).includes('Before') ? true : undefined, 'the first song in PostgreSQL')

    await server.stop()
    t.equal(await share(app, sessionId, 'During'), 200, 'metadata accepted with the database down')
    const poll = await app.inject({ method: 'GET', url: `/api/share/${sessionId}/metadata`, headers: CLIENT_HEADERS })
    t.equal(poll.statusCode, 200, 'polls answered')
    await eventually(() => app.stats!.status().up ? undefined : true, 'the recorder to notice', 10_000)
    t.ok(app.stats!.status().pendingRows > 0, 'rows wait in memory')
    const down = await app.inject({ method: 'GET', url: '/api/stats/summary', headers: CLIENT_HEADERS })
    t.equal(down.statusCode, 503, 'statistics cannot be read meanwhile')
    t.match(down.json(), errorShape('SERVICE_UNAVAILABLE'))

    await server.start()
    await eventually(async () => app.stats!.status().up && app.stats!.status().pendingRows === 0 ? true : undefined,
      'the rows written after the outage', 15_000)
    t.same(await titles(server, 'outage'), ['Before', 'During'])
    const up = await app.inject({ method: 'GET', url: '/api/stats/summary?period=day', headers: CLIENT_HEADERS })
    t.match(up.json(), { sessions: 1, plays: 2, recorder: { store: 'postgres', up: true, unrecorded: { sessions: 0, plays: 0, visits: 0 } } })
  })

  t.test('a server that starts while PostgreSQL is down serves, and records once it is up', async (t) => {
    const url = await server.createDatabase('late')
    await server.stop()
    t.teardown(async () => { if (!await server.query('SELECT 1', 'postgres').then(() => true, () => false)) await server.start() })
    const app = await build(t, { STATS: 'on', DATABASE_URL: url, STATS_FLUSH_INTERVAL_MS: '50' })
    const { sessionId } = await startSession(app, '445566')
    t.equal(await share(app, sessionId, 'Early'), 200)
    await server.start()
    await eventually(async () => app.stats!.status().pendingRows === 0 ? true : undefined, 'the schema made and the rows written', 15_000)
    t.same(await titles(server, 'late'), ['Early'])
  })
})
