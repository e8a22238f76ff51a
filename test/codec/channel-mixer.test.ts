import t from 'tap'
import { mixChannels } from '../../src/codec/channel-mixer.js'

t.test('mono to stereo duplicates, stereo to mono averages', async (t) => {
  t.same([...mixChannels(Float32Array.of(0.25, -0.5), 1, 2)], [0.25, 0.25, -0.5, -0.5])
  t.same([...mixChannels(Float32Array.of(0.5, 0.25, -1, 1), 2, 1)], [0.375, 0])
})

t.test('same channel count copies (new buffer) and sanitises NaN/Infinity', async (t) => {
  const input = Float32Array.of(0.1, Number.NaN, Number.POSITIVE_INFINITY, -0.2)
  const out = mixChannels(input, 2, 2)
  t.not(out, input)
  t.same([...out].map((v) => Math.round(v * 1000) / 1000), [0.1, 0, 0, -0.2])
})

t.test('5.1 downmix: left-only stays left, LFE dropped, full-scale never clips', async (t) => {
  // L R C LFE BL BR
  const leftOnly = mixChannels(Float32Array.of(1, 0, 0, 0, 0, 0), 6, 2)
  t.ok((leftOnly[0] as number) > 0 && leftOnly[1] === 0)
  const lfeOnly = mixChannels(Float32Array.of(0, 0, 0, 1, 0, 0), 6, 2)
  t.same([...lfeOnly], [0, 0])
  const full = mixChannels(new Float32Array(6).fill(1), 6, 2)
  t.ok(Math.abs((full[0] as number) - 1) < 1e-6 && Math.abs((full[1] as number) - 1) < 1e-6, 'row-normalised to exactly 1')
})

t.test('every input count 1..8 maps to 1 and 2 output channels with the right length', async (t) => {
  for (let ch = 1; ch <= 8; ch++) {
    const frames = 10
    const input = new Float32Array(frames * ch).fill(0.5)
    for (const out of [1, 2] as const) {
      const mixed = mixChannels(input, ch, out)
      t.equal(mixed.length, frames * out, `${ch} -> ${out}`)
      t.ok(mixed.every((v) => Math.abs(v) <= 0.5 + 1e-6), `${ch} -> ${out} bounded`)
    }
  }
})
