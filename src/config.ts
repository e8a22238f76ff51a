import { randomBytes } from 'node:crypto'
import { availableParallelism, hostname } from 'node:os'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { WRITE_GUARD_MODES, type WriteGuardMode } from './session/sharer-binding.js'
import type { ChatLimits } from './chat/chat-log.js'

const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))
)

const Int = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description })
const Num = (def: number, min: number, max: number, description: string) =>
  Type.Number({ default: def, minimum: min, maximum: max, description })

/** Environment variables the server reads, with their defaults and bounds. */
export const EnvSchema = Type.Object({
  PORT: Int(5000, 0, 65535, 'TCP port to listen on'),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1, description: 'address to bind' }),
  BASE_PATH: Type.String({ default: '', pattern: '^(/[A-Za-z0-9._~-]+)*$', description: 'path prefix the routes are mounted under, e.g. /songrequests' }),
  BEARER_TOKEN: Type.Optional(Type.String({ description: 'shared token; "Bearer X" and "X" mean the same' })),
  NODE_ENV: Type.Optional(Type.String()),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'turns on the Redis snapshot plugin: sessions survive a restart' })),
  REDIS_SNAPSHOT_AUDIO: Type.Boolean({ default: true, description: 'also mirror the recent audio to Redis (the heavy part)' }),
  REDIS_FLUSH_INTERVAL_MS: Int(250, 10, 10_000, 'snapshot writes per session are coalesced into one pipeline this often'),
  REDIS_CONNECT_TIMEOUT_MS: Int(2000, 100, 60_000, 'how long start-up waits for Redis before serving without it'),
  INSTANCE_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'this instance\'s name in a cluster (claims, heartbeat, /health, /metrics); hostname + random suffix when unset' })),
  MAX_SESSIONS: Int(50, 1, 100_000, 'active sessions at most'),
  AUDIO_BUFFER_SECONDS: Num(5, 0.5, 60, 'seconds of audio kept per session'),
  JOIN_BURST_SECONDS: Num(2, 0, 60, 'seconds of audio a new receiver (since=-1) starts with'),
  SESSION_TIMEOUT_MINUTES: Num(15, 0.01, 1440, 'a session whose sharer sent nothing this long expires'),
  ENDED_RETENTION_MINUTES: Num(5, 0, 1440, 'how long an ended session still answers status'),
  METADATA_TTL_SECONDS: Num(30, 1, 3600, 'how long posted metadata is served'),
  LISTENER_WINDOW_SECONDS: Num(5, 1, 300, 'a receiver counts as listening this long after its last poll'),
  MAX_LISTENERS_PER_SESSION: Int(1000, 1, 1_000_000, 'distinct receivers tracked per session at most'),
  CHAT_HISTORY: Int(200, 1, 10_000, 'chat messages kept per session (and in its Redis snapshot)'),
  CHAT_MESSAGES_PER_SECOND: Num(1, 0.01, 1000, 'chat messages one listener may send per second, sustained'),
  CHAT_BURST: Int(5, 1, 10_000, 'chat messages one listener may send at once'),
  CHAT_SESSION_MESSAGES_PER_SECOND: Num(5, 0.01, 100_000, 'chat messages all listeners of a session may send per second together (burst: four seconds\' worth); the sharer is not counted'),
  LOG_LEVEL: Type.Union(LogLevel.anyOf, { default: 'info' }),
  CORS_ORIGINS: Type.String({ default: 'http://localhost:*,http://127.0.0.1:*', description: 'comma-separated origins; a trailing :* allows any port; * allows all' }),
  TRUST_PROXY: Type.String({
    default: 'false',
    pattern: '^(true|false|[0-9]{1,2}|[0-9A-Fa-f:.]+(/[0-9]{1,3})?( *, *[0-9A-Fa-f:.]+(/[0-9]{1,3})?)*)$',
    description: 'behind reverse proxies, the client address is the X-Forwarded-For entry the trusted ones appended: true = one proxy (the nearest), N = a chain of N, or the proxies\' addresses/CIDRs (comma-separated); false = the socket address'
  }),
  SESSION_WRITE_GUARD: Type.Union(WRITE_GUARD_MODES.map((m) => Type.Literal(m)), { default: 'key-or-address', description: 'who may change a session: its sharer key, or also the address that started it; off: anyone with the token' }),
  RATE_LIMIT_WINDOW_SECONDS: Int(5, 1, 3600, 'window the per-second budgets are counted over'),
  RATE_LIMIT_METADATA_PER_SECOND: Num(2, 0.1, 10_000, 'sharer metadata POSTs per session'),
  RATE_LIMIT_AUDIO_PER_SECOND: Num(10, 0.1, 10_000, 'sharer audio POSTs per session'),
  RATE_LIMIT_POLLS_PER_SECOND: Num(10, 0.1, 10_000, 'polls per receiver and endpoint (audio at the spec\'s 100 ms cadence is 10/s)'),
  RATE_LIMIT_RECEIVERS_PER_ADDRESS: Int(50, 1, 100_000, 'receivers without X-Client-Id behind one address + User-Agent that get a full budget each'),
  RATE_LIMIT_MAX_KEYS: Int(20_000, 100, 10_000_000, 'rate-limit keys (clients x sessions x endpoints) tracked at most; the least recently seen are forgotten'),
  RATE_LIMIT_STARTS_PER_MINUTE: Int(120, 1, 100_000, 'session starts per client address'),
  METRICS_ENABLED: Type.Boolean({ default: true, description: 'Prometheus metrics at /metrics and response-time figures in /health' }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'when set, /metrics needs "Authorization: Bearer <token>" from any address; unset, it answers loopback and private addresses only' })),
  METRICS_SESSION_LABELS: Type.Boolean({ default: false, description: 'also export listeners per session with a session_id label (names every live session\'s code to whoever can scrape)' }),
  SHUTDOWN_TIMEOUT_SECONDS: Num(10, 0.1, 600, 'deadline for a graceful shutdown'),
  LISTEN_KEY_SECRET: Type.Optional(Type.String({ minLength: 16, description: 'secret listen keys are derived from; random per process when unset' })),
  LONG_POLL_MAX_HELD: Int(1000, 0, 1_000_000, 'audio long-polls (waitMs) held at once; past it a long-poll is a 503'),
  PUSH_MAX_CONNECTIONS: Int(2000, 1, 1_000_000, 'WebSocket, SSE and stream.wav connections at once; past it a 503'),
  PUSH_SEND_BUFFER_KB: Int(1024, 16, 1_048_576, 'bytes a push listener may have queued before frames are dropped for it'),
  PUSH_MAX_DROPPED_FRAMES: Int(40, 1, 1_000_000, 'audio frames dropped in a row before a slow push listener is disconnected'),
  OPUS_BITRATE_KBPS: Int(128, 6, 510, 'the Opus tier a listener starts at, and REST polls take (kbit/s; one of OPUS_BITRATE_TIERS)'),
  OPUS_BITRATE_TIERS: Type.String({ default: '32,64,128,192', pattern: '^[0-9]{1,3}(,[0-9]{1,3}){0,7}$', description: 'Opus bitrates (kbit/s, 6..510, comma-separated): a WebSocket listener adapts between the lowest and OPUS_BITRATE_KBPS and may pin any; each encoded only while someone takes it' }),
  OPUS_ABR_UP_AFTER_SECONDS: Num(10, 0.1, 3600, 'adaptive bitrate: a clean send queue this long before a listener steps one tier up (doubles after a step up that had to be taken back)'),
  OPUS_COMPLEXITY: Int(7, 0, 10, 'libopus complexity: 7 keeps its signal analysis at ~1 % of a core per encoded session; 10 costs ~30 % more'),
  OPUS_ENCODER_THREADS: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'threads that encode Opus (each starts with its first encoder); default: the cores available, at most 4' })),
  RECORDINGS_DIR: Type.Optional(Type.String({ minLength: 1, description: 'turns recording on: sessions are recorded (Ogg/Opus) to this folder, shared by every instance of a cluster' })),
  RECORDING_DEFAULT: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'whether a session whose sharer said nothing is recorded (the desktop client says nothing)' }),
  RECORDING_BITRATE_KBPS: Type.Optional(Type.Integer({ minimum: 6, maximum: 510, description: 'Opus bitrate of recordings; OPUS_BITRATE_KBPS when unset (then no second encoder)' })),
  RECORDINGS_RETENTION_HOURS: Num(24, 0.001, 87_600, 'a recording is kept this long after its session ended'),
  RECORDINGS_MAX_GB: Num(10, 0.000001, 1_000_000, 'all recordings together at most (GB = 10^9 bytes): finished ones are deleted oldest first, then live ones stop'),
  RECORDING_MAX_HOURS: Num(12, 0.0001, 8760, 'one session\'s recording at most; it stops there'),
  PUSH_EVENT_HISTORY: Int(64, 1, 10_000, 'metadata/status events kept per session for SSE Last-Event-ID resume'),
  WS_PING_SECONDS: Num(30, 0.05, 3600, 'WebSocket ping interval; a socket that missed the previous pong is dropped'),
  SSE_HEARTBEAT_SECONDS: Num(15, 0.05, 3600, 'SSE comment heartbeat interval'),
  HEADERS_TIMEOUT_SECONDS: Num(10, 0.5, 600, 'a client has this long to send its request headers'),
  REQUEST_TIMEOUT_SECONDS: Num(30, 1, 3600, 'a client has this long to send a whole request, body included'),
  KEEP_ALIVE_TIMEOUT_SECONDS: Num(10, 0.5, 600, 'an idle keep-alive connection is closed after this long'),
  CONNECTION_TIMEOUT_SECONDS: Num(60, 1, 3600, 'a connection with no traffic at all is closed after this long'),
  MAX_CONNECTIONS: Int(10_000, 1, 1_000_000, 'open connections at most; more are refused'),
  BODY_DRAIN_MAX_BYTES: Int(32 * 1024 * 1024, 0, 1024 * 1024 * 1024, 'after a 413, bytes of the refused body still read (and discarded) so the client reads the answer; past it the connection is cut'),
  BODY_DRAIN_TIMEOUT_MS: Int(10_000, 0, 600_000, 'after a 413, how long the rest of the refused body is still read before the connection is cut'),
  MAX_EVENT_LOOP_DELAY_MS: Int(500, 0, 60_000, 'answer 503 OVERLOADED while the event loop lags more than this (0: off)'),
  MAX_HEAP_USED_MB: Int(1536, 0, 1_000_000, 'answer 503 OVERLOADED while the V8 heap holds more than this (0: off)'),
  STATS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'listening statistics (sessions, song plays, listener visits) written to a database; off: none at all' }),
  STATS_DB: Type.String({ default: './data/stats.db', minLength: 1, description: 'the SQLite file statistics go to when DATABASE_URL is unset (its folder is created); :memory: keeps them in memory' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL for statistics instead of SQLite (every instance of a cluster writes to it)' })),
  STATS_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'a token that opens the statistics API and page (besides the bearer token)' })),
  STATS_SECRET: Type.Optional(Type.String({ minLength: 16, description: 'secret listener pseudonyms are keyed with; random per process when unset' })),
  STATS_FLUSH_INTERVAL_MS: Int(2000, 50, 60_000, 'statistics are written in one batch this often (or sooner when STATS_BATCH_ROWS are waiting)'),
  STATS_BATCH_ROWS: Int(500, 1, 100_000, 'rows waiting that trigger a write before the interval is up'),
  STATS_MAX_PENDING_ROWS: Int(20_000, 10, 10_000_000, 'rows held in memory at most while the database is slow or down; past it new rows are only counted')
})
export type Env = Static<typeof EnvSchema>

export interface AppConfig {
  port: number
  host: string
  basePath: string
  /** The token without its scheme; never empty. */
  bearerToken: string
  /** True when no BEARER_TOKEN was given and one was generated for this run. */
  tokenGenerated: boolean
  redisUrl: string | undefined
  /** Which instance this is: in Redis claims and heartbeats, /health, /metrics and X-Instance-Id. */
  instanceId: string
  redis: {
    snapshotAudio: boolean
    flushIntervalMs: number
    connectTimeoutMs: number
  }
  logLevel: Static<typeof LogLevel>
  corsOrigins: string[]
  /**
   * Which X-Forwarded-For entries are believed: none (false), the last N (hops), or those appended by these
   * proxy addresses. Never every entry: the first ones are whatever the client wrote.
   */
  trustProxy: false | number | string[]
  writeGuard: WriteGuardMode
  sessions: {
    maxSessions: number
    audioBufferSeconds: number
    joinBurstSeconds: number
    sessionTimeoutMs: number
    endedRetentionMs: number
    metadataTtlMs: number
    listenerWindowMs: number
    maxListenersPerSession: number
    chat: ChatLimits
  }
  rateLimit: {
    windowMs: number
    metadataPerSecond: number
    audioPerSecond: number
    pollsPerSecond: number
    receiversPerAddress: number
    startsPerMinute: number
    maxKeys: number
  }
  metrics: {
    enabled: boolean
    /** Token /metrics requires (without its scheme); undefined leaves it open to loopback and private addresses. */
    token: string | undefined
    /** Export listeners per session labelled with the session id (opt-in: it names live sessions). */
    sessionLabels: boolean
  }
  shutdownTimeoutMs: number
  /** HMAC secret for listen keys; never logged. */
  listenKeySecret: string
  opus: {
    /** The tier listeners start at. */
    defaultKbps: number
    /** Ascending, without repeats. */
    tiersKbps: number[]
    complexity: number
    /** Adaptive bitrate: clean this long before a step up. */
    upAfterMs: number
    /** Encoder threads the sessions' encoders are spread over. */
    encoderThreads: number
  }
  /** Undefined without RECORDINGS_DIR: nothing is recorded. */
  recordings: {
    dir: string
    /** Sessions whose sharer said nothing are recorded. */
    defaultOn: boolean
    bitrateKbps: number
    retentionMs: number
    maxBytes: number
    maxSeconds: number
  } | undefined
  push: {
    maxHeldPolls: number
    maxConnections: number
    sendBufferBytes: number
    maxDroppedFrames: number
    eventHistory: number
    pingIntervalMs: number
    heartbeatMs: number
  }
  stats: StatsConfig
  limits: {
    headersTimeoutMs: number
    requestTimeoutMs: number
    keepAliveTimeoutMs: number
    connectionTimeoutMs: number
    maxConnections: number
    maxEventLoopDelayMs: number
    maxHeapUsedBytes: number
    /** After a 413 sent before the body was read: how much more of it is read and discarded, and for how long. */
    bodyDrainMaxBytes: number
    bodyDrainTimeoutMs: number
  }
}

export interface StatsConfig {
  enabled: boolean
  /** The SQLite file (or `:memory:`), used when `databaseUrl` is unset. */
  sqlitePath: string
  /** PostgreSQL connection string; never logged (it may hold a password). */
  databaseUrl: string | undefined
  /** Token that opens the statistics API besides the bearer token (without its scheme). */
  token: string | undefined
  /** HMAC key of listener pseudonyms; never logged. */
  secret: string
  /** True when STATS_SECRET was unset and a random one was made for this process. */
  secretGenerated: boolean
  flushIntervalMs: number
  batchRows: number
  maxPendingRows: number
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** `Bearer X`, `bearer   X` and `X` all name the token `X`. */
export function stripBearerScheme (value: string): string {
  const trimmed = value.trim()
  const match = /^bearer(?:\s+|$)/i.exec(trimmed)
  return (match ? trimmed.slice(match[0].length) : trimmed).trim()
}

/** Unique per process: the host name (as allowed in an instance id) plus a random suffix. */
function defaultInstanceId (): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 48) || 'instance'
  return `${host}-${randomBytes(4).toString('hex')}`
}

/** TRUST_PROXY as Fastify takes it: `true` is the nearest proxy alone (one hop), not every entry. */
function trustedProxies (value: string): false | number | string[] {
  if (value === 'false' || value === '0') return false
  if (value === 'true') return 1
  if (/^[0-9]+$/.test(value)) return Number(value)
  return value.split(',').map((a) => a.trim())
}

/**
 * Reads the configuration from an environment (pure apart from generating a token when none is set).
 * Throws one ConfigError naming every bad variable.
 */
export function loadConfig (env: Record<string, string | undefined> = {}): AppConfig {
  const known = Object.fromEntries(
    Object.keys(EnvSchema.properties)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]])
  )
  const withDefaults = Value.Default(EnvSchema, known)
  const converted = Value.Convert(EnvSchema, withDefaults)
  const errors = [...Value.Errors(EnvSchema, converted)]
  if (errors.length > 0) {
    const lines = errors.map((err) => {
      const name = err.path.slice(1)
      const choices = (err.schema.anyOf as Array<{ const?: unknown }> | undefined)?.map((c) => c.const)
      const message = choices ? `expected one of ${choices.join(', ')}` : err.message
      return `${name}=${JSON.stringify(known[name] ?? null)}: ${message}`
    })
    throw new ConfigError(`Invalid configuration:\n  ${[...new Set(lines)].join('\n  ')}`)
  }
  const e = converted as Env

  let bearerToken = e.BEARER_TOKEN === undefined ? '' : stripBearerScheme(e.BEARER_TOKEN)
  let tokenGenerated = false
  if (e.BEARER_TOKEN !== undefined && bearerToken === '') {
    throw new ConfigError('Invalid configuration:\n  BEARER_TOKEN: must contain a token after the "Bearer" scheme')
  }
  const opusTiers = [...new Set(e.OPUS_BITRATE_TIERS.split(',').map(Number))].sort((a, b) => a - b)
  if (opusTiers.some((kbps) => kbps < 6 || kbps > 510)) {
    throw new ConfigError('Invalid configuration:\n  OPUS_BITRATE_TIERS: every tier must be 6 to 510 kbit/s')
  }
  if (!opusTiers.includes(e.OPUS_BITRATE_KBPS)) {
    throw new ConfigError(`Invalid configuration:\n  OPUS_BITRATE_KBPS: ${e.OPUS_BITRATE_KBPS} must be one of OPUS_BITRATE_TIERS (${opusTiers.join(',')})`)
  }
  const metricsToken = e.METRICS_TOKEN === undefined ? undefined : stripBearerScheme(e.METRICS_TOKEN)
  if (metricsToken === '') {
    throw new ConfigError('Invalid configuration:\n  METRICS_TOKEN: must contain a token after the "Bearer" scheme')
  }
  const statsToken = e.STATS_TOKEN === undefined ? undefined : stripBearerScheme(e.STATS_TOKEN)
  if (statsToken === '') {
    throw new ConfigError('Invalid configuration:\n  STATS_TOKEN: must contain a token after the "Bearer" scheme')
  }
  if (bearerToken === '') {
    if (e.NODE_ENV === 'production') {
      throw new ConfigError('Invalid configuration:\n  BEARER_TOKEN: must be set when NODE_ENV=production (the token clients send as "Authorization: Bearer <token>")')
    }
    bearerToken = randomBytes(18).toString('base64url')
    tokenGenerated = true
  }

  return {
    port: e.PORT,
    host: e.HOST,
    basePath: e.BASE_PATH,
    bearerToken,
    tokenGenerated,
    redisUrl: e.REDIS_URL,
    instanceId: e.INSTANCE_ID ?? defaultInstanceId(),
    redis: {
      snapshotAudio: e.REDIS_SNAPSHOT_AUDIO,
      flushIntervalMs: e.REDIS_FLUSH_INTERVAL_MS,
      connectTimeoutMs: e.REDIS_CONNECT_TIMEOUT_MS
    },
    logLevel: e.LOG_LEVEL,
    corsOrigins: e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter((o) => o !== ''),
    trustProxy: trustedProxies(e.TRUST_PROXY),
    writeGuard: e.SESSION_WRITE_GUARD as WriteGuardMode,
    sessions: {
      maxSessions: e.MAX_SESSIONS,
      audioBufferSeconds: e.AUDIO_BUFFER_SECONDS,
      joinBurstSeconds: e.JOIN_BURST_SECONDS,
      sessionTimeoutMs: Math.round(e.SESSION_TIMEOUT_MINUTES * 60_000),
      endedRetentionMs: Math.round(e.ENDED_RETENTION_MINUTES * 60_000),
      metadataTtlMs: Math.round(e.METADATA_TTL_SECONDS * 1000),
      listenerWindowMs: Math.round(e.LISTENER_WINDOW_SECONDS * 1000),
      maxListenersPerSession: e.MAX_LISTENERS_PER_SESSION,
      chat: {
        history: e.CHAT_HISTORY,
        perSecond: e.CHAT_MESSAGES_PER_SECOND,
        burst: e.CHAT_BURST,
        sessionPerSecond: e.CHAT_SESSION_MESSAGES_PER_SECOND
      }
    },
    rateLimit: {
      windowMs: e.RATE_LIMIT_WINDOW_SECONDS * 1000,
      metadataPerSecond: e.RATE_LIMIT_METADATA_PER_SECOND,
      audioPerSecond: e.RATE_LIMIT_AUDIO_PER_SECOND,
      pollsPerSecond: e.RATE_LIMIT_POLLS_PER_SECOND,
      receiversPerAddress: e.RATE_LIMIT_RECEIVERS_PER_ADDRESS,
      startsPerMinute: e.RATE_LIMIT_STARTS_PER_MINUTE,
      maxKeys: e.RATE_LIMIT_MAX_KEYS
    },
    metrics: {
      enabled: e.METRICS_ENABLED,
      token: metricsToken,
      sessionLabels: e.METRICS_SESSION_LABELS
    },
    shutdownTimeoutMs: Math.round(e.SHUTDOWN_TIMEOUT_SECONDS * 1000),
    listenKeySecret: e.LISTEN_KEY_SECRET ?? randomBytes(32).toString('base64url'),
    opus: {
      defaultKbps: e.OPUS_BITRATE_KBPS,
      tiersKbps: opusTiers,
      complexity: e.OPUS_COMPLEXITY,
      upAfterMs: Math.round(e.OPUS_ABR_UP_AFTER_SECONDS * 1000),
      encoderThreads: e.OPUS_ENCODER_THREADS ?? Math.min(4, availableParallelism())
    },
    recordings: e.RECORDINGS_DIR === undefined
      ? undefined
      : {
          dir: e.RECORDINGS_DIR,
          defaultOn: e.RECORDING_DEFAULT === 'on',
          bitrateKbps: e.RECORDING_BITRATE_KBPS ?? e.OPUS_BITRATE_KBPS,
          retentionMs: Math.round(e.RECORDINGS_RETENTION_HOURS * 3_600_000),
          maxBytes: Math.round(e.RECORDINGS_MAX_GB * 1e9),
          maxSeconds: e.RECORDING_MAX_HOURS * 3600
        },
    push: {
      maxHeldPolls: e.LONG_POLL_MAX_HELD,
      maxConnections: e.PUSH_MAX_CONNECTIONS,
      sendBufferBytes: e.PUSH_SEND_BUFFER_KB * 1024,
      maxDroppedFrames: e.PUSH_MAX_DROPPED_FRAMES,
      eventHistory: e.PUSH_EVENT_HISTORY,
      pingIntervalMs: Math.round(e.WS_PING_SECONDS * 1000),
      heartbeatMs: Math.round(e.SSE_HEARTBEAT_SECONDS * 1000)
    },
    stats: {
      enabled: e.STATS === 'on',
      sqlitePath: e.STATS_DB,
      databaseUrl: e.DATABASE_URL,
      token: statsToken,
      secret: e.STATS_SECRET ?? randomBytes(32).toString('base64url'),
      secretGenerated: e.STATS_SECRET === undefined,
      flushIntervalMs: e.STATS_FLUSH_INTERVAL_MS,
      batchRows: e.STATS_BATCH_ROWS,
      maxPendingRows: e.STATS_MAX_PENDING_ROWS
    },
    limits: {
      headersTimeoutMs: Math.round(e.HEADERS_TIMEOUT_SECONDS * 1000),
      requestTimeoutMs: Math.round(Math.max(e.REQUEST_TIMEOUT_SECONDS, e.HEADERS_TIMEOUT_SECONDS) * 1000),
      keepAliveTimeoutMs: Math.round(e.KEEP_ALIVE_TIMEOUT_SECONDS * 1000),
      connectionTimeoutMs: Math.round(e.CONNECTION_TIMEOUT_SECONDS * 1000),
      maxConnections: e.MAX_CONNECTIONS,
      maxEventLoopDelayMs: e.MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: e.MAX_HEAP_USED_MB * 1024 * 1024,
      bodyDrainMaxBytes: e.BODY_DRAIN_MAX_BYTES,
      bodyDrainTimeoutMs: e.BODY_DRAIN_TIMEOUT_MS
    }
  }
}
