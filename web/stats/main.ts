/**
 * The statistics page: asks /api/stats for a period and draws it. The server renders the markup
 * (src/listen-page/stats-page.ts); this script fills it in. The token (the bearer token or STATS_TOKEN)
 * is typed into the page once and kept in sessionStorage for the tab, sent as an Authorization header,
 * never in a URL. Charts are uPlot (canvas; styles set through the CSSOM, which the page's CSP allows).
 */
import uPlot from 'uplot'
import { fillDays, type DayRow } from './days.js'
import { $, meta } from '../shared/dom.js'

interface Summary {
  period: string
  since: string
  sessions: number
  sessionHours: number
  plays: number
  distinctSongs: number
  listenerMinutes: number
  uniqueListeners: number
  peakListeners: number
  bytesIn: number
  bytesOut: number
  days: DayRow[]
  recorder: { store: string, up: boolean, pendingRows: number, unrecorded: { sessions: number, plays: number, visits: number } }
}
interface Song { title: string, artist: string, plays: number, listenerMinutes: number }
interface SessionRow {
  sessionId: string
  startedAt: number
  endReason: string | null
  durationSeconds: number
  peakListeners: number
  averageListeners: number
  uniqueListeners: number
  plays: number
}

/** What a test (or a curious person) can read: the page's state and how many times it drew. */
export interface StatsPageState { state: string, draws: number, period: string }
declare global { interface Window { musicShareStatsPage: StatsPageState } }

const TOKEN_KEY = 'music-share-stats-token'
const base = meta('music-share-base')
const page: StatsPageState = { state: 'loading', draws: 0, period: 'week' }
window.musicShareStatsPage = page

const ui = {
  form: $<HTMLFormElement>('token-form'),
  token: $<HTMLInputElement>('token'),
  tokenError: $('token-error'),
  content: $('content'),
  tiles: $('tiles'),
  listenersChart: $('listeners-chart'),
  sessionsChart: $('sessions-chart'),
  topPlays: $('top-plays'),
  topMinutes: $('top-minutes'),
  sessions: $<HTMLTableSectionElement>('sessions-body'),
  recorder: $('recorder'),
  problem: $('problem')
}

function setState (state: string): void {
  page.state = state
  document.body.dataset.state = state
}

class Unauthorized extends Error {}

async function api<T> (path: string): Promise<T> {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? ''
  const res = await fetch(`${base}/api/stats/${path}`, { headers: { authorization: `Bearer ${token}` } })
  if (res.status === 401) throw new Unauthorized('unauthorized')
  const body = await res.json() as T & { error?: string }
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`)
  return body
}

const number = new Intl.NumberFormat('en', { maximumFractionDigits: 1 })
const bytes = (n: number) => n >= 1e9 ? `${number.format(n / 1e9)} GB` : `${number.format(n / 1e6)} MB`
const duration = (s: number) => s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : `${Math.round(s / 60)} min`

function text (tag: string, content: string, className?: string): HTMLElement {
  const el = document.createElement(tag)
  el.textContent = content
  if (className !== undefined) el.className = className
  return el
}

function drawTiles (s: Summary): void {
  const tiles: Array<[string, string]> = [
    ['Sessions', number.format(s.sessions)],
    ['Hours shared', number.format(s.sessionHours)],
    ['Song plays', number.format(s.plays)],
    ['Different songs', number.format(s.distinctSongs)],
    ['Listener-minutes', number.format(s.listenerMinutes)],
    ['Unique listeners', number.format(s.uniqueListeners)],
    ['Most at once', number.format(s.peakListeners)],
    ['Audio relayed', bytes(s.bytesOut)]
  ]
  ui.tiles.replaceChildren(...tiles.map(([label, value]) => {
    const tile = document.createElement('div')
    tile.className = 'tile'
    tile.append(text('dt', label), text('dd', value))
    return tile
  }))
}

function drawSongs (list: HTMLElement, songs: Song[], value: (s: Song) => number, unit: string): void {
  const most = Math.max(1, ...songs.map(value))
  if (songs.length === 0) {
    list.replaceChildren(text('li', 'No plays in this period', 'quiet'))
    return
  }
  list.replaceChildren(...songs.map((song) => {
    const li = document.createElement('li')
    const bar = document.createElement('span')
    bar.className = 'bar'
    bar.style.width = `${(value(song) / most) * 100}%`
    const label = document.createElement('span')
    label.className = 'label'
    label.append(text('strong', song.title), text('span', ` — ${song.artist}`, 'artist'))
    li.append(bar, label, text('span', `${number.format(value(song))} ${unit}`, 'value'))
    return li
  }))
}

const charts: uPlot[] = []

function chartOptions (title: string, width: number, series: uPlot.Series[]): uPlot.Options {
  return {
    title,
    width,
    height: 220,
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
    axes: [
      { stroke: '#9aa1b2', grid: { stroke: '#2a2f3a' }, ticks: { stroke: '#2a2f3a' } },
      { stroke: '#9aa1b2', grid: { stroke: '#2a2f3a' }, ticks: { stroke: '#2a2f3a' } }
    ],
    series: [{}, ...series]
  }
}

function drawCharts (days: DayRow[]): void {
  for (const c of charts.splice(0)) c.destroy()
  const x = days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000)
  const width = (el: HTMLElement) => Math.max(280, el.clientWidth)
  charts.push(new uPlot(chartOptions('Listeners per day', width(ui.listenersChart), [
    { label: 'Unique listeners', stroke: '#5eead4', width: 2, points: { show: days.length < 40 } },
    { label: 'Most at once', stroke: '#facc15', width: 2, dash: [6, 4], points: { show: days.length < 40 } }
  ]), [x, days.map((d) => d.uniqueListeners), days.map((d) => d.peakListeners)], ui.listenersChart))
  charts.push(new uPlot(chartOptions('Sessions per day', width(ui.sessionsChart), [
    { label: 'Sessions', stroke: '#818cf8', fill: 'rgba(129, 140, 248, 0.55)', paths: uPlot.paths.bars!({ size: [0.7, 48] }), points: { show: false } }
  ]), [x, days.map((d) => d.sessions)], ui.sessionsChart))
}

function drawSessions (rows: SessionRow[]): void {
  if (rows.length === 0) {
    const tr = document.createElement('tr')
    const td = text('td', 'No sessions in this period', 'quiet') as HTMLTableCellElement
    td.colSpan = 7
    tr.append(td)
    ui.sessions.replaceChildren(tr)
    return
  }
  ui.sessions.replaceChildren(...rows.map((r) => {
    const tr = document.createElement('tr')
    const started = new Date(r.startedAt).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })
    tr.append(text('td', started), text('td', r.sessionId), text('td', duration(r.durationSeconds)),
      text('td', String(r.plays)), text('td', String(r.uniqueListeners)), text('td', number.format(r.averageListeners)),
      text('td', r.endReason ?? 'live'))
    return tr
  }))
}

async function load (period: string): Promise<void> {
  page.period = period
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-period]')) {
    b.setAttribute('aria-pressed', String(b.dataset.period === period))
  }
  setState('loading')
  try {
    const [summary, byPlays, byMinutes, sessions] = await Promise.all([
      api<Summary>(`summary?period=${period}`),
      api<{ songs: Song[] }>(`songs?period=${period}&sort=plays&limit=10`),
      api<{ songs: Song[] }>(`songs?period=${period}&sort=listenerMinutes&limit=10`),
      api<{ sessions: SessionRow[] }>(`sessions?period=${period}&limit=15`)
    ])
    ui.form.hidden = true
    ui.content.hidden = false
    ui.problem.hidden = true
    drawTiles(summary)
    drawSongs(ui.topPlays, byPlays.songs, (s) => s.plays, 'plays')
    drawSongs(ui.topMinutes, byMinutes.songs, (s) => s.listenerMinutes, 'min')
    drawCharts(fillDays(summary.days, summary.since, new Date().toISOString().slice(0, 10)))
    drawSessions(sessions.sessions)
    const r = summary.recorder
    const lost = r.unrecorded.sessions + r.unrecorded.plays + r.unrecorded.visits
    ui.recorder.textContent = `Recorded in ${r.store === 'postgres' ? 'PostgreSQL' : 'SQLite'}` +
      (r.up ? '' : ' — the database is unavailable, rows wait in memory') +
      (r.pendingRows > 0 ? ` · ${r.pendingRows} rows waiting` : '') +
      (lost > 0 ? ` · ${lost} rows only counted (queue was full)` : '') + ' · times in UTC days'
    page.draws++
    setState('ready')
  } catch (err) {
    if (err instanceof Unauthorized) {
      sessionStorage.removeItem(TOKEN_KEY)
      ui.content.hidden = true
      ui.form.hidden = false
      ui.tokenError.textContent = ui.token.value === '' ? '' : 'That token was not accepted.'
      ui.token.focus()
      setState('token')
      return
    }
    ui.problem.hidden = false
    ui.problem.textContent = `Statistics could not be loaded: ${(err as Error).message}`
    setState('error')
  }
}

ui.form.addEventListener('submit', (e) => {
  e.preventDefault()
  sessionStorage.setItem(TOKEN_KEY, ui.token.value.trim().replace(/^bearer\s+/i, ''))
  void load(page.period)
})
for (const b of document.querySelectorAll<HTMLButtonElement>('[data-period]')) {
  b.addEventListener('click', () => { void load(b.dataset.period ?? 'week') })
}
let resizeTimer: ReturnType<typeof setTimeout> | undefined
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer)
  resizeTimer = setTimeout(() => {
    for (const c of charts) c.setSize({ width: Math.max(280, (c.root.parentElement ?? c.root).clientWidth), height: 220 })
  }, 150)
})

void load(page.period)
