/**
 * Channel conversion for interleaved float PCM, with sanitising.
 *
 * Input layouts for 3..8 channels are assumed to follow the WAVE_FORMAT_EXTENSIBLE /
 * SMPTE order that desktop capture APIs deliver (WASAPI, Web Audio, PulseAudio default maps):
 *   3: L R C            4: L R BL BR          5: L R C BL BR
 *   6: L R C LFE BL BR  7: L R C LFE BC SL SR 8: L R C LFE BL BR SL SR
 * Centre and surrounds enter each side at -3 dB (0.7071), back-centre at -6 dB to each side,
 * LFE is dropped (ITU-R BS.775 style). Each output row is normalised by the sum of its
 * coefficients, as ffmpeg's swresample does by default, so the downmix can never clip.
 *
 * Every output sample is sanitised: NaN and ±Infinity become 0. This matters because a single
 * NaN entering the resampler's filter history would poison every later output sample.
 */

const H = Math.SQRT1_2

/** Weights [left row, right row] per input channel index, for each input channel count. */
const STEREO_DOWNMIX: Readonly<Record<number, readonly (readonly [number, number])[]>> = {
  3: [[1, 0], [0, 1], [H, H]],
  4: [[1, 0], [0, 1], [H, 0], [0, H]],
  5: [[1, 0], [0, 1], [H, H], [H, 0], [0, H]],
  6: [[1, 0], [0, 1], [H, H], [0, 0], [H, 0], [0, H]],
  7: [[1, 0], [0, 1], [H, H], [0, 0], [0.5, 0.5], [H, 0], [0, H]],
  8: [[1, 0], [0, 1], [H, H], [0, 0], [H, 0], [0, H], [H, 0], [0, H]],
}

function finite(x: number): number {
  // Comparison is false for NaN; ±Infinity fail the range test as well.
  return x > -Infinity && x < Infinity ? x : 0
}

/** Returns a fresh interleaved buffer with `outChannels` channels (1 or 2). */
export function mixChannels(input: Float32Array, inChannels: number, outChannels: 1 | 2): Float32Array {
  const frames = Math.floor(input.length / inChannels)
  const out = new Float32Array(frames * outChannels)

  if (inChannels === outChannels) {
    for (let i = 0; i < out.length; i++) out[i] = finite(input[i] as number)
    return out
  }
  if (inChannels === 1) {
    // mono -> stereo: duplicate
    for (let f = 0; f < frames; f++) {
      const s = finite(input[f] as number)
      out[2 * f] = s
      out[2 * f + 1] = s
    }
    return out
  }
  if (inChannels === 2) {
    // stereo -> mono: average
    for (let f = 0; f < frames; f++) {
      out[f] = 0.5 * (finite(input[2 * f] as number) + finite(input[2 * f + 1] as number))
    }
    return out
  }

  const weights = STEREO_DOWNMIX[inChannels]
  if (weights === undefined) throw new RangeError(`unsupported channel count ${inChannels}`)
  const wl = weights.map((w) => w[0])
  const wr = weights.map((w) => w[1])
  const nl = 1 / wl.reduce((a, b) => a + b, 0)
  const nr = 1 / wr.reduce((a, b) => a + b, 0)
  for (let f = 0; f < frames; f++) {
    const base = f * inChannels
    let l = 0
    let r = 0
    for (let c = 0; c < inChannels; c++) {
      const s = finite(input[base + c] as number)
      l += (wl[c] as number) * s
      r += (wr[c] as number) * s
    }
    l *= nl
    r *= nr
    if (outChannels === 2) {
      out[2 * f] = l
      out[2 * f + 1] = r
    } else {
      out[f] = 0.5 * (l + r)
    }
  }
  return out
}
