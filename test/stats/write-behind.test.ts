import t from 'tap'
import { WriteBehind } from '../../src/stats/write-behind.js'
import type { StatsBatch } from '../../src/stats/store.js'
import { NOW, play, session, visit } from './store-suite.js'

class Log {
  lines: Array<{ level: string, msg: string, obj: object }> = []
  info (obj: object, msg: string) { this.lines.push({ level: 'info', msg, obj }) }
  warn (obj: object, msg: string) { this.lines.push({ level: 'warn', msg, obj }) }
}

/** A store whose writes succeed or fail as the test says, keeping what it was given. */
function fakeStore () {
  const batches: StatsBatch[] = []
  let failing = false
  return {
    batches,
    fail (on: boolean) { failing = on },
    write: async (batch: StatsBatch) => {
      if (failing) throw new Error('connection refused')
      batches.push(structuredClone(batch))
    }
  }
}

t.test('writes of one row wait as one row, their numbers added up', async (t) => {
  const store = fakeStore()
  const q = new WriteBehind(store.write, { maxPendingRows: 100, batchRows: 50 }, new Log())
  const a = session('111111', NOW)
  q.session(a)
  for (let i = 1; i <= 10; i++) {
    q.session({ ...a, lastSeenAt: NOW + i * 1000, peakListeners: i % 4, listenerMs: 1000, bytesIn: 10, bytesOut: 30 })
  }
  q.session({ ...a, endedAt: NOW + 11_000, endReason: 'stopped', lastSeenAt: NOW + 11_000, bytesIn: 1 })
  q.session({ ...a, lastSeenAt: NOW + 5000 })
  const p = play(a, 'Song', NOW)
  q.play(p)
  q.play({ ...p, plays: 0, listenerMs: 500 })
  q.play({ ...p, plays: 0, endedAt: NOW + 9000, listenerMs: 250 })
  q.visit(visit(a, 'L1', NOW))
  q.visit(visit(a, 'L1', NOW, NOW + 4000))
  q.visit(visit(a, 'L1', NOW + 6000))
  t.equal(q.pendingRows, 4, 'one session, one play, two visits')
  await q.flush()
  t.equal(q.pendingRows, 0)
  t.same(store.batches, [{
    sessions: [{ ...a, endedAt: NOW + 11_000, endReason: 'stopped', lastSeenAt: NOW + 11_000, peakListeners: 3, listenerMs: 10_000, bytesIn: 101, bytesOut: 300 }],
    plays: [{ ...p, plays: 1, endedAt: NOW + 9000, listenerMs: 750 }],
    visits: [visit(a, 'L1', NOW, NOW + 4000), visit(a, 'L1', NOW + 6000)]
  }])
  await q.flush()
  t.equal(store.batches.length, 1, 'nothing waiting: nothing written')
})

t.test('a failed batch waits for the next flush, merged with what came meanwhile', async (t) => {
  const store = fakeStore()
  const log = new Log()
  const q = new WriteBehind(store.write, { maxPendingRows: 100, batchRows: 50 }, log)
  const a = session('111111', NOW)
  q.session({ ...a, listenerMs: 100 })
  store.fail(true)
  await q.flush()
  t.match(q.status(), { up: false, pendingRows: 1, failedFlushes: 1, lastError: 'connection refused' })
  q.session({ ...a, listenerMs: 50 })
  q.visit(visit(a, 'L1', NOW))
  await q.flush()
  t.equal(log.lines.filter((l) => l.level === 'warn').length, 1, 'one warning per outage, not per flush')
  store.fail(false)
  await q.flush()
  t.same(store.batches, [{ sessions: [{ ...a, listenerMs: 150 }], plays: [], visits: [visit(a, 'L1', NOW)] }])
  t.match(q.status(), { up: true, pendingRows: 0, flushes: 1, failedFlushes: 2 })
  t.match(log.lines.at(-1), { level: 'info', msg: 'statistics database available again' })
})

t.test('bounded: while the database is away, rows past the limit are counted, not kept', async (t) => {
  const store = fakeStore()
  const log = new Log()
  const q = new WriteBehind(store.write, { maxPendingRows: 3, batchRows: 1000 }, log)
  store.fail(true)
  const a = session('111111', NOW)
  q.session(a)
  q.play(play(a, 'One', NOW))
  q.visit(visit(a, 'L1', NOW))
  await q.flush()
  // Full: new rows are dropped and counted; rows already waiting still take their updates.
  for (let i = 0; i < 1000; i++) {
    q.play(play(a, `Song ${i}`, NOW + i + 1))
    q.visit(visit(a, `L${i + 2}`, NOW + i))
    q.session(session(String(200000 + i), NOW + i, { listenerMs: 60_000 }))
    q.session({ ...a, listenerMs: 10 })
  }
  t.equal(q.pendingRows, 3, 'never more than maxPendingRows')
  t.same(q.status().unrecorded, { sessions: 1000, plays: 1000, visits: 1000, listenerMinutes: 1000 })
  t.equal(log.lines.filter((l) => l.msg.startsWith('statistics queue full')).length, 1, 'logged once')
  store.fail(false)
  await q.flush()
  t.equal(store.batches[0]!.sessions[0]!.listenerMs, 10_000, 'the waiting session row kept adding up')
  t.match(log.lines.at(-1), { msg: 'statistics queue has room again', obj: { droppedRows: 3000 } })
  q.visit(visit(a, 'L-new', NOW))
  t.equal(q.pendingRows, 1, 'room again')
})

t.test('a batch is asked for when batchRows are waiting; flushes never overlap', async (t) => {
  const batches: StatsBatch[] = []
  let release!: () => void
  let asked = 0
  const q = new WriteBehind(async (b) => {
    batches.push(b)
    await new Promise<void>((resolve) => { release = resolve })
  }, { maxPendingRows: 100, batchRows: 3 }, new Log(), () => { asked++ })
  const a = session('111111', NOW)
  q.session(a)
  q.visit(visit(a, 'L1', NOW))
  t.equal(asked, 0)
  q.visit(visit(a, 'L2', NOW))
  t.equal(asked, 1, 'the third row asks for a flush')
  q.visit(visit(a, 'L2', NOW))
  t.equal(asked, 1, 'a merged row asks for nothing')
  const first = q.flush()
  q.visit(visit(a, 'L3', NOW))
  const second = q.flush()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(batches.length, 1, 'the second flush waits for the first')
  release()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(batches.length, 2)
  release()
  await Promise.all([first, second])
  t.same(batches.map((b) => b.visits.length), [2, 1])
})
