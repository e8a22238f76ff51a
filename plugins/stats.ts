import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { StatsService, createStatsStore } from '../src/stats/stats-service.js'
import type { ShareSession, StoredMetadata } from '../src/session/session.js'
import type { EndedSession } from '../src/session/session-registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Listening statistics; null when STATS=off. */
    stats: StatsService | null
  }
}

/**
 * Listening statistics, written behind the relay: registry events go to the recorder (synchronous, a
 * few map updates, never the database), and a timer checkpoints live sessions and writes the queue in
 * one batch every STATS_FLUSH_INTERVAL_MS. Audio events are not subscribed: byte counts are read off
 * each session at the checkpoint. On close everything left is written once more.
 */
const statsPlugin: FastifyPluginAsync = async (app) => {
  const config = app.config.stats
  if (!config.enabled) {
    app.decorate('stats', null)
    return
  }
  const log = app.log.child({ plugin: 'stats' })
  const { sessionTimeoutMs } = app.config.sessions
  const service = new StatsService(await createStatsStore(config), {
    flushIntervalMs: config.flushIntervalMs,
    batchRows: config.batchRows,
    maxPendingRows: config.maxPendingRows,
    secret: config.secret,
    // Past the session timeout plus a few ticks, a session nobody writes is dead, not idle.
    lostAfterMs: sessionTimeoutMs + 5 * config.flushIntervalMs
  }, log)
  if (config.secretGenerated) {
    log.info('STATS_SECRET is not set: listener pseudonyms are new for this process, so unique listeners are counted per run')
  }
  if (await service.open()) log.info({ store: service.store.kind }, 'statistics recording')
  app.decorate('stats', service)

  const recorder = service.recorder
  const onStarted = (s: ShareSession) => { recorder.started(s) }
  const onRestored = (s: ShareSession) => { recorder.restored(s, Date.now()) }
  const onEnded = (e: EndedSession) => { recorder.ended(e) }
  const onMoved = (s: ShareSession) => { recorder.moved(s, Date.now()) }
  const onMetadata = (s: ShareSession, m: StoredMetadata) => { recorder.metadata(s, m.value, m.receivedAt) }
  const onJoined = (s: ShareSession, key: string, at: number) => { recorder.listenerJoined(s, key, at) }
  const onLeft = (s: ShareSession, key: string, at: number) => { recorder.listenerLeft(s, key, at) }
  const events = app.sessions.events
  events.on('started', onStarted).on('restored', onRestored).on('ended', onEnded).on('moved', onMoved)
    .on('metadata', onMetadata).on('listenerJoined', onJoined).on('listenerLeft', onLeft)
  // Sessions already live (restored from Redis before this plugin was registered) are picked up too.
  for (const s of app.sessions.activeSessions()) recorder.restored(s, Date.now())

  // Ticks never overlap: one that finds the previous still writing (a slow database) skips.
  let ticking: Promise<void> | undefined
  const timer = setInterval(() => {
    if (ticking !== undefined) return
    ticking = service.tick(Date.now()).catch((err: unknown) => {
      log.error({ err }, 'statistics tick failed')
    }).finally(() => { ticking = undefined })
  }, config.flushIntervalMs).unref()

  app.addHook('onClose', async () => {
    clearInterval(timer)
    events.off('started', onStarted).off('restored', onRestored).off('ended', onEnded).off('moved', onMoved)
      .off('metadata', onMetadata).off('listenerJoined', onJoined).off('listenerLeft', onLeft)
    await ticking
    await service.close(Date.now())
  })
}

export default fp(statsPlugin, { name: 'stats', fastify: '5.x', dependencies: ['config', 'session-registry'] })
