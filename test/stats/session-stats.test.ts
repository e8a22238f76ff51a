import t from 'tap'
import { SessionStats, songKey, type LiveSession } from '../../src/stats/session-stats.js'
import type { PlayWrite, SessionWrite, VisitWrite } from '../../src/stats/store.js'

const T = Date.UTC(2026, 10, 20, 12)

class Sink {
  sessions: SessionWrite[] = []
  plays: PlayWrite[] = []
  visits: VisitWrite[] = []
  session (w: SessionWrite) { this.sessions.push({ ...w }) }
  play (w: PlayWrite) { this.plays.push({ ...w }) }
  visit (w: VisitWrite) { this.visits.push({ ...w }) }
  listenerMs () { return this.sessions.reduce((sum, w) => sum + w.listenerMs, 0) }
  playMs (title: string) { return this.plays.filter((p) => p.title === title).reduce((sum, p) => sum + p.listenerMs, 0) }
}

function live (id = '123456', startTime = T): LiveSession & { bytesReceived: number, bytesSent: number } {
  return { id, startTime, bytesReceived: 0, bytesSent: 0 }
}
const song = (title: string, elapsedSeconds = 0) => ({ title, artist: 'Artist', elapsedSeconds, totalSeconds: 180 })

t.test('a session with two songs and two listeners: rows, and listener-minutes integrated exactly', async (t) => {
  const sink = new Sink()
  const stats = new SessionStats(sink, 'a-secret-of-sixteen-chars')
  const s = live()
  stats.started(s)
  t.match(sink.sessions[0], { sessionKey: `123456:${T}`, sessionCode: '123456', startedAt: T, endedAt: null, lastSeenAt: T })

  stats.metadata(s, song('A'), T + 1000)
  stats.listenerJoined(s, 'receiver-1', T + 2000)
  stats.listenerJoined(s, 'receiver-2', T + 3000)
  stats.listenerJoined(s, 'receiver-2', T + 3100)
  stats.metadata(s, song('A', 2.5), T + 3500)
  stats.metadata(s, song('B'), T + 10_000)
  s.bytesReceived = 500
  s.bytesSent = 1500
  stats.checkpoint(T + 14_000)
  // receiver-2's last poll was at 7000: the window ran out at 12000, noticed only now.
  stats.listenerLeft(s, 'receiver-2', T + 12_000)
  stats.listenerLeft(s, 'receiver-2', T + 12_500)
  stats.listenerLeft(s, 'receiver-1', T + 20_000)
  stats.ended({ id: '123456', startTime: T, endedAt: T + 20_000, reason: 'stopped', bytesTransferred: 800, bytesSent: 2000 })
  t.equal(stats.trackedSessions, 0)

  t.equal(sink.listenerMs(), 18_000 + 9000, 'receiver-1 for 18 s, receiver-2 for 9 s')
  t.equal(sink.playMs('A'), 8000 + 7000, 'A: both listeners while it played')
  t.equal(sink.playMs('B'), 4000 + 2000 + 6000, 'B: receiver-2 until it left, receiver-1 to the end')
  t.same(sink.plays.filter((p) => p.plays === 1).map((p) => [p.title, p.startedAt]), [['A', T + 1000], ['B', T + 10_000]], 'each play counted once')
  t.same(sink.plays.filter((p) => p.endedAt !== null).map((p) => [p.title, p.endedAt]), [['A', T + 10_000], ['B', T + 20_000]])
  t.match(sink.plays[0], { songKey: songKey('A', 'Artist'), startPositionMs: 0, totalMs: 180_000 })

  const last = sink.sessions.at(-1)!
  t.match(last, { endedAt: T + 20_000, endReason: 'stopped', lastSeenAt: T + 20_000, peakListeners: 2 })
  t.equal(sink.sessions.reduce((sum, w) => sum + w.bytesIn, 0), 800, 'bytes in: increments add up to the total')
  t.equal(sink.sessions.reduce((sum, w) => sum + w.bytesOut, 0), 2000)

  const p1 = stats.pseudonym('receiver-1')
  const p2 = stats.pseudonym('receiver-2')
  t.same(sink.visits, [
    { sessionKey: `123456:${T}`, listener: p1, joinedAt: T + 2000, leftAt: null },
    { sessionKey: `123456:${T}`, listener: p2, joinedAt: T + 3000, leftAt: null },
    { sessionKey: `123456:${T}`, listener: p2, joinedAt: T + 3000, leftAt: T + 12_000 },
    { sessionKey: `123456:${T}`, listener: p1, joinedAt: T + 2000, leftAt: T + 20_000 }
  ], 'a join and a leave per visit, under the pseudonym')
})

t.test('pseudonyms are keyed hashes: stable under one secret, unrelated under another', async (t) => {
  const a = new SessionStats(new Sink(), 'first-secret-0123456789')
  const b = new SessionStats(new Sink(), 'other-secret-0123456789')
  t.equal(a.pseudonym('a:abc'), a.pseudonym('a:abc'))
  t.not(a.pseudonym('a:abc'), a.pseudonym('a:abd'))
  t.not(a.pseudonym('a:abc'), b.pseudonym('a:abc'))
  t.match(a.pseudonym('a:abc'), /^[A-Za-z0-9_-]{22}$/)
})

t.test('restored and moved sessions: counters carry on, nothing is ended twice', async (t) => {
  const sink = new Sink()
  const stats = new SessionStats(sink, 'a-secret-of-sixteen-chars')
  const s = live('654321', T - 60_000)
  s.bytesReceived = 10_000
  s.bytesSent = 4000
  stats.restored(s, T)
  t.match(sink.sessions[0], { sessionKey: `654321:${T - 60_000}`, bytesIn: 0, bytesOut: 0, lastSeenAt: T }, 'bytes before the restart were written before it')
  stats.metadata(s, song('C', 95), T + 500)
  stats.listenerJoined(s, 'r', T + 1000)
  s.bytesReceived = 10_300
  stats.moved(s, T + 5000)
  t.match(sink.sessions.at(-1), { endedAt: null, endReason: null, listenerMs: 4000, bytesIn: 300 }, 'moved: written, not ended')
  t.match(sink.plays.at(-1), { title: 'C', endedAt: T + 5000, listenerMs: 4000 })
  t.match(sink.plays[0], { startPositionMs: 95_000 }, 'joined mid-song')
  t.match(sink.visits.at(-1), { leftAt: T + 5000 })
  const before = sink.sessions.length
  stats.ended({ id: '654321', startTime: T - 60_000, endedAt: T + 6000, reason: 'expired', bytesTransferred: 1, bytesSent: 1 })
  stats.metadata(s, song('D'), T + 6000)
  stats.listenerJoined(s, 'r2', T + 6000)
  t.equal(sink.sessions.length, before, 'a session no longer tracked here writes nothing')
})

t.test('a new session on the same code leaves the old one alone', async (t) => {
  const sink = new Sink()
  const stats = new SessionStats(sink, 'a-secret-of-sixteen-chars')
  const old = live('111111', T)
  stats.started(old)
  const fresh = live('111111', T + 1000)
  stats.started(fresh)
  t.match(sink.sessions[1], { sessionKey: `111111:${T}`, endedAt: null, lastSeenAt: T + 1000 }, 'the old one is written as it was')
  stats.ended({ id: '111111', startTime: T, endedAt: T + 2000, reason: 'stopped', bytesTransferred: 0, bytesSent: 0 })
  stats.listenerJoined(old, 'r', T + 2000)
  t.equal(stats.trackedSessions, 1, 'an end of the old start time does not end the new one')
  stats.listenerJoined(fresh, 'r', T + 2000)
  t.equal(sink.visits.length, 1)
})

t.test('shutdown: plays and visits end, sessions are written still open', async (t) => {
  const sink = new Sink()
  const stats = new SessionStats(sink, 'a-secret-of-sixteen-chars')
  const s = live()
  stats.started(s)
  stats.metadata(s, song('A'), T)
  stats.listenerJoined(s, 'r', T)
  stats.closeAll(T + 3000)
  t.equal(stats.trackedSessions, 0)
  t.match(sink.sessions.at(-1), { endedAt: null, lastSeenAt: T + 3000, listenerMs: 3000 })
  t.match(sink.plays.at(-1), { endedAt: T + 3000, listenerMs: 3000 })
  t.match(sink.visits.at(-1), { leftAt: T + 3000 })
  stats.checkpoint(T + 4000)
  t.equal(sink.sessions.length, 2, 'nothing left to checkpoint')
})

t.test('long titles are cut for storage; the key follows what is stored', async (t) => {
  const sink = new Sink()
  const stats = new SessionStats(sink, 'a-secret-of-sixteen-chars')
  const s = live()
  stats.started(s)
  stats.metadata(s, { ...song('x'.repeat(2048)), artist: 'y'.repeat(600) }, T)
  t.equal(sink.plays[0]!.title.length, 512)
  t.equal(sink.plays[0]!.artist.length, 512)
  t.equal(sink.plays[0]!.songKey, songKey('x'.repeat(512), 'y'.repeat(512)))
})
