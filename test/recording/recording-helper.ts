import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import type { App } from '../../app.js'
import { CLIENT_HEADERS, clientMetadata, eventually } from '../helper.js'
import { postAudio, postMetadata } from '../push/push-helper.js'
import { sineChunk } from '../codec/helpers/signal.js'
import { ffmpegMissingReason, isCI } from '../codec/helpers/ffmpeg.js'

/** Rate limits out of the way: the tests post a session's worth of audio in a second or two. */
export const FAST = { RATE_LIMIT_AUDIO_PER_SECOND: '1000', RATE_LIMIT_METADATA_PER_SECOND: '1000' }

/** ffmpeg/ffprobe, or the reason the tests that decode are skipped (a failure under CI=true). */
const missing = ffmpegMissingReason()
export const needsFfmpeg = missing === null ? {} : { skip: isCI ? false : missing }
export function assertFfmpeg (t: Test): boolean {
  if (missing === null) return true
  t.fail(`CI=true requires ffmpeg: ${missing}`)
  return false
}

/** A folder of its own for the test's recordings, removed when it ends. */
export function recordingsDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'recordings-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The tone as the client sends it: 0.5 s chunks of 44.1 kHz stereo, phase-continuous. */
export const tone = (i: number) => sineChunk(44100, 2, 22050, i * 0.5)

/** Posts songs the way the client does: each title's metadata, then its chunks of the tone. */
export async function playSongs (base: string, songs: ReadonlyArray<{ title: string, chunks: number }>, firstChunk = 0, sessionId = '123456'): Promise<number> {
  let seq = firstChunk
  for (const song of songs) {
    await postMetadata(base, clientMetadata({ title: song.title, elapsedSeconds: 0.1 }), sessionId)
    for (let i = 0; i < song.chunks; i++, seq++) await postAudio(base, seq, tone(seq), sessionId)
  }
  return seq
}

/** Waits until the session's recording holds `seconds` of audio. */
export async function recorded (app: App, seconds: number, sessionId = '123456'): Promise<void> {
  await eventually(() => (app.recordings!.liveStatus(sessionId)?.seconds ?? 0) >= seconds || undefined, `${seconds} s recorded`, 10_000)
}

/** Writes `bytes` into a file of the test folder and answers its path. */
export function saveFile (dir: string, name: string, bytes: Buffer): string {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return path
}

/** The INDEX 01 times (seconds) and titles of a CUE sheet. */
export function cueTracks (text: string): Array<{ title: string, at: number }> {
  const tracks: Array<{ title: string, at: number }> = []
  let title = ''
  for (const line of text.split(/\r?\n/)) {
    const t = /^ {4}TITLE "(.*)"$/.exec(line)
    if (t !== null) title = t[1]!
    const i = /^ {4}INDEX 01 (\d+):(\d\d):(\d\d)$/.exec(line)
    if (i !== null) tracks.push({ title, at: Number(i[1]) * 60 + Number(i[2]) + Number(i[3]) / 75 })
  }
  return tracks
}

/** A session's recording as status reports it. */
export interface RecordingField { state: string, reason: string | null, seconds: number, bytes: number }
export type StatusBody = Record<string, unknown> & { isActive: boolean, recording?: RecordingField }

/** GET /:id/status, as the desktop client sends it. */
export async function statusOf (base: string, sessionId = '123456'): Promise<StatusBody> {
  return await (await fetch(`${base}/api/share/${sessionId}/status`, { headers: CLIENT_HEADERS })).json() as StatusBody
}

/** The JSON of an answer (an error body, an acknowledgement). */
export async function jsonOf (res: Response | Promise<Response>): Promise<Record<string, unknown>> {
  return await (await res).json() as Record<string, unknown>
}
