import t from 'tap'
import { fillDays } from '../../web/stats/days.js'

const row = (day: string, sessions: number) => ({ day, sessions, plays: 0, listenerMinutes: 0, uniqueListeners: 0, peakListeners: 0 })

t.test('a period is every day from its first to today, zeros where the summary had nothing', async (t) => {
  const days = fillDays([row('2026-11-16', 2), row('2026-11-20', 5)], '2026-11-14', '2026-11-20')
  t.same(days.map((d) => [d.day, d.sessions]), [
    ['2026-11-14', 0], ['2026-11-15', 0], ['2026-11-16', 2], ['2026-11-17', 0], ['2026-11-18', 0], ['2026-11-19', 0], ['2026-11-20', 5]
  ])
  t.same(fillDays([], '2026-11-20', '2026-11-20').map((d) => d.day), ['2026-11-20'], 'today alone')
})

t.test('all time starts at the first day with data, and never more than 366 days back', async (t) => {
  t.same(fillDays([row('2026-11-19', 1)], '1970-01-01', '2026-11-20').map((d) => d.day), ['2026-11-19', '2026-11-20'])
  t.same(fillDays([], '1970-01-01', '2026-11-20').map((d) => d.day), ['2026-11-20'])
  const long = fillDays([row('2020-01-01', 1)], '1970-01-01', '2026-11-20')
  t.equal(long.length, 366)
  t.equal(long[0]!.day, '2025-11-20')
})
