import t from 'tap'
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build, CLIENT_HEADERS } from '../helper.js'
import { AUTH, listen, openWs, startOver, until } from '../push/push-helper.js'
import { openSegmentFile, type OpenSegmentFile } from '../../src/recording/segment-writer.js'
import type { SegmentMeta } from '../../src/recording/recording-store.js'
import { parseOggPages } from '../codec/helpers/ogg-reader.js'
import { FAST, jsonOf, playSongs, recorded, recordingsDir, statusOf } from './recording-helper.js'

/** The app's log lines, parsed. */
function logLines () {
  const lines: Array<Record<string, unknown>> = []
  return { lines, logger: { level: 'info', stream: { write: (l: string) => { lines.push(JSON.parse(l)) } } } }
}

async function metricsText (base: string): Promise<string> {
  return (await fetch(`${base}/metrics`)).text()
}

/** A finished recording of another session on disk: `bytes` of segment, last written `ageMs` ago. */
function fakeRecording (dir: string, sessionId: string, bytes: number, ageMs: number, state: SegmentMeta['state'] = 'closed') {
  const now = Date.now()
  const path = join(dir, `${sessionId}-${now - ageMs - 60_000}`)
  mkdirSync(path)
  const name = `${now - ageMs - 60_000}-elsewhere`
  writeFileSync(join(path, `${name}.ogg`), Buffer.alloc(bytes))
  const meta: SegmentMeta = {
    version: 1, sessionId, sessionStartedAt: now - ageMs - 60_000, segmentStartedAt: now - ageMs - 60_000, instanceId: 'elsewhere',
    state, reason: state === 'closed' ? 'ended' : null, updatedAt: now - ageMs, chapters: [], history: []
  }
  writeFileSync(join(path, `${name}.json`), JSON.stringify(meta))
  const at = (now - ageMs) / 1000
  utimesSync(join(path, `${name}.ogg`), at, at)
  return path
}

t.test('retention and the size cap delete the right recordings: past retention, then the oldest finished; never a live one', async (t) => {
  const dir = recordingsDir(t)
  const hour = 3_600_000
  const old = fakeRecording(dir, '111111', 40_000, 3 * hour)
  const b = fakeRecording(dir, '222222', 40_000, 0.5 * hour)
  const c = fakeRecording(dir, '333333', 40_000, 0.3 * hour)
  const d = fakeRecording(dir, '444444', 40_000, 0.1 * hour)
  const live = fakeRecording(dir, '555555', 40_000, 1_000, 'recording')
  const crashed = fakeRecording(dir, '666666', 10_000, 2 * hour, 'recording')
  writeFileSync(join(dir, 'not-a-recording.txt'), 'left alone')
  const { lines, logger } = logLines()
  const app = await build(t, { RECORDINGS_DIR: dir, RECORDINGS_RETENTION_HOURS: '1', RECORDINGS_MAX_GB: '0.0001' }, { logger })
  // The sweep at start-up: 210 kB on disk, 100 kB allowed.
  t.notOk(existsSync(old), 'past retention')
  t.notOk(existsSync(crashed), 'a writer that died (its sidecar stale for 2 h) is finished, and past retention')
  t.notOk(existsSync(b), 'over the cap: the oldest finished one')
  t.notOk(existsSync(c), 'then the next oldest')
  t.ok(existsSync(d), 'under the cap again: the newest finished one stays')
  t.ok(existsSync(live), 'a live recording (of another instance) is never deleted')
  t.ok(existsSync(join(dir, 'not-a-recording.txt')))
  t.match(app.recordings!.stats, { deletedRetention: 2, deletedSizeCap: 2, diskBytes: 80_000 })
  t.match(lines.find((l) => l.msg === 'recordings deleted'), { retention: 2, sizeCap: 2, bytesLeft: 80_000 })
  const base = await listen(app)
  const metrics = await metricsText(base)
  t.match(metrics, /musicshare_recordings_deleted_total\{reason="retention"\} 2/)
  t.match(metrics, /musicshare_recordings_deleted_total\{reason="size-cap"\} 2/)
  t.match(metrics, /musicshare_recordings_disk_bytes 80000/)

  await app.recordings!.sweep(Date.now())
  t.ok(existsSync(d), 'nothing more to delete')
})

t.test('a live recording that would pass the size cap stops and says so (log, metrics, status, health); the relay goes on', async (t) => {
  const dir = recordingsDir(t)
  const d = fakeRecording(dir, '444444', 40_000, 60_000)
  const other = fakeRecording(dir, '555555', 40_000, 1_000, 'recording')
  const { lines, logger } = logLines()
  const app = await build(t, { RECORDINGS_DIR: dir, RECORDINGS_MAX_GB: '0.0001', ...FAST }, { logger })
  const base = await listen(app)
  await startOver(base)
  const ws = await openWs(`${base}/api/share/123456/ws`)
  await until(() => app.push.hub.listenerCount('123456') === 1, 'listening')
  await playSongs(base, [{ title: 'Long', chunks: 16 }])
  await until(() => ws.messages.filter((m) => m.binary).length === 16, 'every chunk reached the listener')
  await until(() => app.recordings!.liveStatus('123456')?.state === 'stopped', 'the recording stopped')
  t.notOk(existsSync(d), 'first the finished recording was deleted to make room')
  t.ok(existsSync(other), 'the other live one was not')
  const status = (await statusOf(base)).recording!
  t.match(status, { state: 'stopped', reason: 'size-cap' })
  t.ok(status.bytes <= 60_000 && status.bytes > 20_000, `${status.bytes} bytes: as much as fitted under the cap`)
  t.match(lines.find((l) => l.msg === 'recording stopped early: the share goes on unrecorded'), { sessionId: '123456', reason: 'size-cap', level: 40 })
  t.match(await metricsText(base), /musicshare_recordings_stopped_total\{reason="size-cap"\} 1/)
  t.match((await jsonOf(fetch(`${base}/health`))), { status: 'degraded', checks: { recordings: { status: 'degraded' } } })
  const download = Buffer.from(await (await fetch(`${base}/api/share/123456/recording.ogg`, { headers: AUTH })).arrayBuffer())
  t.ok(parseOggPages(download).every((p) => p.crcOk), 'what was recorded still downloads, whole pages')
})

t.test('RECORDING_MAX_HOURS: a recording stops at its length; status, log and metrics say so', async (t) => {
  const dir = recordingsDir(t)
  const { lines, logger } = logLines()
  const app = await build(t, { RECORDINGS_DIR: dir, RECORDING_MAX_HOURS: '0.0005', ...FAST }, { logger })
  const base = await listen(app)
  await startOver(base)
  await playSongs(base, [{ title: 'Endless', chunks: 8 }])
  await until(() => app.recordings!.liveStatus('123456')?.state === 'stopped', 'stopped at 1.8 s')
  await app.recordings!.settled()
  const recording = (await statusOf(base)).recording!
  t.match(recording, { state: 'stopped', reason: 'max-length' })
  t.ok(recording.seconds >= 1.8 && recording.seconds < 2.4, `${recording.seconds} s recorded of 1.8 s allowed`)
  t.match(lines.find((l) => l.msg === 'recording stopped early: the share goes on unrecorded'), { reason: 'max-length' })
  t.match(await metricsText(base), /musicshare_recordings_stopped_total\{reason="max-length"\} 1/)
  const pages = parseOggPages(Buffer.from(await (await fetch(`${base}/api/share/123456/recording.ogg`, { headers: AUTH })).arrayBuffer()))
  t.equal(pages.at(-1)!.flags & 0x04, 0x04, 'it ended cleanly, end-of-stream')
  await fetch(`${base}/api/share/123456/stop`, { method: 'POST', headers: AUTH })
  t.match((await statusOf(base)).recording,
    { state: 'finished', reason: 'max-length' }, 'after the end too')
})

t.test('a full disk (ENOSPC) stops the recording; live listeners (PCM and Opus) get every chunk', async (t) => {
  const dir = recordingsDir(t)
  // A disk that fills up after 20 kB.
  const fullDisk: OpenSegmentFile = async (path) => {
    const file = await openSegmentFile(path)
    let written = 0
    return {
      ...file,
      append: async (data) => {
        if (written + data.length > 20_000) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
        written += data.length
        return file.append(data)
      }
    }
  }
  const { lines, logger } = logLines()
  const app = await build(t, { RECORDINGS_DIR: dir, ...FAST }, { logger, recordingFiles: fullDisk })
  const base = await listen(app)
  await startOver(base)
  const pcm = await openWs(`${base}/api/share/123456/ws`)
  const opus = await openWs(`${base}/api/share/123456/ws?codec=opus`)
  await until(() => app.push.hub.listenerCount('123456') === 2, 'both listening')
  await playSongs(base, [{ title: 'Loud', chunks: 12 }])
  const binary = (ws: typeof pcm) => ws.messages.filter((m) => m.binary).map((m) => m.data.readUInt32LE(0))
  await until(() => binary(pcm).length === 12 && binary(opus).length === 12, 'every chunk reached both listeners')
  t.same(binary(pcm), [...Array(12).keys()])
  t.same(binary(opus), [...Array(12).keys()], 'the Opus stream the recording shared goes on without it')
  await until(() => app.recordings!.liveStatus('123456')?.state === 'stopped', 'the recording stopped')
  t.match(app.recordings!.liveStatus('123456'), { state: 'stopped', reason: 'disk-full' })
  t.ok(lines.some((l) => l.msg === 'recording write failed' && l.code === 'ENOSPC' && l.level === 50), 'logged as an error, with the code')
  t.match(await metricsText(base), /musicshare_recordings_stopped_total\{reason="disk-full"\} 1/)
  t.match((await jsonOf(fetch(`${base}/health`))), { status: 'degraded', checks: { recordings: { status: 'degraded' } } })
  const [recording] = readdirSync(dir)
  const ogg = readdirSync(join(dir, recording!)).find((f) => f.endsWith('.ogg'))!
  const { readFileSync } = await import('node:fs')
  const bytes = readFileSync(join(dir, recording!, ogg))
  t.ok(bytes.length <= 20_000 && bytes.length > 0, `${bytes.length} bytes on disk`)
  t.ok(parseOggPages(bytes).every((p) => p.crcOk), 'the file ends on a whole page')
  t.equal((await fetch(`${base}/api/share/123456/audio?since=-1`, { headers: CLIENT_HEADERS })).status, 200, 'REST polls too')
})

t.test('RECORDING_BITRATE_KBPS other than OPUS_BITRATE_KBPS: the recording has an encoder of its own, not counted as a listener', async (t) => {
  const dir = recordingsDir(t)
  const app = await build(t, { RECORDINGS_DIR: dir, RECORDING_BITRATE_KBPS: '24', ...FAST })
  const base = await listen(app)
  await startOver(base)
  await until(() => app.opus.encoders === 1, 'the recording\'s encoder')
  t.equal(app.opus.listenerCount(), 0, 'a recording is no listener')
  const opus = await openWs(`${base}/api/share/123456/ws?codec=opus`)
  await until(() => app.opus.encoders === 2, 'and the listeners\' one')
  await playSongs(base, [{ title: 'Low', chunks: 10 }])
  await recorded(app, 4.9)
  await until(() => opus.messages.filter((m) => m.binary).length === 10, 'the listener got every chunk')
  const recording = (await statusOf(base)).recording!
  const recordedRate = recording.bytes / recording.seconds * 8 / 1000
  const liveBytes = opus.messages.filter((m) => m.binary).reduce((n, m) => n + m.data.length, 0)
  t.ok(recordedRate > 15 && recordedRate < 40, `the recording: ${recordedRate.toFixed(1)} kbit/s (24 asked)`)
  t.ok(liveBytes / 5 * 8 / 1000 > 90, `the listener: ${(liveBytes / 5 * 8 / 1000).toFixed(1)} kbit/s (128)`)
  opus.ws.close()
  await until(() => app.opus.encoders === 1, 'the listener gone, its encoder stops; the recording\'s goes on')
})
