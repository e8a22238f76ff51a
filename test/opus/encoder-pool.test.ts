import t from 'tap'
import { EncoderPool, type EncoderClient } from '../../src/opus/encoder-pool.js'
import { RecordingLog } from '../fixtures/audio.js'
import { sineChunk } from '../codec/helpers/signal.js'

function client () {
  const got: Array<{ sequenceNumber: number, packets: number }> = []
  let failure: string | undefined
  let shape: [number, number] | undefined
  const c: EncoderClient = {
    opened: (preSkip, channels) => { shape = [preSkip, channels] },
    encoded: (chunk) => { got.push({ sequenceNumber: chunk.sequenceNumber, packets: chunk.packets.length }) },
    failed: (reason) => { failure = reason }
  }
  return { c, got, failure: () => failure, shape: () => shape }
}

async function until (what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

t.test('the encoder thread encodes each session apart; a bad feed fails only its own encoder', async (t) => {
  const pool = new EncoderPool(new RecordingLog() as never)
  t.teardown(() => pool.close())
  const good = client()
  const bad = client()
  const a = pool.start({ bitrateKbps: 64, complexity: 5 }, good.c)
  const b = pool.start({ bitrateKbps: 64, complexity: 5 }, bad.c)
  t.equal(pool.open, 2)
  for (let i = 0; i < 3; i++) {
    pool.feed(a, { sequenceNumber: i, timestamp: i, receivedAt: i, sampleRate: 44100, channels: 2, samples: sineChunk(44100, 2, 22050, i * 0.5) })
  }
  // Three samples cannot be whole stereo frames: the encoder refuses the chunk.
  pool.feed(b, { sequenceNumber: 0, timestamp: 0, receivedAt: 0, sampleRate: 44100, channels: 2, samples: new Float32Array(3) })
  await until('the bad encoder fails', () => bad.failure() !== undefined)
  t.match(bad.failure(), /whole|frames|multiple/i, 'the reason is the encoder\'s own')
  t.equal(pool.open, 1)
  await until('the good encoder answers', () => good.got.length === 3)
  t.same(good.got, [{ sequenceNumber: 0, packets: 24 }, { sequenceNumber: 1, packets: 25 }, { sequenceNumber: 2, packets: 25 }])
  t.same(good.shape(), [312, 2], 'pre-skip and channels come first')
  pool.feed(b, { sequenceNumber: 1, timestamp: 0, receivedAt: 0, sampleRate: 44100, channels: 2, samples: new Float32Array(4) })
  pool.stop(a)
  t.equal(pool.open, 0, 'feeding a failed encoder is ignored; a stopped one is gone')
})

t.test('encoders spread over the threads, each to the one running the fewest', async (t) => {
  const pool = new EncoderPool(new RecordingLog() as never, 2)
  t.teardown(() => pool.close())
  t.equal(pool.runningThreads, 0, 'no thread before the first encoder')
  const clients = [client(), client(), client()]
  const epochs = clients.map((c) => pool.start({ bitrateKbps: 64, complexity: 5 }, c.c))
  t.equal(pool.runningThreads, 2, 'the second encoder started the second thread')
  epochs.forEach((epoch, i) => {
    pool.feed(epoch, { sequenceNumber: 7, timestamp: i, receivedAt: i, sampleRate: 48000, channels: 1, samples: sineChunk(48000, 1, 24000, 0) })
  })
  await until('every encoder answers', () => clients.every((c) => c.got.length === 1))
  t.same(clients.map((c) => c.got[0]), clients.map(() => ({ sequenceNumber: 7, packets: 24 })), 'each encoded its own chunk')
  t.ok(clients.every((c) => c.shape() !== undefined), 'each was told its stream\'s shape')
  pool.stop(epochs[0]!)
  pool.stop(epochs[2]!)
  t.equal(pool.open, 1)
  await pool.close()
  t.equal(pool.runningThreads, 0, 'close stops every thread')
  t.equal(pool.open, 0)
})

t.test('a pool needs a whole number of threads, at least one', async (t) => {
  t.throws(() => new EncoderPool(new RecordingLog() as never, 0), RangeError)
  t.throws(() => new EncoderPool(new RecordingLog() as never, 1.5), RangeError)
})
