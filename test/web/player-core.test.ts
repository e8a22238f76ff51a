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

// ---------------------------------------------------------------- sync mode

const S0 = 1_000_000
/** A player fed 20 ms packets of a 48 kHz sine stamped back to back from S0 (raw = smooth + `late`). */
function syncedPlayer (deviceRate = 44100, settled = (_packet: number) => true) {
  const core = new PlayerCore({ deviceRate })
  let packets = 0
  const push = (count: number, late = 0) => {
    for (let i = 0; i < count; i++, packets++) {
      core.push(sine(960, packets * 960, 440, 48000), 2, 48000, { raw: S0 + packets * 20 + late, smooth: S0 + packets * 20, settled: settled(packets) })
    }
  }
  let context = 0
  let serverMinusContextMs = 0
  /** Sets the clock the player plays against: context time 0 is heard at server time `ms`, latency 1.5 s. */
  const clock = (ms: number) => {
    serverMinusContextMs = ms
    core.setSync({ serverMinusContextMs: ms, latencyMs: 1500 })
  }
  const render = (seconds: number) => {
    const out: number[] = []
    const quanta = Math.round((seconds * deviceRate) / QUANTUM)
    for (let q = 0; q < quanta; q++) {
      const left = new Float32Array(QUANTUM)
      core.render(left, new Float32Array(QUANTUM), context)
      out.push(...left)
      context += QUANTUM / deviceRate
      // Live: the packets that reached the server by now (server time = context + offset).
      while (S0 + packets * 20 < context * 1000 + serverMinusContextMs) push(1)
    }
    return Float32Array.from(out)
  }
  return { core, push, clock, render, moveClock: (ms: number) => clock(serverMinusContextMs + ms) }
}

t.test('sync: waits until the oldest audio is due, then plays each sample at its stamp plus the latency', async (t) => {
  const { core, push, clock, render } = syncedPlayer()
  push(50) // 1 s, stamps S0 .. S0 + 1000
  // Context time 0 is heard at server time S0 + 1200: S0 is due at S0 + 1500, 300 ms from now.
  clock(S0 + 1200)
  const out = render(0.5)
  const first = out.findIndex((v) => v !== 0)
  t.ok(Math.abs(first - 0.3 * 44100) <= 2, `the first sound at frame ${first}, due at ${0.3 * 44100}`)
  const stats = core.stats()
  t.equal(stats.mode, 'sync')
  t.equal(stats.state, 'playing')
  t.ok(Math.abs(stats.syncErrorMs ?? 99) < 0.05, `error ${stats.syncErrorMs} ms`)
  t.equal(stats.targetSeconds, 1.5)
  // The trace says which raw stamp is heard when: at context 0.4 s, S0 + 100.
  const trace = core.takeTrace()
  const entries = Array.from({ length: trace.length / 3 }, (_, i) => [trace[i * 3], trace[i * 3 + 1], trace[i * 3 + 2]] as number[])
  const before = entries.filter(([time]) => (time as number) <= 0.4).pop() as number[]
  const heard = (before[1] as number) + (0.4 - (before[0] as number)) * 1000 * (before[2] as number)
  t.ok(Math.abs(heard - (S0 + 100)) < 0.1, `heard ${(heard - S0).toFixed(3)} ms after S0`)
  t.ok(Number.isNaN(entries[0]?.[1]), 'silence first')
  t.same(core.takeTrace().length, 0, 'taken')
})

t.test('sync: starting late jumps to the sample due now', async (t) => {
  const { core, push, clock, render } = syncedPlayer()
  push(100) // 2 s
  clock(S0 + 2000) // S0 + 500 is due now
  const out = render(0.1)
  t.ok(out.findIndex((v) => v !== 0) < 4, 'sound from the first frame (fading in)')
  t.ok(core.stats().bufferedSeconds < 1.6, `the 500 ms that were past due are gone: ${core.stats().bufferedSeconds.toFixed(3)} s left`)
  t.ok(Math.abs(core.stats().syncErrorMs ?? 99) < 0.05)
})

t.test('sync: a clock that moves is followed by a small rate change, no skip or wait', async (t) => {
  const { core, push, clock, render, moveClock } = syncedPlayer()
  push(100)
  clock(S0 + 2000)
  render(0.5)
  // The estimate of the server clock moves 20 ms: the page is 20 ms behind (late).
  moveClock(20)
  const out = render(0.05)
  t.equal(core.stats().speed, 1.005, 'at most 0.5 % faster')
  t.ok(maxStep(out) < 0.04, 'no click')
  render(8)
  const stats = core.stats()
  t.ok(Math.abs(stats.syncErrorMs ?? 99) < 1, `error ${stats.syncErrorMs?.toFixed(2)} ms after 8 s`)
  t.equal(stats.skips + stats.waits + stats.underruns, 0)
  // And the other way: 10 ms ahead.
  moveClock(-10)
  render(0.05)
  t.ok(core.stats().speed < 1 && core.stats().speed >= 0.995, `slower: ${core.stats().speed}`)
})

t.test('sync: far off, it waits (ahead) or skips (behind) instead of bending the rate', async (t) => {
  const { core, push, clock, render, moveClock } = syncedPlayer()
  push(100)
  clock(S0 + 2000)
  render(0.3)
  moveClock(-300) // 300 ms ahead of the due sample
  const waiting = render(0.25)
  t.equal(core.stats().waits, 1)
  t.ok(waiting.subarray(QUANTUM * 2, QUANTUM * 60).every((v) => v === 0), 'silence while waiting')
  t.ok(maxStep(waiting) < 0.04, 'faded out, no click')
  render(0.2)
  t.equal(core.stats().state, 'playing')
  t.ok(Math.abs(core.stats().syncErrorMs ?? 99) < 0.05, 'back in sync, to the sample')
  moveClock(400) // 400 ms behind
  render(0.1)
  const stats = core.stats()
  t.equal(stats.skips, 1)
  t.ok(Math.abs(stats.syncErrorMs ?? 99) < 0.05)
})

t.test('sync: never starts on unsettled audio; an underrun waits for the due sample, the latency unchanged', async (t) => {
  // The first 25 packets (500 ms) were stamped without a whole window behind them.
  const { core, push, clock, render } = syncedPlayer(48000, (packet) => packet >= 25)
  push(60)
  clock(S0 + 1500) // S0 is due now
  const out = render(0.6)
  const first = out.findIndex((v) => v !== 0)
  t.ok(Math.abs(first - 0.5 * 48000) <= 2, `starts at the first settled sample, when due (frame ${first})`)
  t.equal(core.stats().skips + core.stats().waits, 0, 'a start, not a correction')
  // Nothing more arrives: an underrun, then it starts again at the sample due (no deeper target).
  const { core: dry, push: pushDry, clock: dryClock } = syncedPlayer(48000)
  pushDry(10)
  dryClock(S0 + 1500)
  const left = new Float32Array(QUANTUM)
  for (let ctx = 0; ctx < 0.4; ctx += QUANTUM / 48000) dry.render(left, left, ctx)
  t.equal(dry.stats().underruns, 1)
  t.equal(dry.stats().state, 'buffering')
  t.equal(dry.stats().targetSeconds, 1.5)
})

t.test('untimed audio after timed audio drops the stamps: PCM plays by the buffer again', async (t) => {
  const { core, push, clock } = syncedPlayer(48000)
  push(10)
  clock(S0 + 1500)
  core.push(sine(48000 * 1.2, 0, 440, 48000), 2, 48000)
  const left = new Float32Array(QUANTUM)
  core.render(left, left, 0)
  t.equal(core.stats().mode, 'buffer')
  t.equal(core.stats().syncErrorMs, null)
  core.setSync(undefined)
  core.render(left, left)
  t.equal(core.stats().state, 'playing')
})
