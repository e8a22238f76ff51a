/**
 * The listener page: joins a share with its listen key, shows the song (cover, progress, synced lyrics)
 * and plays the audio through the Web Audio API. The server renders the markup (routes/listen.ts);
 * this script finds its elements by id.
 */
import { currentLine, parseLrc, type LrcLine } from './lrc.js'
import { decodeFrame, decodeJsonChunk, type AudioChunk } from './frames.js'
import { PlayerCore, type PlayerStats } from './player-core.js'
import type { PlayerMessage, StatsMessage } from './messages.js'
import type { ListenStats, PageState } from './stats.js'
import { $, meta } from '../shared/dom.js'
import { ChatPanel, type ChatEvent } from './chat.js'


interface MetadataEvent {
  type: 'metadata'
  title: string | null
  artist: string | null
  lyrics: string | null
  hasSyncedLyrics: boolean
  elapsedSeconds: number
  totalSeconds: number
  thumbnailUrl: string | null
}
interface StatusEvent { type: 'status', listenerCount: number }
/** A play of the song history (GET history, and push `song` events that upsert it by `n`). */
interface SongEvent { type: 'song', n: number, title: string, artist: string, startedAt: number, endedAt: number | null }
interface EndedEvent { type: 'ended', reason: string }
type PushEvent = MetadataEvent | StatusEvent | SongEvent | EndedEvent | ChatEvent
const EVENT_TYPES = ['metadata', 'status', 'song', 'ended', 'chat', 'chat-deleted', 'chat-muted'] as const
/** What status says of the session's recording (only on servers that record). */
interface RecordingState { state: 'off' | 'recording' | 'stopped' | 'finished', bytes: number }

/** Audio kept from before the tap: a little over the start threshold, so playback starts at once and near live. */
const PRE_TAP_SECONDS = 1.2
const POLL_WAIT_MS = 8000
const MAX_BACKOFF_MS = 10_000
/** On the long-poll fallback, how often the chat is also polled (SSE carries it; this catches what SSE missed). */
const CHAT_POLL_MS = 5000


const ui = {
  root: document.body,
  status: $('status'),
  statusText: $('status-text'),
  cover: $<HTMLImageElement>('cover'),
  title: $('title'),
  artist: $('artist'),
  progress: $('progress'),
  progressFill: $('progress-fill'),
  elapsed: $('elapsed'),
  total: $('total'),
  lyrics: $('lyrics'),
  start: $<HTMLButtonElement>('start'),
  volume: $<HTMLInputElement>('volume'),
  latency: $('latency'),
  bufferFill: $('buffer-fill'),
  listeners: $('listeners'),
  error: $('error'),
  errorText: $('error-text'),
  download: $<HTMLAnchorElement>('download'),
  played: $('played'),
  playedList: $('played-list')
}

const base = meta('music-share-base')
const workletUrl = meta('music-share-worklet')
const sessionId = decodeURIComponent(location.pathname.slice(location.pathname.lastIndexOf('/') + 1))
const key = new URLSearchParams(location.search).get('key') ?? ''
const api = `${base}/api/share/${encodeURIComponent(sessionId)}`
const withKey = (path: string, query = ''): string =>
  `${api}${path}?${query}${query === '' ? '' : '&'}key=${encodeURIComponent(key)}`

const stats: ListenStats = {
  state: 'connecting',
  transport: 'websocket',
  framesReceived: 0,
  framesPlayed: 0,
  secondsPlayed: 0,
  underruns: 0,
  skips: 0,
  level: 0,
  latencyMs: 0,
  bufferedMs: 0,
  deviceRate: 0,
  sourceRate: 0,
  positionSeconds: 0,
  lyricIndex: -1,
  audioEngine: 'none'
}
window.musicShareStats = stats

const chat = new ChatPanel({
  log: $('chat-log'),
  note: $('chat-note'),
  join: $<HTMLFormElement>('chat-join'),
  name: $<HTMLInputElement>('chat-name'),
  send: $<HTMLFormElement>('chat-send'),
  text: $<HTMLInputElement>('chat-text'),
  as: $('chat-as'),
  asName: $('chat-as-name'),
  rename: $<HTMLButtonElement>('chat-rename')
}, (path, query) => withKey(path, query))

// ---------------------------------------------------------------- page state

const STATE_TEXT: Record<PageState, string> = {
  connecting: 'Connecting…',
  ready: 'Live: tap to listen',
  buffering: 'Buffering…',
  playing: 'Playing live',
  reconnecting: 'Connection lost: reconnecting…',
  ended: 'This share has ended',
  error: 'Cannot listen'
}

function setState (state: PageState, detail?: string): void {
  if (stats.state === 'ended' || stats.state === 'error') return
  stats.state = state
  ui.root.dataset.state = state
  ui.statusText.textContent = detail ?? STATE_TEXT[state]
  ui.start.hidden = state !== 'ready'
}

function fail (message: string): void {
  setState('error')
  ui.errorText.textContent = message
  ui.error.hidden = false
  stopAudio()
  connection.close()
  chat.close('')
}

function ended (): void {
  if (stats.state === 'ended' || stats.state === 'error') return
  setState('ended')
  stopAudio()
  connection.close()
  chat.close('The share has ended: the chat is closed.')
  // The recording is finished now, and the history complete.
  void refreshExtras()
}

/** The page state while connected, from whether audio was started and what the player does. */
function connectedState (player: PlayerStats | undefined): PageState {
  if (audio === undefined) return 'ready'
  return player?.state === 'playing' ? 'playing' : 'buffering'
}

// ---------------------------------------------------------------- audio

interface AudioEngine {
  context: AudioContext
  gain: GainNode
  post: (chunk: AudioChunk) => void
  dispose: () => void
}

let audio: AudioEngine | undefined
let lastPlayer: PlayerStats | undefined
/** Chunks that arrived before the tap, so playback can start at once (bounded). */
const preTap: AudioChunk[] = []

function onPlayerStats (player: PlayerStats): void {
  lastPlayer = player
  stats.framesPlayed = player.framesPlayed
  stats.underruns = player.underruns
  stats.skips = player.skips
  stats.level = player.level
  stats.bufferedMs = Math.round(player.bufferedSeconds * 1000)
  stats.secondsPlayed = audio === undefined ? 0 : player.framesPlayed / audio.context.sampleRate
  const output = audio === undefined ? 0 : (audio.context.outputLatency ?? 0) + audio.context.baseLatency
  stats.latencyMs = Math.round((player.bufferedSeconds + output) * 1000)
  if (connection.connected) setState(connectedState(player))
  ui.latency.textContent = `${(stats.latencyMs / 1000).toFixed(1)} s behind live`
  const fill = Math.min(1, player.bufferedSeconds / Math.max(2, player.targetSeconds * 2))
  ui.bufferFill.style.width = `${(fill * 100).toFixed(0)}%`
}

async function startAudio (): Promise<void> {
  if (audio !== undefined) return
  const context = new AudioContext({ latencyHint: 'playback' })
  await context.resume()
  const gain = context.createGain()
  gain.gain.value = Number(ui.volume.value) / 100
  gain.connect(context.destination)
  stats.deviceRate = context.sampleRate
  let engine: AudioEngine
  if (context.audioWorklet !== undefined) {
    await context.audioWorklet.addModule(workletUrl)
    const node = new AudioWorkletNode(context, 'music-share-player', {
      numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [2]
    })
    node.port.onmessage = (event: MessageEvent<StatsMessage>) => onPlayerStats(event.data.stats)
    node.connect(gain)
    stats.audioEngine = 'worklet'
    engine = {
      context,
      gain,
      post: (chunk) => {
        const message: PlayerMessage = { type: 'audio', samples: chunk.samples, channels: chunk.channels, sampleRate: chunk.sampleRate }
        node.port.postMessage(message, [chunk.samples.buffer])
      },
      dispose: () => node.disconnect()
    }
  } else {
    // No AudioWorklet (a page not served over https, or an old browser): the same engine on the main thread.
    const core = new PlayerCore({ deviceRate: context.sampleRate })
    const node = context.createScriptProcessor(2048, 0, 2)
    node.onaudioprocess = (event) => {
      core.render(event.outputBuffer.getChannelData(0), event.outputBuffer.getChannelData(1))
    }
    node.connect(gain)
    const timer = setInterval(() => onPlayerStats(core.stats()), 100)
    stats.audioEngine = 'script-processor'
    engine = {
      context,
      gain,
      post: (chunk) => core.push(chunk.samples, chunk.channels, chunk.sampleRate),
      dispose: () => { clearInterval(timer); node.disconnect() }
    }
  }
  audio = engine
  for (const chunk of preTap.splice(0)) engine.post(chunk)
  if (connection.connected) setState(connectedState(lastPlayer))
}

function stopAudio (): void {
  const engine = audio
  if (engine === undefined) return
  audio = undefined
  // Fade out rather than cut.
  const now = engine.context.currentTime
  engine.gain.gain.setTargetAtTime(0, now, 0.03)
  setTimeout(() => { engine.dispose(); void engine.context.close() }, 250)
}

function onChunk (chunk: AudioChunk): void {
  if (chunk.sequenceNumber <= connection.lastSequence) return
  connection.lastSequence = chunk.sequenceNumber
  stats.framesReceived += chunk.samples.length / chunk.channels
  stats.sourceRate = chunk.sampleRate
  if (audio !== undefined) {
    audio.post(chunk)
    return
  }
  preTap.push(chunk)
  let seconds = preTap.reduce((s, c) => s + c.samples.length / c.channels / c.sampleRate, 0)
  while (seconds > PRE_TAP_SECONDS && preTap.length > 1) {
    const old = preTap.shift() as AudioChunk
    seconds -= old.samples.length / old.channels / old.sampleRate
  }
}

// ---------------------------------------------------------------- song, progress, lyrics

let song: MetadataEvent | undefined
let songAt = 0
let lyricLines: LrcLine[] = []
let lyricsSource: string | null | undefined
let coverUrl: string | null | undefined

function formatTime (seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

function onMetadata (m: MetadataEvent): void {
  song = m
  songAt = performance.now()
  ui.title.textContent = m.title !== null && m.title !== '' ? m.title : 'Unknown title'
  ui.artist.textContent = m.artist ?? ''
  document.title = m.title !== null && m.title !== '' ? `${m.title} · Music Share` : 'Music Share'
  if (m.thumbnailUrl !== coverUrl) {
    coverUrl = m.thumbnailUrl
    if (m.thumbnailUrl === null) {
      ui.cover.removeAttribute('src')
      ui.cover.hidden = true
    } else {
      ui.cover.src = `${m.thumbnailUrl}?key=${encodeURIComponent(key)}`
      ui.cover.alt = `Cover of ${m.title ?? 'this song'}`
      ui.cover.hidden = false
    }
  }
  const lyricsKey = `${m.hasSyncedLyrics ? 'lrc' : 'txt'}:${m.lyrics ?? ''}`
  if (lyricsKey !== lyricsSource) {
    lyricsSource = lyricsKey
    renderLyrics(m)
  }
}

function renderLyrics (m: MetadataEvent): void {
  ui.lyrics.replaceChildren()
  lyricLines = m.hasSyncedLyrics && m.lyrics !== null ? parseLrc(m.lyrics) : []
  stats.lyricIndex = -1
  if (lyricLines.length > 0) {
    ui.lyrics.dataset.kind = 'synced'
    const list = document.createElement('ol')
    for (const line of lyricLines) {
      const li = document.createElement('li')
      li.textContent = line.text === '' ? '♪' : line.text
      list.append(li)
    }
    ui.lyrics.append(list)
  } else if (m.lyrics !== null && m.lyrics.trim() !== '') {
    ui.lyrics.dataset.kind = 'plain'
    const p = document.createElement('p')
    // Synced lyrics that did not parse are still words: show them without their time tags.
    p.textContent = m.lyrics.replace(/\[[^\]]*\]/g, '').trim()
    ui.lyrics.append(p)
  } else {
    ui.lyrics.dataset.kind = 'none'
    const p = document.createElement('p')
    p.className = 'quiet'
    p.textContent = 'No lyrics for this song'
    ui.lyrics.append(p)
  }
}

/** Moves the progress bar and the lyric highlight: interpolated between metadata updates, minus the audio delay. */
function tick (): void {
  if (song !== undefined && stats.state !== 'ended') {
    const heardDelay = audio !== undefined ? stats.latencyMs / 1000 : 0
    const total = song.totalSeconds
    let position = song.elapsedSeconds + (performance.now() - songAt) / 1000 - heardDelay
    position = Math.max(0, total > 0 ? Math.min(total, position) : position)
    stats.positionSeconds = position
    const fraction = total > 0 ? position / total : 0
    ui.progressFill.style.width = `${(fraction * 100).toFixed(2)}%`
    ui.progress.setAttribute('aria-valuenow', String(Math.round(fraction * 100)))
    ui.progress.setAttribute('aria-valuetext', `${formatTime(position)} of ${formatTime(total)}`)
    ui.elapsed.textContent = formatTime(position)
    ui.total.textContent = formatTime(total)
    const index = currentLine(lyricLines, position)
    if (index !== stats.lyricIndex) {
      const items = ui.lyrics.querySelectorAll('li')
      items[stats.lyricIndex]?.classList.remove('current')
      items[stats.lyricIndex]?.removeAttribute('aria-current')
      stats.lyricIndex = index
      const li = items[index]
      if (li !== undefined) {
        li.classList.add('current')
        li.setAttribute('aria-current', 'true')
        const top = li.offsetTop - ui.lyrics.clientHeight / 2 + li.clientHeight / 2
        ui.lyrics.scrollTo({ top, behavior: 'smooth' })
      }
    }
  }
  requestAnimationFrame(tick)
}

// ---------------------------------------------------------------- played so far, recording

/** Plays by number; the list shows the newest first. */
const played = new Map<number, SongEvent>()
const MAX_PLAYED_SHOWN = 200
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })

function onSong (song: SongEvent): void {
  played.set(song.n, song)
  renderPlayed()
}

function renderPlayed (): void {
  const songs = [...played.values()].sort((a, b) => b.n - a.n).slice(0, MAX_PLAYED_SHOWN)
  ui.played.hidden = songs.length === 0
  ui.playedList.replaceChildren(...songs.map((song) => {
    const li = document.createElement('li')
    const when = document.createElement('span')
    when.className = 'when'
    when.textContent = clock.format(song.startedAt)
    const title = document.createElement('span')
    title.className = 'song'
    title.textContent = song.title
    const by = document.createElement('span')
    by.className = 'by'
    by.textContent = song.artist
    li.append(when, title, by)
    if (song.endedAt === null) li.setAttribute('aria-current', 'true')
    return li
  }))
}

/** The link to the recording, when the server records this session (or did). */
function showDownload (recording: RecordingState | undefined): void {
  const available = recording !== undefined && (recording.state === 'recording' || recording.bytes > 0)
  ui.download.hidden = !available
  if (available) ui.download.href = withKey('/recording.ogg')
}

/** The song history so far (the push events carry it on from there). */
async function loadHistory (): Promise<void> {
  try {
    const res = await fetch(withKey('/history'), { cache: 'no-store' })
    if (!res.ok) return
    const body = await res.json() as { songs: Array<Omit<SongEvent, 'type'>> }
    for (const song of body.songs) played.set(song.n, { type: 'song', ...song })
    renderPlayed()
  } catch {
    // The list fills from the push events; a reconnect tries again.
  }
}

/** Once the share ended: whether its recording can be downloaded, and its whole history. */
async function refreshExtras (): Promise<void> {
  try {
    const res = await fetch(withKey('/status'), { cache: 'no-store' })
    if (res.ok) showDownload((await res.json() as { recording?: RecordingState }).recording)
  } catch {
    // Nothing to show then.
  }
  await loadHistory()
}

function onEvent (event: PushEvent): void {
  if (event.type === 'metadata') onMetadata(event)
  else if (event.type === 'status') {
    ui.listeners.textContent = `${event.listenerCount} listening`
  } else if (event.type === 'song') onSong(event)
  else if (event.type === 'ended') ended()
  else chat.onEvent(event)
}

// ---------------------------------------------------------------- connection

type Check = 'live' | 'ended' | 'unknown' | 'unauthorized' | 'retry'

/** Asks the status route first: it tells a wrong key and an ended share apart (a WebSocket refusal cannot). */
async function checkSession (): Promise<Check> {
  try {
    const res = await fetch(withKey('/status'), { cache: 'no-store' })
    if (res.status === 401) return 'unauthorized'
    if (res.status === 404) return 'unknown'
    if (!res.ok) return 'retry'
    const body = await res.json() as { isActive: boolean, recording?: RecordingState }
    showDownload(body.recording)
    return body.isActive ? 'live' : 'ended'
  } catch {
    return 'retry'
  }
}

class Connection {
  lastSequence = -1
  connected = false
  #attempts = 0
  /** Consecutive WebSocket attempts that never opened; two of them switch to long-polling. */
  #wsFailures = 0
  #seen = false
  #closed = false
  #socket: WebSocket | undefined
  #events: EventSource | undefined
  #abort: AbortController | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #chatPoll: ReturnType<typeof setInterval> | undefined

  async open (): Promise<void> {
    if (this.#closed) return
    this.connected = false
    setState(this.#seen ? 'reconnecting' : 'connecting')
    const check = await checkSession()
    if (this.#closed) return
    if (check === 'unauthorized') return fail(`This link's listen key does not open share ${sessionId}. Check that you copied the whole link, or ask the sharer for it again.`)
    if (check === 'unknown') {
      if (this.#seen) return ended()
      return fail(`No share with code ${sessionId} is live. Check the code; the sharer may not have started yet.`)
    }
    if (check === 'ended') return ended()
    if (check === 'retry') return this.#retry()
    this.#seen = true
    void loadHistory()
    if (stats.transport === 'websocket' && typeof WebSocket === 'function') this.#openSocket()
    else this.#openPolling()
  }

  close (): void {
    this.#closed = true
    this.connected = false
    clearTimeout(this.#timer)
    clearInterval(this.#chatPoll)
    this.#socket?.close(1000)
    this.#events?.close()
    this.#abort?.abort()
  }

  #onConnected (): void {
    this.connected = true
    this.#attempts = 0
    setState(connectedState(lastPlayer))
  }

  #retry (): void {
    if (this.#closed) return
    this.connected = false
    setState('reconnecting')
    // Exponential backoff with jitter, so a restarted server is not met by every listener at once.
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.#attempts) * (0.75 + Math.random() * 0.5)
    this.#attempts++
    this.#timer = setTimeout(() => void this.open(), delay)
  }

  #openSocket (): void {
    const url = new URL(withKey('/ws', `since=${this.lastSequence}`), location.href)
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
    let opened = false
    let socket: WebSocket
    try {
      socket = new WebSocket(url)
    } catch {
      stats.transport = 'long-poll'
      return this.#openPolling()
    }
    this.#socket = socket
    socket.binaryType = 'arraybuffer'
    socket.onopen = () => {
      opened = true
      this.#wsFailures = 0
      this.#onConnected()
      // Events from now on come over the socket; what was said before (or while away) comes from the history.
      void chat.sync()
    }
    socket.onmessage = (message: MessageEvent<ArrayBuffer | string>) => {
      if (typeof message.data === 'string') {
        onEvent(JSON.parse(message.data) as PushEvent)
        return
      }
      const chunk = decodeFrame(message.data)
      if (chunk !== undefined) onChunk(chunk)
    }
    socket.onclose = (event) => {
      if (this.#socket !== socket || this.#closed) return
      this.#socket = undefined
      if (event.code === 1000) return ended()
      if (!opened && ++this.#wsFailures >= 2) stats.transport = 'long-poll'
      // 4404 (ended while opening) and everything else: the status check in open() sorts it out.
      this.#retry()
    }
  }

  /** The fallback: SSE for the events, long-polling the REST audio route for the chunks. */
  #openPolling (): void {
    stats.transport = 'long-poll'
    const events = new EventSource(withKey('/events'))
    this.#events = events
    for (const type of EVENT_TYPES) {
      events.addEventListener(type, (e) => onEvent({ type, ...JSON.parse((e as MessageEvent<string>).data) } as PushEvent))
    }
    // Each (re)open: the chat history, as over the WebSocket; then a poll in case SSE itself is cut.
    events.onopen = () => void chat.sync()
    clearInterval(this.#chatPoll)
    this.#chatPoll = setInterval(() => void chat.poll(), CHAT_POLL_MS)
    // EventSource reconnects on its own; the audio loop below decides when the connection is lost.
    const abort = new AbortController()
    this.#abort = abort
    const stop = () => { events.close(); abort.abort(); clearInterval(this.#chatPoll) }
    const loop = async (): Promise<void> => {
      while (!this.#closed && !abort.signal.aborted) {
        const res = await fetch(withKey('/audio', `since=${this.lastSequence}&waitMs=${POLL_WAIT_MS}`),
          { cache: 'no-store', signal: abort.signal })
        if (res.status === 204) {
          if (!this.connected) this.#onConnected()
          continue
        }
        if (!res.ok) throw new Error(String(res.status))
        if (!this.connected) this.#onConnected()
        const chunks = await res.json() as Parameters<typeof decodeJsonChunk>[0][]
        for (const c of chunks) {
          const chunk = decodeJsonChunk(c)
          if (chunk !== undefined) onChunk(chunk)
        }
      }
    }
    loop().catch(() => {
      if (this.#closed || this.#abort !== abort) return
      stop()
      this.#retry()
    })
  }
}

const connection = new Connection()

// ---------------------------------------------------------------- wiring

ui.start.addEventListener('click', () => {
  ui.start.disabled = true
  startAudio().catch((err: unknown) => {
    ui.start.disabled = false
    ui.statusText.textContent = `Audio could not start: ${err instanceof Error ? err.message : String(err)}`
  })
})
ui.volume.addEventListener('input', () => {
  const value = Number(ui.volume.value) / 100
  ui.volume.setAttribute('aria-valuetext', `${ui.volume.value} %`)
  if (audio !== undefined) audio.gain.gain.setTargetAtTime(value, audio.context.currentTime, 0.02)
})

if (!/^[0-9]{6}$/.test(sessionId)) {
  fail('A share code is 6 digits. Check the link, or enter the code again.')
} else if (key === '') {
  fail('This link has no listen key. Ask the sharer for the whole link (it ends in ?key=…), or enter the code and key.')
} else {
  setState('connecting')
  void connection.open()
}
requestAnimationFrame(tick)
