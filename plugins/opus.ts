import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { Counter, Gauge } from 'prom-client'
import { EncoderPool } from '../src/opus/encoder-pool.js'
import { OpusHub } from '../src/opus/opus-hub.js'
import type { ShareSession } from '../src/session/session.js'
import type { EndedSession } from '../src/session/session-registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    opus: OpusHub
  }
}

/** A REST poll with codec=opus keeps its session's encoder running this long. */
const POLL_LEASE_MS = 15_000
const SWEEP_INTERVAL_MS = 1_000

/** The long-poll key of a session's Opus: its waiters wake when a chunk is encoded, not when PCM arrives. */
export const opusWaitKey = (sessionId: string) => `${sessionId}/opus`

/**
 * Opus delivery: one encoder per session that something listens to in Opus, in encoder threads of their
 * own (src/opus). Stops every encoder and the threads when the server closes.
 */
const opus: FastifyPluginAsync = async (app) => {
  const log = app.log.child({ plugin: 'opus' })
  const pool = new EncoderPool(log, app.config.opus.encoderThreads)
  const hub = new OpusHub(app.sessions, pool, { ...app.config.opus, pollLeaseMs: POLL_LEASE_MS }, log)
  app.decorate('opus', hub)

  const { waiters } = app.push
  const { events } = app.sessions
  // REST polls take the default stream: another bitrate's chunk (a recording's) has nothing new for them.
  const onEncoded = (sessionId: string, bitrateKbps: number) => {
    if (bitrateKbps === hub.defaultBitrateKbps) waiters.wake(opusWaitKey(sessionId), 'audio')
  }
  const onEnded = (ended: EndedSession) => waiters.wake(opusWaitKey(ended.id), 'ended')
  const onMoved = (session: ShareSession) => waiters.wake(opusWaitKey(session.id), 'moved')
  hub.events.on('encoded', onEncoded)
  events.on('ended', onEnded).on('moved', onMoved)
  app.healthChecks.add('opus', () => ({ status: 'ok', metrics: { encoders: hub.encoders, listeners: hub.listenerCount(), ...hub.stats } }))
  if (app.metrics !== null) {
    const registers = [app.metrics.registry]
    const total = (name: string, help: string, read: () => number) =>
      new Counter({ name, help, registers, collect () { this.reset(); this.inc(read()) } })
    new Gauge({ name: 'musicshare_opus_encoders', help: 'Sessions with an Opus encoder running (something listens in Opus).', registers, collect () { this.set(hub.encoders) } })
    total('musicshare_opus_encoder_failures_total', 'Opus encoders that failed (their session\'s Opus listeners were let go; PCM went on).', () => hub.stats.encoderFailures)
    total('musicshare_opus_encode_seconds_total', 'Time spent encoding Opus on the encoder threads (CPU-bound, so about their CPU time).', () => hub.stats.encodeSeconds)
    total('musicshare_opus_sent_bytes_total', 'Opus bytes written to listeners and pollers (frames, Ogg pages, JSON).', () => hub.stats.bytesSent)
    new Counter({
      name: 'musicshare_opus_tier_changes_total',
      help: 'Opus listeners moved to another bitrate tier by adaptive bitrate, by direction.',
      labelNames: ['direction'] as const,
      registers,
      collect () {
        this.reset()
        this.inc({ direction: 'down' }, hub.stats.tierDowns)
        this.inc({ direction: 'up' }, hub.stats.tierUps)
      }
    })
    new Gauge({
      name: 'musicshare_opus_listeners',
      help: 'Opus listeners (WebSocket, Ogg) by the bitrate tier they take (kbit/s).',
      labelNames: ['bitrate'] as const,
      registers,
      collect () { for (const [kbps, n] of hub.listenersByTier()) this.set({ bitrate: String(kbps) }, n) }
    })
    new Gauge({
      name: 'musicshare_push_listeners',
      help: 'Listeners taking audio, by codec: pcm (WebSocket, stream.wav) and opus (WebSocket, stream.ogg).',
      labelNames: ['codec'] as const,
      registers,
      collect () {
        this.set({ codec: 'pcm' }, app.push.hub.pcmListenerCount())
        this.set({ codec: 'opus' }, hub.listenerCount())
      }
    })
  }
  const sweep = setInterval(() => hub.sweep(Date.now()), SWEEP_INTERVAL_MS).unref()

  app.addHook('onClose', async () => {
    clearInterval(sweep)
    hub.events.off('encoded', onEncoded)
    events.off('ended', onEnded).off('moved', onMoved)
    hub.unsubscribe()
    hub.closeAll()
    await pool.close()
  })
}

export default fp(opus, { name: 'opus', fastify: '5.x', dependencies: ['config', 'session-registry', 'health-checks', 'push', 'metrics'] })
