/** One UTC day of the summary, as /api/stats/summary gives it (days with nothing in them are left out). */
export interface DayRow {
  day: string
  sessions: number
  plays: number
  listenerMinutes: number
  uniqueListeners: number
  peakListeners: number
}

const DAY_MS = 86_400_000
const MAX_DAYS = 366

/**
 * Every day from the period's first to today, with zeros for the days the summary left out, so a
 * chart's x axis is continuous. At most the last 366 days; a period longer than that (`all`) starts
 * at its first day with data.
 */
export function fillDays (rows: readonly DayRow[], since: string, today: string): DayRow[] {
  const ms = (day: string) => Date.parse(`${day}T00:00:00Z`)
  const end = ms(today)
  const earliest = end - (MAX_DAYS - 1) * DAY_MS
  let start = Math.max(ms(since), earliest)
  if (ms(since) < earliest) start = Math.max(start, rows.length === 0 ? end : ms(rows[0]!.day))
  const byDay = new Map(rows.map((r) => [r.day, r]))
  const out: DayRow[] = []
  for (let t = start; t <= end; t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10)
    out.push(byDay.get(day) ?? { day, sessions: 0, plays: 0, listenerMinutes: 0, uniqueListeners: 0, peakListeners: 0 })
  }
  return out
}
