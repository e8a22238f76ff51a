import t from 'tap'
import fc from 'fast-check'
import { SongDetector, type EndedPlay, type SongPlay, type SongUpdate } from '../../src/history/song-detector.js'

const T0 = 1_700_000_000_000
const song = (over: Partial<SongUpdate> = {}): SongUpdate =>
  ({ title: 'Song A', artist: 'Artist', elapsedSeconds: 0, totalSeconds: 200, at: T0, ...over })

/** Feeds the client's cadence: an update every 500 ms from `from` to `to` seconds into the song. */
function play (d: SongDetector, title: string, startAt: number, from: number, to: number, jitter = 0) {
  const changes = []
  for (let p = from, i = 0; p <= to; p += 0.5, i++) {
    const wobble = jitter === 0 ? 0 : (i % 2 === 0 ? jitter : -jitter)
    changes.push(d.update(song({ title, elapsedSeconds: Math.max(0, p + wobble), at: startAt + (p - from) * 1000 })))
  }
  return changes.filter((c) => c.started !== undefined || c.ended !== undefined)
}

t.test('the first update starts a play; repeats of it change nothing', async (t) => {
  const d = new SongDetector()
  const first = d.update(song({ elapsedSeconds: 0.4, thumbnailHash: 'h1' }))
  t.same(first.started, { title: 'Song A', artist: 'Artist', totalSeconds: 200, thumbnailHash: 'h1', startedAt: T0, startPosition: 0.4 })
  t.equal(first.ended, undefined)
  t.same(play(d, 'Song A', T0 + 500, 0.9, 60), [], '120 more updates of the same play are not new plays')
  t.equal(d.current?.startedAt, T0)
})

t.test('a new title ends the play and starts the next', async (t) => {
  const d = new SongDetector()
  d.update(song({ elapsedSeconds: 10 }))
  play(d, 'Song A', T0 + 500, 10.5, 70)
  const c = d.update(song({ title: 'Song B', elapsedSeconds: 0.2, totalSeconds: 150, at: T0 + 60_500 }))
  t.match(c.ended, { title: 'Song A', startedAt: T0, startPosition: 10, endedAt: T0 + 60_500, lastPosition: 70 })
  t.match(c.started, { title: 'Song B', startedAt: T0 + 60_500, startPosition: 0.2, totalSeconds: 150 })
})

t.test('the same title by another artist is another song; surrounding spaces are not', async (t) => {
  const d = new SongDetector()
  d.update(song())
  t.ok(d.update(song({ artist: 'Someone Else', at: T0 + 500 })).started, 'artist changed')
  t.same(d.update(song({ title: ' Song A ', artist: 'Someone Else  ', elapsedSeconds: 0.5, at: T0 + 1000 })), {}, 'only spaces differ')
})

t.test('jitter and seeks are the same play', async (t) => {
  const d = new SongDetector()
  d.update(song({ elapsedSeconds: 0 }))
  t.same(play(d, 'Song A', T0 + 500, 0.5, 120, 0.3), [], 'positions wobbling by 0.3 s either way')
  t.same(d.update(song({ elapsedSeconds: 60, at: T0 + 121_000 })), {}, 'seek back to 1:00')
  t.same(d.update(song({ elapsedSeconds: 150, at: T0 + 121_500 })), {}, 'seek forward')
  t.same(d.update(song({ elapsedSeconds: 12, at: T0 + 122_000 })), {}, 'seek back, not to the start')
  t.same(d.update(song({ elapsedSeconds: 4, at: T0 + 122_500 })), {}, 'a jump back of only 8 s near the start is a seek')
})

t.test('the same song back at its start is a repeat: a new play', async (t) => {
  const d = new SongDetector()
  d.update(song({ elapsedSeconds: 0 }))
  play(d, 'Song A', T0 + 500, 0.5, 199.5)
  const c = d.update(song({ elapsedSeconds: 0.3, at: T0 + 200_500 }))
  t.match(c.ended, { title: 'Song A', startedAt: T0, endedAt: T0 + 200_500, lastPosition: 199.5 })
  t.match(c.started, { title: 'Song A', startedAt: T0 + 200_500, startPosition: 0.3 })
  t.same(d.update(song({ elapsedSeconds: 0.2, at: T0 + 201_000 })), {}, 'a small step back right after is jitter, not another repeat')
})

t.test('joining mid-song records where the play started from', async (t) => {
  const d = new SongDetector()
  t.match(d.update(song({ elapsedSeconds: 95.5 })).started, { startPosition: 95.5, startedAt: T0 })
})

t.test('a song that went quiet ended at its last update; coming back is a new play', async (t) => {
  const d = new SongDetector({ staleAfterMs: 30_000 })
  d.update(song({ elapsedSeconds: 50 }))
  d.update(song({ elapsedSeconds: 55, at: T0 + 5_000 }))
  t.same(d.update(song({ elapsedSeconds: 56, at: T0 + 35_000 })), {}, 'exactly staleAfterMs later: still the same play')
  const c = d.update(song({ elapsedSeconds: 60, at: T0 + 65_001 }))
  t.match(c.ended, { endedAt: T0 + 35_000, lastPosition: 56 })
  t.match(c.started, { startedAt: T0 + 65_001, startPosition: 60 })
})

t.test('an empty title ends the play and starts none', async (t) => {
  const d = new SongDetector()
  d.update(song())
  const c = d.update(song({ title: '  ', at: T0 + 1000 }))
  t.match(c.ended, { title: 'Song A', endedAt: T0 + 1000 })
  t.equal(c.started, undefined)
  t.equal(d.current, undefined)
  t.same(d.update(song({ title: '', at: T0 + 1500 })), {}, 'still nothing')
  t.match(d.update(song({ at: T0 + 2000 })).started, { title: 'Song A', startedAt: T0 + 2000 })
})

t.test('finish ends the play in progress', async (t) => {
  const d = new SongDetector()
  t.equal(d.finish(T0), undefined, 'nothing playing')
  d.update(song({ elapsedSeconds: 3 }))
  d.update(song({ elapsedSeconds: 30, at: T0 + 27_000 }))
  t.match(d.finish(T0 + 27_400), { title: 'Song A', startedAt: T0, endedAt: T0 + 27_400, lastPosition: 30 })
  t.equal(d.current, undefined)
  t.equal(d.finish(T0 + 28_000), undefined, 'only once')

  d.update(song({ at: T0 + 100_000 }))
  t.match(d.finish(T0 + 200_000), { endedAt: T0 + 100_000 }, 'quiet for longer than staleAfterMs: ended at its last update')
  d.update(song({ at: T0 + 300_000 }))
  t.match(d.finish(T0 + 299_000), { endedAt: T0 + 300_000 }, 'never before the play\'s last update')
})

t.test('odd numbers and out-of-order updates', async (t) => {
  const d = new SongDetector()
  t.match(d.update(song({ elapsedSeconds: Number.NaN, totalSeconds: -1 })).started, { startPosition: 0, totalSeconds: 0 })
  t.match(d.update(song({ title: 'B', elapsedSeconds: -3, totalSeconds: Number.POSITIVE_INFINITY, at: T0 + 500 })).started,
    { startPosition: 0, totalSeconds: 0 })
  t.same(d.update(song({ title: 'C', at: T0 + 400 })), {}, 'an update older than the last one is ignored')
  t.equal(d.current?.title, 'B')
})

t.test('property: a stream of songs at the client cadence yields exactly those plays', async () => {
  const songs = fc.array(fc.record({
    title: fc.constantFrom('One', 'Two', 'Three'),
    length: fc.integer({ min: 20, max: 400 }),
    joinAt: fc.integer({ min: 0, max: 4 }),
    gapMs: fc.integer({ min: 0, max: 20_000 })
  }), { minLength: 1, maxLength: 12 })
  fc.assert(fc.property(songs, fc.double({ min: 0, max: 0.4, noNaN: true }), (list, jitter) => {
    const d = new SongDetector()
    const started: SongPlay[] = []
    const ended: EndedPlay[] = []
    let at = T0
    for (const s of list) {
      for (let p = s.joinAt, i = 0; p <= s.length; p += 0.5, i++) {
        const wobble = i % 2 === 0 ? jitter : -jitter
        const c = d.update({ title: s.title, artist: 'X', elapsedSeconds: Math.max(0, p + wobble), totalSeconds: s.length, at })
        if (c.started) started.push(c.started)
        if (c.ended) ended.push(c.ended)
        at += 500
      }
      at += s.gapMs // a pause between songs, within staleAfterMs
    }
    const last = d.finish(at)
    if (last) ended.push(last)
    // Every listed song is one play, in order, even the same title twice in a row (it restarts near 0).
    if (started.length !== list.length || ended.length !== list.length) return false
    return started.every((p, i) => p.title === list[i]!.title) &&
      ended.every((e, i) => e.startedAt === started[i]!.startedAt && e.endedAt >= e.startedAt)
  }), { numRuns: 300, seed: 19 })
})
