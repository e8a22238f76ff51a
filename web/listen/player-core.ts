/**
 * The listener's playback engine, free of any browser API so it runs in an AudioWorklet, in a
 * ScriptProcessorNode fallback and in unit tests alike.
 *
 * Audio arrives in chunks at the sharer's rate and is kept in a ring (the jitter buffer) at that rate.
 * Rendering reads it at the device's rate with linear interpolation, so resampling and catching up are
 * the same operation: a read step of `sourceRate / deviceRate * speed` source frames per output frame.
 *  - Playback starts once `targetSeconds` are buffered (1 s at first), fading in.
 *  - When the buffer runs dry it fades out over the frames it still has (no click), counts an underrun,
 *    waits for the target again and raises the target a little (a jittery network earns a deeper buffer).
 *  - When the buffer grows past the target it plays slightly faster until it is back (gentle catch-up);
 *    far past it, it fades out, skips ahead to the target and fades back in.
 */

export type PlayerState = 'buffering' | 'playing'

export interface PlayerOptions {
  /** The output (device) sample rate. */
  deviceRate: number
  /** Seconds buffered before playback starts. */
  startSeconds?: number
  /** Most seconds the ring holds (older audio is dropped). */
  capacitySeconds?: number
}

export interface PlayerStats {
  state: PlayerState
  /** Output frames rendered from real audio (silence while buffering is not counted). */
  framesPlayed: number
  underruns: number
  /** Seconds of audio waiting in the jitter buffer. */
  bufferedSeconds: number
  /** The buffer depth playback aims for. */
  targetSeconds: number
  /** Playback speed: 1, or slightly more while catching up. */
  speed: number
  /** Times the player skipped ahead because the buffer was far too deep. */
  skips: number
  /** RMS level of the left channel rendered since the previous stats() (before the volume control). */
  level: number
}

/** Fade length for starts, stops and skips (seconds). */
const FADE_SECONDS = 0.012
/** Catch up when the buffer is this far over the target; stop once back within CATCH_UP_UNTIL. */
const CATCH_UP_ABOVE = 0.35
const CATCH_UP_UNTIL = 0.08
/** Catch-up speed: 3 % faster is a barely audible pitch change. */
const CATCH_UP_SPEED = 1.03
/** Skip ahead when the buffer is this far over the target. */
const SKIP_ABOVE = 3
/** The target never grows past this after underruns. */
const MAX_TARGET = 3

export class PlayerCore {
  readonly deviceRate: number
  readonly #startSeconds: number
  readonly #capacitySeconds: number
  #rate = 0
  #left = new Float32Array(0)
  #right = new Float32Array(0)
  #capacity = 0
  /** Absolute frame counts: frames written, and the (fractional) read position. */
  #written = 0
  #read = 0
  #state: PlayerState = 'buffering'
  #gain = 0
  #target: number
  #speed = 1
  #skipPending = false
  #framesPlayed = 0
  #underruns = 0
  #skips = 0
  #sumSquares = 0
  #levelFrames = 0

  constructor (options: PlayerOptions) {
    if (!(options.deviceRate > 0)) throw new RangeError('deviceRate must be positive')
    this.deviceRate = options.deviceRate
    this.#startSeconds = options.startSeconds ?? 1
    this.#capacitySeconds = options.capacitySeconds ?? 8
    this.#target = this.#startSeconds
  }

  /** Adds interleaved samples. A new sample rate starts a new buffer (the old audio is dropped). */
  push (samples: Float32Array, channels: number, sampleRate: number): void {
    if (channels < 1 || sampleRate <= 0) return
    if (sampleRate !== this.#rate) this.#reset(sampleRate)
    const frames = Math.floor(samples.length / channels)
    const second = channels > 1 ? 1 : 0
    for (let f = 0; f < frames; f++) {
      const at = (this.#written + f) % this.#capacity
      this.#left[at] = samples[f * channels] as number
      this.#right[at] = samples[f * channels + second] as number
    }
    this.#written += frames
    // Full ring: the oldest audio goes (the catch-up and skip keep this from happening in practice).
    if (this.#written - this.#read > this.#capacity - 2) this.#read = this.#written - this.#capacity + 2
  }

  /** Fills one render quantum. `right` may be the same array as `left` for mono output. */
  render (left: Float32Array, right: Float32Array): void {
    const n = left.length
    if (this.#rate === 0) {
      left.fill(0)
      right.fill(0)
      return
    }
    const buffered = this.#bufferedSeconds()
    if (this.#state === 'buffering') {
      if (buffered < this.#target) {
        left.fill(0)
        right.fill(0)
        return
      }
      this.#state = 'playing'
      this.#gain = 0
    }
    // Catch-up with hysteresis, or a skip when far behind.
    if (buffered > this.#target + SKIP_ABOVE) this.#skipPending = true
    else if (buffered > this.#target + CATCH_UP_ABOVE) this.#speed = CATCH_UP_SPEED
    else if (buffered < this.#target + CATCH_UP_UNTIL) this.#speed = 1

    const step = (this.#rate / this.deviceRate) * this.#speed
    const fadeStep = 1 / Math.max(1, FADE_SECONDS * this.deviceRate)
    const available = this.#written - this.#read
    // Frames that can be interpolated from what is buffered (each needs the next source frame too).
    const renderable = Math.max(0, Math.min(n, Math.floor((available - 1) / step)))
    const fadingOut = renderable < n || this.#skipPending
    // Fading out: reach zero exactly at the last renderable frame.
    const outStep = fadingOut ? this.#gain / Math.max(1, renderable) : 0
    for (let i = 0; i < n; i++) {
      if (i >= renderable) {
        left[i] = 0
        right[i] = 0
        continue
      }
      if (fadingOut) this.#gain = Math.max(0, this.#gain - outStep)
      else if (this.#gain < 1) this.#gain = Math.min(1, this.#gain + fadeStep)
      const pos = this.#read
      const base = Math.floor(pos)
      const frac = pos - base
      const a = base % this.#capacity
      const b = (base + 1) % this.#capacity
      left[i] = ((this.#left[a] as number) * (1 - frac) + (this.#left[b] as number) * frac) * this.#gain
      if (right !== left) right[i] = ((this.#right[a] as number) * (1 - frac) + (this.#right[b] as number) * frac) * this.#gain
      this.#read += step
    }
    this.#framesPlayed += renderable
    for (let i = 0; i < n; i++) this.#sumSquares += (left[i] as number) * (left[i] as number)
    this.#levelFrames += n
    if (this.#skipPending) {
      this.#skipPending = false
      this.#skips++
      this.#gain = 0
      this.#read = Math.max(this.#read, this.#written - this.#target * this.#rate)
    } else if (renderable < n) {
      this.#underruns++
      this.#state = 'buffering'
      this.#speed = 1
      this.#target = Math.min(MAX_TARGET, this.#target * 1.25)
    }
  }

  stats (): PlayerStats {
    const level = this.#levelFrames === 0 ? 0 : Math.sqrt(this.#sumSquares / this.#levelFrames)
    this.#sumSquares = 0
    this.#levelFrames = 0
    return {
      level,
      state: this.#state,
      framesPlayed: this.#framesPlayed,
      underruns: this.#underruns,
      bufferedSeconds: this.#bufferedSeconds(),
      targetSeconds: this.#target,
      speed: this.#speed,
      skips: this.#skips
    }
  }

  #bufferedSeconds (): number {
    return this.#rate === 0 ? 0 : Math.max(0, this.#written - this.#read) / this.#rate
  }

  #reset (sampleRate: number): void {
    this.#rate = sampleRate
    this.#capacity = Math.ceil(sampleRate * this.#capacitySeconds)
    this.#left = new Float32Array(this.#capacity)
    this.#right = new Float32Array(this.#capacity)
    this.#written = 0
    this.#read = 0
    this.#state = 'buffering'
    this.#gain = 0
    this.#speed = 1
    this.#target = this.#startSeconds
  }
}
