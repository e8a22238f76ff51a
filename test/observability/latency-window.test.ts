import t from 'tap'
import { binOf, binValue, LatencyWindow } from '../../src/observability/latency-window.js'

const T0 = 1_700_000_000_000

t.test('an empty window has no percentiles and no errors', async (t) => {
  t.same(new LatencyWindow(60).summary(T0), { requests: 0, errors: 0, errorRate: 0, p50: null, p95: null, p99: null })
})

t.test('percentiles are the nearest rank, within one bin (±2.5 %)', async (t) => {
  const w = new LatencyWindow(60)
  // 1..1000 ms once each, shuffled in time across 10 seconds of the window.
  for (let ms = 1; ms <= 1000; ms++) w.record(ms, false, T0 + (ms % 10) * 1000)
  const s = w.summary(T0 + 9_999)
  t.equal(s.requests, 1000)
  for (const [name, truth] of [['p50', 500], ['p95', 950], ['p99', 990]] as const) {
    const got = s[name]!
    t.ok(Math.abs(got - truth) / truth <= 0.025, `${name} ${got} within 2.5 % of ${truth}`)
  }
})

t.test('sub-millisecond latencies are told apart', async (t) => {
  const w = new LatencyWindow(60)
  for (let i = 0; i < 90; i++) w.record(0.2, false, T0)
  for (let i = 0; i < 10; i++) w.record(0.8, false, T0)
  const s = w.summary(T0)
  t.ok(Math.abs(s.p50! - 0.2) <= 0.2 * 0.025, `p50 ${s.p50}`)
  t.ok(Math.abs(s.p95! - 0.8) <= 0.8 * 0.025, `p95 ${s.p95}`)
})

t.test('the window slides: seconds older than the window are dropped', async (t) => {
  const w = new LatencyWindow(60)
  w.record(100, true, T0)
  w.record(1, false, T0 + 30_000)
  t.equal(w.summary(T0 + 59_999).requests, 2, 'the 60th second still counts')
  const later = w.summary(T0 + 60_000)
  t.equal(later.requests, 1, 'the first second left the window')
  t.equal(later.errors, 0)
  t.ok(Math.abs(later.p99! - 1) <= 0.025)
  t.equal(w.summary(T0 + 200_000).requests, 0, 'nothing left after a quiet spell')
  t.equal(w.summary(T0 - 1000).requests, 0, 'a clock that went back sees no future seconds')
})

t.test('a slot reused by a later second starts from zero', async (t) => {
  const w = new LatencyWindow(2)
  for (let i = 0; i < 5; i++) w.record(50, true, T0)
  w.record(3, false, T0 + 2_000) // the same slot as T0, two seconds on
  const s = w.summary(T0 + 2_000)
  t.same(s, { requests: 1, errors: 0, errorRate: 0, p50: s.p50, p95: s.p95, p99: s.p99 })
  t.ok(Math.abs(s.p50! - 3) <= 3 * 0.025)
})

t.test('error rate is errors over requests in the window', async (t) => {
  const w = new LatencyWindow(60)
  for (let i = 0; i < 7; i++) w.record(1, false, T0)
  for (let i = 0; i < 3; i++) w.record(1, true, T0 + 1000)
  t.match(w.summary(T0 + 1000), { requests: 10, errors: 3, errorRate: 0.3 })
})

t.test('out-of-range values land in the end bins', async (t) => {
  t.equal(binOf(0), 0)
  t.equal(binOf(-5), 0)
  t.equal(binOf(Number.NaN), 0)
  t.equal(binValue(0), 0.01)
  const huge = binOf(1e12)
  t.equal(binOf(1e9), huge, 'everything slower than the maximum shares the last bin')
  const w = new LatencyWindow(1)
  w.record(1e12, false, T0)
  t.ok(w.summary(T0).p50! >= 120_000)
  for (let ms = 0.02; ms < 100_000; ms *= 1.7) {
    const v = binValue(binOf(ms))
    t.ok(Math.abs(v - ms) / ms <= 0.025, `${ms} reported as ${v}`)
  }
})

t.test('the window length must be a whole number of seconds', async (t) => {
  t.throws(() => new LatencyWindow(0), RangeError)
  t.throws(() => new LatencyWindow(1.5), RangeError)
})
