/**
 * One suite of statistics-store tests, run against SQLite (store-sqlite.test.ts) and PostgreSQL
 * (store-postgres.test.ts) with the same assertions: the same writes must give the same answers.
 */
import type { Test } from 'tap'
import { MIGRATIONS, migrate } from '../../src/stats/migrations.js'
import type { SqlStatsStore } from '../../src/stats/sql-store.js'
import { DAY_MS, type PlayWrite, type SessionWrite, type VisitWrite } from '../../src/stats/store.js'

/** Noon UTC on 2026-11-20: "today" for every case. */
export const NOW = Date.UTC(2026, 10, 20, 12)
const MIN = 60_000

export function session (code: string, startedAt: number, over: Partial<SessionWrite> = {}): SessionWrite {
  return {
    sessionKey: `${code}:${startedAt}`,
    sessionCode: code,
    startedAt,
    endedAt: null,
    endReason: null,
    lastSeenAt: startedAt,
    peakListeners: 0,
    listenerMs: 0,
    bytesIn: 0,
    bytesOut: 0,
    ...over
  }
}

export function play (s: SessionWrite, title: string, startedAt: number, over: Partial<PlayWrite> = {}): PlayWrite {
  return {
    sessionKey: s.sessionKey,
    startedAt,
    songKey: `key of ${title}`,
    title,
    artist: 'Artist',
    startPositionMs: 0,
    totalMs: 180_000,
    endedAt: null,
    plays: 1,
    listenerMs: 0,
    ...over
  }
}

export function visit (s: SessionWrite, listener: string, joinedAt: number, leftAt: number | null = null): VisitWrite {
  return { sessionKey: s.sessionKey, listener, joinedAt, leftAt }
}

const none = { sessions: [], plays: [], visits: [] }

export function storeSuite (t: Test, kind: string, makeStore: (t: Test) => Promise<SqlStatsStore>): void {
  t.test(`${kind}: migrations are versioned and applied once`, async (t) => {
    const store = await makeStore(t)
    await store.open()
    await store.open()
    const driver = store.connect()
    t.teardown(() => driver.close())
    t.same(await migrate(driver), [], 'nothing left to apply')
    const rows = await driver.all<{ version: number, name: string }>('SELECT version, name FROM stats_schema_migrations ORDER BY version')
    t.same(rows.map((r) => Number(r.version)), MIGRATIONS.map((m) => m.version))
    const newer = [...MIGRATIONS, { version: 99, name: 'from the future', statements: ['CREATE TABLE stats_future (x INTEGER)'] }]
    t.same(await migrate(driver, newer), [99], 'a new step is applied on its own')
    await t.rejects(migrate(driver), /schema version 99, newer than this server knows \(1\)/, 'an older server refuses a newer database')
  })

  t.test(`${kind}: a session's writes add up, and the queries answer from them`, async (t) => {
    const store = await makeStore(t)
    const today = NOW - 2 * 3600_000
    const a = session('111111', today)
    const b = session('222222', NOW - 10 * DAY_MS)
    // Session a: started, two checkpoints, then stopped after 60 min with 2 listeners on average.
    await store.write({ ...none, sessions: [a] })
    await store.write({
      sessions: [{ ...a, lastSeenAt: today + 30 * MIN, peakListeners: 2, listenerMs: 40 * MIN, bytesIn: 1000, bytesOut: 3000 }],
      plays: [play(a, 'Song One', today), play(a, 'Song Two', today + 4 * MIN)],
      visits: [visit(a, 'L1', today), visit(a, 'L2', today + MIN), visit(a, 'L3', today + 2 * MIN)]
    })
    await store.write({
      sessions: [{ ...a, endedAt: today + 60 * MIN, endReason: 'stopped', lastSeenAt: today + 60 * MIN, peakListeners: 3, listenerMs: 80 * MIN, bytesIn: 500, bytesOut: 1500 }],
      plays: [
        play(a, 'Song One', today, { plays: 0, endedAt: today + 4 * MIN, listenerMs: 8 * MIN }),
        play(a, 'Song Two', today + 4 * MIN, { plays: 0, endedAt: today + 8 * MIN, listenerMs: 10 * MIN }),
        play(a, 'Song One', today + 8 * MIN, { endedAt: today + 12 * MIN, listenerMs: 6 * MIN })
      ],
      visits: [visit(a, 'L1', today, today + 60 * MIN), visit(a, 'L2', today + MIN, today + 30 * MIN), visit(a, 'L1', today + 61 * MIN)]
    })
    // Session b, ten days ago: still open, one listener seen before (L1: the same person), one play.
    await store.write({
      sessions: [{ ...b, lastSeenAt: b.startedAt + 30 * MIN, peakListeners: 1, listenerMs: 30 * MIN }],
      plays: [play(b, 'Song Three', b.startedAt, { listenerMs: 3 * MIN })],
      visits: [visit(b, 'L1', b.startedAt), visit(b, 'L9', b.startedAt + MIN)]
    })

    const all = await store.summary('all', NOW)
    t.match(all, {
      sessions: 2,
      sessionHours: 1.5,
      plays: 4,
      distinctSongs: 3,
      listenerMinutes: 150,
      uniqueListeners: 4,
      peakListeners: 3,
      bytesIn: 1500,
      bytesOut: 4500
    })
    t.same(all.days, [
      { day: '2026-11-10', sessions: 1, plays: 1, listenerMinutes: 30, uniqueListeners: 2, peakListeners: 1 },
      { day: '2026-11-20', sessions: 1, plays: 3, listenerMinutes: 120, uniqueListeners: 3, peakListeners: 3 }
    ], 'one row per UTC day with anything in it')
    t.match(await store.summary('week', NOW), { sessions: 1, plays: 3, distinctSongs: 2, uniqueListeners: 3, listenerMinutes: 120 })
    t.match(await store.summary('month', NOW), { sessions: 2, plays: 4, distinctSongs: 3 })
    t.match(await store.summary('day', NOW + DAY_MS), { sessions: 0, plays: 0, distinctSongs: 0, uniqueListeners: 0, listenerMinutes: 0, days: [] },
      'tomorrow: nothing yet')

    t.same(await store.topSongs('all', 'plays', 10, NOW), [
      { title: 'Song One', artist: 'Artist', plays: 2, listenerMinutes: 14 },
      { title: 'Song Two', artist: 'Artist', plays: 1, listenerMinutes: 10 },
      { title: 'Song Three', artist: 'Artist', plays: 1, listenerMinutes: 3 }
    ])
    t.same((await store.topSongs('all', 'listenerMinutes', 10, NOW)).map((s) => s.title), ['Song One', 'Song Two', 'Song Three'])
    t.same(await store.topSongs('week', 'listenerMinutes', 1, NOW), [{ title: 'Song One', artist: 'Artist', plays: 2, listenerMinutes: 14 }])
    t.same((await store.topSongs('month', 'plays', 10, NOW)).map((s) => s.title), ['Song One', 'Song Two', 'Song Three'])
    t.same(await store.topSongs('day', 'plays', 10, NOW + 2 * DAY_MS), [])

    const page = await store.sessions('all', 10, 0, NOW)
    t.equal(page.total, 2)
    t.same(page.sessions[0], {
      sessionId: '111111',
      startedAt: today,
      endedAt: today + 60 * MIN,
      endReason: 'stopped',
      durationSeconds: 3600,
      peakListeners: 3,
      averageListeners: 2,
      listenerMinutes: 120,
      uniqueListeners: 3,
      plays: 3,
      bytesIn: 1500,
      bytesOut: 4500
    }, 'newest first, with its figures added up')
    t.match(page.sessions[1], { sessionId: '222222', endedAt: null, endReason: null, durationSeconds: 1800, averageListeners: 1, plays: 1, uniqueListeners: 2 })
    t.same((await store.sessions('all', 1, 1, NOW)).sessions.map((s) => s.sessionId), ['222222'], 'a page further on')
    t.same(await store.sessions('week', 10, 0, NOW).then((p) => p.total), 1)
  })

  t.test(`${kind}: sessions nobody writes any more are closed as lost, and reopened if their instance comes back`, async (t) => {
    const store = await makeStore(t)
    const a = session('333333', NOW - 60 * MIN, { lastSeenAt: NOW - 40 * MIN })
    const live = session('444444', NOW - 60 * MIN, { lastSeenAt: NOW - MIN })
    const done = session('555555', NOW - 60 * MIN, { endedAt: NOW - 50 * MIN, endReason: 'expired', lastSeenAt: NOW - 50 * MIN })
    await store.write({ ...none, sessions: [a, live, done] })
    t.equal(await store.closeLostSessions(NOW - 15 * MIN), 1, 'only the open one not seen for 15 minutes')
    let rows = (await store.sessions('all', 10, 0, NOW)).sessions
    t.match(rows.find((s) => s.sessionId === '333333'), { endedAt: NOW - 40 * MIN, endReason: 'lost', durationSeconds: 1200 })
    t.match(rows.find((s) => s.sessionId === '555555'), { endReason: 'expired' })
    await store.write({ ...none, sessions: [{ ...a, lastSeenAt: NOW }] })
    rows = (await store.sessions('all', 10, 0, NOW)).sessions
    t.match(rows.find((s) => s.sessionId === '333333'), { endedAt: null, endReason: null, durationSeconds: 3600 }, 'its instance wrote again: open again')
    await store.write({ ...none, sessions: [{ ...done, endedAt: null, endReason: null, lastSeenAt: NOW }] })
    rows = (await store.sessions('all', 10, 0, NOW)).sessions
    t.match(rows.find((s) => s.sessionId === '555555'), { endReason: 'expired' }, 'a real end is never undone')
  })

  t.test(`${kind}: a batch is written whole or not at all`, async (t) => {
    const store = await makeStore(t)
    const a = session('666666', NOW)
    const broken = { ...visit(a, 'L1', NOW), listener: null as unknown as string }
    await t.rejects(store.write({ sessions: [a], plays: [play(a, 'Song', NOW)], visits: [broken] }))
    t.match(await store.summary('all', NOW), { sessions: 0, plays: 0 }, 'the session and play before the bad row were rolled back')
    await store.write({ sessions: [a], plays: [play(a, 'Song', NOW)], visits: [visit(a, 'L1', NOW)] })
    t.match(await store.summary('all', NOW), { sessions: 1, plays: 1, uniqueListeners: 1 }, 'the same batch, fixed, is written')
  })

  t.test(`${kind}: several instances opening at once migrate once`, async (t) => {
    const stores = await Promise.all([makeStore(t), makeStore(t)])
    // Both point at one database (makeStore with the same t reuses it).
    await Promise.all(stores.map((s) => s.open()))
    const driver = stores[0]!.connect()
    t.teardown(() => driver.close())
    const rows = await driver.all<{ n: number }>('SELECT count(*) AS n FROM stats_schema_migrations')
    t.equal(Number(rows[0]!.n), MIGRATIONS.length)
  })
}
