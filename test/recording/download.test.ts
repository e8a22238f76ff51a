import t from 'tap'
import fc from 'fast-check'
import { cueSheet, downloadName, parseByteRange } from '../../src/recording/download.js'

t.test('Range: one bytes= range against the size; others are ignored (whole file), past the end is unsatisfiable', async (t) => {
  const size = 1000
  t.same(parseByteRange('bytes=0-99', size), { start: 0, end: 99 })
  t.same(parseByteRange('bytes=-100', size), { start: 900, end: 999 }, 'the last 100')
  t.same(parseByteRange('bytes=-5000', size), { start: 0, end: 999 }, 'a suffix longer than the file is all of it')
  t.same(parseByteRange('bytes=500-', size), { start: 500, end: 999 }, 'open-ended')
  t.same(parseByteRange('bytes=990-5000', size), { start: 990, end: 999 }, 'the end is clamped')
  t.same(parseByteRange(' bytes=1-1 ', size), { start: 1, end: 1 })
  t.equal(parseByteRange('bytes=1000-', size), 'unsatisfiable')
  t.equal(parseByteRange('bytes=2000-3000', size), 'unsatisfiable')
  t.equal(parseByteRange('bytes=-0', size), 'unsatisfiable')
  t.equal(parseByteRange('bytes=0-', 0), 'unsatisfiable', 'nothing is in an empty file')
  for (const ignored of [undefined, 'bytes=5-1', 'bytes=0-1,5-9', 'items=0-1', 'bytes=-', 'bytes=a-b', 'bytes 0-1']) {
    t.equal(parseByteRange(ignored, size), undefined, `${String(ignored)}: the whole file`)
  }
})

t.test('Range, fuzzed: whatever the header, a range inside the file, unsatisfiable, or the whole file', async (t) => {
  const header = fc.oneof(
    fc.string(),
    fc.tuple(fc.option(fc.nat({ max: 3000 })), fc.option(fc.nat({ max: 3000 }))).map(([a, b]) => `bytes=${a ?? ''}-${b ?? ''}`),
    fc.stringMatching(/^bytes=[0-9,-]{0,12}$/)
  )
  fc.assert(fc.property(header, fc.nat({ max: 2000 }), (h, size) => {
    const range = parseByteRange(h, size)
    if (range === undefined || range === 'unsatisfiable') return true
    return Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.start <= range.end && range.end < size
  }), { seed: 20261128, numRuns: 5000 })
  t.pass('5000 headers')
})

t.test('the file is named by session and start (UTC), in plain ASCII', async (t) => {
  const at = Date.UTC(2026, 10, 28, 9, 50, 41, 123)
  t.equal(downloadName('123456', at, 'ogg'), 'musicshare-123456-2026-11-28T09-50-41Z.ogg')
  t.equal(downloadName('123456', at, 'cue'), 'musicshare-123456-2026-11-28T09-50-41Z.cue')
})

t.test('CUE: one track per chapter at mm:ss:ff (75 frames a second); quotes and line breaks cannot break it', async (t) => {
  const at = Date.UTC(2026, 10, 28, 9, 50, 41)
  const text = cueSheet('123456', at, 'x.ogg', [
    { at: 0, title: 'One', artist: 'A' },
    { at: 61.5, title: 'Say "hi"\r\nnow', artist: 'B' },
    { at: 3723.99, title: 'Long', artist: 'C' }
  ])
  t.equal(text, [
    'REM COMMENT "Music Share recording of session 123456"',
    'REM DATE 2026-11-28',
    'TITLE "Music Share 123456 2026-11-28 09:50 UTC"',
    'FILE "x.ogg" WAVE',
    '  TRACK 01 AUDIO',
    '    TITLE "One"',
    '    PERFORMER "A"',
    '    INDEX 01 00:00:00',
    '  TRACK 02 AUDIO',
    '    TITLE "Say \'hi\' now"',
    '    PERFORMER "B"',
    '    INDEX 01 01:01:38',
    '  TRACK 03 AUDIO',
    '    TITLE "Long"',
    '    PERFORMER "C"',
    '    INDEX 01 62:03:74',
    ''
  ].join('\r\n'))
})
