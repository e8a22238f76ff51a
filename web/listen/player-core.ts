/**
 * The listener's playback engine, free of any browser API so it runs in an AudioWorklet, in a
 * ScriptProcessorNode fallback and in unit tests alike.
 *
 * Audio arrives in chunks at the source's rate and is kept in a ring (the jitter buffer) at that rate.
 * Rendering reads it at the device's rate with linear interpolation, so resampling and a speed change
 * are the same operation: a read step of `sourceRate / deviceRate * speed` source frames per output frame.
 *
 * Two ways to decide what to play:
 *
 * **Buffer mode** (PCM, or Opus while the server's clock is unknown): keep a buffer depth.
 *  - Playback starts once `targetSeconds` are buffered (1 s at first), fading in.
 *  - When the buffer runs dry it fades out over the frames it still has (no click), counts an underrun,
 *    waits for the target again and raises the target a little (a jittery network earns a deeper buffer).
 *  - When the buffer grows past the target it plays slightly faster until it is back (gentle catch-up);
 *    far past it, it fades out, skips ahead to the target and fades back in.
 *
 * **Sync mode** (timed audio, see timeline.ts, and a clock set with `setSync`): play each sample at a
 * given server time. Every frame pushed with times has a smooth stamp; the frame with stamp `S` is due
 * to be heard at server time `S + latencyMs`. The render call gives the context time of its first frame,
 * and `serverMinusContextMs` turns that into the server time it will be heard at. Then:
 *  - Starting (or after an underrun or a resync): silence until the oldest buffered frame is due, or a
 *    jump to the frame due now, to the output frame; only on settled audio (stamped alike on every page).
 *  - Playing: the error is the stamp being played minus the stamp due. It is corrected by the playback
 *    rate, proportionally, at most ±0.5 % (a pitch change nobody hears). Only past `HARD_ERROR_MS`
 *    the player fades out and starts over as above: skipping ahead when late, waiting when early.
 * Each pushed frame also has a raw stamp (when it reached the server); `takeTrace` reports which raw
 * stamp was rendered at which context time, so the page can tell which sample is heard right now.
 */

export type PlayerState = 'buffering' | 'playing'

export interface PlayerOptions {
  /** The output (device) sample rate. */
  deviceRate: number
  /** Seconds buffered before playback starts (buffer mode). */
  startSeconds?: number
  /** Most seconds the ring holds (older audio is dropped). */
  capacitySeconds?: number
}

/** Where the audio is heard on the server's clock (sync mode). */
export interface SyncSettings {
  /** Server time (ms) at which the output frame of context time `t` seconds is heard: `t * 1000 + this`. */
  serverMinusContextMs: number
  /** The shared target latency: the frame with smooth stamp `S` is heard at server time `S + latencyMs`. */
  latencyMs: number
}

/** Stamps (server ms) of the first frame of a push; the following frames count on at the source rate. */
export interface FrameStamps {
  raw: number
  smooth: number
  /** Whether every page computes the same smooth stamp for it (timeline.ts); sync starts only on such audio. */
  settled: boolean
}

export interface PlayerStats {
  state: PlayerState
  mode: 'buffer' | 'sync'
  /** Output frames rendered from real audio (silence while buffering is not counted). */
  framesPlayed: number
  underruns: number
  /** Seconds of audio waiting in the jitter buffer. */
  bufferedSeconds: number
  /** The buffer depth playback aims for (sync mode: the target latency). */
  targetSeconds: number
  /** Playback speed: 1, or slightly more or less while catching up. */
  speed: number
  /** Times the player skipped ahead (buffer far too deep, or sync mode far behind). */
  skips: number
  /** Sync mode: times it waited because it was far ahead. */
  waits: number
  /** Sync mode: stamp played minus stamp due at the last render, ms (null in buffer mode). */
  syncErrorMs: number | null
  /** RMS level of the left channel rendered since the previous stats() (before the volume control). */
  level: number
}

/** Fade length for starts, stops and skips (seconds). */
const FADE_SECONDS = 0.012
/** Buffer mode: catch up when the buffer is this far over the target; stop once back within CATCH_UP_UNTIL. */
const CATCH_UP_ABOVE = 0.35
const CATCH_UP_UNTIL = 0.08
/** Catch-up speed: 3 % faster is a barely audible pitch change. */
const CATCH_UP_SPEED = 1.03
/** Skip ahead when the buffer is this far over the target. */
const SKIP_ABOVE = 3
/** The target never grows past this after underruns. */
const MAX_TARGET = 3
/** Sync mode: rate correction per ms of error, and its bound (0.5 %). */
export const SYNC_GAIN_PER_MS = 0.0005
export const MAX_RATE_CHANGE = 0.005
/** Sync mode: past this error, skip or wait instead of bending the rate. */
export const HARD_ERROR_MS = 120
/** Trace entries kept when nobody takes them. */
const MAX_TRACE = 4096

interface Mark extends FrameStamps { at: number }

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
  /** Stamps at absolute frame positions, ascending (sync mode and the trace). */
  #marks: Mark[] = []
  #sync: SyncSettings | undefined
  #syncError: number | null = null
  #state: PlayerState = 'buffering'
  #gain = 0
  #target: number
  #speed = 1
  #skipPending = false
  /** Sync mode: fade out this quantum, then start over (+1 ahead: wait, -1 behind: skip). */
  #resyncPending = 0
  #framesPlayed = 0
  #underruns = 0
  #skips = 0
  #waits = 0
  #sumSquares = 0
  #levelFrames = 0
  /** (context time, raw stamp or NaN for silence, stamp ms per context ms) triples. */
  #trace: number[] = []

  constructor (options: PlayerOptions) {
    if (!(options.deviceRate > 0)) throw new RangeError('deviceRate must be positive')
    this.deviceRate = options.deviceRate
    this.#startSeconds = options.startSeconds ?? 1
    this.#capacitySeconds = options.capacitySeconds ?? 8
    this.#target = this.#startSeconds
  }

  /**
   * Adds interleaved samples, with the stamps of their first frame when they are timed (Opus). A new
   * sample rate starts a new buffer (the old audio is dropped); so does untimed audio after timed.
   */
  push (samples: Float32Array, channels: number, sampleRate: number, stamps?: FrameStamps): void {
    if (channels < 1 || sampleRate <= 0) return
    if (sampleRate !== this.#rate) this.#reset(sampleRate)
    const frames = Math.floor(samples.length / channels)
    if (stamps === undefined) this.#marks = []
    else {
      // Untimed audio still buffered cannot be placed in time: timed audio starts after it.
      if (this.#marks.length === 0) this.#read = Math.max(this.#read, this.#written)
      this.#marks.push({ at: this.#written, raw: stamps.raw, smooth: stamps.smooth, settled: stamps.settled })
    }
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

  /** Sets (or, with undefined, clears) the clock that sync mode plays against. */
  setSync (settings: SyncSettings | undefined): void {
    this.#sync = settings
    if (settings === undefined) this.#syncError = null
  }

  /**
   * Fills one render quantum. `right` may be the same array as `left` for mono output. `contextTime` is
   * when its first frame plays (AudioContext seconds); without it the player stays in buffer mode.
   */
  render (left: Float32Array, right: Float32Array, contextTime = NaN): void {
    const n = left.length
    left.fill(0)
    if (right !== left) right.fill(0)
    if (this.#rate === 0) return
    let from = 0
    const sync = this.#sync !== undefined && this.#marks.length > 0 && Number.isFinite(contextTime)
    if (sync) {
      const settings = this.#sync as SyncSettings
      // The smooth stamp due at this quantum's first frame.
      const due = contextTime * 1000 + settings.serverMinusContextMs - settings.latencyMs
      this.#target = settings.latencyMs / 1000
      if (this.#state === 'buffering') {
        from = this.#syncStart(due, n)
        if (from >= n) return this.#traceSilence(contextTime)
        this.#state = 'playing'
        this.#gain = 0
        this.#speed = 1
        this.#syncError = this.#stampAt(this.#read, 'smooth') - (due + (from / this.deviceRate) * 1000)
      } else {
        const error = this.#stampAt(this.#read, 'smooth') - due
        this.#syncError = error
        if (Math.abs(error) > HARD_ERROR_MS) this.#resyncPending = error > 0 ? 1 : -1
        else this.#speed = 1 - Math.max(-MAX_RATE_CHANGE, Math.min(MAX_RATE_CHANGE, error * SYNC_GAIN_PER_MS))
      }
    } else {
      this.#syncError = null
      const buffered = this.#bufferedSeconds()
      if (this.#state === 'buffering') {
        if (buffered < this.#target) return this.#traceSilence(contextTime)
        this.#state = 'playing'
        this.#gain = 0
      }
      // Catch-up with hysteresis, or a skip when far behind.
      if (buffered > this.#target + SKIP_ABOVE) this.#skipPending = true
      else if (buffered > this.#target + CATCH_UP_ABOVE) this.#speed = CATCH_UP_SPEED
      else if (buffered < this.#target + CATCH_UP_UNTIL) this.#speed = 1
    }

    const step = (this.#rate / this.deviceRate) * this.#speed
    const fadeStep = 1 / Math.max(1, FADE_SECONDS * this.deviceRate)
    const available = this.#written - this.#read
    // Frames that can be interpolated from what is buffered (each needs the next source frame too).
    const renderable = Math.max(0, Math.min(n - from, Math.floor((available - 1) / step)))
    const end = from + renderable
    const fadingOut = end < n || this.#skipPending || this.#resyncPending !== 0
    // Fading out: reach zero exactly at the last renderable frame.
    const outStep = fadingOut ? this.#gain / Math.max(1, renderable) : 0
    const contextStep = 1 / this.deviceRate
    if (from > 0) this.#traceSilence(contextTime)
    let mark = this.#markIndex(this.#read)
    let nextMarkAt = this.#marks[mark + 1]?.at ?? Infinity
    this.#traceAt(contextTime + from * contextStep, mark)
    for (let i = from; i < end; i++) {
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
      if (this.#read >= nextMarkAt) {
        // A new stamp (a chunk boundary, where the raw stamps jump by the network's jitter) mid-quantum.
        mark = this.#markIndex(this.#read)
        nextMarkAt = this.#marks[mark + 1]?.at ?? Infinity
        this.#traceAt(contextTime + (i + 1) * contextStep, mark)
      }
    }
    if (end < n) this.#traceSilence(contextTime + end * contextStep)
    this.#framesPlayed += renderable
    for (let i = 0; i < n; i++) this.#sumSquares += (left[i] as number) * (left[i] as number)
    this.#levelFrames += n
    this.#dropMarks()
    if (this.#resyncPending !== 0) {
      if (this.#resyncPending > 0) this.#waits++
      else this.#skips++
      this.#resyncPending = 0
      this.#state = 'buffering'
      this.#gain = 0
      this.#speed = 1
    } else if (this.#skipPending) {
      this.#skipPending = false
      this.#skips++
      this.#gain = 0
      this.#read = Math.max(this.#read, this.#written - this.#target * this.#rate)
    } else if (end < n) {
      this.#underruns++
      this.#state = 'buffering'
      this.#speed = 1
      if (!sync) this.#target = Math.min(MAX_TARGET, this.#target * 1.25)
    }
  }

  stats (): PlayerStats {
    const level = this.#levelFrames === 0 ? 0 : Math.sqrt(this.#sumSquares / this.#levelFrames)
    this.#sumSquares = 0
    this.#levelFrames = 0
    return {
      level,
      state: this.#state,
      mode: this.#syncError === null ? 'buffer' : 'sync',
      framesPlayed: this.#framesPlayed,
      underruns: this.#underruns,
      bufferedSeconds: this.#bufferedSeconds(),
      targetSeconds: this.#target,
      speed: this.#speed,
      skips: this.#skips,
      waits: this.#waits,
      syncErrorMs: this.#syncError
    }
  }

  /**
   * What was rendered since the last call, as (context time, raw stamp, stamp ms per context ms) triples:
   * from each entry's time on, the frame rendered has the raw stamp `raw + (t - time) * 1000 * rate`;
   * a NaN stamp is silence. For the page to tell which sample is heard at a given moment.
   */
  takeTrace (): Float64Array {
    const out = Float64Array.from(this.#trace)
    this.#trace = []
    return out
  }

  /** Starting in sync mode: the output frame to start at (n: not yet), with the read position moved to the frame due. */
  #syncStart (due: number, n: number): number {
    for (;;) {
      if (this.#written - this.#read < 2) return n
      const mark = this.#markIndex(this.#read)
      const m = this.#marks[mark] as Mark
      const segmentEnd = this.#marks[mark + 1]?.at ?? this.#written
      if (!m.settled) {
        // Its stamp may differ on a page that heard more before it: never start on it.
        this.#read = segmentEnd
        continue
      }
      const stamp = this.#stampAt(this.#read, 'smooth')
      if (stamp >= due) {
        // Not due yet: wait, to the frame.
        const wait = Math.round(((stamp - due) / 1000) * this.deviceRate)
        return wait >= n ? n : wait
      }
      const endStamp = m.smooth + ((segmentEnd - m.at) / this.#rate) * 1000
      if (due < endStamp - 1000 / this.#rate) {
        this.#read = m.at + ((due - m.smooth) / 1000) * this.#rate
        return 0
      }
      // All of this segment is past due.
      this.#read = segmentEnd
    }
  }

  /** Index of the mark in force at frame position `pos` (-1 when there is none). */
  #markIndex (pos: number): number {
    const marks = this.#marks
    let i = 0
    while (i + 1 < marks.length && (marks[i + 1] as Mark).at <= pos) i++
    return marks.length === 0 || (marks[0] as Mark).at > pos ? -1 : i
  }

  #stampAt (pos: number, kind: 'raw' | 'smooth'): number {
    const m = this.#marks[this.#markIndex(pos)]
    return m === undefined ? NaN : m[kind] + ((pos - m.at) / this.#rate) * 1000
  }

  /** Marks wholly behind the read position go (the one in force stays). */
  #dropMarks (): void {
    let drop = 0
    while (drop + 1 < this.#marks.length && (this.#marks[drop + 1] as Mark).at <= this.#read) drop++
    if (drop > 0) this.#marks.splice(0, drop)
  }

  #traceAt (time: number, mark: number): void {
    const m = this.#marks[mark]
    if (m === undefined || !Number.isFinite(time)) return this.#traceSilence(time)
    // The stamp advances `speed` ms per ms of output.
    this.#pushTrace(time, m.raw + ((this.#read - m.at) / this.#rate) * 1000, this.#speed)
  }

  #traceSilence (time: number): void {
    if (Number.isFinite(time)) this.#pushTrace(time, NaN, 0)
  }

  #pushTrace (time: number, raw: number, rate: number): void {
    const trace = this.#trace
    // Consecutive silence adds nothing.
    if (Number.isNaN(raw) && trace.length >= 3 && Number.isNaN(trace[trace.length - 2] as number)) return
    trace.push(time, raw, rate)
    if (trace.length > MAX_TRACE * 3) trace.splice(0, trace.length - MAX_TRACE * 3)
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
    this.#marks = []
    this.#state = 'buffering'
    this.#gain = 0
    this.#speed = 1
    this.#target = this.#startSeconds
  }
}
