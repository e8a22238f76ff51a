import t from 'tap'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import recordings from '../../plugins/recordings.js'
import { Recordings } from '../../src/recording/recordings.js'
import { alone, assertDependencies, until } from './alone-helper.js'

t.test('without RECORDINGS_DIR: app.recordings is null and nothing follows the registry', async (t) => {
  const app = await alone(t, recordings)
  await app.ready()
  t.equal(app.recordings, null)
  t.equal(app.sessions.events.listenerCount('restored'), 0, 'nothing follows the registry')
  t.notOk('recordings' in (app.healthChecks.report().checks ?? {}))
})

t.test('with it: records sessions, reports in /health checks and /metrics, finishes every segment on close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recordings-alone-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const app = await alone(t, recordings, { env: { RECORDINGS_DIR: join(dir, 'made-on-start') } })
  await app.ready()
  t.type(app.recordings, Recordings)
  t.same(readdirSync(dir), ['made-on-start'], 'the folder is created')
  t.match(app.healthChecks.report(), { status: 'healthy', checks: { recordings: { status: 'ok', metrics: { recording: 0, diskBytes: 0 } } } })
  const text = await app.metrics!.registry.metrics()
  for (const line of ['musicshare_recordings_active 0', 'musicshare_recordings_disk_bytes 0', 'musicshare_recording_bytes_written_total 0',
    'musicshare_recordings_stopped_total{reason="disk-full"} 0', 'musicshare_recordings_deleted_total{reason="retention"} 0']) {
    t.ok(text.includes(line), line)
  }
  app.sessions.start('123456', Date.now())
  await until(() => app.recordings!.recording === 1 || undefined, 'recording')
  t.equal(app.opus.encoders, 1, 'on the session\'s Opus stream')
  const { events } = app.sessions
  t.equal(events.listenerCount('restored'), 1, 'following the registry')
  await app.close()
  t.equal(app.recordings!.recording, 0, 'finished on close')
  t.equal(events.listenerCount('restored'), 0, 'and no longer following it')
  const [recording] = readdirSync(join(dir, 'made-on-start'))
  t.equal(readdirSync(join(dir, 'made-on-start', recording!)).length, 2, 'a segment and its sidecar')
})

t.test('a RECORDINGS_DIR that cannot be used stops the start with a message naming it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recordings-alone-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'a-file'), '')
  await t.rejects(alone(t, recordings, { env: { RECORDINGS_DIR: join(dir, 'a-file', 'recordings') } }), /^RECORDINGS_DIR cannot be used: ENOTDIR/)
})

t.test('declares its dependencies and fails without each',
  (t) => assertDependencies(t, recordings, ['config', 'session-registry', 'health-checks', 'metrics', 'opus']))
