import t from 'tap'
import { ConfigError, loadConfig, stripBearerScheme } from '../src/config.js'

t.test('defaults match the spec', async (t) => {
  const c = loadConfig({ BEARER_TOKEN: 'Bearer Token' })
  t.match(c, {
    port: 5000,
    host: '0.0.0.0',
    bearerToken: 'Token',
    tokenGenerated: false,
    logLevel: 'info',
    sessions: { maxSessions: 50, audioBufferSeconds: 5, sessionTimeoutMs: 900_000, joinBurstSeconds: 2, metadataTtlMs: 30_000, endedRetentionMs: 300_000 },
    corsOrigins: ['http://localhost:*', 'http://127.0.0.1:*']
  })
})

t.test('values are converted from strings', async (t) => {
  const c = loadConfig({ BEARER_TOKEN: 'x', PORT: '8080', MAX_SESSIONS: '3', AUDIO_BUFFER_SECONDS: '2.5', TRUST_PROXY: 'true', CORS_ORIGINS: 'https://a.example, https://b.example' })
  t.equal(c.port, 8080)
  t.equal(c.sessions.maxSessions, 3)
  t.equal(c.sessions.audioBufferSeconds, 2.5)
  t.equal(c.trustProxy, 1, 'true: the nearest proxy, one hop')
  t.same(c.corsOrigins, ['https://a.example', 'https://b.example'])
})

t.test('every bad variable is named in one error', async (t) => {
  let err: unknown
  try {
    loadConfig({ BEARER_TOKEN: 'x', PORT: 'abc', MAX_SESSIONS: '0', LOG_LEVEL: 'loud' })
  } catch (e) {
    err = e
  }
  t.ok(err instanceof ConfigError)
  const message = (err as Error).message
  t.match(message, /PORT="abc"/)
  t.match(message, /MAX_SESSIONS/)
  t.match(message, /LOG_LEVEL="loud": expected one of fatal, error, warn, info, debug, trace, silent/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', PORT: '70000' }), /PORT/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', BASE_PATH: 'no-slash' }), /BASE_PATH/)
})

t.test('BEARER_TOKEN: with or without the scheme; "Bearer " alone is refused', async (t) => {
  t.equal(loadConfig({ BEARER_TOKEN: 'Bearer Token' }).bearerToken, 'Token')
  t.equal(loadConfig({ BEARER_TOKEN: 'Token' }).bearerToken, 'Token')
  t.equal(loadConfig({ BEARER_TOKEN: 'bearer   Token ' }).bearerToken, 'Token')
  t.throws(() => loadConfig({ BEARER_TOKEN: 'Bearer ' }), /BEARER_TOKEN/)
  t.equal(stripBearerScheme('BearerToken'), 'BearerToken', 'a token that merely starts with "Bearer" keeps it')
})

t.test('unset BEARER_TOKEN: generated outside production, refused in production', async (t) => {
  const a = loadConfig({})
  const b = loadConfig({})
  t.equal(a.tokenGenerated, true)
  t.ok(a.bearerToken.length >= 20)
  t.not(a.bearerToken, b.bearerToken, 'random per run')
  t.throws(() => loadConfig({ NODE_ENV: 'production' }), /BEARER_TOKEN: must be set when NODE_ENV=production/)
})

t.test('push settings: defaults, bounds, LISTEN_KEY_SECRET random per process when unset', async (t) => {
  const c = loadConfig({ BEARER_TOKEN: 'x' })
  t.same(c.push, { maxHeldPolls: 1000, maxConnections: 2000, sendBufferBytes: 1024 * 1024, maxDroppedFrames: 40, eventHistory: 64, pingIntervalMs: 30_000, heartbeatMs: 15_000 })
  t.not(c.listenKeySecret, loadConfig({ BEARER_TOKEN: 'x' }).listenKeySecret)
  t.equal(loadConfig({ BEARER_TOKEN: 'x', LISTEN_KEY_SECRET: 's'.repeat(16) }).listenKeySecret, 's'.repeat(16))
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', LISTEN_KEY_SECRET: 'short' }), /LISTEN_KEY_SECRET/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', PUSH_SEND_BUFFER_KB: '1' }), /PUSH_SEND_BUFFER_KB/)
  const d = loadConfig({ BEARER_TOKEN: 'x', WS_PING_SECONDS: '0.5', SSE_HEARTBEAT_SECONDS: '2', LONG_POLL_MAX_HELD: '0' })
  t.match(d.push, { pingIntervalMs: 500, heartbeatMs: 2000, maxHeldPolls: 0 })
})

t.test('Redis snapshot settings: off without REDIS_URL, audio mirrored by default, bounds enforced', async (t) => {
  const off = loadConfig({ BEARER_TOKEN: 'x' })
  t.equal(off.redisUrl, undefined)
  t.same(off.redis, { snapshotAudio: true, flushIntervalMs: 250, connectTimeoutMs: 2000 })
  const on = loadConfig({ BEARER_TOKEN: 'x', REDIS_URL: 'redis://127.0.0.1:6379/2', REDIS_SNAPSHOT_AUDIO: 'false', REDIS_FLUSH_INTERVAL_MS: '100', REDIS_CONNECT_TIMEOUT_MS: '500' })
  t.equal(on.redisUrl, 'redis://127.0.0.1:6379/2')
  t.same(on.redis, { snapshotAudio: false, flushIntervalMs: 100, connectTimeoutMs: 500 })
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', REDIS_URL: 'localhost:6379' }), /REDIS_URL/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', REDIS_FLUSH_INTERVAL_MS: '0' }), /REDIS_FLUSH_INTERVAL_MS/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', REDIS_SNAPSHOT_AUDIO: 'maybe' }), /REDIS_SNAPSHOT_AUDIO/)
})

t.test('connection limits and load shedding', async (t) => {
  const c = loadConfig({ BEARER_TOKEN: 'x' })
  t.same(c.limits, {
    headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 10_000, connectionTimeoutMs: 60_000,
    maxConnections: 10_000, maxEventLoopDelayMs: 500, maxHeapUsedBytes: 1536 * 1024 * 1024,
    bodyDrainMaxBytes: 32 * 1024 * 1024, bodyDrainTimeoutMs: 10_000
  })
  const d = loadConfig({ BEARER_TOKEN: 'x', HEADERS_TIMEOUT_SECONDS: '20', REQUEST_TIMEOUT_SECONDS: '5', MAX_EVENT_LOOP_DELAY_MS: '0' })
  t.equal(d.limits.requestTimeoutMs, 20_000, 'a request may take at least as long as its headers')
  t.equal(d.limits.maxEventLoopDelayMs, 0)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', MAX_CONNECTIONS: '0' }), /MAX_CONNECTIONS/)
  t.match(loadConfig({ BEARER_TOKEN: 'x', BODY_DRAIN_MAX_BYTES: '0', BODY_DRAIN_TIMEOUT_MS: '500' }).limits, { bodyDrainMaxBytes: 0, bodyDrainTimeoutMs: 500 })
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', BODY_DRAIN_TIMEOUT_MS: '-1' }), /BODY_DRAIN_TIMEOUT_MS/)
})

t.test('metrics: on, without a token and without session labels by default; METRICS_TOKEN protects /metrics; METRICS_ENABLED turns them off', async (t) => {
  t.same(loadConfig({ BEARER_TOKEN: 'x' }).metrics, { enabled: true, token: undefined, sessionLabels: false })
  t.same(loadConfig({ BEARER_TOKEN: 'x', METRICS_TOKEN: 'Bearer scrape', METRICS_ENABLED: 'false', METRICS_SESSION_LABELS: 'true' }).metrics,
    { enabled: false, token: 'scrape', sessionLabels: true })
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', METRICS_SESSION_LABELS: 'yes please' }), /METRICS_SESSION_LABELS/)
  t.equal(loadConfig({ BEARER_TOKEN: 'x', METRICS_TOKEN: 'scrape' }).metrics.token, 'scrape')
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', METRICS_TOKEN: 'Bearer ' }), /METRICS_TOKEN/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', METRICS_ENABLED: 'maybe' }), /METRICS_ENABLED/)
})

t.test('SESSION_WRITE_GUARD: key-or-address by default, key, off; anything else is refused', async (t) => {
  t.equal(loadConfig({ BEARER_TOKEN: 'x' }).writeGuard, 'key-or-address')
  t.equal(loadConfig({ BEARER_TOKEN: 'x', SESSION_WRITE_GUARD: 'key' }).writeGuard, 'key')
  t.equal(loadConfig({ BEARER_TOKEN: 'x', SESSION_WRITE_GUARD: 'off' }).writeGuard, 'off')
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', SESSION_WRITE_GUARD: 'address' }), /SESSION_WRITE_GUARD="address": expected one of key-or-address, key, off/)
})

t.test('INSTANCE_ID: as given, else unique per process (host name + random suffix); bad names refused', async (t) => {
  t.equal(loadConfig({ BEARER_TOKEN: 'x', INSTANCE_ID: 'ms-1' }).instanceId, 'ms-1')
  const a = loadConfig({ BEARER_TOKEN: 'x' }).instanceId
  const b = loadConfig({ BEARER_TOKEN: 'x' }).instanceId
  t.match(a, /^[A-Za-z0-9._-]+-[0-9a-f]{8}$/)
  t.not(a, b, 'two processes on one host never share a default id')
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', INSTANCE_ID: 'has space' }), /INSTANCE_ID/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', INSTANCE_ID: 'x'.repeat(65) }), /INSTANCE_ID/)
})

t.test('statistics: on in ./data/stats.db by default; STATS=off; PostgreSQL by DATABASE_URL; tokens and secrets checked', async (t) => {
  const d = loadConfig({ BEARER_TOKEN: 'x' }).stats
  t.match(d, { enabled: true, sqlitePath: './data/stats.db', databaseUrl: undefined, token: undefined, secretGenerated: true,
    flushIntervalMs: 2000, batchRows: 500, maxPendingRows: 20_000 })
  t.ok(d.secret.length >= 32, 'a random secret for this process')
  t.not(loadConfig({ BEARER_TOKEN: 'x' }).stats.secret, d.secret)
  t.equal(loadConfig({ BEARER_TOKEN: 'x', STATS: 'off' }).stats.enabled, false)
  const pg = loadConfig({ BEARER_TOKEN: 'x', DATABASE_URL: 'postgres://u:p@db:5432/stats', STATS_TOKEN: 'Bearer s', STATS_SECRET: 'sixteen-chars-at-least' }).stats
  t.match(pg, { databaseUrl: 'postgres://u:p@db:5432/stats', token: 's', secret: 'sixteen-chars-at-least', secretGenerated: false })
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', STATS: 'yes' }), /STATS="yes": expected one of on, off/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', DATABASE_URL: 'mysql://db/stats' }), /DATABASE_URL/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', STATS_SECRET: 'short' }), /STATS_SECRET/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', STATS_TOKEN: 'Bearer ' }), /STATS_TOKEN/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', STATS_FLUSH_INTERVAL_MS: '10' }), /STATS_FLUSH_INTERVAL_MS/)
})

t.test('chat: 200 messages, 1/s with a burst of 5 per listener, 5/s per session by default; each bound checked', async (t) => {
  t.same(loadConfig({ BEARER_TOKEN: 'x' }).sessions.chat, { history: 200, perSecond: 1, burst: 5, sessionPerSecond: 5 })
  t.same(loadConfig({ BEARER_TOKEN: 'x', CHAT_HISTORY: '50', CHAT_MESSAGES_PER_SECOND: '0.5', CHAT_BURST: '3', CHAT_SESSION_MESSAGES_PER_SECOND: '20' }).sessions.chat,
    { history: 50, perSecond: 0.5, burst: 3, sessionPerSecond: 20 })
  for (const [name, value] of [['CHAT_HISTORY', '0'], ['CHAT_HISTORY', '10001'], ['CHAT_MESSAGES_PER_SECOND', '0'], ['CHAT_BURST', '0'], ['CHAT_SESSION_MESSAGES_PER_SECOND', 'lots']]) {
    t.throws(() => loadConfig({ BEARER_TOKEN: 'x', [name!]: value! }), new RegExp(`^ +${name}=`, 'm'), `${name}=${value}`)
  }
})

t.test('recording settings: off without RECORDINGS_DIR; defaults; the bitrate follows OPUS_BITRATE_KBPS unless set', async (t) => {
  t.equal(loadConfig({ BEARER_TOKEN: 'x' }).recordings, undefined)
  t.same(loadConfig({ BEARER_TOKEN: 'x', RECORDINGS_DIR: '/var/lib/music-share', OPUS_BITRATE_KBPS: '96', OPUS_BITRATE_TIERS: '48,96,160' }).recordings, {
    dir: '/var/lib/music-share', defaultOn: true, bitrateKbps: 96, retentionMs: 24 * 3_600_000, maxBytes: 10e9, maxSeconds: 12 * 3600
  })
  t.match(loadConfig({
    BEARER_TOKEN: 'x', RECORDINGS_DIR: 'rec', RECORDING_DEFAULT: 'off', RECORDING_BITRATE_KBPS: '64', RECORDINGS_RETENTION_HOURS: '0.5',
    RECORDINGS_MAX_GB: '0.25', RECORDING_MAX_HOURS: '2'
  }).recordings, { defaultOn: false, bitrateKbps: 64, retentionMs: 1_800_000, maxBytes: 250_000_000, maxSeconds: 7200 })
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', RECORDING_DEFAULT: 'maybe' }), /RECORDING_DEFAULT="maybe": expected one of on, off/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', RECORDING_BITRATE_KBPS: '600' }), /RECORDING_BITRATE_KBPS/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', RECORDINGS_MAX_GB: '0' }), /RECORDINGS_MAX_GB/)
})

t.test('OPUS_ENCODER_THREADS: the cores available up to 4 by default; 1 to 64 when set', async (t) => {
  const { availableParallelism } = await import('node:os')
  t.equal(loadConfig({ BEARER_TOKEN: 'x' }).opus.encoderThreads, Math.min(4, availableParallelism()))
  t.equal(loadConfig({ BEARER_TOKEN: 'x', OPUS_ENCODER_THREADS: '3' }).opus.encoderThreads, 3)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', OPUS_ENCODER_THREADS: '0' }), /OPUS_ENCODER_THREADS/)
  t.throws(() => loadConfig({ BEARER_TOKEN: 'x', OPUS_ENCODER_THREADS: 'two' }), /OPUS_ENCODER_THREADS/)
})

t.test('TRUST_PROXY: off, one hop for true, a chain of N, or the proxies\' addresses; nothing else', async (t) => {
  const trust = (value?: string) => loadConfig({ BEARER_TOKEN: 'x', ...(value === undefined ? {} : { TRUST_PROXY: value }) }).trustProxy
  t.equal(trust(), false)
  t.equal(trust('false'), false)
  t.equal(trust('0'), false)
  t.equal(trust('true'), 1)
  t.equal(trust('2'), 2)
  t.same(trust('10.0.0.5'), ['10.0.0.5'])
  t.same(trust('10.0.0.0/8, 172.16.0.0/12,::1'), ['10.0.0.0/8', '172.16.0.0/12', '::1'])
  t.throws(() => trust('yes'), /TRUST_PROXY/)
  t.throws(() => trust('proxy.example'), /TRUST_PROXY/)
})
