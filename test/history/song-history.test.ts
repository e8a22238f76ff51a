import t from 'tap'
import { SongHistory, type SongMetadataFields } from '../../src/history/song-history.js'
import { coverHash } from '../../src/history/cover-hash.js'

const T0 = 1_700_000_000_000
const COVER_A = Buffer.from('cover A bytes').toString('base64')
const COVER_B = Buffer.from('cover B bytes').toString('base64')
const meta = (over: Partial<SongMetadataFields> = {}): SongMetadataFields =>
  ({ title: 'Song A', artist: 'Artist', elapsedSeconds: 0.3, totalSeconds: 200, thumbnailData: COVER_A, ...over })

/** The client's cadence: one update every 500 ms from `from` to `to` seconds into the song; the entries changed. */
function play (h: SongHistory, over: Partial<SongMetadataFields>, startAt: number, from: number, to: number) {
  const changed = []
  for (let p = from; p <= to; p += 0.5) changed.push(...h.update(meta({ ...over, elapsedSeconds: p }), startAt + (p - from) * 1000))
  return changed
}

t.test('plays from the 500 ms metadata: one entry per play, not per update; the previous one ends when the next starts', async (t) => {
  const h = new SongHistory()
  const first = play(h, {}, T0, 0.3, 60)
  t.same(first, [{ n: 1, title: 'Song A', artist: 'Artist', coverHash: coverHash(COVER_A), startedAt: T0, endedAt: null, startPosition: 0.3, durationSeconds: 200 }],
    '120 updates of one song: one entry')
  const next = h.update(meta({ title: 'Song B', totalSeconds: 150, thumbnailData: COVER_B, elapsedSeconds: 0.1 }), T0 + 61_000)
  t.match(next, [{ n: 1, title: 'Song A', endedAt: T0 + 61_000 }, { n: 2, title: 'Song B', startedAt: T0 + 61_000, endedAt: null, durationSeconds: 150, coverHash: coverHash(COVER_B) }])
  t.equal(h.entries().length, 2)
  t.equal(h.entries()[0]!.endedAt, T0 + 61_000, 'the kept entry is the ended one')
})

t.test('a repeat (the same song back at its start) is a new play; a seek is not', async (t) => {
  const h = new SongHistory()
  play(h, {}, T0, 0, 199)
  t.same(h.update(meta({ elapsedSeconds: 60 }), T0 + 199_500), [], 'a seek back to 1:00')
  play(h, {}, T0 + 200_000, 60.5, 190)
  const repeat = h.update(meta({ elapsedSeconds: 0.2 }), T0 + 330_000)
  t.match(repeat, [{ n: 1, endedAt: T0 + 330_000 }, { n: 2, title: 'Song A', startedAt: T0 + 330_000, startPosition: 0.2 }])
})

t.test('a cover that comes after the title is taken by the play; an empty title ends it; finish ends the last one', async (t) => {
  const h = new SongHistory()
  t.match(h.update(meta({ thumbnailData: null }), T0), [{ n: 1, coverHash: null }])
  t.same(h.update(meta({ thumbnailData: null, elapsedSeconds: 0.8 }), T0 + 500), [], 'still no cover: nothing changes')
  t.match(h.update(meta({ elapsedSeconds: 1.3 }), T0 + 1000), [{ n: 1, coverHash: coverHash(COVER_A), endedAt: null }], 'the cover arrived')
  t.same(h.update(meta({ elapsedSeconds: 1.8 }), T0 + 1500), [], 'the same cover again: nothing')
  t.match(h.update(meta({ title: '' }), T0 + 2000), [{ n: 1, endedAt: T0 + 2000 }], 'nothing playing')
  t.same(h.update(meta({ title: '' }), T0 + 2500), [])
  t.equal(h.finish(T0 + 3000), undefined, 'nothing to finish')
  h.update(meta({ title: 'Song C' }), T0 + 4000)
  t.match(h.finish(T0 + 9000), { n: 2, title: 'Song C', endedAt: T0 + 9000 })
  t.equal(h.entries().every((e) => e.endedAt !== null), true)
})

t.test('bounded: the oldest plays are dropped, numbers go on; long titles are cut', async (t) => {
  const h = new SongHistory(3)
  for (let i = 0; i < 5; i++) h.update(meta({ title: `Song ${i}`, artist: 'x'.repeat(2048) }), T0 + i * 1000)
  t.same(h.entries().map((e) => [e.n, e.title]), [[3, 'Song 2'], [4, 'Song 3'], [5, 'Song 4']])
  t.equal(h.entries()[0]!.artist.length, 512)
})

t.test('restored (restart, takeover): the open play goes on if the song does, else it ends; numbers continue', async (t) => {
  const source = new SongHistory()
  play(source, { title: 'Song A' }, T0, 0, 30)
  play(source, { title: 'Song B' }, T0 + 31_000, 0, 20)
  const saved = JSON.parse(JSON.stringify(source.entries()))

  const same = new SongHistory()
  same.restore(saved)
  t.same(same.update(meta({ title: 'Song B', elapsedSeconds: 25 }), T0 + 60_000), [], 'the same song after the restore: the same play')
  t.match(same.update(meta({ title: 'Song C' }), T0 + 90_000), [{ n: 2, title: 'Song B', endedAt: T0 + 90_000 }, { n: 3, title: 'Song C' }])

  const other = new SongHistory()
  other.restore(saved)
  t.match(other.update(meta({ title: 'Song D', elapsedSeconds: 3 }), T0 + 60_000),
    [{ n: 2, title: 'Song B', endedAt: T0 + 60_000 }, { n: 3, title: 'Song D', startPosition: 3 }], 'another song: the open play ends there')

  const silent = new SongHistory()
  silent.restore(saved)
  t.match(silent.update(meta({ title: '' }), T0 + 60_000), [{ n: 2, endedAt: T0 + 60_000 }])

  const closed = new SongHistory()
  closed.restore([{ ...saved[0], endedAt: T0 + 31_000 }])
  t.match(closed.update(meta({ title: 'Song A' }), T0 + 60_000), [{ n: 2, title: 'Song A', startedAt: T0 + 60_000 }], 'no open play: a new one')
})
