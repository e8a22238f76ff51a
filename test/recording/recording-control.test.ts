import t from 'tap'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { inspectSegment } from '../../src/recording/recording-reader.js'
import { readMeta } from '../../src/recording/recording-store.js'
import { build, CLIENT_HEADERS, clientMetadata, errorShape, JSON_HEADERS, startSession } from '../helper.js'
import { readStatus } from '../client-contract.js'
import { AUTH, listen, postMetadata, startOver } from '../push/push-helper.js'
import { FAST, jsonOf, playSongs, recorded, recordingsDir, statusOf } from './recording-helper.js'

const toggle = (base: string, enabled: unknown, headers: Record<string, string>) =>
  fetch(`${base}/api/share/123456/recording`, { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify({ enabled }) })

t.test('RECORDING_DEFAULT=on: the session is recorded without a word from the client; its sharer opts out (deleting it) and in again', async (t) => {
  const dir = recordingsDir(t)
  const app = await build(t, { RECORDINGS_DIR: dir, ...FAST })
  const base = await listen(app)
  const { sharerKey } = await startOver(base)
  const status = () => statusOf(base)
  const first = await status()
  t.match(first.recording, { state: 'recording', reason: null, bytes: 0 })
  t.same(readStatus(first), readStatus({ ...first, recording: undefined }), 'the desktop client reads status as before (an extra field)')
  await playSongs(base, [{ title: 'Private', chunks: 3 }])
  await recorded(app, 1.4)
  t.equal(readdirSync(dir).length, 1, 'a recording on disk')

  t.equal((await toggle(base, false, { 'x-sharer-key': 'wrong' })).status, 403, 'a wrong key is refused')
  t.match(await jsonOf(toggle(base, 'no', { 'x-sharer-key': sharerKey })), errorShape('VALIDATION_ERROR'))
  const off = await toggle(base, false, { 'x-sharer-key': sharerKey })
  t.equal(off.status, 200)
  t.same(await jsonOf(off), { success: true, recording: { state: 'off', reason: 'opted-out', seconds: 0, bytes: 0 } })
  t.same(readdirSync(dir), [], 'what was recorded is deleted')
  t.equal((await fetch(`${base}/api/share/123456/recording.ogg`, { headers: AUTH })).status, 404)
  await playSongs(base, [{ title: 'Still private', chunks: 2 }], 3)
  t.same(readdirSync(dir), [], 'and nothing more is recorded')
  t.match((await status()).recording, { state: 'off', reason: 'opted-out' })

  const on = await toggle(base, true, { 'x-sharer-key': sharerKey })
  t.match(await jsonOf(on), { success: true, recording: { state: 'recording', reason: null } })
  await playSongs(base, [{ title: 'Public', chunks: 4 }], 5)
  // 2 s posted; a segment that starts mid-stream skips its first 160 ms (the decoder's settling).
  await recorded(app, 1.8)
  const download = await fetch(`${base}/api/share/123456/recording.cue`, { headers: AUTH })
  t.match(await download.text(), /TITLE "Public"/)
  t.notMatch(await (await fetch(`${base}/api/share/123456/recording.cue`, { headers: AUTH })).text(), /Private/, 'only what came after the opt-in')
})

t.test('RECORDING_DEFAULT=off: nothing is recorded unless the sharer opts in; a receiver cannot', async (t) => {
  const dir = recordingsDir(t)
  const app = await build(t, { RECORDINGS_DIR: dir, RECORDING_DEFAULT: 'off', ...FAST })
  const started = await startSession(app)
  const status = await app.inject({ url: '/api/share/123456/status', headers: CLIENT_HEADERS })
  t.match(status.json().recording, { state: 'off', reason: null })
  const post = (remoteAddress: string, headers: Record<string, string> = {}) => app.inject({
    method: 'POST', url: '/api/share/123456/recording', headers: { ...JSON_HEADERS, ...headers }, payload: { enabled: true }, remoteAddress
  })
  t.match((await post('10.9.9.9')).json(), errorShape('FORBIDDEN'), 'another address without the key: refused')
  t.match((await post('10.9.9.9', { 'x-sharer-key': started.sharerKey })).json(), { recording: { state: 'recording' } })
  t.equal(app.recordings!.recording, 1)
  const key = await app.inject({ method: 'POST', url: `/api/share/123456/recording?key=${started.listenKey}`, headers: { 'content-type': 'application/json' }, payload: { enabled: false } })
  t.equal(key.statusCode, 401, 'a listen key does not send')
  t.match((await app.inject({ method: 'POST', url: '/api/share/654321/recording', headers: JSON_HEADERS, payload: { enabled: true } })).json(),
    errorShape('SESSION_NOT_FOUND'))
})

t.test('without RECORDINGS_DIR nothing is recorded: the toggle says so, status has no recording field, history still works', async (t) => {
  const app = await build(t)
  await startSession(app)
  t.equal(app.recordings, null)
  const toggled = await app.inject({ method: 'POST', url: '/api/share/123456/recording', headers: JSON_HEADERS, payload: { enabled: true } })
  t.equal(toggled.statusCode, 409)
  t.match(toggled.json(), errorShape('RECORDING_OFF'))
  t.match((await app.inject({ url: '/api/share/123456/recording.ogg', headers: CLIENT_HEADERS })).json(), errorShape('RECORDING_NOT_FOUND'))
  t.notOk('recording' in (await app.inject({ url: '/api/share/123456/status', headers: CLIENT_HEADERS })).json())
  t.equal((await app.inject({ url: '/api/share/123456/history', headers: CLIENT_HEADERS })).statusCode, 200)
  await app.inject({ method: 'POST', url: '/api/share/123456/stop', headers: CLIENT_HEADERS })
  t.notOk('recording' in (await app.inject({ url: '/api/share/123456/status', headers: CLIENT_HEADERS })).json())
})

t.test('expiry and shutdown finish a segment cleanly: an end-of-stream page, fsynced, the sidecar closed with the reason', async (t) => {
  const dir = recordingsDir(t)
  const app = await build(t, { RECORDINGS_DIR: dir, ...FAST })
  const base = await listen(app)
  await startOver(base)
  await startOver(base, '222222')
  await playSongs(base, [{ title: 'Expires', chunks: 2 }])
  await playSongs(base, [{ title: 'Shut down', chunks: 2 }], 0, '222222')
  await recorded(app, 0.9)
  await recorded(app, 0.9, '222222')
  const segmentOf = (sessionId: string) => {
    const folder = readdirSync(dir).find((f) => f.startsWith(`${sessionId}-`))!
    const base = join(dir, folder, readdirSync(join(dir, folder)).find((f) => f.endsWith('.ogg'))!.replace(/\.ogg$/, ''))
    return { ogg: `${base}.ogg`, meta: `${base}.json` }
  }
  // 123456 goes quiet past the session timeout; 222222 is still live when the server closes.
  await postMetadata(base, clientMetadata({ title: 'Shut down', elapsedSeconds: 9 }), '222222')
  app.sessions.sweep(app.sessions.requireActive('123456').lastActivity + app.config.sessions.sessionTimeoutMs)
  t.equal(app.sessions.lookup('222222').state, 'active')
  await app.recordings!.settled()
  t.match(await inspectSegment(segmentOf('123456').ogg), { endsStream: true }, 'expired: end-of-stream')
  t.match(await readMeta(segmentOf('123456').meta), { state: 'closed', reason: 'ended', history: [{ title: 'Expires', endedAt: Number }] })
  await app.close()
  t.match(await inspectSegment(segmentOf('222222').ogg), { endsStream: true }, 'shut down: end-of-stream')
  t.match(await readMeta(segmentOf('222222').meta), { state: 'closed', reason: 'shutdown' })
})
