/** Test signal generation and measurement (no production use). */

export const TONE_HZ = 440
export const TONE_AMPLITUDE = 0.5

/** Interleaved sine chunk; `startFrame` keeps phase continuous across chunks at this rate. */
export function sineChunk(sampleRate: number, channels: number, frames: number, startTimeSec: number): Float32Array {
  const out = new Float32Array(frames * channels)
  for (let f = 0; f < frames; f++) {
    const v = TONE_AMPLITUDE * Math.sin(2 * Math.PI * TONE_HZ * (startTimeSec + f / sampleRate))
    for (let c = 0; c < channels; c++) out[f * channels + c] = v
  }
  return out
}

/** Takes one channel out of interleaved data. */
export function channel(interleaved: Float32Array, channels: number, index: number): Float32Array {
  const out = new Float32Array(Math.floor(interleaved.length / channels))
  for (let i = 0; i < out.length; i++) out[i] = interleaved[i * channels + index] as number
  return out
}

/** Magnitude of the DFT bin at `hz` (Goertzel). */
export function goertzel(x: Float32Array, sampleRate: number, hz: number): number {
  const w = (2 * Math.PI * hz) / sampleRate
  const k = 2 * Math.cos(w)
  let s1 = 0
  let s2 = 0
  for (let i = 0; i < x.length; i++) {
    const s0 = (x[i] as number) + k * s1 - s2
    s2 = s1
    s1 = s0
  }
  return Math.sqrt(s1 * s1 + s2 * s2 - k * s1 * s2)
}

/** Dominant frequency in [loHz, hiHz]: 1 Hz scan, then 0.01 Hz refinement. */
export function dominantFrequency(x: Float32Array, sampleRate: number, loHz = 50, hiHz = 4000): number {
  let best = loHz
  let bestMag = -1
  for (let hz = loHz; hz <= hiHz; hz += 1) {
    const m = goertzel(x, sampleRate, hz)
    if (m > bestMag) {
      bestMag = m
      best = hz
    }
  }
  let fine = best
  for (let hz = best - 1; hz <= best + 1; hz += 0.01) {
    const m = goertzel(x, sampleRate, hz)
    if (m > bestMag) {
      bestMag = m
      fine = hz
    }
  }
  return fine
}

export interface Alignment {
  /** Delay of `actual` relative to the reference, in samples (fractional). */
  lag: number
  /** Least-squares gain applied to the reference. */
  gain: number
  snrDb: number
}

/**
 * Aligns `actual` against reference(n) by cross-correlation over lags in [minLag, maxLag]
 * (parabolic sub-sample refinement), fits a gain, and returns the SNR over [from, to).
 */
export function alignAndSnr(
  actual: Float32Array,
  reference: (t: number) => number,
  from: number,
  to: number,
  minLag: number,
  maxLag: number,
): Alignment {
  const xcorr = (lag: number): number => {
    let acc = 0
    for (let n = from; n < to; n++) acc += (actual[n] as number) * reference(n - lag)
    return acc
  }
  let bestLag = minLag
  let bestVal = -Infinity
  const values = new Map<number, number>()
  for (let lag = minLag; lag <= maxLag; lag++) {
    const v = xcorr(lag)
    values.set(lag, v)
    if (v > bestVal) {
      bestVal = v
      bestLag = lag
    }
  }
  const ym = values.get(bestLag - 1) ?? xcorr(bestLag - 1)
  const yp = values.get(bestLag + 1) ?? xcorr(bestLag + 1)
  const denom = ym - 2 * bestVal + yp
  const lag = bestLag + (denom !== 0 ? (0.5 * (ym - yp)) / denom : 0)

  let xy = 0
  let xx = 0
  for (let n = from; n < to; n++) {
    const r = reference(n - lag)
    xy += (actual[n] as number) * r
    xx += r * r
  }
  const gain = xy / xx
  let signal = 0
  let noise = 0
  for (let n = from; n < to; n++) {
    const r = gain * reference(n - lag)
    const e = (actual[n] as number) - r
    signal += r * r
    noise += e * e
  }
  return { lag, gain, snrDb: 10 * Math.log10(signal / noise) }
}

/** Worst SNR over consecutive windows of `window` samples (catches clicks that a global SNR hides). */
export function worstWindowSnr(
  actual: Float32Array,
  reference: (t: number) => number,
  alignment: Alignment,
  from: number,
  to: number,
  window: number,
): { snrDb: number; at: number } {
  let worst = { snrDb: Infinity, at: from }
  for (let start = from; start + window <= to; start += window) {
    let signal = 0
    let noise = 0
    for (let n = start; n < start + window; n++) {
      const r = alignment.gain * reference(n - alignment.lag)
      const e = (actual[n] as number) - r
      signal += r * r
      noise += e * e
    }
    const snr = 10 * Math.log10(signal / noise)
    if (snr < worst.snrDb) worst = { snrDb: snr, at: start }
  }
  return worst
}
