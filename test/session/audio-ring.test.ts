import t from 'tap'
import { durationSeconds, sameFormat, type AudioFormat } from '../../src/session/audio-format.js'
import { AudioRing, type BufferedChunk, type NewChunk } from '../../src/session/audio-ring.js'
import { restChunkJson } from '../../src/session/rest-wire.js'
import { CLIENT_FRAMES, MONO_48K, STEREO_44K, ringChunk, sine, type RestChunk, type TapTest } from '../fixtures/audio.js'

/** Every chunk the ring holds, oldest first (an unbounded join burst covers them all). */
function held (ring: AudioRing): readonly BufferedChunk[] {
  return ring.chunksAfter(-1, Infinity, Infinity)
}

function seqs (chunks: readonly BufferedChunk[]): number[] {
  return chunks.map((c) => c.sequenceNumber)
}

/** Index of the first differing sample, -1 when identical (cheaper than t.same on 44100-sample arrays). */
function firstDifference (a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length)
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i
  return -1
}

/**
 * Checks everything the ring promises about what it holds: sequences increase, chunks sit back to back in the
 * store (so they can only be evicted oldest first), each reads back exactly what was appended, the held audio
 * fits the store, and bytesHeld is the store plus the JSON.
 */
function checkInvariants (t: TapTest, ring: AudioRing, sent: Map<number, RestChunk>): void {
  const chunks = held(ring)
  const bytesHeld = ring.bytesHeld
  t.equal(chunks.length, ring.chunkCount, 'held() sees every chunk')
  let used = 0
  let hotJsonBytes = 0
  let seconds = 0
  let readBackOk = true
  let contiguous = true
  // A chunk keeps its JSON while it starts less than jsonSeconds before the newest chunk starts.
  let framesBehind = 0
  for (let i = chunks.length - 1; i >= 0; i--) {
    const c = chunks[i]!
    if (i < chunks.length - 1) framesBehind += c.length / c.format.channels
    if (framesBehind / c.format.sampleRate < ring.jsonSeconds) hotJsonBytes += sent.get(c.sequenceNumber)!.json.byteLength
  }
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]!
    const original = sent.get(c.sequenceNumber)!
    if (firstDifference(ring.samplesOf(c), original.samples) !== -1) readBackOk = false
    if (!ring.jsonOf(c, restChunkJson).equals(original.json)) readBackOk = false
    if (i > 0) {
      const p = chunks[i - 1]!
      if (c.sequenceNumber <= p.sequenceNumber) contiguous = false
      if (c.offset !== (p.offset + p.length) % ring.capacitySamples) contiguous = false
    }
    used += c.length
    seconds += durationSeconds(c)
  }
  t.ok(readBackOk, 'every held chunk reads back exactly the samples and JSON appended')
  t.ok(contiguous, 'held chunks are back to back in the store, in sequence order')
  t.ok(used <= ring.capacitySamples, 'held samples fit the store')
  t.equal(bytesHeld, ring.capacitySamples * 4 + hotJsonBytes, 'bytesHeld = sample store + the JSON of the recent chunks')
  t.equal(ring.bytesHeld, bytesHeld, 'reading the JSON of old chunks does not hold it again')
  t.ok(Math.abs(ring.bufferedSeconds - seconds) < 1e-9, 'bufferedSeconds is the sum of the held durations')
  t.equal(ring.newestSequence, chunks.at(-1)?.sequenceNumber ?? -1)
  t.equal(ring.oldestSequence, chunks[0]?.sequenceNumber ?? -1)
}

t.test('helpers: durationSeconds and sameFormat', async (t) => {
  t.equal(durationSeconds({ length: 44100, format: STEREO_44K }), 0.5)
  t.equal(durationSeconds({ length: 44100, format: { sampleRate: 44100, channels: 1 } }), 1)
  t.equal(durationSeconds({ length: 4096 * 2, format: STEREO_44K }), 4096 / 44100)
  t.equal(sameFormat(STEREO_44K, { sampleRate: 44100, channels: 2 }), true, 'equal by value, not identity')
  t.equal(sameFormat(STEREO_44K, { sampleRate: 48000, channels: 2 }), false)
  t.equal(sameFormat(STEREO_44K, { sampleRate: 44100, channels: 1 }), false)
})

t.test('constructor rejects a window that is not > 0', async (t) => {
  t.throws(() => new AudioRing(0), RangeError)
  t.throws(() => new AudioRing(-1), RangeError)
  t.throws(() => new AudioRing(Number.NaN), RangeError)
  t.equal(new AudioRing(0.5).windowSeconds, 0.5)
})

t.test('an empty ring', async (t) => {
  const ring = new AudioRing(5)
  t.equal(ring.format, undefined)
  t.equal(ring.chunkCount, 0)
  t.equal(ring.newestSequence, -1)
  t.equal(ring.oldestSequence, -1)
  t.equal(ring.bytesHeld, 0)
  t.equal(ring.bufferedSeconds, 0)
  t.equal(ring.capacitySamples, 0)
  t.same(ring.chunksAfter(-1, 10, 2), [])
  t.same(ring.chunksAfter(0, 10, 2), [])
})

t.test('the first chunk sizes the store from the window and the format', async (t) => {
  const ring = new AudioRing(5)
  const c = ringChunk(0, CLIENT_FRAMES)
  const r = ring.append(c)
  t.same(r.evicted, [])
  t.equal(r.formatChanged, false)
  t.equal(r.stored, held(ring)[0], 'the stored chunk is the one now held')
  t.same(ring.format, STEREO_44K)
  t.equal(ring.capacitySamples, 5 * 44100 * 2)
  t.equal(ring.chunkCount, 1)
  t.equal(ring.bufferedSeconds, 0.5)
  const [b] = held(ring)
  t.match(b, { sequenceNumber: 0, timestamp: 1000, offset: 0, length: 44100 })
  t.equal(ring.jsonOf(b!, restChunkJson), c.json, 'the serialised JSON is kept as is, not re-encoded')
  t.equal(firstDifference(ring.samplesOf(b!), c.samples), -1)
  t.equal(ring.bytesHeld, 441000 * 4 + c.json.byteLength)

  const odd = new AudioRing(0.5)
  odd.append(ringChunk(0, 1, { sampleRate: 44101, channels: 3 }))
  t.equal(odd.capacitySamples, Math.ceil(0.5 * 44101) * 3, 'whole frames: ceil(seconds x rate) x channels')
})

t.test('the store is a copy: changing the caller\'s array afterwards does not change the ring', async (t) => {
  const ring = new AudioRing(5)
  const c = ringChunk(0, 100)
  const expected = c.samples.slice()
  ring.append(c)
  c.samples.fill(0.25)
  t.equal(firstDifference(ring.samplesOf(held(ring)[0]!), expected), -1)
})

t.test('eviction by duration: 5 s is exactly ten of the client\'s 0.5 s stereo chunks', async (t) => {
  const ring = new AudioRing(5)
  const sent = new Map<number, RestChunk>()
  for (let seq = 0; seq < 10; seq++) {
    const c = ringChunk(seq, CLIENT_FRAMES)
    sent.set(seq, c)
    t.same(ring.append(c).evicted, [], `chunk ${seq} fits without evicting`)
  }
  t.equal(ring.chunkCount, 10)
  t.equal(ring.bufferedSeconds, 5)
  checkInvariants(t, ring, sent)

  const evictedSeqs: number[][] = []
  for (let seq = 10; seq < 40; seq++) {
    const c = ringChunk(seq, CLIENT_FRAMES)
    sent.set(seq, c)
    const r = ring.append(c)
    t.equal(r.formatChanged, false)
    evictedSeqs.push(seqs(r.evicted))
  }
  t.same(evictedSeqs, Array.from({ length: 30 }, (_, i) => [i]), 'each new chunk evicts exactly the oldest one')
  t.equal(ring.chunkCount, 10)
  t.equal(ring.oldestSequence, 30)
  t.equal(ring.newestSequence, 39)
  t.equal(ring.bufferedSeconds, 5)
  t.equal(ring.capacitySamples, 441000, 'the store does not grow')
  checkInvariants(t, ring, sent)
})

t.test('eviction by duration: ~53 of the spec\'s 4096-frame chunks, stereo and mono', async (t) => {
  for (const format of [STEREO_44K, { sampleRate: 44100, channels: 1 }]) {
    const ring = new AudioRing(5)
    const sent = new Map<number, RestChunk>()
    let maxEvictedAtOnce = 0
    for (let seq = 0; seq < 200; seq++) {
      const c = ringChunk(seq, 4096, format)
      sent.set(seq, c)
      maxEvictedAtOnce = Math.max(maxEvictedAtOnce, ring.append(c).evicted.length)
    }
    // 5 s / (4096 / 44100 s) = 53.8: 53 whole chunks fit, a 54th would not.
    t.equal(ring.chunkCount, 53, `${format.channels} channel(s): 53 chunks held`)
    t.ok(ring.bufferedSeconds <= 5, 'never more than the window')
    t.ok(ring.bufferedSeconds > 5 - 4096 / 44100, 'less than one chunk short of the window')
    t.equal(maxEvictedAtOnce, 1, 'one chunk in evicts at most one chunk out')
    t.equal(ring.newestSequence, 199)
    t.equal(ring.oldestSequence, 147)
    checkInvariants(t, ring, sent)
  }
})

t.test('wrap-around: a chunk split across the end of the store reads back identical', async (t) => {
  t.test('tiny store, by hand', async (t) => {
    // 1 s at 10 Hz mono = 10 samples; chunks of 3 samples.
    const fmt: AudioFormat = { sampleRate: 10, channels: 1 }
    const ring = new AudioRing(1)
    const sent = new Map<number, RestChunk>()
    for (let seq = 0; seq < 3; seq++) { const c = ringChunk(seq, 3, fmt); sent.set(seq, c); ring.append(c) }
    t.same(held(ring).map((c) => c.offset), [0, 3, 6])
    const c3 = ringChunk(3, 3, fmt)
    sent.set(3, c3)
    const r = ring.append(c3)
    t.same(seqs(r.evicted), [0], 'only 1 sample was free, so the oldest chunk goes')
    const split = held(ring).at(-1)!
    t.equal(split.offset, 9, 'the chunk starts at the last sample of the store')
    t.ok(split.offset + split.length > ring.capacitySamples, 'and continues at the start')
    t.same(Array.from(ring.samplesOf(split)), Array.from(c3.samples))
    checkInvariants(t, ring, sent)
    // The next chunk starts where the split one ended.
    const c4 = ringChunk(4, 3, fmt)
    sent.set(4, c4)
    ring.append(c4)
    t.equal(held(ring).at(-1)!.offset, 2)
    checkInvariants(t, ring, sent)
  })

  t.test('real format, 1000-frame stereo chunks, hundreds of laps', async (t) => {
    const ring = new AudioRing(5)
    const sent = new Map<number, RestChunk>()
    let splits = 0
    let badReads = 0
    for (let seq = 0; seq < 700; seq++) {
      const c = ringChunk(seq, 1000)
      sent.set(seq, c)
      ring.append(c)
      const newest = held(ring).at(-1)!
      if (newest.offset + newest.length > ring.capacitySamples) {
        splits++
        if (firstDifference(ring.samplesOf(newest), c.samples) !== -1) badReads++
      }
      sent.delete(seq - 300)
    }
    t.ok(splits >= 2, `some chunks were split across the end (${splits})`)
    t.equal(badReads, 0, 'every split chunk read back identical')
    t.equal(ring.chunkCount, 220, '441000 / 2000 = 220.5 chunks of 1000 stereo frames')
    checkInvariants(t, ring, sent)
  })
})

t.test('odd chunk sizes: 1, 1000 and 4097 frames mixed, mono, stereo and 6 channels', async (t) => {
  const sizes = [1, 1000, 4097, 1, 4097, 1000, 7, 22050, 4097]
  for (const format of [{ sampleRate: 44100, channels: 1 }, STEREO_44K, { sampleRate: 48000, channels: 6 }]) {
    const ring = new AudioRing(1)
    const sent = new Map<number, RestChunk>()
    let seq = 0
    let maxSeconds = 0
    for (let round = 0; round < 30; round++) {
      for (const frames of sizes) {
        const c = ringChunk(seq, frames, format)
        sent.set(seq++, c)
        ring.append(c)
        maxSeconds = Math.max(maxSeconds, ring.bufferedSeconds)
      }
    }
    t.ok(maxSeconds <= 1 + 1e-9, `${format.channels} ch: never more than the 1 s window (max ${maxSeconds})`)
    t.ok(ring.bufferedSeconds > 1 - 22050 / format.sampleRate - 4097 / format.sampleRate, 'and close to full')
    t.equal(ring.newestSequence, seq - 1)
    t.equal(ring.capacitySamples, Math.ceil(format.sampleRate) * format.channels)
    checkInvariants(t, ring, sent)
  }
})

t.test('mono and stereo of the same rate hold the same duration', async (t) => {
  const mono = new AudioRing(5)
  const stereo = new AudioRing(5)
  for (let seq = 0; seq < 25; seq++) {
    mono.append(ringChunk(seq, CLIENT_FRAMES, { sampleRate: 44100, channels: 1 }))
    stereo.append(ringChunk(seq, CLIENT_FRAMES, STEREO_44K))
  }
  t.equal(mono.chunkCount, 10)
  t.equal(stereo.chunkCount, 10)
  t.equal(mono.bufferedSeconds, 5)
  t.equal(stereo.bufferedSeconds, 5)
  t.equal(mono.capacitySamples * 2, stereo.capacitySamples, 'stereo needs twice the samples')
  t.equal(held(mono)[0]!.length, CLIENT_FRAMES)
  t.equal(held(stereo)[0]!.length, CLIENT_FRAMES * 2)
})

t.test('chunksAfter', async (t) => {
  // Twenty 0.5 s chunks: 10..19 are held.
  const ring = new AudioRing(5)
  for (let seq = 0; seq < 20; seq++) ring.append(ringChunk(seq, CLIENT_FRAMES))

  t.test('since=-1 starts near live with at most joinBurstSeconds', async (t) => {
    t.same(seqs(ring.chunksAfter(-1, 10, 2)), [16, 17, 18, 19], '2 s = the newest four 0.5 s chunks')
    t.same(seqs(ring.chunksAfter(-1, 10, 1.9)), [17, 18, 19], 'never more than the burst')
    t.same(seqs(ring.chunksAfter(-1, 10, 0.5)), [19])
    t.same(seqs(ring.chunksAfter(-1, 10, 0.2)), [19], 'at least the newest chunk, even when it is longer than the burst')
    t.same(seqs(ring.chunksAfter(-1, 10, 0)), [19], 'at least the newest chunk with a zero burst')
    t.same(seqs(ring.chunksAfter(-1, 10, 60)), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 'a burst longer than the window gets it all')
    t.same(seqs(ring.chunksAfter(-1, 3, 2)), [16, 17, 18], 'the max cap keeps the oldest of the burst, oldest first')
  })

  t.test('since=-1 with the spec\'s 4096-frame chunks: the burst is counted in seconds', async (t) => {
    const r = new AudioRing(5)
    for (let seq = 0; seq < 100; seq++) r.append(ringChunk(seq, 4096))
    const burst = r.chunksAfter(-1, Infinity, 2)
    // 21 x 92.9 ms = 1.95 s; a 22nd would make 2.04 s.
    t.equal(burst.length, 21)
    t.equal(burst.at(-1)!.sequenceNumber, 99)
    t.ok(burst.reduce((s, c) => s + durationSeconds(c), 0) <= 2)
    t.same(seqs(r.chunksAfter(-1, 10, 2)), [79, 80, 81, 82, 83, 84, 85, 86, 87, 88], 'capped at 10, oldest first')
  })

  t.test('since in the middle', async (t) => {
    t.same(seqs(ring.chunksAfter(14, 10, 2)), [15, 16, 17, 18, 19])
    t.same(seqs(ring.chunksAfter(18, 10, 2)), [19])
    t.same(seqs(ring.chunksAfter(10, 10, 2)), [11, 12, 13, 14, 15, 16, 17, 18, 19])
    t.same(seqs(ring.chunksAfter(12, 2, 2)), [13, 14], 'capped, oldest first')
  })

  t.test('since older than the window gets the oldest held', async (t) => {
    t.same(seqs(ring.chunksAfter(3, 10, 2)), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    t.same(seqs(ring.chunksAfter(0, 4, 2)), [10, 11, 12, 13])
    t.same(seqs(ring.chunksAfter(9, 4, 2)), [10, 11, 12, 13])
  })

  t.test('since at or past the newest gets nothing', async (t) => {
    t.same(ring.chunksAfter(19, 10, 2), [])
    t.same(ring.chunksAfter(20, 10, 2), [])
    t.same(ring.chunksAfter(2 ** 31 - 1, 10, 2), [])
  })

  t.test('max 0 gets nothing', async (t) => {
    t.same(ring.chunksAfter(12, 0, 2), [])
    t.same(ring.chunksAfter(-1, 0, 2), [])
  })

  t.test('the returned chunks carry their sequence, timestamp and JSON', async (t) => {
    const [c] = ring.chunksAfter(16, 1, 2)
    t.match(c, { sequenceNumber: 17, timestamp: 1017, length: 44100, format: STEREO_44K })
    const [parsed] = JSON.parse(ring.jsonOf(c!, restChunkJson).toString('latin1')) as Array<Record<string, unknown>>
    if (parsed === undefined) throw new Error('an empty answer')
    t.same(Object.keys(parsed), ['data', 'sampleRate', 'channels', 'timestamp', 'sequenceNumber'])
    t.match(parsed, { sampleRate: 44100, channels: 2, timestamp: 1017, sequenceNumber: 17 })
    const decoded = Buffer.from(parsed.data as string, 'base64')
    const samples = new Float32Array(decoded.buffer, decoded.byteOffset, decoded.length / 4)
    t.equal(firstDifference(samples, sine(CLIENT_FRAMES, STEREO_44K, 17 * CLIENT_FRAMES)), -1)
  })

  t.test('sequence numbers with gaps', async (t) => {
    const r = new AudioRing(5)
    for (const seq of [0, 5, 6, 100, 2 ** 31 - 1]) r.append(ringChunk(seq, 100))
    t.same(seqs(r.chunksAfter(50, 10, 2)), [100, 2 ** 31 - 1])
    t.same(seqs(r.chunksAfter(5, 10, 2)), [6, 100, 2 ** 31 - 1])
    t.same(seqs(r.chunksAfter(1, 10, 2)), [5, 6, 100, 2 ** 31 - 1])
    t.same(seqs(r.chunksAfter(2 ** 31 - 1, 10, 2)), [])
  })
})

t.test('sequence numbers must increase', async (t) => {
  const ring = new AudioRing(5)
  ring.append(ringChunk(5, 100))
  t.throws(() => ring.append(ringChunk(5, 100)), RangeError, 'equal')
  t.throws(() => ring.append(ringChunk(4, 100)), RangeError, 'lower')
  t.throws(() => ring.append(ringChunk(0, 100, MONO_48K)), RangeError, 'lower, even with a new format')
  t.equal(ring.chunkCount, 1, 'a rejected chunk changes nothing')
  t.equal(ring.newestSequence, 5)
  t.same(ring.format, STEREO_44K)
  t.same(seqs(ring.append(ringChunk(6, 100)).evicted), [])
  t.equal(ring.newestSequence, 6)
})

t.test('a chunk of partial frames is refused', async (t) => {
  const ring = new AudioRing(5)
  const c = ringChunk(0, 10)
  t.throws(() => ring.append({ ...c, samples: c.samples.subarray(0, 19) }), RangeError)
  t.equal(ring.chunkCount, 0)
  t.equal(ring.format, undefined)
})

t.test('format change empties the ring and continues in the new format', async (t) => {
  const ring = new AudioRing(5)
  const old: NewChunk[] = []
  for (let seq = 0; seq < 14; seq++) { const c = ringChunk(seq, CLIENT_FRAMES); old.push(c); ring.append(c) }
  t.same(ring.format, STEREO_44K)

  const first = ringChunk(14, 12000, MONO_48K)
  const r = ring.append(first)
  t.equal(r.formatChanged, true)
  t.same(seqs(r.evicted), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13], 'every old chunk is reported evicted, oldest first')
  t.same(ring.format, MONO_48K)
  t.equal(ring.chunkCount, 1)
  t.equal(ring.capacitySamples, 5 * 48000, 'resized for the new format')
  t.equal(ring.bufferedSeconds, 0.25)
  t.equal(ring.bytesHeld, 240000 * 4 + first.json.byteLength, 'the old JSON is no longer counted')
  t.same(seqs(ring.chunksAfter(-1, 10, 2)), [14])
  t.same(seqs(ring.chunksAfter(3, 10, 2)), [14], 'a receiver behind gets the new format only')
  t.equal(firstDifference(ring.samplesOf(held(ring)[0]!), first.samples), -1)

  const sent = new Map<number, RestChunk>([[14, first]])
  let evicted = 0
  for (let seq = 15; seq < 40; seq++) {
    const c = ringChunk(seq, 12000, MONO_48K)
    sent.set(seq, c)
    const res = ring.append(c)
    t.equal(res.formatChanged, false)
    evicted += res.evicted.length
  }
  t.equal(ring.chunkCount, 20, '5 s of 0.25 s mono 48 kHz chunks')
  t.equal(evicted, 6)
  t.ok(held(ring).every((c) => sameFormat(c.format, MONO_48K)))
  checkInvariants(t, ring, sent)

  t.test('a change of channels alone, or of rate alone, is a format change', async (t) => {
    const r1 = new AudioRing(5)
    r1.append(ringChunk(0, 100, { sampleRate: 44100, channels: 2 }))
    t.equal(r1.append(ringChunk(1, 100, { sampleRate: 44100, channels: 1 })).formatChanged, true)
    t.equal(r1.append(ringChunk(2, 100, { sampleRate: 48000, channels: 1 })).formatChanged, true)
    t.equal(r1.append(ringChunk(3, 100, { sampleRate: 48000, channels: 1 })).formatChanged, false, 'an equal format object is no change')
    t.equal(r1.chunkCount, 2)
  })
})

t.test('a chunk larger than the window', async (t) => {
  // 5 s at 8 kHz mono = 40000 samples; the sharer may send up to 1 MiB = 262144 samples (32.8 s).
  const fmt: AudioFormat = { sampleRate: 8000, channels: 1 }
  const ring = new AudioRing(5)
  for (let seq = 0; seq < 5; seq++) ring.append(ringChunk(seq, 4000, fmt))

  const big = ringChunk(5, 262144, fmt)
  const r = ring.append(big)
  t.same(seqs(r.evicted), [0, 1, 2, 3, 4], 'everything else goes')
  t.equal(r.formatChanged, false)
  t.ok(ring.capacitySamples >= 262144, 'the store grows to hold it')
  t.equal(ring.chunkCount, 1)
  t.equal(ring.bufferedSeconds, 32.768)
  t.equal(firstDifference(ring.samplesOf(held(ring)[0]!), big.samples), -1, 'and it reads back whole')
  t.same(seqs(ring.chunksAfter(-1, 10, 2)), [5], 'a joiner still gets the newest chunk')

  const sent = new Map<number, RestChunk>()
  const c6 = ringChunk(6, 4000, fmt)
  sent.set(6, c6)
  const r6 = ring.append(c6)
  t.same(seqs(r6.evicted), [5], 'the next chunk pushes the oversized one out')
  let maxSeconds = 0
  for (let seq = 7; seq < 60; seq++) {
    const c = ringChunk(seq, 4000, fmt)
    sent.set(seq, c)
    ring.append(c)
    maxSeconds = Math.max(maxSeconds, ring.bufferedSeconds)
  }
  t.ok(maxSeconds <= 5, `afterwards the window is still 5 s of audio (max held ${maxSeconds} s)`)
  t.equal(ring.chunkCount, 10)
  t.equal(ring.capacitySamples, 40000, 'the oversized store is given back')
  checkInvariants(t, ring, sent)

  // Two oversized chunks in a row: each evicts the other.
  const b1 = ringChunk(60, 50000, fmt)
  const b2 = ringChunk(61, 60000, fmt)
  ring.append(b1)
  t.same(seqs(ring.append(b2).evicted), [60])
  t.equal(ring.chunkCount, 1)
  t.equal(firstDifference(ring.samplesOf(held(ring)[0]!), b2.samples), -1)
  const b3 = ringChunk(62, 45000, fmt)
  t.same(seqs(ring.append(b3).evicted), [61], 'a smaller but still oversized chunk is held alone too')
  t.equal(ring.chunkCount, 1)
  t.equal(firstDifference(ring.samplesOf(held(ring)[0]!), b3.samples), -1)
})

t.test('bytesHeld follows appends, evictions and clear', async (t) => {
  const ring = new AudioRing(1)
  const jsonSizes: number[] = []
  for (let seq = 0; seq < 5; seq++) {
    const c = ringChunk(seq, CLIENT_FRAMES)
    jsonSizes.push(c.json.byteLength)
    ring.append(c)
  }
  // 1 s holds two 0.5 s chunks: 3 and 4.
  t.equal(ring.chunkCount, 2)
  t.equal(ring.bytesHeld, 88200 * 4 + jsonSizes[3]! + jsonSizes[4]!)
  t.ok(ring.bytesHeld > 88200 * 4)
  ring.clear()
  t.equal(ring.bytesHeld, 0)
})

t.test('clear() drops everything and the ring starts over', async (t) => {
  const ring = new AudioRing(5)
  for (let seq = 0; seq < 12; seq++) ring.append(ringChunk(seq, CLIENT_FRAMES))
  const dropped = ring.clear()
  t.same(seqs(dropped), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'returns the chunks it held, oldest first')
  t.equal(ring.chunkCount, 0)
  t.equal(ring.format, undefined)
  t.equal(ring.capacitySamples, 0, 'the sample store is freed')
  t.equal(ring.bytesHeld, 0)
  t.equal(ring.bufferedSeconds, 0)
  t.equal(ring.newestSequence, -1)
  t.same(ring.chunksAfter(-1, 10, 2), [])
  t.same(ring.clear(), [], 'clearing twice is harmless')

  const c = ringChunk(0, 500, MONO_48K)
  const r = ring.append(c)
  t.same([r.evicted, r.formatChanged], [[], false], 'after clear, any format and sequence is a fresh start')
  t.same(ring.format, MONO_48K)
  t.equal(held(ring)[0]!.offset, 0)
  t.equal(firstDifference(ring.samplesOf(held(ring)[0]!), c.samples), -1)
})

t.test('a chunk appended without JSON (raw samples, a restore) gets it built when first asked, then kept while hot', async (t) => {
  const ring = new AudioRing(5, 2)
  const rest = ringChunk(0, CLIENT_FRAMES)
  const { json, ...raw } = rest
  const stored = ring.append(raw).stored
  t.equal(ring.bytesHeld, ring.capacitySamples * 4, 'no JSON held yet')
  const built = ring.jsonOf(stored, restChunkJson)
  t.ok(built.equals(json), 'built byte-identical to the REST form')
  t.equal(ring.bytesHeld, ring.capacitySamples * 4 + json.byteLength, 'and kept: the chunk is hot')
  t.equal(ring.jsonOf(stored, restChunkJson), built, 'the next poll gets the same buffer')
})

t.test('JSON is kept only for the newest jsonSeconds; older chunks get theirs rebuilt byte-identical', async (t) => {
  const ring = new AudioRing(5, 2)
  t.equal(ring.jsonSeconds, 2)
  t.equal(new AudioRing(5).jsonSeconds, 5, 'by default the whole window')
  const sent = new Map<number, RestChunk>()
  for (let seq = 0; seq < 14; seq++) { const c = ringChunk(seq, CLIENT_FRAMES); sent.set(seq, c); ring.append(c) }
  // Held: 4..13. Starting less than 2 s before 13 starts: 10, 11, 12, 13.
  const hot = [10, 11, 12, 13].reduce((n, seq) => n + sent.get(seq)!.json.byteLength, 0)
  t.equal(ring.bytesHeld, 441000 * 4 + hot, 'only the four newest chunks hold JSON')
  const [oldest] = held(ring)
  const rebuilt = ring.jsonOf(oldest!, restChunkJson)
  t.not(rebuilt, sent.get(4)!.json, 'a cold chunk\'s JSON is a new buffer')
  t.ok(rebuilt.equals(sent.get(4)!.json), 'but byte-identical to what was appended')
  t.equal(ring.bytesHeld, 441000 * 4 + hot, 'and it is not kept')
  t.equal(ring.jsonOf(held(ring).at(-1)!, restChunkJson), sent.get(13)!.json, 'a hot chunk\'s JSON is the appended buffer itself')
  checkInvariants(t, ring, sent)

  // Keeping it for less than one chunk still keeps the newest.
  const tight = new AudioRing(5, 0.1)
  const tsent = new Map<number, RestChunk>()
  for (let seq = 0; seq < 12; seq++) { const c = ringChunk(seq, 4096); tsent.set(seq, c); tight.append(c) }
  t.equal(tight.bytesHeld, tight.capacitySamples * 4 + tsent.get(10)!.json.byteLength + tsent.get(11)!.json.byteLength,
    'two 93 ms chunks start within 0.1 s of the newest')
  checkInvariants(t, tight, tsent)
})

t.test('an evicted chunk cannot be read: its samples were overwritten', async (t) => {
  const { AudioRing } = await import('../../src/session/audio-ring.js')
  const { audioChunkJson } = await import('../../src/session/rest-wire.js')
  const format = { sampleRate: 8000, channels: 1 }
  const ring = new AudioRing(1, 1)
  const add = (seq: number) => ring.append({ samples: new Float32Array(4000).fill(seq), format, timestamp: seq, sequenceNumber: seq, json: audioChunkJson('AAAA', format, seq, seq) }).stored
  const first = add(0)
  t.equal(ring.holds(first), true)
  t.equal(ring.samplesOf(first)[0], 0)
  add(1)
  add(2)
  t.equal(ring.holds(first), false, 'evicted')
  t.throws(() => ring.samplesOf(first), /no longer buffered/)
  t.throws(() => ring.jsonOf(first, restChunkJson), /no longer buffered/)
  t.equal(ring.holds({ ...first }), false, 'a copy of an index entry is not the buffered chunk')
})
