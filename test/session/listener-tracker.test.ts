import t from 'tap'
import { ListenerTracker } from '../../src/session/listener-tracker.js'

t.test('counts distinct keys', async (t) => {
  const l = new ListenerTracker(5000, 100)
  t.equal(l.count(0), 0)
  l.touch('1.2.3.4|SongRequest Desktop v1', 0)
  l.touch('1.2.3.4|SongRequest Desktop v1', 100)
  l.touch('1.2.3.4|SongRequest Desktop v1', 200)
  t.equal(l.count(200), 1, 'the same receiver polling three times is one listener')
  l.touch('1.2.3.4|SongRequest Desktop v2', 300)
  l.touch('id:abc', 400)
  t.equal(l.count(400), 3)
})

t.test('a listener counts for windowMs after its last poll, then is pruned', async (t) => {
  const l = new ListenerTracker(5000, 100)
  l.touch('a', 0)
  l.touch('b', 3000)
  t.equal(l.count(5000), 2, 'exactly windowMs after the poll still counts')
  t.equal(l.count(5001), 1, 'a is stale')
  t.equal(l.count(8000), 1)
  t.equal(l.count(8001), 0, 'b is stale too')
  l.touch('a', 9000)
  t.equal(l.count(9000), 1, 'a pruned listener that polls again is counted again')
})

t.test('a poll refreshes the listener (pruning follows last-seen order, not first-seen)', async (t) => {
  const l = new ListenerTracker(5000, 100)
  l.touch('a', 0)
  l.touch('b', 1000)
  l.touch('a', 4000)
  t.equal(l.count(5500), 2, 'a was refreshed at 4000')
  t.equal(l.count(6001), 1, 'b (last seen 1000) is gone although a was first seen earlier')
  t.equal(l.count(9000), 1)
  t.equal(l.count(9001), 0)
})

t.test('stale entries are pruned when others poll, so churn does not accumulate', async (t) => {
  const l = new ListenerTracker(1000, 50)
  // 10000 receivers each poll once, 10 ms apart: at most ~100 are ever inside the 1 s window, and the cap is 50.
  let maxCount = 0
  for (let i = 0; i < 10000; i++) {
    l.touch(`r${i}`, i * 10)
    if (i % 97 === 0) maxCount = Math.max(maxCount, l.count(i * 10))
  }
  t.ok(maxCount <= 50)
  t.equal(l.count(99_990), 50, 'the 50 newest, all inside the window')
  t.equal(l.count(100_500), 50, 'the oldest kept (r9950, seen at 99500) still counts at 100500')
  t.equal(l.count(100_501), 49, 'and they age out one by one')
  t.equal(l.count(200_000), 0)
})

t.test('maxListeners caps the map: a flood of 100000 distinct keys keeps the newest', async (t) => {
  const l = new ListenerTracker(5000, 1000)
  for (let i = 0; i < 100_000; i++) l.touch(`flood-${i}`, 1000, i)
  t.equal(l.count(1000), 1000)
  // The newest 1000 stayed: they hold sequences 99000..99999.
  t.equal(l.anyMissing(99_000, 1000), false, 'nobody kept holds less than 99000')
  t.equal(l.anyMissing(99_001, 1000), true, 'flood-99000 is the oldest kept')
  l.touch('late', 1001)
  t.equal(l.count(1001), 1000, 'a new listener still gets in, pushing out the oldest')
  t.equal(l.anyMissing(99_001, 1001), false, 'flood-99000 was pushed out')
})

t.test('anyMissing: only current audio listeners with a held sequence count', async (t) => {
  const l = new ListenerTracker(5000, 100)
  t.equal(l.anyMissing(0, 0), false, 'nobody listening: nothing is missing')

  l.touch('metadata-only', 0)
  t.equal(l.anyMissing(0, 0), false, 'a receiver that only polls metadata never misses audio')

  l.touch('audio', 0, 5)
  t.equal(l.anyMissing(5, 0), false, 'it holds 5')
  t.equal(l.anyMissing(4, 0), false)
  t.equal(l.anyMissing(6, 0), true, 'it has not fetched 6')

  l.touch('audio', 100, 3)
  t.equal(l.anyMissing(5, 100), false, 'held only grows: a lower since later does not lower it')
  l.touch('audio', 200)
  t.equal(l.anyMissing(5, 200), false, 'a metadata poll by the same receiver keeps what it holds')
  t.equal(l.anyMissing(6, 200), true)

  l.touch('audio-2', 300, 10)
  t.equal(l.anyMissing(6, 300), true, 'one listener behind is enough')
  l.touch('audio', 400, 10)
  t.equal(l.anyMissing(6, 400), false, 'once every audio listener fetched it, nothing is missing')
  t.equal(l.anyMissing(11, 400), true)

  t.equal(l.anyMissing(11, 5400), true, 'still current exactly windowMs after the last poll')
  t.equal(l.anyMissing(11, 5401), false, 'stale listeners no longer count')
  t.equal(l.count(5401), 0)
})

t.test('clear() forgets everyone', async (t) => {
  const l = new ListenerTracker(5000, 100)
  l.touch('a', 0, 1)
  l.touch('b', 0)
  l.clear()
  t.equal(l.count(0), 0)
  t.equal(l.anyMissing(2, 0), false)
  l.touch('a', 1)
  t.equal(l.anyMissing(2, 1), false, 'held sequences are forgotten too')
})

t.test('reports when a receiver starts and stops counting', async (t) => {
  const log: string[] = []
  const l = new ListenerTracker(5000, 2, {
    joined: (key, at) => log.push(`+${key}@${at}`),
    left: (key, at) => log.push(`-${key}@${at}`)
  })
  l.touch('a', 0)
  l.touch('a', 1000)
  l.touch('b', 2000)
  t.same(log, ['+a@0', '+b@2000'], 'a poll by a counted receiver is no join')
  l.count(6001)
  t.same(log.slice(2), ['-a@6000'], 'pruned: it stopped counting at its last poll plus the window')
  l.touch('c', 6500)
  l.touch('d', 6600)
  t.same(log.slice(3), ['+c@6500', '+d@6600', '-b@6600'], 'over the limit: the longest unseen is dropped now')
  l.forget('c', 7000)
  l.forget('c', 7100)
  t.same(log.slice(6), ['-c@7000'], 'forgotten once')
  l.touch('e', 9000)
  l.clear(10_000)
  t.same(log.slice(7), ['+e@9000', '-d@10000', '-e@10000'], 'clear: everyone leaves, by now at the latest')
  l.touch('f', 20_000)
  l.clear()
  t.same(log.slice(10), ['+f@20000', '-f@25000'], 'clear without a time: at the last poll plus the window')
})
