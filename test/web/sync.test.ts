import t from 'tap'
import { ClockEstimator } from '../../web/listen/clock.js'
import { ArrivalTimeline } from '../../web/listen/timeline.js'
import { HeardClock, PlayheadTrack } from '../../web/listen/playhead.js'
import { readSettings } from '../../web/listen/settings.js'

t.test('clock: NTP offset from the quickest round trips, a burst first, then a slower pace', async (t) => {
  const clock = new ClockEstimator({ keep: 8, best: 3, burst: 2, burstGapMs: 100, intervalMs: 2000 })
  t.equal(clock.offsetMs, undefined)
  t.equal(clock.toServer(5), undefined)
  t.equal(clock.nextPingInMs(), 100)
  // True offset 1000 ms. Symmetric legs give it exactly; a slow answer (server busy) inflates one leg.
  t.ok(clock.add(0, 2, 1001))
  t.equal(clock.offsetMs, 1000)
  t.equal(clock.nextPingInMs(), 100)
  clock.add(10, 60, 1050) // 50 ms round trip, the answer written 40 ms late: offset 1015
  t.equal(clock.nextPingInMs(), 2000, 'after the burst, one ping every interval')
  clock.add(20, 24, 1022)
  clock.add(30, 31, 1030.5)
  t.equal(clock.offsetMs, 1000, 'the slow sample is outvoted by the three quickest')
  t.equal(clock.rttMs, 1)
  t.equal(clock.toServer(100), 1100)
  t.notOk(clock.add(50, 40, 0), 'a negative round trip is refused')
  t.notOk(clock.add(50, 60, NaN))
  t.equal(clock.samples, 4)
  // Only the newest `keep` are kept: a clock that moved is followed.
  for (let i = 0; i < 8; i++) clock.add(100 + i, 102 + i, 1101 + i + 7)
  t.equal(clock.offsetMs, 1007)
  clock.restart()
  t.equal(clock.offsetMs, 1007, 'a new connection keeps the estimate until its first sample')
  t.equal(clock.nextPingInMs(), 100, 'and starts with a burst again')
  clock.add(200, 210, 1705)
  t.equal(clock.offsetMs, 1500, 'then only the new samples count')
  t.equal(clock.rttMs, 10)
})

/** Chunks of `ms` audio arriving in real time from `start` with the given extra delays. */
function arrivals (delays: number[], ms = 100, start = 10_000, firstSeq = 0) {
  return delays.map((delay, i) => ({ seq: firstSeq + i, receivedAt: start + i * ms + delay, ms }))
}

t.test('timeline: late chunks are played as if on time, seamlessly', async (t) => {
  const timeline = new ArrivalTimeline({ windowMs: 1000, resetAfterMs: 1000 })
  const times = arrivals([5, 5, 35, 5, 20, 5]).map((c) => timeline.add(c.seq, c.receivedAt, c.ms))
  t.same(times.map((x) => x.raw), [10_005, 10_105, 10_235, 10_305, 10_420, 10_505], 'raw: the arrival times')
  t.same(times.map((x) => x.smooth), [10_005, 10_105, 10_205, 10_305, 10_405, 10_505], 'smooth: back to back, from the least delay')
  // A quicker arrival lowers the timeline from there on.
  t.equal(timeline.add(6, 10_600 + 1, 100).smooth, 10_601)
  t.equal(timeline.add(7, 10_700 + 9, 100).smooth, 10_701)
})

t.test('timeline: two pages that joined at different moments agree once each has a whole window', async (t) => {
  const delays = Array.from({ length: 80 }, (_, i) => 3 + ((i * 37) % 23) + (i === 12 ? 150 : 0))
  const chunks = arrivals(delays)
  const early = new ArrivalTimeline({ windowMs: 2000 })
  const late = new ArrivalTimeline({ windowMs: 2000 })
  const earlyTimes = chunks.map((c) => early.add(c.seq, c.receivedAt, c.ms))
  // The late page's first chunk is chunk 30 (its join burst), its window whole from chunk 50 on.
  const lateTimes = chunks.slice(30).map((c) => late.add(c.seq, c.receivedAt, c.ms))
  t.notOk(lateTimes[0]?.settled)
  t.notOk(lateTimes[19]?.settled)
  for (let i = 50; i < chunks.length; i++) {
    const a = earlyTimes[i]
    const b = lateTimes[i - 30]
    if (a === undefined || b === undefined) throw new Error('missing')
    t.ok(a.settled && b.settled, `chunk ${i} settled on both`)
    t.equal(b.smooth, a.smooth, `chunk ${i}: the same stamp`)
  }
  t.ok(earlyTimes.slice(0, 20).every((x) => !x.settled), 'the session\'s first window is not settled anywhere')
})

t.test('timeline: a sharer that paused, or a gap in the sequence, starts the window over', async (t) => {
  const timeline = new ArrivalTimeline({ windowMs: 1000, resetAfterMs: 500 })
  for (const c of arrivals([5, 5, 5])) timeline.add(c.seq, c.receivedAt, c.ms)
  // Chunk 3 comes 3 s late: the sharer paused. Its audio plays from its own arrival.
  const paused = timeline.add(3, 10_300 + 3000, 100)
  t.equal(paused.smooth, 13_300)
  t.notOk(paused.settled)
  t.equal(timeline.resets, 1)
  // 400 ms late is within what the target latency absorbs: no reset, played on time.
  t.equal(timeline.add(4, 13_400 + 400, 100).smooth, 13_400)
  t.equal(timeline.resets, 1)
  // Chunks 5 to 9 never came (dropped for this listener): the missing audio's length is unknown.
  const after = timeline.add(10, 14_000, 100)
  t.equal(after.smooth, 14_000)
  t.equal(timeline.resets, 2)
  t.notOk(after.settled)
})

t.test('playhead: the raw stamp heard at a context time, from the player\'s trace', async (t) => {
  const track = new PlayheadTrack(3)
  t.equal(track.rawAt(1), null, 'nothing rendered yet')
  // Silence until 1 s, then a chunk from 1 s at normal speed, the next chunk (arrived 7 ms late) at 1.1 s.
  track.add([0, NaN, 0, 1, 5000, 1, 1.1, 5107, 1])
  t.equal(track.rawAt(0.5), null)
  t.equal(track.rawAt(1), 5000)
  t.equal(track.rawAt(1.05), 5050)
  t.equal(track.rawAt(1.1), 5107)
  t.equal(track.rawAt(1.2), 5207, 'extrapolated past the last entry')
  track.add([1.3, 5300, 0.995])
  t.equal(track.rawAt(1.4), 5300 + 100 * 0.995, 'slowed down: the stamp moves 0.995 ms per ms')
  // Old entries go; a restarted player (a new AudioContext) replaces the trace.
  track.add([9, 6000, 1])
  t.equal(track.rawAt(1.05), null, 'older than three seconds: forgotten')
  track.add([0.5, 7000, 1])
  t.equal(track.rawAt(9.5), 7000 + 9000)
  track.clear()
  t.equal(track.rawAt(1), null)
})

t.test('heard clock: the median of the output timestamps, zeros ignored', async (t) => {
  const clock = new HeardClock(3)
  clock.add(0, 0)
  t.equal(clock.perfMinusContextMs, undefined, 'the audio clock has not started')
  t.equal(clock.contextAt(100), undefined)
  clock.add(1, 1250)
  clock.add(2, 2251)
  clock.add(3, 3290) // a late callback
  t.equal(clock.perfMinusContextMs, 251)
  t.equal(clock.contextAt(1251), 1)
  clock.add(4, 4250)
  clock.add(5, 5250)
  t.equal(clock.perfMinusContextMs, 250, 'only the newest readings count')
  clock.reset()
  t.equal(clock.perfMinusContextMs, undefined)
})

t.test('settings: codec, decoder, latency and bitrate from the query string', async (t) => {
  t.same(readSettings('?key=abc'), { codec: 'opus', forceWasm: false, latencyMs: 1500, bitrateKbps: undefined })
  t.same(readSettings('?key=abc&codec=pcm&decoder=wasm&latency=2500&bitrate=64'), { codec: 'pcm', forceWasm: true, latencyMs: 2500, bitrateKbps: 64 })
  t.equal(readSettings('?latency=50').latencyMs, 300, 'at least 300 ms')
  t.equal(readSettings('?latency=99999').latencyMs, 10_000)
  t.equal(readSettings('?latency=soon').latencyMs, 1500)
  t.equal(readSettings('?latency=').latencyMs, 1500)
  t.equal(readSettings('?codec=flac').codec, 'opus')
  t.equal(readSettings('?bitrate=-5').bitrateKbps, undefined)
  t.equal(readSettings('?bitrate=0').bitrateKbps, undefined)
  t.equal(readSettings('?bitrate=12345').bitrateKbps, undefined)
})
