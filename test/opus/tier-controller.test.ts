import t from 'tap'
import { DEFAULT_TIER_POLICY, TierController } from '../../src/opus/tier-controller.js'

const TIERS = [32, 64, 128, 192]
/** Bytes that hold `seconds` of audio at `kbps`. */
const queued = (seconds: number, kbps: number) => seconds * kbps * 1000 / 8

t.test('a growing send queue steps down one tier at a time, no faster than the cool-down', async (t) => {
  const c = new TierController(TIERS, 128, 0)
  t.equal(c.observe(queued(0.5, 128), 100), undefined, 'half a second queued: stay')
  t.equal(c.observe(queued(1.2, 128), 200), undefined, 'too soon after the start to change')
  t.equal(c.observe(queued(1.2, 128), 2_500), 64, 'a second queued: one tier down')
  t.equal(c.observe(queued(1.5, 64), 3_000), undefined, 'the queue needs time to drain')
  t.equal(c.observe(queued(1.5, 64), 4_600), 32)
  t.equal(c.observe(queued(5, 32), 9_000), undefined, 'the lowest tier is the floor')
  t.equal(c.kbps, 32)
})

t.test('a clean spell steps back up; a step up taken back doubles the wait (no flapping)', async (t) => {
  const c = new TierController(TIERS, 128, 0)
  t.equal(c.observe(queued(1.2, 128), 2_000), 64, 'a second queued: down')
  for (let now = 2_000; now < 12_000; now += 500) t.equal(c.observe(0, now), undefined)
  t.equal(c.observe(0, 12_000), 128, 'ten clean seconds: up')
  t.equal(c.observe(queued(1.1, 128), 14_500), 64, 'it could not keep up: back down')
  let up: number | undefined
  let at = 14_500
  while (up === undefined && at < 60_000) { at += 500; up = c.observe(0, at) }
  t.equal(up, 128)
  t.ok(at - 14_500 >= 2 * DEFAULT_TIER_POLICY.upAfterMs, `the next step up waited ${at - 14_500} ms, twice as long`)
  t.equal(c.observe(queued(0.3, 128), at + 500), undefined, 'a slightly busy queue is neither clean nor full')
})

t.test('a clean listener stays at the start tier: the higher tiers are for those who pin them', async (t) => {
  const c = new TierController(TIERS, 128, 0)
  for (let now = 0; now <= 120_000; now += 500) t.equal(c.observe(0, now), undefined)
  t.equal(c.kbps, 128)
  const low = new TierController(TIERS, 32, 0)
  for (let now = 0; now <= 60_000; now += 500) low.observe(0, now)
  t.equal(low.kbps, 32, 'a 32 kbit/s default stays at 32')
})

t.test('the start tier must be a tier', async (t) => {
  t.throws(() => new TierController(TIERS, 100, 0), RangeError)
})
