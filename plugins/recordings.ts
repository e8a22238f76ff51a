import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { Counter, Gauge } from 'prom-client'
import { Recordings } from '../src/recording/recordings.js'
import type { OpenSegmentFile } from '../src/recording/segment-writer.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Null without RECORDINGS_DIR: nothing is recorded. */
    recordings: Recordings | null
  }
}

export interface RecordingsPluginOptions {
  /** Opens segment files; tests put a failing disk here. */
  openFile?: OpenSegmentFile | undefined
}

/** Segments are fsynced, and their sidecars refreshed (the writer is alive), this often. */
const TICK_MS = 5_000
/** Retention and the size cap are swept this often (a write that finds no room sweeps at once). */
const SWEEP_MS = 60_000
const STOP_REASONS = ['max-length', 'size-cap', 'disk-full', 'write-error', 'too-slow', 'encoder-failed'] as const

/**
 * Recording (RECORDINGS_DIR): every session is recorded to disk from its Opus stream unless the sharer opts
 * out (or RECORDING_DEFAULT=off and it does not opt in); the timers fsync and sweep; closing finishes every
 * segment cleanly. Without RECORDINGS_DIR it decorates null and does nothing.
 */
const recordingsPlugin: FastifyPluginAsync<RecordingsPluginOptions> = async (app, options) => {
  const settings = app.config.recordings
  if (settings === undefined) {
    app.decorate('recordings', null)
    return
  }
  const recordings = new Recordings(app.sessions, app.opus, {
    ...settings,
    instanceId: app.config.instanceId,
    openFile: options.openFile
  }, app.log.child({ plugin: 'recordings' }))
  await recordings.start()
  app.decorate('recordings', recordings)

  const { stats } = recordings
  app.healthChecks.add('recordings', () => {
    const metrics = { recording: recordings.recording, diskBytes: stats.diskBytes, bytesWritten: stats.bytesWritten, deleted: stats.deletedRetention + stats.deletedSizeCap }
    const trouble = recordings.diskTrouble
    return trouble === 0
      ? { status: 'ok', metrics }
      : { status: 'degraded', reason: `${trouble} live recording(s) stopped: disk full, failing, too slow or at RECORDINGS_MAX_GB`, metrics }
  })
  if (app.metrics !== null) {
    const registers = [app.metrics.registry]
    new Gauge({ name: 'musicshare_recordings_active', help: 'Sessions being recorded by this instance now.', registers, collect () { this.set(recordings.recording) } })
    new Gauge({ name: 'musicshare_recordings_disk_bytes', help: 'Bytes all recordings in RECORDINGS_DIR take (at the last sweep).', registers, collect () { this.set(stats.diskBytes) } })
    new Counter({
      name: 'musicshare_recording_bytes_written_total',
      help: 'Bytes of Ogg/Opus pages handed to the disk for recordings.',
      registers,
      collect () { this.reset(); this.inc(stats.bytesWritten) }
    })
    new Counter({
      name: 'musicshare_recordings_stopped_total',
      help: 'Recordings stopped early while their session went on, by reason.',
      labelNames: ['reason'] as const,
      registers,
      collect () {
        this.reset()
        for (const reason of STOP_REASONS) this.inc({ reason }, stats.stopped[reason] ?? 0)
      }
    })
    new Counter({
      name: 'musicshare_recordings_deleted_total',
      help: 'Finished recordings deleted: past RECORDINGS_RETENTION_HOURS, or oldest first over RECORDINGS_MAX_GB.',
      labelNames: ['reason'] as const,
      registers,
      collect () {
        this.reset()
        this.inc({ reason: 'retention' }, stats.deletedRetention)
        this.inc({ reason: 'size-cap' }, stats.deletedSizeCap)
      }
    })
  }

  const timers = [
    setInterval(() => { void recordings.tick() }, TICK_MS),
    setInterval(() => { void recordings.sweep() }, SWEEP_MS)
  ]
  for (const timer of timers) timer.unref()
  // Registered after the opus plugin, so this runs first: segments are finished while their encoders still exist.
  app.addHook('onClose', async () => {
    for (const timer of timers) clearInterval(timer)
    await recordings.close()
  })
}

export default fp(recordingsPlugin, { name: 'recordings', fastify: '5.x', dependencies: ['config', 'session-registry', 'health-checks', 'metrics', 'opus'] })
