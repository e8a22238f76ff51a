import type { Test } from 'tap'
import { buildApp, type App, type BuildOptions } from '../app.js'
import { loadConfig } from '../src/config.js'
import { encodeFloat32Base64 } from '../src/session/pcm-codec.js'

export const TOKEN = 'Multicore2024SR'
/** Headers the desktop client sends on every request (CLIENT.md). */
export const CLIENT_HEADERS = {
  authorization: `Bearer ${TOKEN}`,
  'user-agent': 'SongRequest Desktop v1.4.2'
} as const
export const JSON_HEADERS = { ...CLIENT_HEADERS, 'content-type': 'application/json' } as const

export function testConfig (env: Record<string, string> = {}) {
  // Load shedding is off unless a test turns it on: two cores running test files in parallel (and
  // compiling them) stall event loops far more than production does; test/integration/limits tests it.
  // Statistics are off unless a test turns them on (with a database of its own, not ./data).
  return loadConfig({ BEARER_TOKEN: `Bearer ${TOKEN}`, LOG_LEVEL: 'silent', MAX_EVENT_LOOP_DELAY_MS: '0', STATS: 'off', ...env })
}

/** Builds the app for one test and closes it when the test ends. */
export async function build (t: Test, env: Record<string, string> = {}, options: BuildOptions = {}): Promise<App> {
  const app = await buildApp(testConfig(env), options)
  t.teardown(() => app.close())
  await app.ready()
  return app
}

export async function startSession (app: App, sessionId = '123456') {
  const res = await app.inject({ method: 'POST', url: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId } })
  if (res.statusCode !== 200) throw new Error(`start failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** `frames` stereo frames of a sine, starting at frame `startFrame` (so consecutive chunks join up). */
export function sine (frames: number, startFrame = 0, hz = 440, sampleRate = 44100, channels = 2): Float32Array {
  const out = new Float32Array(frames * channels)
  for (let f = 0; f < frames; f++) {
    const v = Math.sin((2 * Math.PI * hz * (startFrame + f)) / sampleRate) * 0.5
    for (let c = 0; c < channels; c++) out[f * channels + c] = v
  }
  return out
}

/** The client's audio body: 44100 samples = 0.5 s of 44.1 kHz stereo. */
export function clientChunk (sequenceNumber: number, samples = sine(22050, sequenceNumber * 22050)) {
  return { data: encodeFloat32Base64(samples), sampleRate: 44100, channels: 2, timestamp: Date.now(), sequenceNumber }
}

export function clientMetadata (over: Record<string, unknown> = {}) {
  return {
    title: 'Song Title',
    artist: 'Artist Name',
    lyrics: '[00:12.50]Lyrics line 1\n[00:15.80]Lyrics line 2',
    hasSyncedLyrics: true,
    elapsedSeconds: 45.2,
    totalSeconds: 180.5,
    thumbnailData: Buffer.from('\xff\xd8\xff\xe0 not really a jpeg', 'latin1').toString('base64'),
    timestamp: 1234567890123,
    ...over
  }
}

/** Uniform error body assertion shape. */
export const errorShape = (code: string) => ({ success: false, code, error: String, timestamp: Number })

/**
 * Calls `check` every `everyMs` until it returns something other than undefined (state that settles
 * asynchronously, with no event to wait on); throws naming `what` after `timeoutMs`.
 */
export async function eventually<T> (check: () => Promise<T | undefined> | T | undefined, what: string,
  timeoutMs = 5_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  throw new Error(`timed out waiting for ${what}`)
}
