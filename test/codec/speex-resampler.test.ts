import t from 'tap'
import { loadSpeexRuntime, SpeexResampler } from '../../src/codec/speex-resampler.js'
import { alignAndSnr, TONE_AMPLITUDE, TONE_HZ } from './helpers/signal.js'

const runtime = await loadSpeexRuntime()

function tone(rate: number, frames: number, channels: number): Float32Array {
  const out = new Float32Array(frames * channels)
  for (let f = 0; f < frames; f++) {
    const v = TONE_AMPLITUDE * Math.sin((2 * Math.PI * TONE_HZ * f) / rate)
    for (let c = 0; c < channels; c++) out[f * channels + c] = v
  }
  return out
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

t.test('streaming: 0.5 s chunks give exactly the same output as one call', async (t) => {
  const input = tone(44100, 44100 * 3, 2)
  const oneShot = new SpeexResampler(runtime, 2, 44100, 48000)
  const whole = oneShot.process(input)
  const chunked = new SpeexResampler(runtime, 2, 44100, 48000)
  const parts: Float32Array[] = []
  for (let at = 0; at < input.length; at += 44100) parts.push(chunked.process(input.subarray(at, at + 44100)))
  const joined = concat(parts)
  t.equal(joined.length, whole.length)
  let maxDiff = 0
  for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs((whole[i] as number) - (joined[i] as number)))
  t.ok(maxDiff < 1e-6, `max difference ${maxDiff}`)
  oneShot.destroy()
  chunked.destroy()
})

t.test('output is time-aligned (skip_zeros) and flush() returns the held-back tail', async (t) => {
  const rs = new SpeexResampler(runtime, 1, 44100, 48000)
  const out = concat([rs.process(tone(44100, 44100, 1)), rs.flush()])
  t.ok(Math.abs(out.length - 48000) <= 2, `1 s in -> ${out.length} frames out (+flush)`)
  const ref = (n: number): number => TONE_AMPLITUDE * Math.sin((2 * Math.PI * TONE_HZ * n) / 48000)
  const fit = alignAndSnr(out, ref, 2000, 46000, -20, 20)
  t.ok(Math.abs(fit.lag) < 0.5, `lag ${fit.lag.toFixed(3)} samples`)
  t.ok(fit.snrDb > 80, `SNR ${fit.snrDb.toFixed(1)} dB`)
  rs.destroy()
})

t.test('reset() and destroy()', async (t) => {
  const rs = new SpeexResampler(runtime, 2, 32000, 48000)
  rs.process(tone(32000, 1000, 2))
  rs.reset()
  const afterReset = rs.process(new Float32Array(2000))
  t.ok(afterReset.every((v) => v === 0), 'no old audio after reset')
  rs.destroy()
  rs.destroy()
  t.ok(rs.destroyed)
  t.throws(() => rs.process(new Float32Array(2)))
})

t.test('creating and destroying many resamplers does not grow the wasm heap', async (t) => {
  const heapBefore = runtime.wasm.HEAPU32.byteLength
  for (let round = 0; round < 5; round++) {
    const live = Array.from({ length: 200 }, () => new SpeexResampler(runtime, 2, 44100, 48000))
    for (const rs of live) rs.process(tone(44100, 100, 2))
    for (const rs of live) rs.destroy()
  }
  t.equal(runtime.wasm.HEAPU32.byteLength, heapBefore)
})

t.test('documents the upstream speex_resampler_reset_mem() defect that reset() works around', async (t) => {
  const wasm = runtime.wasm
  const rs = new SpeexResampler(runtime, 2, 32000, 48000)
  rs.process(tone(32000, 1000, 2))
  // Reach into the raw state: reset_mem leaves stereo history behind.
  const state = (rs as unknown as { state: number }).state
  wasm._speex_resampler_reset_mem(state)
  wasm._speex_resampler_skip_zeros(state)
  const leaked = rs.process(new Float32Array(2000))
  t.ok(leaked.some((v) => v !== 0), 'raw reset_mem leaks old audio (if this fails, upstream fixed it)')
  rs.destroy()
})
