/**
 * Collects 48 kHz interleaved float audio and cuts it into fixed-size s16 frames for the encoder.
 *
 * It always keeps `holdback` frames unconsumed so that, at a discontinuity, the tail of the old
 * segment can still be faded out (fadeOutTail) before it is encoded: a hard cut from one waveform
 * to another is an audible click. The holdback adds holdback / 48 kHz of latency (2.5 ms default).
 */
export class FrameAccumulator {
  private buf: Float32Array
  private start = 0 // float index of the first pending sample
  private end = 0 // float index after the last pending sample

  constructor(
    readonly channels: number,
    readonly frameSamples: number,
    readonly holdback: number,
  ) {
    this.buf = new Float32Array(4 * (frameSamples + holdback) * channels)
  }

  /** Pending frames (per channel) not yet returned by takeFrames(). */
  get pendingFrames(): number {
    return (this.end - this.start) / this.channels
  }

  push(samples: Float32Array): void {
    if (samples.length === 0) return
    this.ensureRoom(samples.length)
    this.buf.set(samples, this.end)
    this.end += samples.length
  }

  /** Appends `frames` frames of digital silence. */
  pushSilence(frames: number): void {
    const n = frames * this.channels
    this.ensureRoom(n)
    this.buf.fill(0, this.end, this.end + n)
    this.end += n
  }

  /** Linear fade to zero over the last min(fadeFrames, pending) frames. */
  fadeOutTail(fadeFrames: number): void {
    const n = Math.min(fadeFrames, this.pendingFrames)
    const ch = this.channels
    const first = this.end - n * ch
    for (let f = 0; f < n; f++) {
      const gain = (n - f - 1) / n
      for (let c = 0; c < ch; c++) {
        const i = first + f * ch + c
        this.buf[i] = (this.buf[i] as number) * gain
      }
    }
  }

  /**
   * Removes every complete frame that leaves at least `holdback` frames pending and returns them
   * as s16 interleaved PCM (frameSamples * channels values each). With drain = true the holdback
   * is released too (the caller pads to a frame boundary first when it needs everything out).
   */
  takeFrames(drain = false): Int16Array[] {
    const ch = this.channels
    const frameLen = this.frameSamples * ch
    const keep = drain ? 0 : this.holdback * ch
    const frames: Int16Array[] = []
    while (this.end - this.start - keep >= frameLen) {
      frames.push(floatToS16(this.buf.subarray(this.start, this.start + frameLen)))
      this.start += frameLen
    }
    return frames
  }

  clear(): void {
    this.start = 0
    this.end = 0
  }

  private ensureRoom(extra: number): void {
    if (this.end + extra <= this.buf.length) return
    const pending = this.end - this.start
    if (pending + extra <= this.buf.length && this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end)
    } else {
      const next = new Float32Array(Math.max(2 * this.buf.length, pending + extra))
      next.set(this.buf.subarray(this.start, this.end))
      this.buf = next
    }
    this.start = 0
    this.end = pending
  }
}

/** Float [-1, 1] -> s16 with clamping and round-half-away-from-zero. NaN maps to 0. */
export function floatToS16(src: Float32Array): Int16Array {
  const out = new Int16Array(src.length)
  for (let i = 0; i < src.length; i++) {
    let s = (src[i] as number) * 32768
    s = s >= 32767 ? 32767 : s <= -32768 ? -32768 : s
    // Int16Array stores NaN as 0 and truncates towards zero, hence the explicit ±0.5.
    out[i] = s + (s >= 0 ? 0.5 : -0.5)
  }
  return out
}
