import { durationSeconds, sameFormat, type AudioFormat } from './audio-format.js'

/** One buffered chunk: where its samples sit in the ring. Its REST form comes from `AudioRing.jsonOf`. */
export interface BufferedChunk {
  readonly sequenceNumber: number
  readonly timestamp: number
  readonly format: AudioFormat
  /** Index of the first sample in the ring. */
  readonly offset: number
  /** Interleaved samples (frames x channels). */
  readonly length: number
}

export interface NewChunk {
  readonly samples: Float32Array
  readonly format: AudioFormat
  readonly timestamp: number
  readonly sequenceNumber: number
  /**
   * `[{"data":…,"sampleRate":…,"channels":…,"timestamp":…,"sequenceNumber":…}]`, the poll answer holding this
   * chunk alone (rest-wire.ts), when the chunk arrived as that text; otherwise `jsonOf` builds it from the
   * samples when first asked.
   */
  readonly json?: Buffer | undefined
}

/** Builds a chunk's serialised form from its samples. */
export type ChunkSerialiser = (chunk: BufferedChunk, samples: Float32Array) => Buffer

/** A buffered chunk with its serialised form, kept while the chunk is recent. */
interface StoredChunk extends BufferedChunk {
  json: Buffer | undefined
}

export interface AppendResult {
  /** The chunk as buffered. */
  readonly stored: BufferedChunk
  /** Chunks pushed out of the window (oldest first), including all of them on a format change. */
  readonly evicted: readonly BufferedChunk[]
  readonly formatChanged: boolean
}

/** Interleaved samples in `seconds` of whole frames of `format`. */
function windowSamples (seconds: number, format: AudioFormat): number {
  return Math.ceil(seconds * format.sampleRate) * format.channels
}

/**
 * A fixed window of interleaved float32 audio, measured in seconds, with an index of chunk boundaries.
 *
 * The ring holds one format at a time: a chunk in another format empties it and resizes it for the new
 * format, so every buffered chunk always shares the ring's format. Sequence numbers must increase
 * (the session rejects duplicates before they get here).
 *
 * Each chunk's REST JSON is kept while the chunk is among the newest `jsonSeconds` of audio, where
 * receivers that keep up (and new ones) read it; older chunks, read only by receivers that fell behind,
 * give their JSON up and have it rebuilt from the samples if asked. That halves what a session holds.
 */
export class AudioRing {
  #samples = new Float32Array(0)
  #format: AudioFormat | undefined
  /** Where the next sample is written. */
  #head = 0
  #used = 0
  #jsonBytes = 0
  #chunks: StoredChunk[] = []

  constructor (readonly windowSeconds: number, readonly jsonSeconds: number = windowSeconds) {
    if (!(windowSeconds > 0)) throw new RangeError('windowSeconds must be > 0')
  }

  get format (): AudioFormat | undefined { return this.#format }
  get chunkCount (): number { return this.#chunks.length }
  get newestSequence (): number { return this.#chunks.at(-1)?.sequenceNumber ?? -1 }
  get oldestSequence (): number { return this.#chunks[0]?.sequenceNumber ?? -1 }
  get capacitySamples (): number { return this.#samples.length }
  get bufferedSeconds (): number {
    return this.#format === undefined ? 0 : this.#used / this.#format.channels / this.#format.sampleRate
  }

  /** Memory this ring holds: the sample store plus the serialised chunks. */
  get bytesHeld (): number { return this.#samples.byteLength + this.#jsonBytes }

  append (chunk: NewChunk): AppendResult {
    const last = this.#chunks.at(-1)
    if (last !== undefined && chunk.sequenceNumber <= last.sequenceNumber) {
      throw new RangeError(`sequence ${chunk.sequenceNumber} is not after ${last.sequenceNumber}`)
    }
    if (chunk.samples.length % chunk.format.channels !== 0) {
      throw new RangeError('a chunk must hold whole frames')
    }
    const n = chunk.samples.length
    const formatChanged = this.#format !== undefined && !sameFormat(this.#format, chunk.format)
    const evicted: BufferedChunk[] = []

    if (this.#format === undefined || formatChanged || n > this.#samples.length) {
      evicted.push(...this.#chunks)
      this.#reset(chunk.format, n)
    }
    // The window is the configured duration (or the one chunk, when it alone is longer), not the store's
    // size: a store grown for an oversized chunk must not hold more than the window once that chunk is gone.
    const limit = Math.max(windowSamples(this.windowSeconds, chunk.format), n)
    while (this.#samples.length - this.#used < n || this.#used + n > limit) {
      const oldest = this.#chunks.shift()
      if (oldest === undefined) break
      this.#used -= oldest.length
      this.#dropJson(oldest)
      evicted.push(oldest)
    }
    // Give back the memory of a store grown for an oversized chunk once nothing in it is left.
    if (this.#chunks.length === 0 && this.#samples.length > limit) this.#reset(chunk.format, n)

    const offset = this.#head
    const firstPart = Math.min(n, this.#samples.length - offset)
    this.#samples.set(chunk.samples.subarray(0, firstPart), offset)
    if (firstPart < n) this.#samples.set(chunk.samples.subarray(firstPart), 0)
    this.#head = (offset + n) % this.#samples.length
    this.#used += n
    this.#jsonBytes += chunk.json?.byteLength ?? 0
    const stored: StoredChunk = {
      sequenceNumber: chunk.sequenceNumber,
      timestamp: chunk.timestamp,
      format: chunk.format,
      offset,
      length: n,
      json: chunk.json
    }
    this.#chunks.push(stored)
    this.#releaseColdJson()
    return { stored, evicted, formatChanged }
  }

  /**
   * The chunk's REST JSON: kept for recent chunks, built by `build` from the samples for older ones (the
   * ring holds the bytes but does not know the wire form: see rest-wire.ts).
   */
  jsonOf (chunk: BufferedChunk, build: ChunkSerialiser): Buffer {
    const stored = chunk as StoredChunk
    if (stored.json !== undefined) return stored.json
    const json = build(chunk, this.samplesOf(chunk))
    const newest = this.#chunks.at(-1)
    if (newest !== undefined && this.#isHot(stored, newest)) {
      stored.json = json
      this.#jsonBytes += json.byteLength
    }
    return json
  }

  /**
   * Chunks with a sequence number above `since`, oldest first, at most `max`.
   * `since = -1` is a new receiver: it starts near live, with the newest chunks covering at most
   * `joinBurstSeconds` (at least the newest one). A receiver behind the window gets the oldest held.
   */
  chunksAfter (since: number, max: number, joinBurstSeconds: number): readonly BufferedChunk[] {
    const chunks = this.#chunks
    let start: number
    if (since < 0) {
      start = chunks.length
      let seconds = 0
      while (start > 0) {
        seconds += durationSeconds(chunks[start - 1]!)
        if (seconds > joinBurstSeconds && start < chunks.length) break
        start--
      }
    } else {
      start = chunks.length
      while (start > 0 && chunks[start - 1]!.sequenceNumber > since) start--
    }
    return chunks.slice(start, start + max)
  }

  /** A copy of a buffered chunk's samples (the ring may wrap inside it). */
  samplesOf (chunk: BufferedChunk): Float32Array {
    if (!this.holds(chunk)) throw new RangeError(`chunk ${chunk.sequenceNumber} is no longer buffered`)
    const out = new Float32Array(chunk.length)
    const firstPart = Math.min(chunk.length, this.#samples.length - chunk.offset)
    out.set(this.#samples.subarray(chunk.offset, chunk.offset + firstPart))
    if (firstPart < chunk.length) out.set(this.#samples.subarray(0, chunk.length - firstPart), firstPart)
    return out
  }

  /** True while `chunk` is still in the window (its samples have not been overwritten). */
  holds (chunk: BufferedChunk): boolean {
    const chunks = this.#chunks
    let lo = 0
    let hi = chunks.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const seq = chunks[mid]!.sequenceNumber
      if (seq === chunk.sequenceNumber) return chunks[mid] === chunk
      if (seq < chunk.sequenceNumber) lo = mid + 1
      else hi = mid - 1
    }
    return false
  }

  /** Drops every chunk and frees the sample store. */
  clear (): readonly BufferedChunk[] {
    const dropped = this.#chunks
    this.#chunks = []
    this.#samples = new Float32Array(0)
    this.#format = undefined
    this.#head = 0
    this.#used = 0
    this.#jsonBytes = 0
    return dropped
  }

  #isHot (chunk: BufferedChunk, newest: BufferedChunk): boolean {
    const framesBehind = (newest.offset - chunk.offset + this.#samples.length) % this.#samples.length / chunk.format.channels
    return framesBehind / chunk.format.sampleRate < this.jsonSeconds
  }

  #releaseColdJson (): void {
    const newest = this.#chunks.at(-1)
    if (newest === undefined) return
    for (const chunk of this.#chunks) {
      if (chunk.json === undefined) continue
      if (this.#isHot(chunk, newest)) break
      this.#dropJson(chunk)
    }
  }

  #dropJson (chunk: StoredChunk): void {
    if (chunk.json === undefined) return
    this.#jsonBytes -= chunk.json.byteLength
    chunk.json = undefined
  }

  #reset (format: AudioFormat, minimumSamples: number): void {
    this.#samples = new Float32Array(Math.max(windowSamples(this.windowSeconds, format), minimumSamples))
    this.#format = format
    this.#chunks = []
    this.#head = 0
    this.#used = 0
    this.#jsonBytes = 0
  }
}
