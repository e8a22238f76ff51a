import { execFileSync, spawnSync } from 'node:child_process'

/**
 * ffmpeg/ffprobe availability. Locally a missing tool skips the test with a one-line reason;
 * under CI=true it is a failure, so CI cannot pass silently without the end-to-end checks.
 */
export function ffmpegMissingReason(): string | null {
  for (const tool of ['ffmpeg', 'ffprobe']) {
    const probe = spawnSync(tool, ['-version'], { stdio: 'ignore' })
    if (probe.error !== undefined || probe.status !== 0) {
      return `${tool} not found: install the Debian package ffmpeg (apt-get install -y --no-install-recommends ffmpeg)`
    }
  }
  return null
}

export const isCI = process.env.CI === 'true'

export interface ProbedStream {
  codec_name?: string
  sample_rate?: string
  channels?: number
  start_time?: string
  duration?: string
}

export function ffprobeStreams(file: string): { streams: ProbedStream[]; stderr: string } {
  const res = spawnSync('ffprobe', ['-v', 'warning', '-print_format', 'json', '-show_streams', file], { encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`ffprobe failed: ${res.stderr}`)
  const parsed = JSON.parse(res.stdout) as { streams?: ProbedStream[] }
  return { streams: parsed.streams ?? [], stderr: res.stderr }
}

/** Decodes to interleaved float32 at 48 kHz with the given channel count; returns samples and warnings. */
export function ffmpegDecodeF32(file: string, channels: number): { samples: Float32Array; warnings: string } {
  const res = spawnSync(
    'ffmpeg',
    ['-v', 'warning', '-nostdin', '-i', file, '-f', 'f32le', '-acodec', 'pcm_f32le', '-ar', '48000', '-ac', String(channels), '-'],
    { maxBuffer: 1 << 28 },
  )
  if (res.status !== 0) throw new Error(`ffmpeg failed: ${res.stderr.toString()}`)
  const out = res.stdout
  const samples = new Float32Array(out.length / 4)
  new Uint8Array(samples.buffer).set(out.subarray(0, samples.length * 4))
  return { samples, warnings: res.stderr.toString().trim() }
}

export function ffmpegVersion(): string {
  return execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }).split('\n')[0] ?? ''
}
