/** The shape of interleaved float32 PCM: how many frames a second, and how many samples a frame. */
export interface AudioFormat {
  readonly sampleRate: number
  readonly channels: number
}

export function sameFormat (a: AudioFormat, b: AudioFormat): boolean {
  return a.sampleRate === b.sampleRate && a.channels === b.channels
}

/** Seconds of audio in `length` interleaved samples of `format`. */
export function durationSeconds (chunk: { length: number, format: AudioFormat }): number {
  return chunk.length / chunk.format.channels / chunk.format.sampleRate
}
