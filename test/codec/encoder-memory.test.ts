import t from 'tap'
import { OpusStreamEncoder } from '../../src/codec/opus-encoder.js'
import { loadSpeexRuntime } from '../../src/codec/speex-resampler.js'
import { sineChunk } from './helpers/signal.js'

/**
 * Sessions come and go: wasm (speex) and native (libopus) memory must be released by close().
 * 5 rounds x 100 concurrent sessions = 500 encoders; each encodes 1 s of 44.1 kHz stereo.
 * The wasm heap must not grow after the first round, and RSS must level off.
 */
t.test('creating and closing 500 encoders keeps wasm heap flat and RSS bounded', async (t) => {
  const runtime = await loadSpeexRuntime()
  const chunk = sineChunk(44100, 2, 22050, 0)
  const rssMb = (): number => Math.round(process.memoryUsage().rss / 2 ** 20)
  const statesBefore = runtime.liveStates
  const rss: number[] = []
  const heap: number[] = []
  for (let round = 0; round < 5; round++) {
    const live = await Promise.all(Array.from({ length: 100 }, () => OpusStreamEncoder.create()))
    for (const enc of live) {
      for (let seq = 0; seq < 2; seq++) enc.feed({ samples: chunk, sampleRate: 44100, channels: 2, sequenceNumber: seq, timestamp: 0 })
    }
    t.equal(runtime.liveStates, statesBefore + 100, 'one resampler state per live 44.1 kHz session')
    for (const enc of live) enc.close()
    t.equal(runtime.liveStates, statesBefore, 'close() destroys the resampler state')
    await new Promise((resolve) => setTimeout(resolve, 10))
    rss.push(rssMb())
    heap.push(runtime.wasm.HEAPU32.byteLength)
  }
  t.comment(`RSS MB per round: ${rss.join(' ')}; wasm heap bytes: ${heap[0]}..${heap[heap.length - 1]}`)
  t.equal(heap[heap.length - 1], heap[0], 'speex wasm heap does not grow after round 1')
  const growth = (rss[rss.length - 1] as number) - (rss[1] as number)
  t.ok(growth < 64, `RSS growth from round 2 to round 5: ${growth} MB`)
})
