/**
 * What a `kill -9` of the server costs the statistics: the built server records into SQLite, a sharer
 * changes song every 100 ms, and the process is killed mid-stream. Whatever was committed survives (WAL);
 * what the kill loses is the rows still waiting, at most one flush interval of them.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { assertBuilt, listeningUrl, spawnBuiltServer } from '../built-server.js'
import { stopChild } from '../../bench/lib/proc.js'
import { TOKEN, clientMetadata } from '../helper.js'

const FLUSH_MS = 500
const SONG_EVERY_MS = 100

t.before(assertBuilt)

t.test('kill -9 loses at most the rows of the last flush interval; the file stays sound', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'music-share-stats-crash-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'stats.db')
  const server = spawnBuiltServer({
    BEARER_TOKEN: TOKEN, STATS: 'on', STATS_DB: file, STATS_FLUSH_INTERVAL_MS: String(FLUSH_MS),
    RATE_LIMIT_METADATA_PER_SECOND: '100'
  })
  t.teardown(() => stopChild(server.child))
  const base = await listeningUrl(server)
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}/api/share${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  }
  await post('/start', { sessionId: '909090' })

  // A song a post, each acknowledged before the next; the kill comes right after the last acknowledgement.
  const acknowledged: Array<{ title: string, at: number }> = []
  const until = Date.now() + 3000 + Math.random() * FLUSH_MS
  for (let i = 0; Date.now() < until; i++) {
    const title = `Song ${i}`
    await post('/909090/metadata', clientMetadata({ title, elapsedSeconds: 0, timestamp: Date.now() }))
    acknowledged.push({ title, at: Date.now() })
    await new Promise((resolve) => setTimeout(resolve, SONG_EVERY_MS))
  }
  const killedAt = Date.now()
  await stopChild(server.child, 'SIGKILL')

  const db = new Database(file, { readonly: true })
  t.teardown(() => db.close())
  t.same(db.pragma('integrity_check'), [{ integrity_check: 'ok' }], 'the file is sound after the kill')
  const stored = new Set((db.prepare('SELECT title FROM stats_songs').all() as Array<{ title: string }>).map((r) => r.title))
  const lost = acknowledged.filter((s) => !stored.has(s.title))
  const oldestLostMsBeforeKill = lost.length === 0 ? 0 : killedAt - lost[0]!.at
  t.comment(`measured: ${lost.length} of ${acknowledged.length} acknowledged plays lost; the oldest lost was acknowledged ` +
    `${oldestLostMsBeforeKill} ms before the kill (flush interval ${FLUSH_MS} ms)`)
  t.ok(lost.length < acknowledged.length / 2, 'most plays were written')
  // A flush may be due just as the kill comes, and a tick can start up to an interval late: allow two.
  t.ok(oldestLostMsBeforeKill <= 2 * FLUSH_MS, 'every play acknowledged earlier than two flush intervals before the kill was written')
  t.same(lost.map((s) => s.title), acknowledged.slice(acknowledged.length - lost.length).map((s) => s.title), 'only the newest are missing')

  const session = db.prepare('SELECT ended_at, last_seen_at FROM stats_sessions WHERE session_code = ?').get('909090') as
    { ended_at: number | null, last_seen_at: number }
  t.equal(session.ended_at, null, 'the session is open: its end was never written (a later sweep closes it as lost)')
  t.comment(`the session was last checkpointed ${killedAt - session.last_seen_at} ms before the kill`)
  t.ok(killedAt - session.last_seen_at <= 2 * FLUSH_MS + 200, 'checkpointed within the last intervals')
})
