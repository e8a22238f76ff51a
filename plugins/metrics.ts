import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { ERROR_CODES } from '../src/errors.js'
import { LatencyWindow } from '../src/observability/latency-window.js'
import type { BufferedChunk } from '../src/session/audio-ring.js'
import type { ShareSession } from '../src/session/session.js'
import type { EndedSession } from '../src/session/session-registry.js'
import type { ChatRefusal } from '../src/chat/chat-log.js'

/** Everything the metrics plugin keeps; null on `app.metrics` when METRICS_ENABLED=false. */
export interface Metrics {
  /** This app's own registry (not prom-client's global one, so several apps can live in one process). */
  readonly registry: Registry
  /** Response times and errors of the /api routes over the last 60 s, for /health. */
  readonly latency: LatencyWindow
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics | null
  }
}

export const METRIC_PREFIX = 'musicshare_'
/** Seconds; fine below 50 ms so the p50/p95/p99 of a sub-millisecond service can be read off them. */
export const DURATION_BUCKETS = [
  0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1
]
/** The route label of a request that matched no route (its raw URL is never a label). */
export const UNMATCHED_ROUTE = 'unmatched'
/** Added to the route label of a held long-poll: its duration is mostly the wait, so it is kept apart from latency. */
export const HELD_SUFFIX = ' (held)'
const LATENCY_WINDOW_SECONDS = 60
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const

/** The ranges of musicshare_sessions_by_listeners, each up to and including `max`. */
const LISTENER_RANGES = [
  { label: '0', max: 0 },
  { label: '1', max: 1 },
  { label: '2-5', max: 5 },
  { label: '6-20', max: 20 },
  { label: '21-100', max: 100 },
  { label: '101+', max: Number.POSITIVE_INFINITY }
] as const

type ListenerRange = typeof LISTENER_RANGES[number]['label']

/** The reason label of musicshare_chat_refused_total (Prometheus label values in snake case). */
const REFUSAL_LABELS: Readonly<Record<ChatRefusal, string>> = {
  invalid: 'invalid',
  muted: 'muted',
  'rate-limited': 'rate_limited',
  'session-cap': 'session_cap'
}

function listenerRange (listeners: number): ListenerRange {
  return LISTENER_RANGES.find((r) => listeners <= r.max)!.label
}

/** One route + method: its histogram children by status class, resolved once and reused. */
interface RouteSeries {
  readonly byClass: Array<{ observe: (seconds: number) => void } | undefined>
  readonly api: boolean
  readonly route: string
  readonly method: string
}

/**
 * Node's own metrics (CPU, memory, event-loop lag, GC) describe the process, not an app, and their
 * collectors (an event-loop delay monitor, a GC observer) are never stopped: they are set up once per
 * process and shared by every app in it, rather than piling up with each app a test process builds.
 */
let processMetrics: Registry | undefined
function processMetricsRegistry (): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry()
    collectDefaultMetrics({ register: processMetrics })
  }
  return processMetrics
}

const metrics: FastifyPluginAsync = async (app) => {
  if (!app.config.metrics.enabled) {
    app.decorate('metrics', null)
    return
  }
  // This app's own registry, starting with the shared process metrics.
  const registry = Registry.merge([processMetricsRegistry(), new Registry()])
  const registers = [registry]
  const sessions = app.sessions
  const name = (n: string) => METRIC_PREFIX + n

  // Gauges read from the registry at scrape time: nothing to keep in step on the hot path.
  // Which instance this is: behind a load balancer every instance is scraped on its own.
  new Gauge({ name: name('instance_info'), help: 'Always 1; the instance_id label names the instance (INSTANCE_ID).', labelNames: ['instance_id'], registers })
    .set({ instance_id: app.config.instanceId }, 1)
  new Gauge({
    name: name('active_sessions'),
    help: 'Sharing sessions currently active.',
    registers,
    collect () { this.set(sessions.activeCount) }
  })
  new Gauge({
    name: name('listeners'),
    help: 'Receivers that polled an active session within the listener window, all sessions together.',
    registers,
    collect () {
      const now = Date.now()
      let total = 0
      for (const s of sessions.activeSessions()) total += s.listeners.count(now)
      this.set(total)
    }
  })
  // No session id in any label by default: the 6-digit code is half of what it takes to listen, and
  // per-session series grow with the session cap. Aggregates describe the same load.
  new Gauge({
    name: name('sessions'),
    help: 'Sessions by state: active, or ended and still remembered (ended markers).',
    labelNames: ['state'] as const,
    registers,
    collect () {
      this.set({ state: 'active' }, sessions.activeCount)
      this.set({ state: 'ended' }, sessions.endedCount)
    }
  })
  new Gauge({
    name: name('session_listeners_max'),
    help: 'Listeners of the active session that has the most (0 without sessions).',
    registers,
    collect () {
      const now = Date.now()
      let most = 0
      for (const s of sessions.activeSessions()) most = Math.max(most, s.listeners.count(now))
      this.set(most)
    }
  })
  new Gauge({
    name: name('sessions_by_listeners'),
    help: 'Active sessions by how many listeners each has (the listeners label is a range).',
    labelNames: ['listeners'] as const,
    registers,
    collect () {
      const now = Date.now()
      const counts = new Map<ListenerRange, number>(LISTENER_RANGES.map((r) => [r.label, 0]))
      for (const s of sessions.activeSessions()) {
        const label = listenerRange(s.listeners.count(now))
        counts.set(label, counts.get(label)! + 1)
      }
      for (const [listeners, n] of counts) this.set({ listeners }, n)
    }
  })
  if (app.config.metrics.sessionLabels) {
    new Gauge({
      name: name('session_listeners'),
      help: 'Receivers of one active session (METRICS_SESSION_LABELS=true; series removed when the session ends).',
      labelNames: ['session_id'] as const,
      registers,
      collect () {
        const now = Date.now()
        this.reset()
        for (const s of sessions.activeSessions()) this.set({ session_id: s.id }, s.listeners.count(now))
      }
    })
  }
  new Gauge({
    name: name('audio_buffer_bytes'),
    help: 'Memory held by the audio ring buffers of all active sessions (samples plus serialised chunks).',
    registers,
    collect () {
      let bytes = 0
      for (const s of sessions.activeSessions()) bytes += s.audio.bytesHeld
      this.set(bytes)
    }
  })

  // The limits this instance runs with, so alerts compare against its own configuration, not a copy of it.
  new Gauge({ name: name('max_sessions'), help: 'MAX_SESSIONS: active sessions at most; the next start is refused.', registers })
    .set(app.config.sessions.maxSessions)
  new Gauge({ name: name('max_heap_used_bytes'), help: 'MAX_HEAP_USED_MB in bytes: past it requests are shed with 503 OVERLOADED (0: off).', registers })
    .set(app.config.limits.maxHeapUsedBytes)

  const counter = <L extends string = never>(n: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name: name(n), help, labelNames, registers })
  /** A counter that follows a running total another object keeps (its `stats`), read at scrape time. */
  const following = (n: string, help: string, total: () => number) => {
    let seen = 0
    new Counter({
      name: name(n),
      help,
      registers,
      collect () {
        const now = total()
        if (now > seen) this.inc(now - seen)
        seen = now
      }
    })
  }

  // Push delivery: open connections, and listeners too slow to keep up with the audio.
  const { hub, waiters } = app.push
  new Gauge({ name: name('push_connections'), help: 'WebSocket, SSE and stream.wav connections open now (PUSH_MAX_CONNECTIONS at most).', registers, collect () { this.set(hub.connections) } })
  new Gauge({ name: name('long_polls_held'), help: 'Audio long-polls held now (LONG_POLL_MAX_HELD at most).', registers, collect () { this.set(waiters.held) } })
  following('push_dropped_frames_total', 'Audio frames not sent to a push listener because its send queue was full (PUSH_SEND_BUFFER_KB).', () => hub.stats.droppedFrames)
  following('push_slow_disconnects_total', 'Push listeners disconnected for being too slow (PUSH_MAX_DROPPED_FRAMES dropped in a row).', () => hub.stats.slowDisconnects)

  // The Redis snapshot and the cluster, only when REDIS_URL is set (no series at all otherwise).
  const snapshot = app.redisSnapshot
  if (snapshot !== undefined) {
    new Gauge({
      name: name('redis_up'),
      help: '1 while the Redis snapshot works (connected, sessions restored, writes succeeding); 0 while degraded (serving from memory).',
      registers,
      collect () { this.set(snapshot.degradedReason === undefined ? 1 : 0) }
    })
    new Gauge({ name: name('redis_pending_sessions'), help: 'Sessions changed since the last flush to Redis.', registers, collect () { this.set(snapshot.writer.pending) } })
    new Gauge({ name: name('redis_last_flush_seconds'), help: 'How long the last flush to Redis took.', registers, collect () { this.set(snapshot.stats.lastFlushMs / 1000) } })
    following('redis_outages_total', 'Times the Redis snapshot became degraded (Redis unreachable, or writes failing).', () => snapshot.stats.outages)
    following('redis_flushes_total', 'Flushes of changed sessions to Redis.', () => snapshot.stats.flushes)
    following('redis_flush_failures_total', 'Flushes to Redis that failed.', () => snapshot.stats.flushFailures)
    following('redis_restored_sessions_total', 'Sessions restored from Redis at start-up or when it answered again.', () => snapshot.stats.restoredSessions)
    const cluster = snapshot.directory.stats
    following('cluster_takeovers_total', 'Sessions this instance took over from another instance (dead or alive) when a request for them arrived here.', () => cluster.takeovers)
    following('cluster_takeovers_from_live_total', 'Takeovers from an instance whose heartbeat was still alive (a rebalance, or clients bypassing the load balancer).', () => cluster.takeoversFromLive)
    following('cluster_sessions_moved_away_total', 'Sessions this instance dropped because another instance took them over.', () => cluster.movedAway)
    following('cluster_heartbeat_failures_total', 'Heartbeats to Redis that failed.', () => cluster.heartbeatFailures)
  }
  const started = counter('sessions_started_total', 'Sessions started.')
  const ended = counter('sessions_ended_total', 'Sessions ended, by reason (stopped by the sharer, or expired when idle).', ['reason'])
  const audioIn = counter('audio_received_bytes_total',
    'Decoded audio bytes accepted from sharers (4 per float32 sample; duplicates not counted).')
  const audioOut = counter('audio_sent_bytes_total',
    'Decoded audio bytes served to receivers (4 per float32 sample of every chunk a poll returned).')
  const metadataUpdates = counter('metadata_updates_total', 'Metadata updates accepted from sharers.')
  const overflows = counter('buffer_overflows_total', 'Audio chunks evicted from a ring buffer before every current receiver had fetched them.')
  const errors = counter('errors_total', 'Error responses, by the uniform error code.', ['code'])
  const rateLimited = counter('rate_limited_requests_total', 'Requests refused with 429 RATE_LIMITED, by route pattern.', ['route'])
  const authFailures = counter('auth_failures_total', 'Requests refused with 401 UNAUTHORIZED.')
  const chatMessages = counter('chat_messages_total', 'Chat messages taken (from listeners and sharers).')
  const chatRefused = counter('chat_refused_total',
    'Chat messages refused, by reason: invalid (empty or too long once cleaned), muted, rate_limited (a listener\'s or a network\'s budget), session_cap.', ['reason'])
  const duration = new Histogram({
    name: name('http_request_duration_seconds'),
    help: 'Time from receiving a request to finishing its response, by route pattern, method and status class.',
    labelNames: ['route', 'method', 'status_class'] as const,
    buckets: DURATION_BUCKETS,
    registers
  })

  // Series that exist from the start, so rate() and absent() work before the first event.
  for (const reason of ['stopped', 'expired']) ended.inc({ reason }, 0)
  for (const code of ERROR_CODES) errors.inc({ code }, 0)
  for (const reason of Object.values(REFUSAL_LABELS)) chatRefused.inc({ reason }, 0)

  const onStarted = () => { started.inc() }
  const onEnded = (e: EndedSession) => { ended.inc({ reason: e.reason }) }
  const onAudio = (_s: ShareSession, chunk: BufferedChunk) => { audioIn.inc(chunk.length * Float32Array.BYTES_PER_ELEMENT) }
  const onSent = (_s: ShareSession, bytes: number) => { audioOut.inc(bytes) }
  const onMetadata = () => { metadataUpdates.inc() }
  const onOverflow = (_s: ShareSession, chunks: number) => { overflows.inc(chunks) }
  const onChat = () => { chatMessages.inc() }
  const onChatRefused = (_s: ShareSession, reason: ChatRefusal) => { chatRefused.inc({ reason: REFUSAL_LABELS[reason] }) }
  const events = sessions.events
  events.on('started', onStarted).on('ended', onEnded).on('audio', onAudio)
    .on('sent', onSent).on('metadata', onMetadata).on('overflow', onOverflow)
    .on('chat', onChat).on('chat-refused', onChatRefused)

  const latency = new LatencyWindow(LATENCY_WINDOW_SECONDS)
  const apiPrefix = `${app.config.basePath}/api/`
  const series = new Map<string, RouteSeries>()
  const seriesOf = (route: string | undefined, method: string, held: boolean): RouteSeries => {
    const key = `${method} ${route ?? ''}${held ? HELD_SUFFIX : ''}`
    let found = series.get(key)
    if (found === undefined) {
      const label = route === undefined ? UNMATCHED_ROUTE : held ? route + HELD_SUFFIX : route
      // A held long-poll is not in /health's response times either: they would report the wait.
      found = { byClass: [], api: route !== undefined && route.startsWith(apiPrefix) && !held, route: label, method }
      series.set(key, found)
    }
    return found
  }

  // One hook, after the response is sent: reply.elapsedTime already holds the duration, so nothing is
  // recorded on the way in. Route and method resolve to cached histogram children.
  app.addHook('onResponse', (request, reply, done) => {
    const ms = reply.elapsedTime
    const status = reply.statusCode
    const s = seriesOf(request.routeOptions.url, request.method, request.longPollHeld)
    const cls = Math.min(4, Math.max(0, Math.floor(status / 100) - 1))
    let child = s.byClass[cls]
    if (child === undefined) {
      child = duration.labels({ route: s.route, method: s.method, status_class: STATUS_CLASSES[cls]! })
      s.byClass[cls] = child
    }
    child.observe(ms / 1000)
    if (s.api) latency.record(ms, status >= 400, Date.now())
    const code = reply.errorCode
    if (code !== null) {
      errors.inc({ code })
      if (code === 'UNAUTHORIZED') authFailures.inc()
      else if (code === 'RATE_LIMITED') rateLimited.inc({ route: s.route })
    }
    done()
  })

  app.decorate('metrics', { registry, latency })
  app.addHook('onClose', async () => {
    events.off('started', onStarted).off('ended', onEnded).off('audio', onAudio)
      .off('sent', onSent).off('metadata', onMetadata).off('overflow', onOverflow)
      .off('chat', onChat).off('chat-refused', onChatRefused)
    registry.clear()
  })
}

export default fp(metrics, {
  name: 'metrics',
  fastify: '5.x',
  dependencies: ['config', 'session-registry', 'error-handler', 'push']
})
