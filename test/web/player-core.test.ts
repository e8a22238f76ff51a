import t from 'tap'
import { PlayerCore } from '../../web/listen/player-core.js'
import { currentLine, parseLrc } from '../../web/listen/lrc.js'
import { sine } from '../helper.js'

const QUANTUM = 128

/** Renders `seconds` of output in render quanta; answers the left channel. */
function renderSeconds (core: PlayerCore, seconds: number): Float32Array {
  const quanta = Math.round((seconds * core.deviceRate) / QUANTUM)
  const out = new Float32Array(quanta * QUANTUM)
  for (let q = 0; q < quanta; q++) {
    const left = new Float32Array(QUANTUM)
    core.render(left, new Float32Array(QUANTUM))
    out.set(left, q * QUANTUM)
  }
  return out
}

/** Largest jump between neighbouring samples: a click shows up as a step far above the sine's own slope. */
function maxStep (samples: Float32Array): number {
  let max = 0
  for (let i = 1; i < samples.length; i++) max = Math.max(max, Math.abs((samples[i] as number) - (samples[i - 1] as number)))
  return max
}

/** Zero crossings per second of a signal: twice its frequency for a sine. */
function frequencyOf (samples: Float32Array, rate: number): number {
  let crossings = 0
  for (let i = 1; i < samples.length; i++) if (((samples[i - 1] as number) < 0) !== ((samples[i] as number) < 0)) crossings++
  return crossings / 2 / (samples.length / rate)
}

t.test('waits for the start threshold, then plays the audio resampled to the device rate', async (t) => {
  const core = new PlayerCore({ deviceRate: 44100 })
  core.push(sine(24000, 0, 440, 48000), 2, 48000) // 0.5 s: below the 1 s threshold
  t.same(renderSeconds(core, 0.1).filter((v) => v !== 0).length, 0, 'silence while buffering')
  t.equal(core.stats().state, 'buffering')
  core.push(sine(33600, 24000, 440, 48000), 2, 48000) // 1.2 s in all: no catch-up
  const out = renderSeconds(core, 1)
  const stats = core.stats()
  t.equal(stats.state, 'playing')
  t.equal(stats.underruns, 0)
  t.equal(stats.framesPlayed, out.length)
  // Past the 12 ms fade-in, a 440 Hz sine at 44.1 kHz: same pitch, full level, no steps.
  const steady = out.subarray(2000)
  t.ok(Math.abs(frequencyOf(steady, 44100) - 440) < 3, `pitch ${frequencyOf(steady, 44100).toFixed(1)} Hz`)
  t.ok(Math.abs(stats.level - 0.354) < 0.03, `level ${stats.level.toFixed(3)}`)
  t.ok(maxStep(out) < 0.04, `largest step ${maxStep(out).toFixed(4)}`)
})

t.test('an underrun fades out without a click, counts, and rebuffers to a deeper target', async (t) => {
  const core = new PlayerCore({ deviceRate: 48000 })
  core.push(sine(48000 * 1.2, 0, 440, 48000), 2, 48000)
  const out = renderSeconds(core, 1.5)
  const stats = core.stats()
  t.equal(stats.underruns, 1)
  t.equal(stats.state, 'buffering')
  t.ok(stats.targetSeconds > 1, 'the target grew')
  t.ok(maxStep(out) < 0.04, `no click: largest step ${maxStep(out).toFixed(4)}`)
  t.equal(out[out.length - 1], 0, 'silence after the fade')
  // It plays again once the new target is buffered.
  core.push(sine(48000 * 2, 0, 440, 48000), 2, 48000)
  renderSeconds(core, 0.1)
  t.equal(core.stats().state, 'playing')
})

t.test('a growing buffer is caught up gently, a far too deep one is skipped', async (t) => {
  const core = new PlayerCore({ deviceRate: 48000 })
  core.push(sine(48000 * 2, 0, 440, 48000, 1), 1, 48000) // mono, 2 s
  renderSeconds(core, 0.05)
  t.equal(core.stats().speed, 1.03, 'plays 3 % faster while over the target')
  const before = core.stats().bufferedSeconds
  renderSeconds(core, 1)
  t.ok(core.stats().bufferedSeconds < before - 1.02, 'drains faster than real time')

  core.push(sine(48000 * 5, 0, 440, 48000, 1), 1, 48000) // now far past the target
  renderSeconds(core, 0.01)
  const stats = core.stats()
  t.equal(stats.skips, 1)
  t.ok(stats.bufferedSeconds <= stats.targetSeconds + 0.01, `skipped back to ${stats.bufferedSeconds.toFixed(2)} s`)
})

t.test('a new sample rate starts over; the ring never holds more than its capacity', async (t) => {
  const core = new PlayerCore({ deviceRate: 48000, capacitySeconds: 2 })
  t.throws(() => new PlayerCore({ deviceRate: 0 }))
  const silent = new Float32Array(QUANTUM)
  core.render(silent, silent)
  t.equal(core.stats().bufferedSeconds, 0)
  core.push(sine(48000 * 3, 0, 440, 48000), 2, 48000)
  t.ok(core.stats().bufferedSeconds < 2, 'oldest audio dropped at capacity')
  core.push(sine(22050, 0, 440, 44100), 2, 44100)
  t.equal(core.stats().bufferedSeconds, 0.5)
  core.push(new Float32Array(4), 0, 44100)
  t.equal(core.stats().bufferedSeconds, 0.5, 'nonsense is ignored')
})

t.test('LRC: time tags, several per line, offsets, metadata tags, current line', async (t) => {
  const lines = parseLrc('[ar:Someone]\n[offset:+500]\n[00:12.50]Line one\r\n[00:05][01:00.1]Chorus\nno tag\n[00:20.123] \n')
  t.same(lines, [
    { time: 4.5, text: 'Chorus' },
    { time: 12, text: 'Line one' },
    { time: 19.623, text: '' },
    { time: 59.6, text: 'Chorus' }
  ])
  t.equal(currentLine(lines, 0), -1, 'before the first line')
  t.equal(currentLine(lines, 4.5), 0)
  t.equal(currentLine(lines, 15), 1)
  t.equal(currentLine(lines, 1000), 3)
  t.same(parseLrc('plain words\nno tags'), [])
})
